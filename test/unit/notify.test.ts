import { SNSClient } from '@aws-sdk/client-sns';
import { admits, customNotification, notifyOps, subjectOf, type OpsEvent } from '../../lib/notify';

const event: OpsEvent = {
  type: 'removed',
  function: 'scaleInSweeper',
  title: 'Sweeper removed 2 instances from prod',
  description: ['`i-1` (idle)', '`i-2` (consolidate)'],
  nextSteps: ['Nothing to do'],
  resources: ['i-1', 'i-2'],
  context: { cluster: 'prod' },
};

describe('ops notifications', () => {
  it('is an AWS chat custom notification (version 1.0, source custom, client-markdown) a webhook can read', () => {
    // https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html
    expect(customNotification(event)).toEqual({
      version: '1.0',
      source: 'custom',
      content: {
        textType: 'client-markdown',
        title: 'Sweeper removed 2 instances from prod',
        description: '`i-1` (idle)\n`i-2` (consolidate)',
        nextSteps: ['Nothing to do'],
        keywords: ['ecs-ec2-keeper', 'scaleInSweeper', 'removed'],
      },
      metadata: {
        summary: 'Sweeper removed 2 instances from prod',
        eventType: 'ecs-ec2-keeper.removed',
        relatedResources: ['i-1', 'i-2'],
        additionalContext: { function: 'scaleInSweeper', type: 'removed', cluster: 'prod' },
      },
    });
  });

  it('sends drains cut short at every level, other actions only at level actions', () => {
    expect(admits('problems', 'deadline')).toBe(true);
    expect(admits('problems', 'drained')).toBe(false);
    expect(admits('problems', 'completed')).toBe(false);
    expect(admits('problems', 'removed')).toBe(false);
    expect(admits('actions', 'removed')).toBe(true);
    expect(admits('actions', 'deadline')).toBe(true);
  });

  it('keeps SNS subjects under 100 characters on one line', () => {
    expect(subjectOf(`a\nb${'x'.repeat(200)}`)).toMatch(/^a bx+$/);
    expect(subjectOf('x'.repeat(200))).toHaveLength(99);
  });

  it('publishes nothing without a topic or below the level', async () => {
    const sns = new SNSClient({ region: 'us-east-1' });
    const send = jest.spyOn(sns, 'send');
    expect(await notifyOps(sns, { opsNotifyLevel: 'actions' }, event)).toBe(false);
    expect(await notifyOps(sns, { opsTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops', opsNotifyLevel: 'problems' }, event)).toBe(false);
    expect(send).not.toHaveBeenCalled();
  });
});
