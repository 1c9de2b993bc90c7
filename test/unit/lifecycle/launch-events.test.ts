import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAUNCH_REQUEUE_KIND, launchRequeueSchema } from '../../../lib/events/launch';
import { parseLifecycleRecord } from '../../../lib/events/lifecycle';
import { buildLaunchRequeueMessage, chainFromLaunchSignal } from '../../../lib/lifecycle/launch-round';
import { SNS_MAX_MESSAGE_BYTES } from '../../../lib/lifecycle/messages';

/**
 * Launch notifications (events/lifecycle-launching.json) and launch requeue messages on the
 * lifecycle topic: what is read as a launch signal, what is acknowledged, what is refused.
 */
type Envelope = { Records: { Sns: { Message: string; MessageId: string; TopicArn: string } }[] };
const fixture = JSON.parse(readFileSync(join(__dirname, '../../../events/lifecycle-launching.json'), 'utf8')) as Envelope;
const launching = () => JSON.parse(fixture.Records[0]!.Sns.Message) as Record<string, unknown>;
const recordWith = (message: unknown, raw?: string) => ({
  EventSource: 'aws:sns',
  Sns: { MessageId: 'm-1', TopicArn: 'arn:aws:sns:us-east-1:123456789012:ecs-ec2-keeper-dev-lifecycle', Message: raw ?? JSON.stringify(message) },
});
const all = { autoScalingGroups: [] };

function requeue(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: LAUNCH_REQUEUE_KIND,
    version: 1,
    chainId: '3f0c9a52-6f5e-4c4b-9d61-2a7b8e0c1d24',
    attempt: 1,
    firstSeenAt: '2026-03-04T10:02:40.118Z',
    lastHeartbeatAt: '2026-03-04T10:07:40.118Z',
    heartbeatTimeoutSeconds: 300,
    globalTimeoutSeconds: 30_000,
    notification: launching(),
    ...overrides,
  };
}

describe('launch notifications on the lifecycle topic', () => {
  it('reads the fixture as a launch signal, with the fields Auto Scaling sent kept as received', () => {
    const parsed = parseLifecycleRecord(fixture.Records[0], all);
    expect(parsed).toMatchObject({
      outcome: 'signal',
      signal: {
        kind: 'launch-notification',
        messageId: '9b7e5c3a-1d2f-5e4a-8b6c-0d1e2f3a4b5c',
        topicArn: 'arn:aws:sns:us-east-1:123456789012:ecs-ec2-keeper-dev-lifecycle',
        notification: {
          LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
          AutoScalingGroupName: 'ecs-cluster-asg',
          LifecycleHookName: 'ecs-launch-hook',
          EC2InstanceId: 'i-0a1b2c3d4e5f60718',
          LifecycleActionToken: 'c0ffee00-1234-4abc-9def-0123456789ab',
          Origin: 'EC2',
          Destination: 'AutoScalingGroup',
        },
      },
    });
  });

  it('acknowledges groups outside AUTO_SCALING_GROUPS, notifications and requeues alike', () => {
    const other = { autoScalingGroups: ['other-asg'] };
    expect(parseLifecycleRecord(fixture.Records[0], other)).toEqual({ outcome: 'ignored', kind: 'launch-notification', reason: 'unmanaged-group' });
    expect(parseLifecycleRecord(recordWith(requeue()), other)).toEqual({ outcome: 'ignored', kind: 'launch-requeue', reason: 'unmanaged-group' });
    expect(parseLifecycleRecord(fixture.Records[0], { autoScalingGroups: ['ecs-cluster-asg'] })).toMatchObject({ outcome: 'signal' });
  });

  it.each([
    ['no instance id', { ...launching(), EC2InstanceId: undefined }, 'malformed-launch-notification'],
    ['an instance id that is not one', { ...launching(), EC2InstanceId: 'i-0abc; DROP' }, 'malformed-launch-notification'],
    ['no hook name', { ...launching(), LifecycleHookName: '' }, 'malformed-launch-notification'],
    ['no group', { ...launching(), AutoScalingGroupName: undefined }, 'malformed-launch-notification'],
    ['a token of 35 characters', { ...launching(), LifecycleActionToken: 'c0ffee00-1234-4abc-9def-0123456789a' }, 'malformed-launch-notification'],
    ['a time that is not one', { ...launching(), Time: 'yesterday' }, 'malformed-launch-notification'],
    ['metadata over 4000 characters', { ...launching(), NotificationMetadata: 'x'.repeat(4001) }, 'malformed-launch-notification'],
    ['a launch requeue of another version', requeue({ version: 2 }), 'unsupported-version'],
    ['a launch requeue with an unknown field', requeue({ extra: 1 }), 'malformed-launch-requeue'],
    ['a launch requeue without its chain id', requeue({ chainId: undefined }), 'malformed-launch-requeue'],
    ['a launch requeue whose notification is a termination', requeue({ notification: { ...launching(), LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING' } }), 'malformed-launch-requeue'],
    ['a launch requeue with a bad container instance', requeue({ cluster: 'prod', containerInstanceArn: 'nope' }), 'malformed-launch-requeue'],
    ['a launch requeue with a heartbeat timeout AWS never allows', requeue({ heartbeatTimeoutSeconds: 10 }), 'malformed-launch-requeue'],
  ])('refuses %s', (_name, message, reason) => {
    expect(parseLifecycleRecord(recordWith(message), all)).toMatchObject({ outcome: 'invalid', reason });
  });

  it('never throws and never yields a launch signal for arbitrary launch-shaped messages', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('EC2InstanceId', 'LifecycleHookName', 'AutoScalingGroupName', 'LifecycleActionToken', 'Time'), fc.anything()), (fields) => {
        const message = { LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING', ...fields };
        const parsed = parseLifecycleRecord(recordWith(message), all);
        if (parsed.outcome === 'signal') {
          // Only a message that satisfies every field's rule becomes a signal.
          expect(typeof fields.EC2InstanceId === 'string' && /^i-[0-9a-f]{8}([0-9a-f]{9})?$/.test(fields.EC2InstanceId)).toBe(true);
        } else {
          expect(parsed.outcome).toBe('invalid');
        }
      }),
    );
  });
});

describe('launch requeue message', () => {
  it('round-trips: a requeued chain keeps its clocks, hook timeouts and container instance, one hop further', () => {
    const parsed = parseLifecycleRecord(fixture.Records[0], all);
    if (parsed.outcome !== 'signal' || parsed.signal.kind !== 'launch-notification') throw new Error('expected a launch notification');
    const chain = {
      ...chainFromLaunchSignal(parsed.signal, Date.parse('2026-03-04T10:05:00Z'), () => '3f0c9a52-6f5e-4c4b-9d61-2a7b8e0c1d24'),
      heartbeatTimeoutSeconds: 300,
      globalTimeoutSeconds: 30_000,
      cluster: 'prod',
      containerInstanceArn: 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/0d3cf3c5a4b84e7b9a3d1e2f4b5c6d7e',
    };
    const message = buildLaunchRequeueMessage(chain);
    expect(launchRequeueSchema.parse(message)).toEqual(message);
    const next = parseLifecycleRecord(recordWith(message), all);
    if (next.outcome !== 'signal' || next.signal.kind !== 'launch-requeue') throw new Error('expected a launch requeue');
    expect(chainFromLaunchSignal(next.signal, Date.now(), () => 'unused')).toEqual({ ...chain, attempt: 1 });
    expect(Buffer.byteLength(JSON.stringify(message))).toBeLessThan(SNS_MAX_MESSAGE_BYTES / 40);
  });

  it('starts a chain at the notification time, never in the future, and refuses to requeue before the hook is known', () => {
    const parsed = parseLifecycleRecord(fixture.Records[0], all);
    if (parsed.outcome !== 'signal' || parsed.signal.kind !== 'launch-notification') throw new Error('expected a launch notification');
    const sent = Date.parse('2026-03-04T10:02:40.118Z');
    const chain = chainFromLaunchSignal(parsed.signal, sent + 5000, () => 'c-1');
    expect(chain).toMatchObject({ attempt: 0, firstSeenAt: sent, lastHeartbeatAt: sent, chainId: 'c-1' });
    expect(chainFromLaunchSignal(parsed.signal, sent - 5000, () => 'c-1').firstSeenAt).toBe(sent - 5000);
    expect(() => buildLaunchRequeueMessage(chain)).toThrow(/hook is known/);
  });
});
