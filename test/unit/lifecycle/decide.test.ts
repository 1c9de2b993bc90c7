import fc from 'fast-check';
import type { ClassifiedTask, TaskOrigin } from '../../../lib/aws/tasks';
import { AutoScalingServiceException } from '@aws-sdk/client-auto-scaling';
import { ECSServiceException } from '@aws-sdk/client-ecs';
import { NonActionableError, RetryableError } from '../../../lib/errors';
import {
  FRESH_ROUND,
  GLOBAL_TIMEOUT_MARGIN_MS,
  countMayShowDrained,
  countProvesTasksRemain,
  decideFirstRead,
  fleetOf,
  heartbeatDueAt,
  nextPollAt,
  pacing,
  type FirstReadStep,
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
import { completionMarker, leaseRanksAbove, leaseValue } from '../../../lib/lifecycle/lease';

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
    name: 'only daemon tasks, the grace ends before the next poll: wait until it ends, and decide then on this read',
    snapshot: { tasks: [daemon] },
    chain: { countedGoneAt: NOW - 115 * S },
    expected: { kind: 'wait', reason: 'daemons-stopping', until: NOW + 5 * S, read: false },
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
    name: 'a wait ends when the heartbeat falls due, and that wake-up reads nothing (the poll is not due yet)',
    snapshot: { tasks: [running] },
    now: T0 + 295 * S,
    expected: { ...wait(T0 + 300 * S), read: false },
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
    name: 'a wait never sleeps past the deadline; at the deadline the round decides on this read (the drains of a scale-in share their deadline)',
    snapshot: { tasks: [running], invocationEndsAt: T0 + 1000 * S },
    chain: { lastHeartbeatAt: T0 + 600 * S },
    now: T0 + 895 * S,
    expected: { ...wait(T0 + 900 * S), read: false },
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
    name: 'one ms before the deadline while failing: poll again, a second later, not a poll interval past the deadline',
    snapshot: { ...failedPoll(), invocationEndsAt: T0 + 2000 * S },
    round: throttled(1),
    chain: { lastHeartbeatAt: T0 + 600 * S },
    now: T0 + 900 * S - 1,
    expected: { ...retry(false), pauseMs: 1 * S },
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


describe('fleet scale: one read budget shared by a group\'s drains, without shared state (decide.ts pacing)', () => {
  const fleetConfig = { ...baseConfig, pollIntervalSeconds: 60, drainTimeoutSeconds: 1800 };

  it.each([
    // name, fleet, config overrides, jitter, expected
    ['a drain alone: the poll interval, no start delay, no spacing, no grid', undefined, {}, 0.7, { periodMs: 60_000, startOffsetMs: 0, startSpacingMs: 0, readSpacingMs: 0 }],
    ['one of 3: reads a third of the budget at most (300 ms apart)', { drains: 3, rank: 1 }, {}, 0, { periodMs: 60_000, startOffsetMs: 2571, readSpacingMs: 300, pollPhaseMs: 20_000 }],
    ['one of 10 (the single-drain benchmark): the poll interval still; starts 2.6 s apart', { drains: 10, rank: 3 }, {}, 0, { periodMs: 60_000, startOffsetMs: 7714, startSpacingMs: 2571, readSpacingMs: 1000, pollPhaseMs: 18_000 }],
    // 200 × 2 reads / (10 × 0.15) = 267 s, capped at 4 poll intervals; starts 9 / (10 × 0.35) = 2.57 s apart.
    ['one of 200, budget 10: polls 240 s apart (the cap), starts 2.57 s apart', { drains: 200, rank: 100 }, {}, 0, { periodMs: 240_000, startOffsetMs: 257_143, startSpacingMs: 2571, readSpacingMs: 1000, pollPhaseMs: 120_000 }],
    ['its own jitter moves it within the first half of its slot', { drains: 200, rank: 100 }, {}, 0.5, { startOffsetMs: Math.round(100.25 * 2571.43) }],
    ['budget 20: everything twice as dense', { drains: 200, rank: 100 }, { readBudgetPerSecond: 20 }, 0, { periodMs: 133_333, startOffsetMs: 128_571, readSpacingMs: 500 }],
    ['budget 1: the poll stretch is capped at 4 intervals, the starts at a third of the drain timeout', { drains: 200, rank: 199 }, { readBudgetPerSecond: 1 }, 0, { periodMs: 240_000, startSpacingMs: 3000, startOffsetMs: 597_000 }],
    ['default drain timeout (900 s): 200 starts fit in 300 s', { drains: 200, rank: 199 }, { drainTimeoutSeconds: 900 }, 0, { startSpacingMs: 1500, startOffsetMs: 298_500 }],
    ['no place of its own (not listed): its jitter stands in', { drains: 200 }, {}, 0.25, { startOffsetMs: Math.round(50 * 2571.43), pollPhaseMs: 60_000 }],
  ] as const)('%s', (_name, fleet, overrides, jitter, expected) => {
    expect(pacing(fleet, { ...fleetConfig, ...overrides }, jitter)).toMatchObject(expected);
  });

  it('the starts of a group never come closer than the budget allows, and all fit in the spread', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 2000 }), fc.integer({ min: 1, max: 20 }), fc.double({ min: 0, max: 0.999, noNaN: true }), (drains, budget, jitter) => {
        const config = { ...fleetConfig, readBudgetPerSecond: budget };
        const offsets = Array.from({ length: drains }, (_, rank) => pacing({ drains, rank }, config, jitter).startOffsetMs);
        const spacing = pacing({ drains, rank: 0 }, config).startSpacingMs;
        for (let rank = 1; rank < drains; rank += 1) expect(offsets[rank]! - offsets[rank - 1]!).toBeGreaterThanOrEqual(spacing - 1);
        expect(Math.max(...offsets)).toBeLessThanOrEqual(1800 * 1000 * (1 / 3));
        // Polls: n drains × 2 reads per period stay within 15 % of the budget unless the 4-interval cap binds.
        const { periodMs } = pacing({ drains, rank: 0 }, config);
        if (periodMs < 240_000) expect((drains * 2) / (periodMs / 1000)).toBeLessThanOrEqual(budget * 0.15 * 1.001);
      }),
    );
  });

  it('polls: one period after the last read alone; on the fleet grid, at least half a period after it, otherwise', () => {
    const alone = pacing(undefined, fleetConfig);
    expect(nextPollAt({ firstSeenAt: T0 }, T0 + 7 * S, alone)).toBe(T0 + 67 * S);
    const member = pacing({ drains: 200, rank: 100 }, fleetConfig);
    // Grid: T0 + 120 s + k × 240 s.
    expect(nextPollAt({ firstSeenAt: T0 }, T0, member)).toBe(T0 + 120 * S);
    expect(nextPollAt({ firstSeenAt: T0 }, T0 + 10 * S, member)).toBe(T0 + 360 * S);
    expect(nextPollAt({ firstSeenAt: T0 }, T0 + 120 * S, member)).toBe(T0 + 360 * S);
    expect(nextPollAt({ firstSeenAt: T0 }, T0 + 250 * S, member)).toBe(T0 + 600 * S);
  });

  it('the fleet is the instances waiting in the transition, ordered by id', () => {
    const members = [
      { instanceId: 'i-0c', lifecycleState: 'Terminating:Wait' },
      { instanceId: 'i-0a', lifecycleState: 'Terminating:Wait' },
      { instanceId: 'i-0b', lifecycleState: 'InService' },
      { instanceId: 'i-0d', lifecycleState: 'Terminating:Proceed' },
      { instanceId: 'i-0e', lifecycleState: 'Warmed:Terminating:Wait' },
    ];
    expect(fleetOf(members, 'i-0c')).toEqual({ drains: 3, rank: 1 });
    expect(fleetOf(members, 'i-0b')).toEqual({ drains: 3 });
    expect(fleetOf([], 'i-0a')).toEqual({ drains: 1 });
  });

  it.each([
    // policy, runningTasksCount, DAEMON services, standalone tasks seen by the last full read, proves
    ['wait', 3, 1, undefined, true],
    ['wait', 1, 1, undefined, false],
    ['wait', 1, 0, undefined, true],
    ['wait', 0, 0, undefined, false],
    ['stop', 5, 1, undefined, false],
    ['stop', 5, 1, 2, true],
    ['stop', 3, 1, 2, false],
    ['ignore', 5, 1, undefined, false],
    ['ignore', 4, 1, 2, true],
    ['ignore', 3, 1, 2, false],
  ] as const)('STANDALONE_TASKS=%s, %i tasks desired RUNNING, %i DAEMON services, %s standalone known: proves tasks remain %s', (policy, tasksCount, daemonServices, knownStandalone, expected) => {
    expect(countProvesTasksRemain({ tasksCount, daemonServices, policy, ...(knownStandalone !== undefined ? { knownStandalone } : {}) })).toBe(expected);
  });

  it.each([
    ['wait', 0, undefined, true],
    ['wait', 1, undefined, false],
    ['stop', 1, undefined, false],
    ['ignore', 1, undefined, true],
    ['ignore', 2, 2, true],
    ['ignore', 3, 2, false],
  ] as const)('task event, STANDALONE_TASKS=%s, %i tasks desired RUNNING, %s standalone known: may be drained %s', (policy, tasksCount, knownStandalone, expected) => {
    expect(countMayShowDrained({ tasksCount, policy, ...(knownStandalone !== undefined ? { knownStandalone } : {}) })).toBe(expected);
  });

  it('heartbeats: the window the notification opened is shared by the fleet, so its first heartbeats are spread; later ones are not', () => {
    const fresh = chain({ lastHeartbeatAt: T0, firstSeenAt: T0, heartbeatTimeoutSeconds: 300 });
    expect(heartbeatDueAt(fresh)).toBe(T0 + 150 * S);
    expect(heartbeatDueAt(fresh, { drains: 200, rank: 0 })).toBe(T0 + 150 * S);
    expect(heartbeatDueAt(fresh, { drains: 200, rank: 100 })).toBe(T0 + 112.5 * S);
    const later = chain({ lastHeartbeatAt: T0 + 100 * S, firstSeenAt: T0, heartbeatTimeoutSeconds: 300 });
    expect(heartbeatDueAt(later, { drains: 200, rank: 100 })).toBe(T0 + 250 * S);
  });

  interface FirstReadRow {
    name: string;
    chain?: Partial<ChainState>;
    round?: Partial<RoundProgress>;
    seen?: { groupState?: string; groupName?: string; invocationEndsAt?: number };
    config?: Partial<LifecycleDecisionConfig>;
    now?: number;
    expected: FirstReadStep;
  }
  const fresh: Partial<ChainState> = { cluster: undefined, containerInstanceArn: undefined, heartbeatTimeoutSeconds: undefined, globalTimeoutSeconds: undefined };
  const waiting = { groupState: 'Terminating:Wait', groupName: 'ecs-cluster-asg' };
  const member = (rank: number): Partial<RoundProgress> => ({ fleet: { drains: 200, rank }, chainJitter: 0 });
  const firstReads: FirstReadRow[] = [
    { name: 'a fresh drain reads its group first', chain: fresh, expected: { kind: 'check-group', reason: 'before-first-read', ec2InstanceId: INSTANCE_ID } },
    { name: 'a requeued chain reads its group first too', expected: { kind: 'check-group', reason: 'before-first-read', ec2InstanceId: INSTANCE_ID } },
    { name: 'past the transition: the action is over, no ECS read', chain: fresh, seen: { groupState: 'Terminating:Proceed', groupName: 'ecs-cluster-asg' }, expected: { kind: 'end', reason: 'action-over' } },
    { name: 'InService: not in the transition, no ECS read', chain: fresh, seen: { groupState: 'InService', groupName: 'ecs-cluster-asg' }, expected: { kind: 'end', reason: 'not-in-transition' } },
    { name: 'alone: reads at once', chain: fresh, seen: waiting, round: { fleet: { drains: 1, rank: 0 } }, expected: { kind: 'read', reason: 'start-reached' } },
    { name: 'first of a fleet: reads at once', chain: fresh, seen: waiting, round: member(0), now: T0, expected: { kind: 'read', reason: 'start-reached' } },
    { name: 'later in the fleet, hook not read: reads the hook before waiting (heartbeats need its timeout)', chain: fresh, seen: waiting, round: member(100), now: T0, expected: { kind: 'read-hook', reason: 'before-waiting' } },
    {
      name: 'later in the fleet: waits for its start (1800 s drain timeout: 2.57 s apart)',
      chain: { ...fresh, heartbeatTimeoutSeconds: 3600, globalTimeoutSeconds: 172_800 },
      seen: waiting,
      round: member(100),
      config: { pollIntervalSeconds: 60, drainTimeoutSeconds: 1800 },
      now: T0,
      expected: { kind: 'wait', reason: 'paced-start', until: T0 + 257_143 },
    },
    {
      name: 'a heartbeat falls due while it waits: send it',
      chain: { ...fresh, heartbeatTimeoutSeconds: 300, globalTimeoutSeconds: 30_000 },
      seen: waiting,
      round: member(199),
      config: { pollIntervalSeconds: 60, drainTimeoutSeconds: 1800 },
      now: T0 + 150 * S,
      expected: { kind: 'heartbeat', reason: 'heartbeat-due', dueAt: T0 + 150 * S - Math.round((300 * S * 0.25 * 199) / 200), action: ACTION },
    },
    {
      name: 'the wait ends at the next heartbeat when that comes first',
      chain: { ...fresh, heartbeatTimeoutSeconds: 300, globalTimeoutSeconds: 30_000 },
      seen: waiting,
      round: member(199),
      config: { pollIntervalSeconds: 60, drainTimeoutSeconds: 1800 },
      now: T0,
      expected: { kind: 'wait', reason: 'paced-start', until: T0 + 150 * S - Math.round((300 * S * 0.25 * 199) / 200) },
    },
    {
      name: 'its start missed (the group read late): the second half of the next slot',
      chain: { ...fresh, heartbeatTimeoutSeconds: 600, globalTimeoutSeconds: 60_000 },
      seen: waiting,
      round: member(10),
      config: { pollIntervalSeconds: 60, drainTimeoutSeconds: 1800 },
      now: T0 + 60 * S,
      // Slots 2.571 s apart: 60 s is in slot 23 (59.133 s to 61.704 s); its second half starts at 60.419 s.
      expected: { kind: 'wait', reason: 'paced-start', until: T0 + 23 * 2571 + 1286 },
    },
    {
      name: 'its start missed, and now is in the second half of a slot: read at once (never postponed again)',
      chain: { ...fresh, heartbeatTimeoutSeconds: 600, globalTimeoutSeconds: 60_000 },
      seen: waiting,
      round: member(10),
      config: { pollIntervalSeconds: 60, drainTimeoutSeconds: 1800 },
      now: T0 + 23 * 2571 + 1286,
      expected: { kind: 'read', reason: 'start-reached' },
    },
    {
      name: 'the deadline comes before its start: read (the decision completes)',
      chain: { ...fresh, heartbeatTimeoutSeconds: 600, globalTimeoutSeconds: 60_000 },
      seen: waiting,
      round: member(199),
      config: { pollIntervalSeconds: 60, drainTimeoutSeconds: 60 },
      now: T0 + 60 * S,
      expected: { kind: 'read', reason: 'start-reached' },
    },
    {
      name: 'an invocation too short for the wait: read at once',
      chain: { ...fresh, heartbeatTimeoutSeconds: 600, globalTimeoutSeconds: 60_000 },
      seen: { ...waiting, invocationEndsAt: T0 + 10 * S },
      round: member(100),
      config: { pollIntervalSeconds: 60, drainTimeoutSeconds: 1800 },
      now: T0,
      expected: { kind: 'read', reason: 'invocation-ending' },
    },
    { name: 'a requeued chain alone: reads at once', seen: waiting, round: { fleet: { drains: 1, rank: 0 }, roundStartedAt: NOW }, now: NOW, expected: { kind: 'read', reason: 'instance-known' } },
    {
      name: 'a requeued chain of a fleet: its previous invocation polled just before the hop, so the next grid poll half a period on',
      chain: { lastHeartbeatAt: T0 + 880 * S },
      seen: { ...waiting, invocationEndsAt: T0 + 2000 * S },
      round: { ...member(100), roundStartedAt: T0 + 900 * S },
      config: { pollIntervalSeconds: 60, drainTimeoutSeconds: 3600 },
      now: T0 + 900 * S,
      // Grid T0 + 120 s + k × 240 s; half a period after T0 + 900 s is T0 + 1020 s: T0 + 1080 s.
      expected: { kind: 'wait', reason: 'paced-start', until: T0 + 1080 * S },
    },
    {
      name: 'the group retains the instance (Terminating:Retained after an ABANDON): end before any ECS read',
      chain: fresh,
      seen: { ...waiting, groupState: 'Terminating:Retained' },
      round: member(100),
      expected: { kind: 'end', reason: 'retained' },
    },
    {
      name: 'a dry run waits for its start too, with no hook read and no heartbeat',
      chain: fresh,
      seen: waiting,
      round: member(100),
      config: { dryRun: true, pollIntervalSeconds: 60, drainTimeoutSeconds: 1800 },
      now: T0 + 200 * S,
      expected: { kind: 'wait', reason: 'paced-start', until: T0 + 257_143 },
    },
  ];
  it.each(firstReads.map((row) => [row.name, row] as const))('%s', (_name, row) => {
    const step = decideFirstRead(
      chain(row.chain),
      row.now ?? NOW,
      { ...baseConfig, ...row.config },
      { ...FRESH_ROUND, ...row.round },
      { invocationEndsAt: T0 + 800 * S, ...row.seen },
    );
    expect(step).toEqual(row.expected);
  });

  it.each([
    ['the count proves a counted task remains, none listed: wait, never complete', { tasksRemain: true }, {}, { kind: 'wait', reason: 'tasks-remaining', until: NOW + 10 * S }],
    [
      'STANDALONE_TASKS=stop, the count proves a service task remains: the listed standalone task is not stopped yet',
      { tasksRemain: true, tasks: [standalone] },
      { standaloneTasks: 'stop' as const },
      { kind: 'wait', reason: 'tasks-remaining', until: NOW + 10 * S },
    ],
    ['the event path marked it and the instance is gone: the action is over, no completion', { instance: { status: 'INACTIVE' }, lease: { mine: 'x', claimed: true, written: MY_LEASE, current: completionMarker(NOW) } }, {}, { kind: 'end', reason: 'action-over' }],
    [
      'the event path marked it, still DRAINING: complete with no task read (Auto Scaling answers if it is over)',
      { tasksRemain: true, lease: { mine: 'x', claimed: true, written: MY_LEASE, current: completionMarker(NOW) } },
      {},
      complete('CONTINUE', 'drained'),
    ],
  ] as const)('%s', (_name, overrides, config, expected) => {
    const step = decideLifecycleStep(snapshot(overrides as Partial<LifecycleSnapshot>), chain(), NOW, { ...baseConfig, ...config }, { ...FRESH_ROUND, waitConfirmed: true });
    expect(step).toEqual(expected);
  });

  it('on the fleet grid, a wait ends at the next grid poll; a wake-up for a heartbeat before it reads nothing', () => {
    const config = { ...baseConfig, pollIntervalSeconds: 60, drainTimeoutSeconds: 3600 };
    const round = { ...FRESH_ROUND, waitConfirmed: true, fleet: { drains: 200, rank: 100 }, chainJitter: 0, lastReadAt: T0 + 130 * S };
    // Grid T0 + 120 s + k × 240 s: half a period after T0 + 130 s, the next is T0 + 360 s.
    expect(decideLifecycleStep(snapshot({ tasks: [running] }), chain({ heartbeatTimeoutSeconds: 7200 }), T0 + 131 * S, config, round)).toEqual({ kind: 'wait', reason: 'tasks-remaining', until: T0 + 360 * S });
    // Its first heartbeat of a 600 s timeout is due at T0 + 600 s × (0.5 − 0.25 × 100 / 200) = T0 + 225 s.
    expect(decideLifecycleStep(snapshot({ tasks: [running] }), chain({ heartbeatTimeoutSeconds: 600 }), T0 + 131 * S, config, round)).toEqual({
      kind: 'wait',
      reason: 'tasks-remaining',
      until: T0 + 225 * S,
      read: false,
    });
  });
});
