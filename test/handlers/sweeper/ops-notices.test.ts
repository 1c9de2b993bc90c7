import type { CustomNotification } from '../../../lib/notify';
import type { SnsRecord } from '../../../simulator/world/model';
import { SweeperWorld } from './world';
import { fixture } from '../../fixtures';

const scheduled = fixture('scheduled-sweep.json');

/** Removals reported to the operators' topic (lib/notify.ts), from the world's own SNS. */
function setup(level: string) {
  const aws = new SweeperWorld();
  const ops = aws.world.createTopic('ops');
  const notices: SnsRecord[] = [];
  aws.world.subscribe(ops.arn, (record) => notices.push(record));
  const { handler, telemetry } = aws.sweeper({ OPS_TOPIC_ARN: ops.arn, OPS_NOTIFY_LEVEL: level }, aws.aws.clients().sns);
  aws.daemons('prod', ['log-router']);
  aws.addInstances('prod', 'asg', 2, { tasksPerInstance: 2 });
  const [idle] = aws.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 45 });
  // A hook waits for the daemons, so the idle instance is terminated in the run.
  aws.terminationHook('asg');
  return { handler, notices, telemetry, idle: idle! };
}

describe('sweeper removal notices (OPS_NOTIFY_LEVEL)', () => {
  it('actions: one notice per cluster naming the instances removed and why', async () => {
    const { handler, notices, idle } = setup('actions');
    const result = await handler(scheduled);
    expect(result.clusters[0]?.execution.terminated).toEqual([idle.ec2InstanceId]);

    expect(notices).toHaveLength(1);
    expect(notices[0]!.Sns.Subject).toBe('Sweeper removed 1 instance(s) from prod');
    const body = JSON.parse(notices[0]!.Sns.Message) as CustomNotification;
    expect(body).toMatchObject({
      version: '1.0',
      source: 'custom',
      content: { textType: 'client-markdown', description: `\`${idle.ec2InstanceId}\` (idle)` },
      metadata: { eventType: 'ecs-ec2-keeper.removed', relatedResources: [idle.ec2InstanceId], additionalContext: { function: 'scaleInSweeper', cluster: 'prod', removed: '1' } },
    });
  });

  it('problems: a removal sends nothing', async () => {
    const { handler, notices, idle } = setup('problems');
    const result = await handler(scheduled);
    expect(result.clusters[0]?.execution.terminated).toEqual([idle.ec2InstanceId]);
    expect(notices).toEqual([]);
  });
});
