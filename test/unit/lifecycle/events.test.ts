import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REQUEUE_KIND, parseLifecycleRecord, snsRecords } from '../../../lib/events/lifecycle';
import { isLaunchSignal } from '../../../lib/events/launch';
import { loadLifecycleConfig } from '../../../lib/lifecycle/config';
import { SNS_MAX_MESSAGE_BYTES, buildRequeueMessage, chainFromSignal } from '../../../lib/lifecycle/messages';

type Envelope = { Records: { Sns: { Message: string; MessageId: string; TopicArn: string } }[] };
const fixture = (name: string): Envelope =>
  JSON.parse(readFileSync(join(__dirname, '../../../events', name), 'utf8')) as Envelope;
const firstRecord = (name: string) => fixture(name).Records[0];
const recordWith = (message: unknown, raw?: string) => ({
  EventSource: 'aws:sns',
  Sns: { MessageId: 'm-1', TopicArn: 'arn:aws:sns:us-east-1:123456789012:lifecycle', Message: raw ?? JSON.stringify(message) },
});
const all = { autoScalingGroups: [] as string[] };
const terminating = () => JSON.parse(firstRecord('lifecycle-terminating.json')!.Sns.Message) as Record<string, unknown>;
const requeue = () => JSON.parse(firstRecord('lifecycle-requeue.json')!.Sns.Message) as Record<string, unknown>;

describe('parseLifecycleRecord', () => {
  it('reads the terminating notification fixture, keeping unknown fields (Origin, Destination)', () => {
    const parsed = parseLifecycleRecord(firstRecord('lifecycle-terminating.json'), all);
    expect(parsed).toMatchObject({
      outcome: 'signal',
      signal: {
        kind: 'notification',
        messageId: '4a9f3fdc-a3e3-58db-b23b-61a4edd05553',
        topicArn: 'arn:aws:sns:us-east-1:123456789012:ecs-ec2-keeper-dev-lifecycle',
        notification: {
          EC2InstanceId: 'i-05629ab7d9287e205',
          AutoScalingGroupName: 'ecs-cluster-asg',
          LifecycleHookName: 'ecs-drain-hook',
          LifecycleActionToken: '465e0162-e6af-4786-b4e8-bb544ae58790',
          Origin: 'AutoScalingGroup',
          Destination: 'EC2',
        },
      },
    });
  });

  it('reads the requeue fixture', () => {
    expect(parseLifecycleRecord(firstRecord('lifecycle-requeue.json'), all)).toMatchObject({
      outcome: 'signal',
      signal: { kind: 'requeue', message: { attempt: 1, cluster: 'prod-ecs', heartbeatTimeoutSeconds: 600 } },
    });
  });

  it.each([['lifecycle-test-notification.json', 'test-notification', 'test-notification']])('acknowledges %s without acting', (file, kind, reason) => {
    expect(parseLifecycleRecord(firstRecord(file), all)).toEqual({ outcome: 'ignored', kind, reason });
  });

  it('ignores notifications and requeues of groups outside AUTO_SCALING_GROUPS', () => {
    const options = { autoScalingGroups: ['other-asg'] };
    expect(parseLifecycleRecord(firstRecord('lifecycle-terminating.json'), options)).toEqual({
      outcome: 'ignored',
      kind: 'notification',
      reason: 'unmanaged-group',
    });
    expect(parseLifecycleRecord(firstRecord('lifecycle-requeue.json'), options)).toMatchObject({ outcome: 'ignored', reason: 'unmanaged-group' });
    expect(parseLifecycleRecord(firstRecord('lifecycle-terminating.json'), { autoScalingGroups: ['ecs-cluster-asg'] })).toMatchObject({
      outcome: 'signal',
    });
    const arn = 'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:6b164a47-9782-493c-99d0-86e5ec3a8c1a:autoScalingGroupName/ecs-cluster-asg';
    // A group ARN in AUTO_SCALING_GROUPS names its group (one grammar, lib/config.ts).
    const byArn = loadLifecycleConfig({ CLUSTERS: 'prod', AUTO_SCALING_GROUPS: arn });
    expect(byArn.autoScalingGroups).toEqual(['ecs-cluster-asg']);
    expect(parseLifecycleRecord(firstRecord('lifecycle-terminating.json'), byArn)).toMatchObject({ outcome: 'signal' });
    const other = loadLifecycleConfig({ CLUSTERS: 'prod', AUTO_SCALING_GROUPS: `${arn}-other` });
    expect(parseLifecycleRecord(firstRecord('lifecycle-terminating.json'), other)).toMatchObject({ outcome: 'ignored' });
  });

  it.each([
    ['the malformed fixture (no EC2InstanceId)', firstRecord('lifecycle-malformed.json'), 'malformed-notification'],
    ['a record without Sns', { EventSource: 'aws:sns' }, 'malformed-record'],
    ['a message that is not JSON', recordWith(undefined, 'Auto Scaling: LifecycleTransition: x'), 'message-not-json'],
    ['a JSON array', recordWith([1, 2]), 'message-not-an-object'],
    ['an unknown message', recordWith({ hello: 'world' }), 'unknown-message'],
    ['a bad instance id', recordWith({ ...terminating(), EC2InstanceId: 'i-xyz; rm -rf' }), 'malformed-notification'],
    ['a numeric group name', recordWith({ ...terminating(), AutoScalingGroupName: 42 }), 'malformed-notification'],
    // Auto Scaling takes only 36-character tokens: another could never complete the action (aws-behaviour.md §3.2).
    ['a token of 35 characters', recordWith({ ...terminating(), LifecycleActionToken: '465e0162-e6af-4786-b4e8-bb544ae5879' }), 'malformed-notification'],
    ['a token of 40 characters', recordWith({ ...terminating(), LifecycleActionToken: '465e0162-e6af-4786-b4e8-bb544ae58790abcd' }), 'malformed-notification'],
    ['a requeue of an unknown version', recordWith({ ...requeue(), version: 3 }), 'unsupported-version'],
    ['a requeue without version', recordWith({ ...requeue(), version: undefined }), 'unsupported-version'],
    ['a requeue with a negative attempt', recordWith({ ...requeue(), attempt: -1 }), 'malformed-requeue'],
    ['a requeue with an unknown field', recordWith({ ...requeue(), extra: true }), 'malformed-requeue'],
    ['a requeue with a bad container instance', recordWith({ ...requeue(), containerInstanceArn: 'nope' }), 'malformed-requeue'],
    [
      'a requeue whose notification is not terminating',
      recordWith({ ...requeue(), notification: { ...terminating(), LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING' } }),
      'malformed-requeue',
    ],
  ])('rejects %s', (_name, record, reason) => {
    expect(parseLifecycleRecord(record, all)).toMatchObject({ outcome: 'invalid', reason });
  });

  it('never throws and never yields a signal for arbitrary messages', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string()), (raw) => {
        const parsed = parseLifecycleRecord(recordWith(undefined, raw), all);
        expect(['ignored', 'invalid']).toContain(parsed.outcome);
      }),
    );
  });

  it('never throws for arbitrary records', () => {
    fc.assert(
      fc.property(fc.anything(), (record) => {
        expect(() => parseLifecycleRecord(record, all)).not.toThrow();
      }),
    );
  });
});

describe('snsRecords', () => {
  it.each([
    [null, 'not-an-object'],
    [[], 'not-an-object'],
    ['x', 'not-an-object'],
    [{}, 'not-an-sns-event'],
    [{ Records: {} }, 'not-an-sns-event'],
    [{ Records: [] }, 'no-records'],
  ])('rejects %j', (event, reason) => {
    expect(snsRecords(event)).toMatchObject({ ok: false, reason });
  });
  it('returns every record', () => {
    expect(snsRecords({ Records: [1, 2, 3] })).toEqual({ ok: true, records: [1, 2, 3] });
  });
});

describe('requeue message', () => {
  it('round-trips through the parser with the attempt incremented', () => {
    const parsed = parseLifecycleRecord(firstRecord('lifecycle-requeue.json'), all);
    if (parsed.outcome !== 'signal' || isLaunchSignal(parsed.signal)) throw new Error('expected a drain signal');
    const chain = chainFromSignal(parsed.signal, Date.parse('2026-03-04T10:35:00Z'), () => 'unused');
    const next = buildRequeueMessage(chain);
    expect(next).toMatchObject({ kind: REQUEUE_KIND, version: 2, attempt: 2, chainId: '3f0c9a52-6f5e-4c4b-9d61-2a7b8e0c1d24' });
    expect(parseLifecycleRecord(recordWith(next), all)).toMatchObject({ outcome: 'signal', signal: { kind: 'requeue', message: next } });
  });

  it('stays far below the SNS limit even with the largest notification metadata', () => {
    const notification = { ...terminating(), NotificationMetadata: 'x'.repeat(4000) };
    const parsed = parseLifecycleRecord(recordWith(notification), all);
    if (parsed.outcome !== 'signal' || isLaunchSignal(parsed.signal)) throw new Error('expected a drain signal');
    const chain = {
      ...chainFromSignal(parsed.signal, Date.now(), () => '3f0c9a52-6f5e-4c4b-9d61-2a7b8e0c1d24'),
      cluster: 'arn:aws:ecs:us-east-1:123456789012:cluster/' + 'c'.repeat(255),
      containerInstanceArn: 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/0d3cf3c5a4b84e7b9a3d1e2f4b5c6d7e',
      heartbeatTimeoutSeconds: 7200,
      globalTimeoutSeconds: 172_800,
    };
    const bytes = Buffer.byteLength(JSON.stringify(buildRequeueMessage(chain)), 'utf8');
    expect(bytes).toBeLessThan(6 * 1024);
    expect(bytes).toBeLessThan(SNS_MAX_MESSAGE_BYTES);
  });

  it('starts a chain at the notification time, never in the future', () => {
    const parsed = parseLifecycleRecord(firstRecord('lifecycle-terminating.json'), all);
    if (parsed.outcome !== 'signal' || isLaunchSignal(parsed.signal)) throw new Error('expected a drain signal');
    const sent = Date.parse('2026-03-04T10:20:11.210Z');
    expect(chainFromSignal(parsed.signal, sent + 5000, () => 'c-1')).toMatchObject({ attempt: 0, firstSeenAt: sent, lastHeartbeatAt: sent, chainId: 'c-1' });
    expect(chainFromSignal(parsed.signal, sent - 5000, () => 'c-1').firstSeenAt).toBe(sent - 5000);
  });
});
