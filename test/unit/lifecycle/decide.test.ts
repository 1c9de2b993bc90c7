import fc from 'fast-check';
import type { ClassifiedTask, TaskOrigin } from '../../../lib/aws/tasks';
import { AutoScalingServiceException } from '@aws-sdk/client-auto-scaling';
import { ECSServiceException } from '@aws-sdk/client-ecs';
import { NonActionableError, RetryableError } from '../../../lib/errors';
import {
  FRESH_ROUND,
  GLOBAL_TIMEOUT_MARGIN_MS,
  INVOCATION_SAFETY_MARGIN_MS,
  MAX_CONSECUTIVE_POLL_FAILURES,
  MAX_STEPS_PER_POLL,
  classifyPollFailure,
  countTasks,
  decideLifecycleStep,
  deadlineOf,
  invocationBudget,
  transitionStage,
  type ChainState,
  type LifecycleDecisionConfig,
  type LifecycleSnapshot,
  type LifecycleStep,
  type RoundProgress,
} from '../../../lib/lifecycle/decide';
import { leaseRanksAbove, leaseValue } from '../../../lib/lifecycle/lease';

const T0 = Date.parse('2026-03-04T10:20:11.210Z');
const S = 1000;
const CI_ARN = 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/0d3cf3c5a4b84e7b9a3d1e2f4b5c6d7e';
const INSTANCE_ID = 'i-05629ab7d9287e205';
const TOKEN = '465e0162-e6af-4786-b4e8-bb544ae58790';
const ARRIVAL_TOPIC = 'arn:aws:sns:us-east-1:123456789012:ecs-ec2-keeper-dev-lifecycle';
const REQUEUE_TOPIC = 'arn:aws:sns:us-east-1:123456789012:requeue';
const OPS_TOPIC = 'arn:aws:sns:us-east-1:123456789012:ops';
/** The lifecycle action every Auto Scaling write of the default chain targets. */
const ACTION = {
  autoScalingGroupName: 'ecs-cluster-asg',
  lifecycleHookName: 'ecs-drain-hook',
  instanceId: INSTANCE_ID,
  lifecycleActionToken: TOKEN,
};

let taskNumber = 0;
function task(origin: TaskOrigin, lastStatus = 'RUNNING', desiredStatus = 'RUNNING'): ClassifiedTask {
  taskNumber += 1;
  const group = origin === 'standalone' ? 'family:batch' : origin === 'daemon' ? 'service:agent' : 'service:web';
  return {
    taskArn: `arn:aws:ecs:us-east-1:123456789012:task/prod/${origin}${taskNumber}`,
    lastStatus,
    desiredStatus,
    group,
    ...(origin === 'standalone' ? {} : { serviceName: group.slice('service:'.length) }),
    cpu: 256,
    memory: 512,
    origin,
  };
}

const baseConfig: LifecycleDecisionConfig = {
  standaloneTasks: 'wait',
  pollIntervalSeconds: 10,
  drainTimeoutSeconds: 900,
  deadlineResult: 'CONTINUE',
  maxHops: 100,
  daemonGraceSeconds: 120,
  dryRun: false,
};

function chain(overrides: Partial<ChainState> = {}): ChainState {
  return {
    chainId: 'chain-0001',
    attempt: 0,
    firstSeenAt: T0,
    lastHeartbeatAt: T0,
    heartbeatTimeoutSeconds: 600,
    globalTimeoutSeconds: 60_000,
    cluster: 'prod',
    containerInstanceArn: CI_ARN,
    notification: {
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      AutoScalingGroupName: 'ecs-cluster-asg',
      LifecycleHookName: 'ecs-drain-hook',
      EC2InstanceId: INSTANCE_ID,
      LifecycleActionToken: TOKEN,
    },
    ...overrides,
  };
}

function snapshot(overrides: Partial<LifecycleSnapshot> = {}): LifecycleSnapshot {
  return {
    instance: { status: 'DRAINING' },
    tasks: [],
    actionOver: false,
    lease: { mine: 'lease-mine', claimed: true, written: MY_LEASE, current: MY_LEASE },
    invocationEndsAt: T0 + 800 * S,
    ...overrides,
  };
}

const NOW = T0 + 60 * S;
/** The lease this round wrote (30 s into the drain), as every poll reads it back by default. */
const MY_LEASE = leaseValue(T0 + 30 * S, 'chain-0001', 'lease-mine');
/** A duplicate chain's lease written after ours, and one written before ours. */
const LATER_LEASE = leaseValue(T0 + 31 * S, 'chain-0002', 'lease-other');
const EARLIER_LEASE = leaseValue(T0 + 29 * S, 'chain-0002', 'lease-other');

interface Row {
  name: string;
  snapshot?: Partial<LifecycleSnapshot>;
  chain?: Partial<ChainState>;
  config?: Partial<LifecycleDecisionConfig>;
  /** How the round has gone so far, faults included; FRESH_ROUND unless given. */
  round?: Partial<RoundProgress>;
  now?: number;
  expected: LifecycleStep;
}

const running = task('service');
const deactivating = task('service', 'DEACTIVATING', 'STOPPED');
const stopping = task('service', 'STOPPING', 'STOPPED');
const stoppedService = task('service', 'STOPPED', 'STOPPED');
const daemon = task('daemon');
const standalone = task('standalone');
const standaloneStopping = task('standalone', 'STOPPING', 'STOPPED');
const pendingService = task('service', 'PENDING', 'RUNNING');

const wait = (until: number) => ({ kind: 'wait', reason: 'tasks-remaining', until }) as const;
const complete = (result: 'CONTINUE' | 'ABANDON', reason: Extract<LifecycleStep, { kind: 'complete' }>['reason']) =>
  ({ kind: 'complete', result, reason, action: ACTION }) as const;
const drain = (pauseAfterMs = 0) =>
  ({ kind: 'drain', reason: 'instance-active', cluster: 'prod', containerInstanceArn: CI_ARN, pauseAfterMs }) as const;
const heartbeat = (dueAt: number) => ({ kind: 'heartbeat', reason: 'heartbeat-due', dueAt, action: ACTION }) as const;
const claimLease = {
  kind: 'claim-lease',
  reason: 'before-waiting',
  cluster: 'prod',
  containerInstanceArn: CI_ARN,
  value: leaseValue(T0 + 60 * S, 'chain-0001', 'lease-mine'),
} as const;
const retry = (withHeartbeat: boolean) =>
  ({ kind: 'retry', reason: 'poll-failed', pauseMs: 10 * S, ...(withHeartbeat ? { heartbeat: ACTION } : {}) }) as const;
/** The snapshot a failed poll is decided on: the last tasks read, nothing known of the instance. */
const failedPoll = (tasks: readonly ClassifiedTask[] = [running]): Partial<LifecycleSnapshot> => ({ instance: undefined, tasks });
const throttled = (failures = 1): Partial<RoundProgress> => ({ consecutiveFailures: failures, failure: 'retryable' });

const rows: Row[] = [
  // Found or not
  {
    name: 'no container instance on the first round: complete CONTINUE at once',
    snapshot: { instance: undefined },
    chain: { cluster: undefined, containerInstanceArn: undefined, heartbeatTimeoutSeconds: undefined },
    expected: complete('CONTINUE', 'not-a-container-instance'),
  },
  {
    name: 'container instance deregistered during the drain (MISSING)',
    snapshot: { instance: undefined, tasks: [running] },
    expected: complete('CONTINUE', 'instance-gone'),
  },
  {
    name: 'container instance INACTIVE',
    snapshot: { instance: { status: 'INACTIVE' }, tasks: [running] },
    expected: complete('CONTINUE', 'instance-gone'),
  },
  // Agent disconnected: ECS keeps its tasks RUNNING; the EC2 state (read only then) tells whether to wait
  ...(['stopping', 'stopped', 'shutting-down', 'terminated', 'not-found'] as const).map(
    (ec2State): Row => ({
      name: `agent disconnected, EC2 instance ${ec2State}, tasks still RUNNING in ECS: complete CONTINUE at once`,
      snapshot: { instance: { status: 'DRAINING' }, tasks: [running, daemon], ec2State },
      expected: complete('CONTINUE', 'agent-disconnected-instance-gone'),
    }),
  ),
  ...(['running', 'pending'] as const).map(
    (ec2State): Row => ({
      name: `agent disconnected, EC2 instance ${ec2State} (the agent may reconnect): wait as for a connected agent`,
      snapshot: { instance: { status: 'DRAINING' }, tasks: [running], ec2State },
      expected: wait(NOW + 10 * S),
    }),
  ),
  {
    name: 'agent disconnected, EC2 instance stopped, before the deadline even while ACTIVE: complete, no DRAINING',
    snapshot: { instance: { status: 'ACTIVE' }, tasks: [running], ec2State: 'stopped' },
    round: { waitConfirmed: false },
    expected: complete('CONTINUE', 'agent-disconnected-instance-gone'),
  },
  {
    name: 'agent disconnected, EC2 instance stopped, in a dry run: reports the completion, writes nothing',
    snapshot: { instance: { status: 'DRAINING' }, tasks: [running], ec2State: 'stopped' },
    config: { dryRun: true },
    expected: { kind: 'dry-run', reason: 'agent-disconnected-instance-gone', wouldDo: complete('CONTINUE', 'agent-disconnected-instance-gone') },
  },
  {
    name: 'ACTIVE with tasks: drain',
    snapshot: { instance: { status: 'ACTIVE' }, tasks: [running] },
    expected: drain(),
  },
  {
    name: 'ACTIVE and empty: drain first, so nothing is placed on it meanwhile',
    snapshot: { instance: { status: 'ACTIVE' } },
    expected: drain(),
  },
  {
    name: 'ACTIVE past the deadline: still drained first',
    snapshot: { instance: { status: 'ACTIVE' }, tasks: [running] },
    now: T0 + 901 * S,
    expected: drain(),
  },
  // Drain only what is terminating: the instance's lifecycle state is read before the first ECS write
  {
    name: 'ACTIVE, wait state not yet read this round: read it before the first write',
    snapshot: { instance: { status: 'ACTIVE' }, tasks: [running] },
    round: { waitConfirmed: false },
    expected: { kind: 'check-group', reason: 'before-first-write', ec2InstanceId: INSTANCE_ID },
  },
  {
    name: 'ACTIVE, read in Terminating:Wait in this poll: drain',
    snapshot: { instance: { status: 'ACTIVE' }, tasks: [running], groupState: 'Terminating:Wait', groupName: 'ecs-cluster-asg' },
    round: { waitConfirmed: false },
    expected: drain(),
  },
  {
    name: 'ACTIVE but InService (a replayed, test or forged notification): end, no write',
    snapshot: { instance: { status: 'ACTIVE' }, tasks: [running], groupState: 'InService', groupName: 'ecs-cluster-asg' },
    round: { waitConfirmed: false },
    expected: { kind: 'end', reason: 'not-in-transition' },
  },
  {
    name: 'DRAINING (by someone else) but InService: end before taking the lease',
    snapshot: { tasks: [running], lease: { mine: 'lease-mine', claimed: false }, groupState: 'InService' },
    round: { waitConfirmed: false },
    expected: { kind: 'end', reason: 'not-in-transition' },
  },
  {
    name: 'Standby: not in the termination transition',
    snapshot: { instance: { status: 'ACTIVE' }, groupState: 'Standby' },
    expected: { kind: 'end', reason: 'not-in-transition' },
  },
  {
    name: 'Pending:Wait is the launch transition, not this hook\'s: end',
    snapshot: { instance: { status: 'ACTIVE' }, groupState: 'Pending:Wait' },
    expected: { kind: 'end', reason: 'not-in-transition' },
  },
  {
    name: 'Terminating:Wait, but in another group than the message names: end',
    snapshot: { instance: { status: 'ACTIVE' }, groupState: 'Terminating:Wait', groupName: 'another-asg' },
    round: { waitConfirmed: false },
    expected: { kind: 'end', reason: 'not-in-transition' },
  },
  {
    name: 'DRAINING with tasks, lease to take, not yet confirmed: read the state first',
    snapshot: { tasks: [running], lease: { mine: 'lease-mine', claimed: false } },
    round: { waitConfirmed: false },
    expected: { kind: 'check-group', reason: 'before-first-write', ec2InstanceId: INSTANCE_ID },
  },
  {
    name: 'STANDALONE_TASKS=stop, not yet confirmed: read the state before StopTask',
    snapshot: { tasks: [standalone] },
    config: { standaloneTasks: 'stop' },
    round: { waitConfirmed: false },
    expected: { kind: 'check-group', reason: 'before-first-write', ec2InstanceId: INSTANCE_ID },
  },
  {
    name: 'not yet confirmed, nothing left to write to ECS: complete (Auto Scaling checks the action itself)',
    round: { waitConfirmed: false },
    expected: complete('CONTINUE', 'drained'),
  },
  {
    name: 'dry run, not yet confirmed: the state is read (a read, not a write)',
    snapshot: { instance: { status: 'ACTIVE' } },
    config: { dryRun: true },
    round: { waitConfirmed: false },
    expected: { kind: 'check-group', reason: 'before-first-write', ec2InstanceId: INSTANCE_ID },
  },
  // Task states
  { name: 'DRAINING and no task: complete', expected: complete('CONTINUE', 'drained') },
  { name: 'a RUNNING service task: wait one poll', snapshot: { tasks: [running] }, expected: wait(NOW + 10 * S) },
  { name: 'a PENDING service task counts', snapshot: { tasks: [pendingService] }, expected: wait(NOW + 10 * S) },
  {
    name: 'DEACTIVATING with desired STOPPED still counts',
    snapshot: { tasks: [deactivating] },
    expected: wait(NOW + 10 * S),
  },
  { name: 'STOPPING with desired STOPPED still counts', snapshot: { tasks: [stopping] }, expected: wait(NOW + 10 * S) },
  {
    name: 'a STOPPED task does not count',
    snapshot: { tasks: [stoppedService] },
    expected: complete('CONTINUE', 'drained'),
  },
  {
    name: 'REGISTERING (cannot be drained) with a task: wait',
    snapshot: { instance: { status: 'REGISTERING' }, tasks: [running] },
    expected: wait(NOW + 10 * S),
  },
  // Daemons
  {
    name: 'only daemon tasks left: wait for them (ECS stops them last), the grace running from when the counted tasks were gone',
    snapshot: { tasks: [daemon, task('daemon', 'RUNNING', 'STOPPED')] },
    chain: { countedGoneAt: NOW - 5 * S },
    expected: { kind: 'wait', reason: 'daemons-stopping', until: NOW + 10 * S },
  },
  {
    name: 'only daemon tasks, the grace ends before the next poll: wait until it ends',
    snapshot: { tasks: [daemon] },
    chain: { countedGoneAt: NOW - 115 * S },
    expected: { kind: 'wait', reason: 'daemons-stopping', until: NOW + 5 * S },
  },
  {
    name: 'only daemon tasks, DAEMON_GRACE_SECONDS over: complete CONTINUE',
    snapshot: { tasks: [daemon] },
    chain: { countedGoneAt: NOW - 120 * S },
    expected: complete('CONTINUE', 'daemon-grace-over'),
  },
  {
    name: 'only daemon tasks at the deadline: complete CONTINUE (the counted tasks are drained)',
    snapshot: { tasks: [daemon] },
    chain: { countedGoneAt: NOW - 5 * S },
    now: T0 + 900 * S,
    expected: complete('CONTINUE', 'daemon-grace-over'),
  },
  {
    name: 'only daemon tasks with DAEMON_GRACE_SECONDS=0: complete at once',
    snapshot: { tasks: [daemon] },
    config: { daemonGraceSeconds: 0 },
    expected: complete('CONTINUE', 'daemon-grace-over'),
  },
  {
    name: 'daemon tasks all STOPPED: complete drained',
    snapshot: { tasks: [task('daemon', 'STOPPED', 'STOPPED')] },
    chain: { countedGoneAt: NOW - 20 * S },
    expected: complete('CONTINUE', 'drained'),
  },
  {
    name: 'waiting for daemons: the lease is taken first, like any wait',
    snapshot: { tasks: [daemon], lease: { mine: 'lease-mine', claimed: false } },
    expected: claimLease,
  },
  // Right after DRAINING
  {
    name: 'empty right after this round set DRAINING: wait one poll from the request before believing it',
    snapshot: { tasks: [] },
    round: { lastDrainAt: NOW - 2 * S, drainRequests: 1 },
    expected: { kind: 'wait', reason: 'settling', until: NOW + 8 * S },
  },
  {
    name: 'empty a poll after this round set DRAINING: complete',
    snapshot: { tasks: [] },
    round: { lastDrainAt: NOW - 10 * S, drainRequests: 1 },
    expected: complete('CONTINUE', 'drained'),
  },
  {
    name: 'tasks right after DRAINING: the usual wait (and lease)',
    snapshot: { tasks: [running] },
    round: { lastDrainAt: NOW, drainRequests: 1 },
    expected: wait(NOW + 10 * S),
  },
  { name: 'daemon and service tasks: wait', snapshot: { tasks: [daemon, running] }, expected: wait(NOW + 10 * S) },
  // Standalone tasks
  { name: 'standalone, STANDALONE_TASKS=wait: wait', snapshot: { tasks: [standalone] }, expected: wait(NOW + 10 * S) },
  {
    name: 'standalone, STANDALONE_TASKS=ignore: complete',
    snapshot: { tasks: [standalone] },
    config: { standaloneTasks: 'ignore' },
    expected: complete('CONTINUE', 'drained'),
  },
  {
    name: 'standalone, STANDALONE_TASKS=stop, service tasks gone: stop it',
    snapshot: { tasks: [standalone, daemon, stoppedService] },
    config: { standaloneTasks: 'stop' },
    expected: { kind: 'stop-standalone', reason: 'service-tasks-gone', cluster: 'prod', taskArns: [standalone.taskArn] },
  },
  {
    name: 'standalone, STANDALONE_TASKS=stop, service tasks still running: wait for them first',
    snapshot: { tasks: [standalone, running] },
    config: { standaloneTasks: 'stop' },
    expected: wait(NOW + 10 * S),
  },
  {
    name: 'standalone, STANDALONE_TASKS=stop, already told to stop: wait, no second StopTask',
    snapshot: { tasks: [standaloneStopping] },
    config: { standaloneTasks: 'stop' },
    expected: wait(NOW + 10 * S),
  },
  // Heartbeats
  {
    name: 'heartbeat due at half the heartbeat timeout',
    snapshot: { tasks: [running] },
    now: T0 + 300 * S,
    expected: heartbeat(T0 + 300 * S),
  },
  {
    name: 'heartbeat due counts from the last heartbeat, not the first notification',
    snapshot: { tasks: [running] },
    chain: { lastHeartbeatAt: T0 + 200 * S },
    now: T0 + 400 * S,
    expected: wait(T0 + 410 * S),
  },
  {
    name: 'a wait ends when the heartbeat falls due',
    snapshot: { tasks: [running] },
    now: T0 + 295 * S,
    expected: wait(T0 + 300 * S),
  },
  {
    name: 'no heartbeat when the drain is done: complete instead',
    now: T0 + 500 * S,
    expected: complete('CONTINUE', 'drained'),
  },
  // Deadline
  {
    name: 'deadline passed with tasks left: complete with DEADLINE_RESULT',
    snapshot: { tasks: [running] },
    now: T0 + 900 * S,
    expected: complete('CONTINUE', 'deadline'),
  },
  {
    name: 'deadline passed, DEADLINE_RESULT=ABANDON',
    snapshot: { tasks: [stopping] },
    now: T0 + 901 * S,
    config: { deadlineResult: 'ABANDON' },
    expected: complete('ABANDON', 'deadline'),
  },
  {
    name: 'deadline passed but drained: a normal completion',
    snapshot: { tasks: [stoppedService] },
    now: T0 + 2000 * S,
    expected: complete('CONTINUE', 'drained'),
  },
  {
    name: "the hook's global timeout comes before DRAIN_TIMEOUT_SECONDS",
    snapshot: { tasks: [running] },
    chain: { heartbeatTimeoutSeconds: 30, globalTimeoutSeconds: 3000, lastHeartbeatAt: T0 + 2870 * S },
    config: { drainTimeoutSeconds: 7200 },
    now: T0 + 3000 * S - GLOBAL_TIMEOUT_MARGIN_MS,
    expected: complete('CONTINUE', 'deadline'),
  },
  {
    name: 'a wait never sleeps past the deadline',
    snapshot: { tasks: [running], invocationEndsAt: T0 + 1000 * S },
    chain: { lastHeartbeatAt: T0 + 600 * S },
    now: T0 + 895 * S,
    expected: wait(T0 + 900 * S),
  },
  // Hop cap and the end of the invocation
  {
    name: 'arrived past the hop cap: complete with DEADLINE_RESULT',
    snapshot: { tasks: [running] },
    chain: { attempt: 101 },
    expected: complete('CONTINUE', 'hop-cap'),
  },
  {
    name: 'invocation ending on the last allowed hop: complete instead of requeueing',
    snapshot: { tasks: [running], invocationEndsAt: NOW + 5 * S, actionConfirmed: true },
    chain: { attempt: 100 },
    config: { deadlineResult: 'ABANDON' },
    expected: complete('ABANDON', 'hop-cap'),
  },
  {
    name: 'invocation ending, action not confirmed in this poll: a heartbeat of this hook and token first',
    snapshot: { tasks: [running], invocationEndsAt: NOW + 5 * S },
    chain: { attempt: 99 },
    expected: { kind: 'heartbeat', reason: 'before-requeue', dueAt: NOW, action: ACTION },
  },
  {
    name: 'invocation ending, this action confirmed open: requeue',
    snapshot: { tasks: [running], invocationEndsAt: NOW + 5 * S, actionConfirmed: true },
    chain: { attempt: 99 },
    expected: { kind: 'requeue', reason: 'invocation-ending' },
  },
  {
    name: 'Auto Scaling answered "No active Lifecycle Action found": end',
    snapshot: { tasks: [running], actionOver: true, instance: { status: 'ACTIVE' } },
    expected: { kind: 'end', reason: 'action-over' },
  },
  // Duplicate chains
  {
    name: 'another round took the lease after ours: this chain is the duplicate',
    snapshot: { tasks: [running], lease: { mine: 'lease-mine', claimed: true, written: MY_LEASE, current: LATER_LEASE } },
    expected: { kind: 'end', reason: 'superseded' },
  },
  {
    name: 'a lease written before ours (a stale read, or the other chain wrote last): go on and write ours again',
    snapshot: { tasks: [running], lease: { mine: 'lease-mine', claimed: true, written: MY_LEASE, current: EARLIER_LEASE } },
    expected: { ...claimLease, reason: 'lease-behind' },
  },
  {
    name: 'a lease in no known format (an earlier version of this code) ranks above ours: end',
    snapshot: { tasks: [running], lease: { mine: 'lease-mine', claimed: true, written: MY_LEASE, current: 'another-round' } },
    expected: { kind: 'end', reason: 'superseded' },
  },
  {
    name: 'a stale read of our own earlier value: still never ends on it',
    snapshot: { tasks: [running], lease: { mine: 'lease-mine', claimed: true, written: MY_LEASE, current: leaseValue(T0, 'chain-0001', 'lease-old') } },
    expected: { ...claimLease, reason: 'lease-behind' },
  },
  {
    name: "the previous round's lease before ours is written: take it over",
    snapshot: { tasks: [running], lease: { mine: 'lease-mine', claimed: false, current: 'lease-previous' } },
    expected: claimLease,
  },
  {
    name: 'no lease needed when the drain completes at once',
    snapshot: { lease: { mine: 'lease-mine', claimed: false } },
    expected: complete('CONTINUE', 'drained'),
  },
  {
    name: 'lease unavailable: wait without it',
    snapshot: { tasks: [running], lease: { mine: 'lease-mine', claimed: false, unavailable: true } },
    expected: wait(NOW + 10 * S),
  },
  // Dry run
  {
    name: 'dry run, ACTIVE: report the drain',
    snapshot: { instance: { status: 'ACTIVE' }, tasks: [running] },
    config: { dryRun: true },
    expected: { kind: 'dry-run', reason: 'instance-active', wouldDo: drain() },
  },
  {
    name: 'dry run, drained: report the completion',
    config: { dryRun: true },
    expected: {
      kind: 'dry-run',
      reason: 'drained',
      wouldDo: complete('CONTINUE', 'drained'),
    },
  },
  {
    name: 'dry run, tasks left: report the wait, take no lease',
    snapshot: { tasks: [running], lease: { mine: 'lease-mine', claimed: false } },
    config: { dryRun: true },
    expected: { kind: 'dry-run', reason: 'tasks-remaining', wouldDo: wait(NOW + 10 * S) },
  },
  {
    name: 'dry run, heartbeat due: report it',
    snapshot: { tasks: [running] },
    config: { dryRun: true },
    now: T0 + 400 * S,
    expected: {
      kind: 'dry-run',
      reason: 'heartbeat-due',
      wouldDo: heartbeat(T0 + 300 * S),
    },
  },
  {
    name: 'dry run, action over: end like a real run',
    snapshot: { actionOver: true },
    config: { dryRun: true },
    expected: { kind: 'end', reason: 'action-over' },
  },
  // Targets: every write says what it is called with
  {
    name: 'a notification without a token: the action is named by its instance id',
    snapshot: { tasks: [] },
    chain: {
      notification: {
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        AutoScalingGroupName: 'ecs-cluster-asg',
        LifecycleHookName: 'ecs-drain-hook',
        EC2InstanceId: INSTANCE_ID,
      },
    },
    expected: {
      kind: 'complete',
      result: 'CONTINUE',
      reason: 'drained',
      action: { autoScalingGroupName: 'ecs-cluster-asg', lifecycleHookName: 'ecs-drain-hook', instanceId: INSTANCE_ID },
    },
  },
  {
    name: 'requeue to LIFECYCLE_TOPIC_ARN when set, not to the topic the record came on',
    snapshot: { tasks: [running], invocationEndsAt: NOW + 5 * S, actionConfirmed: true },
    config: { lifecycleTopicArn: REQUEUE_TOPIC },
    round: { arrivedOn: ARRIVAL_TOPIC },
    expected: { kind: 'requeue', reason: 'invocation-ending', topicArn: REQUEUE_TOPIC },
  },
  {
    name: 'requeue to the topic the record came on when LIFECYCLE_TOPIC_ARN is unset',
    snapshot: { tasks: [running], invocationEndsAt: NOW + 5 * S, actionConfirmed: true },
    round: { arrivedOn: ARRIVAL_TOPIC },
    expected: { kind: 'requeue', reason: 'invocation-ending', topicArn: ARRIVAL_TOPIC },
  },
  // Operators' notice
  {
    name: 'deadline with OPS_TOPIC_ARN: the completion carries the notice topic',
    snapshot: { tasks: [running] },
    config: { opsTopicArn: OPS_TOPIC },
    now: T0 + 900 * S,
    expected: { ...complete('CONTINUE', 'deadline'), opsTopicArn: OPS_TOPIC },
  },
  {
    name: 'hop cap with OPS_TOPIC_ARN: the completion carries the notice topic',
    snapshot: { tasks: [running] },
    chain: { attempt: 101 },
    config: { opsTopicArn: OPS_TOPIC, deadlineResult: 'ABANDON' },
    expected: { ...complete('ABANDON', 'hop-cap'), opsTopicArn: OPS_TOPIC },
  },
  {
    name: 'a drain that finished sends no notice, even with OPS_TOPIC_ARN',
    config: { opsTopicArn: OPS_TOPIC },
    expected: complete('CONTINUE', 'drained'),
  },
  // Drain pacing
  {
    name: 'the first drain request: read again at once',
    snapshot: { instance: { status: 'ACTIVE' } },
    round: { drainRequests: 0 },
    expected: drain(0),
  },
  {
    name: 'still ACTIVE after a drain request: ask again, then pause one poll interval',
    snapshot: { instance: { status: 'ACTIVE' }, tasks: [running] },
    round: { drainRequests: 1 },
    expected: drain(10 * S),
  },
  {
    name: 'still ACTIVE after several drain requests: the pause stays one poll interval',
    snapshot: { instance: { status: 'ACTIVE' } },
    round: { drainRequests: 4 },
    config: { pollIntervalSeconds: 30 },
    expected: drain(30 * S),
  },
  {
    name: 'dry run, still ACTIVE: reports the paced drain',
    snapshot: { instance: { status: 'ACTIVE' } },
    round: { drainRequests: 1 },
    config: { dryRun: true },
    expected: { kind: 'dry-run', reason: 'instance-active', wouldDo: drain(10 * S) },
  },
  // The step guard
  {
    name: `${MAX_STEPS_PER_POLL} steps on one snapshot: wait a poll interval and read again`,
    snapshot: { tasks: [running] },
    round: { stepsThisPoll: MAX_STEPS_PER_POLL },
    expected: { kind: 'wait', reason: 'step-limit', until: NOW + 10 * S },
  },
  {
    name: 'one step short of the guard: decided as usual',
    snapshot: { tasks: [running] },
    round: { stepsThisPoll: MAX_STEPS_PER_POLL - 1 },
    expected: wait(NOW + 10 * S),
  },
  // Faults: a poll that failed (reading, or acting on what it read)
  {
    name: 'first throttled poll with time left: poll again after one interval',
    snapshot: failedPoll(),
    round: throttled(1),
    expected: retry(false),
  },
  {
    name: `throttled ${MAX_CONSECUTIVE_POLL_FAILURES - 1} times in a row: still polls again`,
    snapshot: failedPoll(),
    round: throttled(MAX_CONSECUTIVE_POLL_FAILURES - 1),
    expected: retry(false),
  },
  {
    name: 'a failed poll with the heartbeat due: heartbeat, then poll again',
    snapshot: failedPoll(),
    round: throttled(1),
    now: T0 + 400 * S,
    expected: retry(true),
  },
  {
    name: 'a failed poll exactly when the heartbeat falls due: heartbeat',
    snapshot: failedPoll(),
    round: throttled(2),
    now: T0 + 300 * S,
    expected: retry(true),
  },
  {
    name: 'a failed poll before the heartbeat is due: no heartbeat (not one per failed poll)',
    snapshot: failedPoll(),
    round: throttled(2),
    chain: { lastHeartbeatAt: T0 + 350 * S },
    now: T0 + 400 * S,
    expected: retry(false),
  },
  {
    name: 'a failed first poll before the hook was read: no heartbeat timeout known, no heartbeat',
    snapshot: { ...failedPoll([]), invocationEndsAt: T0 + 2000 * S },
    chain: { cluster: undefined, containerInstanceArn: undefined, heartbeatTimeoutSeconds: undefined, globalTimeoutSeconds: undefined },
    round: throttled(1),
    now: T0 + 800 * S,
    expected: retry(false),
  },
  {
    name: 'a failed poll never completes as drained on the last snapshot read',
    snapshot: failedPoll([]),
    round: throttled(1),
    expected: retry(false),
  },
  {
    name: `throttled ${MAX_CONSECUTIVE_POLL_FAILURES} times in a row: heartbeat, then hand the round to Lambda's retry`,
    snapshot: failedPoll(),
    round: throttled(MAX_CONSECUTIVE_POLL_FAILURES),
    expected: { kind: 'give-up', reason: 'failures-in-a-row', errorClass: 'retryable', heartbeat: ACTION },
  },
  {
    name: 'throttled with no time for another poll in this invocation: heartbeat, then give up',
    snapshot: { ...failedPoll(), invocationEndsAt: NOW + 5 * S },
    round: throttled(1),
    expected: { kind: 'give-up', reason: 'invocation-ending', errorClass: 'retryable', heartbeat: ACTION },
  },
  {
    name: 'exactly one poll interval left: poll again',
    snapshot: { ...failedPoll(), invocationEndsAt: NOW + 10 * S },
    round: throttled(1),
    expected: retry(false),
  },
  {
    name: 'an error no retry fixes (access denied): give up at the first failure',
    snapshot: failedPoll(),
    round: { consecutiveFailures: 1, failure: 'fatal' },
    expected: { kind: 'give-up', reason: 'not-retryable', errorClass: 'fatal', heartbeat: ACTION },
  },
  {
    name: 'a non-actionable error: give up, not retried inside the invocation',
    snapshot: failedPoll(),
    round: { consecutiveFailures: 1, failure: 'non-actionable' },
    expected: { kind: 'give-up', reason: 'not-retryable', errorClass: 'non-actionable', heartbeat: ACTION },
  },
  {
    name: 'a failure that says "No active Lifecycle Action found": end, even past the deadline',
    snapshot: failedPoll(),
    round: { consecutiveFailures: 0, failure: 'action-over' },
    now: T0 + 1000 * S,
    expected: { kind: 'end', reason: 'action-over' },
  },
  {
    name: 'past the deadline while ECS cannot be read: complete with DEADLINE_RESULT',
    snapshot: failedPoll(),
    round: throttled(1),
    config: { deadlineResult: 'ABANDON' },
    now: T0 + 901 * S,
    expected: complete('ABANDON', 'deadline'),
  },
  {
    name: 'past the deadline while polls fail for good: complete rather than give up',
    snapshot: failedPoll(),
    round: { consecutiveFailures: MAX_CONSECUTIVE_POLL_FAILURES, failure: 'fatal' },
    now: T0 + 900 * S,
    expected: complete('CONTINUE', 'deadline'),
  },
  {
    name: 'past the deadline while failing, with OPS_TOPIC_ARN: the completion carries the notice topic',
    snapshot: failedPoll(),
    round: throttled(2),
    config: { opsTopicArn: OPS_TOPIC },
    now: T0 + 950 * S,
    expected: { ...complete('CONTINUE', 'deadline'), opsTopicArn: OPS_TOPIC },
  },
  {
    name: "the hook's global timeout is the deadline while failing too",
    snapshot: failedPoll(),
    round: throttled(1),
    chain: { heartbeatTimeoutSeconds: 30, globalTimeoutSeconds: 3000, lastHeartbeatAt: T0 + 2870 * S },
    config: { drainTimeoutSeconds: 7200 },
    now: T0 + 3000 * S - GLOBAL_TIMEOUT_MARGIN_MS,
    expected: complete('CONTINUE', 'deadline'),
  },
  {
    name: 'one ms before the deadline while failing: poll again',
    snapshot: { ...failedPoll(), invocationEndsAt: T0 + 2000 * S },
    round: throttled(1),
    chain: { lastHeartbeatAt: T0 + 600 * S },
    now: T0 + 900 * S - 1,
    expected: retry(false),
  },
  {
    name: 'dry run, past the deadline while failing: completes nothing, polls again',
    snapshot: { ...failedPoll(), invocationEndsAt: T0 + 2000 * S },
    round: throttled(1),
    config: { dryRun: true },
    now: T0 + 901 * S,
    expected: retry(false),
  },
  {
    name: 'dry run, heartbeat due while failing: sends none',
    snapshot: failedPoll(),
    round: throttled(1),
    config: { dryRun: true },
    now: T0 + 400 * S,
    expected: retry(false),
  },
  {
    name: 'dry run, giving up: no heartbeat first',
    snapshot: failedPoll(),
    round: throttled(MAX_CONSECUTIVE_POLL_FAILURES),
    config: { dryRun: true },
    expected: { kind: 'give-up', reason: 'failures-in-a-row', errorClass: 'retryable' },
  },
];

describe('decideLifecycleStep', () => {
  it.each(rows.map((row) => [row.name, row] as const))('%s', (_name, row) => {
    const step = decideLifecycleStep(
      snapshot(row.snapshot),
      chain(row.chain),
      row.now ?? NOW,
      { ...baseConfig, ...row.config },
      // Unless a row says otherwise, the round has already seen the instance in Terminating:Wait.
      { ...FRESH_ROUND, waitConfirmed: true, ...row.round },
    );
    expect(step).toEqual(row.expected);
  });
});

describe('transitionStage', () => {
  it.each([
    ['Terminating:Wait', 'waiting'],
    ['Warmed:Terminating:Wait', 'waiting'],
    ['Terminating:Proceed', 'past'],
    ['Terminated', 'past'],
    ['absent', 'past'],
    ['InService', 'outside'],
    ['Pending:Wait', 'outside'],
    ['Detaching', 'outside'],
  ] as const)('termination hook, %s: %s', (state, expected) => {
    expect(transitionStage('autoscaling:EC2_INSTANCE_TERMINATING', state)).toBe(expected);
  });

  it('a transition the drainer does not handle yet has no wait state', () => {
    expect(transitionStage('autoscaling:EC2_INSTANCE_LAUNCHING', 'Pending:Wait')).toBe('outside');
  });
});

describe('invocationBudget', () => {
  it.each([
    ['a 15-minute invocation: polls until 30 s before its end', 900 * S, 10, { endsAt: NOW + 870 * S, tooShortToPoll: false }],
    ['exactly the margin and two polls: still enough', 50 * S, 10, { endsAt: NOW + 20 * S, tooShortToPoll: false }],
    ['one ms short of the margin and two polls: too short', 50 * S - 1, 10, { endsAt: NOW + 20 * S - 1, tooShortToPoll: true }],
    ['a longer poll interval needs more room', 100 * S, 60, { endsAt: NOW + 70 * S, tooShortToPoll: true }],
  ])('%s', (_name, remainingMs, pollIntervalSeconds, expected) => {
    expect(INVOCATION_SAFETY_MARGIN_MS).toBe(30 * S);
    expect(invocationBudget(NOW, remainingMs, pollIntervalSeconds)).toEqual(expected);
  });
});

describe('classifyPollFailure', () => {
  const ecsError = (name: string, status: number, message = name) =>
    new ECSServiceException({ name, $fault: status >= 500 ? 'server' : 'client', message, $metadata: { httpStatusCode: status } });
  it.each([
    ['ECS throttling', ecsError('ThrottlingException', 400), 'retryable'],
    ['an ECS 5xx', ecsError('ServerException', 500), 'retryable'],
    ['a 503 of any name', ecsError('SomethingNew', 503), 'retryable'],
    ['a drain ECS refused (failures[])', new RetryableError('could not set DRAINING: MISSING'), 'retryable'],
    ['access denied', ecsError('AccessDeniedException', 400), 'fatal'],
    ['an instance already gone', new NonActionableError('gone'), 'non-actionable'],
    [
      '"No active Lifecycle Action found"',
      new AutoScalingServiceException({
        name: 'ValidationError',
        $fault: 'client',
        message: 'No active Lifecycle Action found with instance ID i-05629ab7d9287e205',
        $metadata: { httpStatusCode: 400 },
      }),
      'action-over',
    ],
  ] as const)('%s: %s', (_name, error, expected) => {
    expect(classifyPollFailure(error)).toBe(expected);
  });
});

describe('countTasks', () => {
  it('counts service tasks until STOPPED, never daemons, standalone tasks by policy', () => {
    const tasks = [running, deactivating, stopping, stoppedService, daemon, standalone, standaloneStopping];
    expect(countTasks(tasks, 'wait')).toEqual({ counted: 5, service: 3, standalone: 2, daemon: 1, stopping: 3 });
    expect(countTasks(tasks, 'stop')).toEqual({ counted: 5, service: 3, standalone: 2, daemon: 1, stopping: 3 });
    expect(countTasks(tasks, 'ignore')).toEqual({ counted: 3, service: 3, standalone: 2, daemon: 1, stopping: 2 });
  });
});

describe('deadlineOf', () => {
  it('is DRAIN_TIMEOUT_SECONDS after the first notification when the hook allows it', () => {
    expect(deadlineOf(chain(), { drainTimeoutSeconds: 900 })).toBe(T0 + 900 * S);
  });
  it('comes before the global timeout with a margin', () => {
    expect(deadlineOf(chain({ globalTimeoutSeconds: 3000 }), { drainTimeoutSeconds: 172_800 })).toBe(
      T0 + 3000 * S - GLOBAL_TIMEOUT_MARGIN_MS,
    );
  });
});

describe('decideLifecycleStep properties', () => {
  const origin = fc.constantFrom<TaskOrigin>('service', 'daemon', 'standalone');
  const status = fc.constantFrom('PROVISIONING', 'PENDING', 'ACTIVATING', 'RUNNING', 'DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED');
  const arbTask = fc
    .tuple(origin, status, fc.constantFrom('RUNNING', 'STOPPED'))
    .map(([o, last, desired]) => task(o, last, desired));
  const arbInput = fc.record({
    tasks: fc.array(arbTask, { maxLength: 6 }),
    instanceStatus: fc.constantFrom('ACTIVE', 'DRAINING', 'INACTIVE', 'REGISTERING', 'DEREGISTERING', undefined),
    attempt: fc.integer({ min: 0, max: 120 }),
    elapsedSeconds: fc.integer({ min: 0, max: 2000 }),
    sinceHeartbeatSeconds: fc.integer({ min: 0, max: 400 }),
    remainingSeconds: fc.integer({ min: 0, max: 900 }),
    actionConfirmed: fc.boolean(),
    countedGoneSecondsAgo: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
    sinceDrainSeconds: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
    claimed: fc.boolean(),
    foreignLease: fc.boolean(),
    standaloneTasks: fc.constantFrom('wait' as const, 'stop' as const, 'ignore' as const),
    dryRun: fc.boolean(),
  });

  type Input = typeof arbInput extends fc.Arbitrary<infer T> ? T : never;
  function run(input: Input) {
    const now = T0 + input.elapsedSeconds * S;
    const c = chain({
      attempt: input.attempt,
      lastHeartbeatAt: Math.max(T0, now - input.sinceHeartbeatSeconds * S),
      ...(input.countedGoneSecondsAgo !== undefined ? { countedGoneAt: now - input.countedGoneSecondsAgo * S } : {}),
    });
    const config = { ...baseConfig, standaloneTasks: input.standaloneTasks, dryRun: input.dryRun };
    const snap = snapshot({
      tasks: input.tasks,
      ...(input.instanceStatus ? { instance: { status: input.instanceStatus } } : { instance: undefined }),
      actionConfirmed: input.actionConfirmed,
      lease: { mine: 'lease-mine', claimed: input.claimed, written: MY_LEASE, current: input.foreignLease ? LATER_LEASE : MY_LEASE },
      invocationEndsAt: now + input.remainingSeconds * S,
    });
    const round = input.sinceDrainSeconds !== undefined ? { ...FRESH_ROUND, drainRequests: 1, lastDrainAt: now - input.sinceDrainSeconds * S } : FRESH_ROUND;
    return { step: decideLifecycleStep(snap, c, now, config, round), now, c, config, snap };
  }

  it('completes as drained only when no counted task is short of STOPPED', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const { step, config, now, c } = run(input);
        const acted = step.kind === 'dry-run' ? step.wouldDo : step;
        const counts = countTasks(input.tasks, config.standaloneTasks);
        if (acted.kind === 'complete' && acted.reason === 'drained') {
          expect(counts.counted).toBe(0);
          // Daemons stopped too, and not right after this round's DRAINING request.
          expect(counts.daemon).toBe(0);
          if (input.sinceDrainSeconds !== undefined && now < deadlineOf(c, config)) {
            expect(input.sinceDrainSeconds).toBeGreaterThanOrEqual(config.pollIntervalSeconds);
          }
        }
        if (acted.kind === 'complete' && acted.reason === 'daemon-grace-over') expect(counts.counted).toBe(0);
      }),
    );
  });

  it('never waits into the past or past the deadline, and never requeues beyond the hop cap', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const { step, now, c, config } = run(input);
        const acted = step.kind === 'dry-run' ? step.wouldDo : step;
        if (acted.kind === 'wait') {
          expect(acted.until).toBeGreaterThan(now);
          expect(acted.until).toBeLessThanOrEqual(deadlineOf(c, config));
          expect(acted.until).toBeLessThanOrEqual(now + config.pollIntervalSeconds * S);
        }
        if (acted.kind === 'requeue') expect(c.attempt).toBeLessThan(config.maxHops);
      }),
    );
  });

  it('a failed poll is retried only within bounds, and a dry run never writes while failing', () => {
    const arbFault = fc.record({
      failures: fc.integer({ min: 1, max: MAX_CONSECUTIVE_POLL_FAILURES + 2 }),
      failure: fc.constantFrom('retryable' as const, 'fatal' as const, 'non-actionable' as const, 'action-over' as const),
    });
    fc.assert(
      fc.property(arbInput, arbFault, (input, fault) => {
        const { now, c, config, snap } = run(input);
        const step = decideLifecycleStep(snap, c, now, config, { ...FRESH_ROUND, consecutiveFailures: fault.failures, failure: fault.failure });
        expect(['end', 'complete', 'retry', 'give-up']).toContain(step.kind);
        if (step.kind === 'retry') {
          expect(fault.failure).toBe('retryable');
          expect(fault.failures).toBeLessThan(MAX_CONSECUTIVE_POLL_FAILURES);
          expect(now + step.pauseMs).toBeLessThanOrEqual(snap.invocationEndsAt);
        }
        if (step.kind === 'complete') {
          expect(step.reason).toBe('deadline');
          expect(config.dryRun).toBe(false);
        }
        if (config.dryRun && (step.kind === 'retry' || step.kind === 'give-up')) expect(step.heartbeat).toBeUndefined();
      }),
    );
  });

  it('a dry run only ever reads', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const { step } = run({ ...input, dryRun: true });
        // check-group reads Auto Scaling (DescribeAutoScalingInstances) before what would be the first write.
        expect(['dry-run', 'end', 'check-group']).toContain(step.kind);
      }),
    );
  });
});

describe('the lease under eventually consistent reads', () => {
  const arbLease = fc
    .tuple(fc.integer({ min: 0, max: 5 }), fc.constantFrom('chain-a', 'chain-b'), fc.constantFrom('round-1', 'round-2'))
    .map(([seconds, chainId, roundId]) => leaseValue(T0 + seconds * S, chainId, roundId));

  it('orders any two distinct values one way only', () => {
    fc.assert(
      fc.property(arbLease, arbLease, (a, b) => {
        if (a === b) expect(leaseRanksAbove(a, b)).toBe(false);
        else expect(leaseRanksAbove(a, b)).not.toBe(leaseRanksAbove(b, a));
      }),
    );
  });

  it('two chains never both end, whatever (possibly stale) value each reads', () => {
    const older = leaseValue(T0 - S, 'chain-a', 'round-0');
    fc.assert(
      fc.property(arbLease, arbLease, fc.nat(2), fc.nat(2), (mineA, mineB, pickA, pickB) => {
        fc.pre(mineA !== mineB);
        // Each chain reads a value that was written: its own, the other's, or an older one.
        const written = [mineA, mineB, older];
        const ends = (mine: string, read: string, chainId: string) =>
          decideLifecycleStep(
            snapshot({ tasks: [running], lease: { mine: 'x', claimed: true, written: mine, current: read } }),
            chain({ chainId }),
            NOW,
            baseConfig,
          ).kind === 'end';
        expect(ends(mineA, written[pickA]!, 'chain-a') && ends(mineB, written[pickB]!, 'chain-b')).toBe(false);
      }),
    );
  });
});
