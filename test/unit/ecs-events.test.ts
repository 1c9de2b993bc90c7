import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isEcsBusEvent, parseEcsTaskEvent } from '../../lib/events/ecs';
import { parseLifecycleRecord, requeueMessageSchema } from '../../lib/events/lifecycle';
import { buildRequeueMessage } from '../../lib/lifecycle/messages';
import { MAX_REMEMBERED_STOPPED } from '../../lib/lifecycle/task-reads';

const fixture = JSON.parse(readFileSync(join(__dirname, '../../events/ecs-task-stopped.json'), 'utf8')) as { detail: Record<string, unknown> } & Record<string, unknown>;
const withDetail = (detail: Record<string, unknown>) => ({ ...fixture, detail: { ...fixture.detail, ...detail } });

describe('ECS task state-change events (lib/events/ecs.ts)', () => {
  it('parses the fixture into a STOPPED signal with its version', () => {
    expect(isEcsBusEvent(fixture)).toBe(true);
    expect(parseEcsTaskEvent(fixture, { clusters: ['prod-ecs'] })).toEqual({
      outcome: 'signal',
      signal: {
        eventId: fixture.id,
        clusterArn: fixture.detail.clusterArn,
        taskArn: fixture.detail.taskArn,
        containerInstanceArn: fixture.detail.containerInstanceArn,
        version: 5,
        group: 'service:web',
      },
    });
    expect(parseEcsTaskEvent(fixture, { clusters: [String(fixture.detail.clusterArn)] }).outcome).toBe('signal');
    expect(parseEcsTaskEvent(fixture, { clusters: ['*'] }).outcome).toBe('signal');
  });

  it.each([
    ['a task not yet STOPPED', withDetail({ lastStatus: 'STOPPING' }), 'not-stopped'],
    ['a Fargate task (no container instance)', withDetail({ containerInstanceArn: undefined }), 'no-container-instance'],
  ])('ignores %s', (_name, event, reason) => {
    expect(parseEcsTaskEvent(event, { clusters: [] })).toEqual({ outcome: 'ignored', kind: 'task-state-change', reason });
  });

  it('ignores a task of an unmanaged cluster', () => {
    expect(parseEcsTaskEvent(fixture, { clusters: ['other'] })).toMatchObject({ outcome: 'ignored', reason: 'unmanaged-cluster' });
  });

  it.each([
    ['another detail-type', { ...fixture, 'detail-type': 'ECS Container Instance State Change' }, 'unknown-detail-type'],
    ['another source', { ...fixture, source: 'aws.ec2' }, 'unexpected-source'],
    ['a version that is not a number', withDetail({ version: '5' }), 'malformed-detail'],
    ['a task ARN that is not one', withDetail({ taskArn: 'task/1' }), 'malformed-detail'],
    ['no detail', { ...fixture, detail: undefined }, 'malformed-envelope'],
    ['not an object', 'STOPPED', 'malformed-envelope'],
  ])('rejects %s as invalid', (_name, event, reason) => {
    expect(parseEcsTaskEvent(event, { clusters: [] })).toMatchObject({ outcome: 'invalid', reason });
  });
});

describe('requeue message version 2: the tasks seen STOPPED travel with the chain', () => {
  const chain = {
    chainId: '3f0c9a52-6f5e-4c4b-9d61-2a7b8e0c1d24',
    attempt: 0,
    firstSeenAt: Date.parse('2026-03-04T10:00:00Z'),
    lastHeartbeatAt: Date.parse('2026-03-04T10:00:00Z'),
    heartbeatTimeoutSeconds: 600,
    globalTimeoutSeconds: 60_000,
    cluster: 'prod',
    containerInstanceArn: 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/abc',
    notification: { LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING' as const, AutoScalingGroupName: 'asg', LifecycleHookName: 'hook', EC2InstanceId: 'i-0123456789abcdef0' },
  };
  const arns = Array.from({ length: MAX_REMEMBERED_STOPPED + 20 }, (_, index) => `arn:aws:ecs:us-east-1:123456789012:task/prod/${index.toString(16).padStart(32, '0')}`);

  it('carries the newest ARNs, at most the remembered number, and reads back', () => {
    const message = buildRequeueMessage(chain, arns);
    expect(message.version).toBe(2);
    expect(message.version === 2 && message.stoppedTaskArns).toEqual(arns.slice(-MAX_REMEMBERED_STOPPED));
    const record = { EventSource: 'aws:sns', Sns: { MessageId: 'm', Message: JSON.stringify(message) } };
    expect(parseLifecycleRecord(record, { autoScalingGroups: [] })).toMatchObject({ outcome: 'signal', signal: { kind: 'requeue', message: { stoppedTaskArns: arns.slice(-MAX_REMEMBERED_STOPPED) } } });
    expect(JSON.stringify(message).length).toBeLessThan(30_000);
  });

  it('still reads version 1 messages, which carry no ARNs', () => {
    const { stoppedTaskArns: _unused, ...rest } = buildRequeueMessage(chain, arns) as { stoppedTaskArns?: string[] };
    expect(requeueMessageSchema.safeParse({ ...rest, version: 1 }).success).toBe(true);
    expect(requeueMessageSchema.safeParse({ ...rest, version: 1, stoppedTaskArns: arns.slice(0, 1) }).success).toBe(false);
  });
});
