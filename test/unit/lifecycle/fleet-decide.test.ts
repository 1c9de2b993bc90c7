import { decideLifecycleStep, MAX_BACKOFF_POLLS, retryPauseMs, ridesOutEcsFaults, type ChainState, type LifecycleDecisionConfig, type LifecycleSnapshot } from '../../../lib/lifecycle/decide';

const T0 = Date.parse('2026-03-04T10:00:00Z');
const config: LifecycleDecisionConfig = { standaloneTasks: 'wait', pollIntervalSeconds: 60, drainTimeoutSeconds: 3600, deadlineResult: 'CONTINUE', maxHops: 100, daemonGraceSeconds: 120, dryRun: false, lifecycleTopicArn: 'arn:aws:sns:us-east-1:123456789012:t' };
const chain: ChainState = {
  chainId: 'chain-0001',
  attempt: 1,
  firstSeenAt: T0,
  lastHeartbeatAt: T0,
  heartbeatTimeoutSeconds: 600,
  globalTimeoutSeconds: 60_000,
  cluster: 'prod',
  containerInstanceArn: 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/abc',
  notification: { LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', AutoScalingGroupName: 'asg', LifecycleHookName: 'hook', EC2InstanceId: 'i-0123456789abcdef0' },
};
const snapshot = (invocationEndsAt: number, groupState?: string): LifecycleSnapshot => ({
  tasks: [],
  actionOver: false,
  lease: { mine: 'a', claimed: true },
  invocationEndsAt,
  ...(groupState ? { groupState } : {}),
});
const failing = (consecutiveFailures: number, extra: object = {}) => ({
  stepsThisPoll: 0,
  drainRequests: 0,
  consecutiveFailures,
  failure: 'retryable' as const,
  failedService: 'ecs',
  autoScalingAnswers: true,
  jitter: 0.5,
  ...extra,
});

describe('fleet scale: riding out ECS faults (decide.ts)', () => {
  it('rides out only retryable ECS failures while Auto Scaling answers', () => {
    expect(ridesOutEcsFaults(failing(5), chain)).toBe(true);
    expect(ridesOutEcsFaults(failing(5, { failedService: 'autoScaling' }), chain)).toBe(false);
    expect(ridesOutEcsFaults(failing(5, { autoScalingAnswers: false }), chain)).toBe(false);
    expect(ridesOutEcsFaults(failing(5, { failure: 'fatal' }), chain)).toBe(false);
    // Before the hook was read no heartbeat can keep the action open: the old give-up rules apply.
    const { heartbeatTimeoutSeconds: _unread, ...hookUnread } = chain;
    expect(ridesOutEcsFaults(failing(5), hookUnread)).toBe(false);
    expect(decideLifecycleStep(snapshot(T0 + 3_600_000), hookUnread, T0, config, failing(3))).toMatchObject({ kind: 'give-up', reason: 'failures-in-a-row' });
  });

  it.each([
    [1, 0.5, 60_000],
    [2, 0.5, 120_000],
    [3, 0.5, 240_000],
    [9, 0.5, 240_000],
    [1, 0, 30_000],
    [1, 0.999, 89_940],
  ])('after %i failures with jitter %f the pause is %i ms (heartbeat far)', (failures, jitter, expected) => {
    const fresh = { ...chain, lastHeartbeatAt: T0 };
    expect(retryPauseMs(fresh, T0, config, failing(failures, { jitter }))).toBe(expected);
  });

  it('never pauses past the next heartbeat or the deadline', () => {
    // Heartbeat due at T0 + 300 s; 250 s have passed: 50 s left.
    expect(retryPauseMs(chain, T0 + 250_000, config, failing(3))).toBe(50_000);
    const nearDeadline = { ...config, drainTimeoutSeconds: 260 };
    expect(retryPauseMs(chain, T0 + 250_000, nearDeadline, failing(3))).toBe(10_000);
    expect(MAX_BACKOFF_POLLS).toBe(4);
  });

  it('does not give up after many ECS failures; at the invocation end it re-checks the action with a heartbeat, then requeues', () => {
    const now = T0 + 10_000;
    const retry = decideLifecycleStep(snapshot(now + 3_600_000), chain, now, config, failing(7));
    expect(retry).toMatchObject({ kind: 'retry', pauseMs: 240_000 });
    // A heartbeat names this hook and token: it succeeds only while this very action is open.
    expect(decideLifecycleStep(snapshot(now + 1000), chain, now, config, failing(7))).toMatchObject({ kind: 'heartbeat', reason: 'before-requeue' });
    expect(decideLifecycleStep({ ...snapshot(now + 1000), actionConfirmed: true }, chain, now, config, failing(7))).toMatchObject({
      kind: 'requeue',
      topicArn: config.lifecycleTopicArn,
    });
    expect(decideLifecycleStep({ ...snapshot(now + 1000), actionOver: true }, chain, now, config, failing(7))).toMatchObject({ kind: 'end', reason: 'action-over' });
  });

  it('gives up as before when Auto Scaling fails too, or before the chain can be requeued', () => {
    const now = T0 + 10_000;
    expect(decideLifecycleStep(snapshot(now + 3_600_000), chain, now, config, failing(3, { autoScalingAnswers: false }))).toMatchObject({ kind: 'give-up', reason: 'failures-in-a-row' });
    const unknown: ChainState = { ...chain, cluster: undefined, containerInstanceArn: undefined };
    expect(decideLifecycleStep(snapshot(now + 1000), unknown, now, config, failing(3))).toMatchObject({ kind: 'give-up', reason: 'invocation-ending' });
  });
});
