import {
  FRESH_LAUNCH,
  decideLaunchStep,
  launchDeadlineOf,
  launchStage,
  type LaunchChain,
  type LaunchDecisionConfig,
  type LaunchProgress,
  type LaunchSnapshot,
  type LaunchStep,
} from '../../../lib/lifecycle/launch-decide';

/**
 * The launch hook's decision, one row per situation: what ECS and Auto Scaling showed, where the
 * chain stands, the time; and the one step that follows.
 */
const S = 1000;
const T0 = Date.parse('2026-03-04T10:00:00Z');
const TOKEN = 'c0ffee00-1234-4abc-9def-0123456789ab';

const config: LaunchDecisionConfig = { launchPollIntervalSeconds: 15, launchTimeoutSeconds: 600, maxHops: 3, dryRun: false, opsTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops' };

function chain(overrides: Partial<LaunchChain> = {}): LaunchChain {
  return {
    chainId: 'chain-0001',
    attempt: 0,
    firstSeenAt: T0,
    lastHeartbeatAt: T0,
    heartbeatTimeoutSeconds: 300,
    globalTimeoutSeconds: 30_000,
    notification: {
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
      AutoScalingGroupName: 'asg',
      LifecycleHookName: 'launch',
      EC2InstanceId: 'i-0a1b2c3d4e5f60718',
      LifecycleActionToken: TOKEN,
    },
    ...overrides,
  };
}

const snapshot = (overrides: Partial<LaunchSnapshot> = {}): LaunchSnapshot => ({ actionOver: false, invocationEndsAt: T0 + 870 * S, ...overrides });
const action = { autoScalingGroupName: 'asg', lifecycleHookName: 'launch', instanceId: 'i-0a1b2c3d4e5f60718', lifecycleActionToken: TOKEN };

interface Row {
  name: string;
  snapshot?: Partial<LaunchSnapshot>;
  chain?: Partial<LaunchChain>;
  at?: number;
  config?: Partial<LaunchDecisionConfig>;
  progress?: Partial<LaunchProgress>;
  step: LaunchStep | Partial<LaunchStep>;
}

const waitingRows: Row[] = [
  {
    name: 'Auto Scaling shows the instance InService: the action is over, nothing is read from ECS',
    snapshot: { groupState: 'InService' },
    step: { kind: 'end', reason: 'action-over' },
  },
  { name: 'the instance left every group: over', snapshot: { groupState: 'absent' }, step: { kind: 'end', reason: 'action-over' } },
  { name: 'abandoned and terminating: over', snapshot: { groupState: 'Terminating:Wait' }, step: { kind: 'end', reason: 'action-over' } },
  { name: 'in Standby: no launch action waits, whatever the message says', snapshot: { groupState: 'Standby' }, step: { kind: 'end', reason: 'not-in-transition' } },
  {
    name: 'Pending:Wait in another group than the message names: not this action',
    snapshot: { groupState: 'Pending:Wait', groupName: 'other-asg', readiness: { kind: 'ready', daemons: 1 } },
    step: { kind: 'end', reason: 'not-in-transition' },
  },
  { name: 'Auto Scaling answered "no active action"', snapshot: { actionOver: true, readiness: { kind: 'ready', daemons: 0 } }, step: { kind: 'end', reason: 'action-over' } },
  {
    name: 'ready: complete CONTINUE',
    snapshot: { groupState: 'Pending:Wait', readiness: { kind: 'ready', daemons: 2 } },
    at: T0 + 90 * S,
    step: { kind: 'complete', result: 'CONTINUE', reason: 'ready', action, opsTopicArn: config.opsTopicArn },
  },
  {
    name: 'ready beats the deadline: a launch that became ready is let in, never abandoned',
    snapshot: { readiness: { kind: 'ready', daemons: 1 } },
    at: T0 + 900 * S,
    step: { kind: 'complete', result: 'CONTINUE', reason: 'ready' },
  },
  {
    name: 'not registered yet: wait a poll',
    snapshot: { groupState: 'Pending:Wait', readiness: { kind: 'not-registered' } },
    at: T0 + 10 * S,
    step: { kind: 'wait', reason: 'not-registered', until: T0 + 25 * S },
  },
  { name: 'registering (not ACTIVE): wait', snapshot: { readiness: { kind: 'not-active', status: 'REGISTERING' } }, at: T0 + 30 * S, step: { kind: 'wait', reason: 'not-active' } },
  { name: 'agent not connected: wait', snapshot: { readiness: { kind: 'agent-disconnected' } }, at: T0 + 30 * S, step: { kind: 'wait', reason: 'agent-disconnected' } },
  {
    name: 'a daemon not RUNNING yet: wait',
    snapshot: { readiness: { kind: 'daemons-pending', missing: ['log-router'] } },
    at: T0 + 70 * S,
    step: { kind: 'wait', reason: 'daemons-pending', until: T0 + 85 * S },
  },
  {
    name: 'at LAUNCH_TIMEOUT_SECONDS and not ready: complete ABANDON, with the operators notice',
    snapshot: { readiness: { kind: 'daemons-pending', missing: ['log-router'] } },
    at: T0 + 600 * S,
    step: { kind: 'complete', result: 'ABANDON', reason: 'deadline', action, opsTopicArn: config.opsTopicArn },
  },
  {
    name: 'the wait never passes the deadline',
    snapshot: { readiness: { kind: 'not-registered' } },
    chain: { lastHeartbeatAt: T0 + 500 * S },
    at: T0 + 595 * S,
    step: { kind: 'wait', until: T0 + 600 * S },
  },
  {
    name: 'the hook global timeout comes first: the deadline is two minutes before it',
    snapshot: { readiness: { kind: 'not-registered' } },
    chain: { heartbeatTimeoutSeconds: 30, globalTimeoutSeconds: 400, lastHeartbeatAt: T0 + 270 * S },
    at: T0 + 280 * S,
    step: { kind: 'complete', result: 'ABANDON', reason: 'deadline' },
  },
  {
    name: 'half the heartbeat timeout since the last heartbeat: heartbeat',
    snapshot: { readiness: { kind: 'not-registered' } },
    at: T0 + 150 * S,
    step: { kind: 'heartbeat', reason: 'heartbeat-due', action },
  },
  {
    name: 'the wait stops at the next heartbeat',
    snapshot: { readiness: { kind: 'not-registered' } },
    at: T0 + 140 * S,
    step: { kind: 'wait', until: T0 + 150 * S },
  },
  {
    name: 'the invocation ends before the next poll: confirm the action with a heartbeat first',
    snapshot: { readiness: { kind: 'not-registered' }, invocationEndsAt: T0 + 100 * S },
    at: T0 + 90 * S,
    config: { lifecycleTopicArn: 'arn:aws:sns:us-east-1:123456789012:lifecycle' },
    step: { kind: 'heartbeat', reason: 'before-requeue' },
  },
  {
    name: 'confirmed: requeue to LIFECYCLE_TOPIC_ARN',
    snapshot: { readiness: { kind: 'not-registered' }, invocationEndsAt: T0 + 100 * S, actionConfirmed: true },
    at: T0 + 90 * S,
    config: { lifecycleTopicArn: 'arn:aws:sns:us-east-1:123456789012:lifecycle' },
    step: { kind: 'requeue', reason: 'invocation-ending', topicArn: 'arn:aws:sns:us-east-1:123456789012:lifecycle' },
  },
  {
    name: 'confirmed, no LIFECYCLE_TOPIC_ARN: requeue to the topic it arrived on',
    snapshot: { readiness: { kind: 'not-registered' }, invocationEndsAt: T0 + 100 * S, actionConfirmed: true },
    at: T0 + 90 * S,
    progress: { arrivedOn: 'arn:aws:sns:us-east-1:123456789012:arrived' },
    step: { kind: 'requeue', topicArn: 'arn:aws:sns:us-east-1:123456789012:arrived' },
  },
  {
    name: 'the last allowed hop: complete ABANDON (hop-cap) instead of requeueing',
    snapshot: { readiness: { kind: 'not-registered' }, invocationEndsAt: T0 + 100 * S, actionConfirmed: true },
    chain: { attempt: 3 },
    at: T0 + 90 * S,
    step: { kind: 'complete', result: 'ABANDON', reason: 'hop-cap' },
  },
  {
    name: 'a message beyond the hop cap: ABANDON at once',
    snapshot: { readiness: { kind: 'not-registered' } },
    chain: { attempt: 4 },
    at: T0 + 30 * S,
    step: { kind: 'complete', result: 'ABANDON', reason: 'hop-cap' },
  },
  {
    name: 'dry run: reports the completion it would make and stops',
    snapshot: { readiness: { kind: 'ready', daemons: 1 } },
    config: { dryRun: true },
    step: { kind: 'dry-run', reason: 'ready', wouldDo: { kind: 'complete', result: 'CONTINUE', reason: 'ready', action, opsTopicArn: config.opsTopicArn } },
  },
  {
    name: 'dry run while not ready: reports the wait',
    snapshot: { readiness: { kind: 'not-registered' } },
    config: { dryRun: true },
    at: T0 + 10 * S,
    step: { kind: 'dry-run', reason: 'not-registered' },
  },
];

const faultRows: Row[] = [
  {
    name: 'ECS throttles once: retry after a poll interval (jitter 0.5)',
    progress: { failure: 'retryable', failedService: 'ecs', consecutiveFailures: 1, jitter: 0.5 },
    at: T0 + 30 * S,
    step: { kind: 'retry', reason: 'poll-failed', pauseMs: 15 * S },
  },
  {
    name: 'ECS keeps failing while Auto Scaling answers: ride it out, the pause doubling up to four polls',
    progress: { failure: 'retryable', failedService: 'ecs', consecutiveFailures: 5, jitter: 0.5, autoScalingAnswers: true },
    at: T0 + 30 * S,
    step: { kind: 'retry', pauseMs: 60 * S },
  },
  {
    name: 'a heartbeat comes due while ECS fails: the retry carries it',
    progress: { failure: 'retryable', failedService: 'ecs', consecutiveFailures: 2, jitter: 0.5 },
    at: T0 + 150 * S,
    step: { kind: 'retry', heartbeat: action },
  },
  {
    name: 'Auto Scaling fails three polls in a row: give up, with a heartbeat, so Lambda retries',
    progress: { failure: 'retryable', failedService: 'autoScaling', consecutiveFailures: 3, autoScalingAnswers: false },
    at: T0 + 30 * S,
    step: { kind: 'give-up', reason: 'failures-in-a-row', errorClass: 'retryable', heartbeat: action },
  },
  {
    name: 'access denied: give up at once',
    progress: { failure: 'non-actionable', consecutiveFailures: 1 },
    at: T0 + 30 * S,
    step: { kind: 'give-up', reason: 'not-retryable', errorClass: 'non-actionable' },
  },
  {
    name: 'the pause would outlast the invocation: give up (Lambda retries the message)',
    snapshot: { invocationEndsAt: T0 + 35 * S },
    progress: { failure: 'retryable', failedService: 'ecs', consecutiveFailures: 1, jitter: 0.5 },
    at: T0 + 30 * S,
    step: { kind: 'give-up', reason: 'invocation-ending' },
  },
  {
    name: 'past the deadline while ECS cannot be read: ABANDON without another read',
    progress: { failure: 'retryable', failedService: 'ecs', consecutiveFailures: 1 },
    at: T0 + 601 * S,
    step: { kind: 'complete', result: 'ABANDON', reason: 'deadline' },
  },
  {
    name: '"no active Lifecycle Action": end',
    progress: { failure: 'action-over', consecutiveFailures: 0 },
    at: T0 + 30 * S,
    step: { kind: 'end', reason: 'action-over' },
  },
];

describe('decideLaunchStep', () => {
  it.each([...waitingRows, ...faultRows].map((row) => [row.name, row] as const))('%s', (_name, row) => {
    const step = decideLaunchStep(snapshot(row.snapshot), chain(row.chain), row.at ?? T0 + 60 * S, { ...config, ...row.config }, { ...FRESH_LAUNCH, ...row.progress });
    expect(step).toMatchObject(row.step);
  });

  it('without an operators topic, completions carry no notice', () => {
    const { opsTopicArn: _none, ...quiet } = config;
    const step = decideLaunchStep(snapshot({ readiness: { kind: 'not-registered' } }), chain(), T0 + 700 * S, quiet);
    expect(step).toEqual({ kind: 'complete', result: 'ABANDON', reason: 'deadline', action });
  });
});

describe('launchStage and launchDeadlineOf', () => {
  it.each([
    ['Pending:Wait', 'waiting'],
    ['Warmed:Pending:Wait', 'waiting'],
    ['Pending:Proceed', 'past'],
    ['InService', 'past'],
    ['Terminating', 'past'],
    ['absent', 'past'],
    ['Pending', 'outside'],
    ['Standby', 'outside'],
    ['Detaching', 'outside'],
  ])('%s is %s', (state, stage) => {
    expect(launchStage(state)).toBe(stage);
  });

  it('counts the deadline from the notification, capped two minutes before the global timeout', () => {
    expect(launchDeadlineOf(chain(), config)).toBe(T0 + 600 * S);
    expect(launchDeadlineOf(chain({ globalTimeoutSeconds: 500 }), config)).toBe(T0 + 380 * S);
  });
});
