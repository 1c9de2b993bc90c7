import type { LifecycleActionRef } from '../aws/autoscaling';
import type { ClassifiedTask } from '../aws/tasks';
import { classifyAwsError, isNoActiveLifecycleAction, type ErrorClass } from '../errors';
import type { LifecycleNotification } from '../events/lifecycle';
import type { LifecycleResult, StandaloneTasksPolicy } from './config';
import { leaseRanksAbove, leaseValue } from './lease';
import { defersToManagedDraining, type ManagedDrainingMode, type ManagedDrainingView } from './managed-draining';
import { isRetainedState } from './retained';

/**
 * The pure core of the lifecycle-hook drainer: given what was read (snapshot), where the drain
 * stands (chain), how this invocation's round has gone so far (progress, including its faults)
 * and the time, decide the next single step. The executor carries the step out, updates the
 * chain and asks again, so every write, every pause and every give-up is chosen here.
 */

/** Where one drain stands; serialised into the requeue message between invocations. */
export interface ChainState {
  /** Names the rounds of one drain; a duplicate delivery starts a chain with another id. */
  chainId: string;
  /** SNS hops so far: 0 for Auto Scaling's own notification. */
  attempt: number;
  /** Epoch ms of the first notification (the lifecycle action's start). */
  firstSeenAt: number;
  /** Epoch ms at which the hook's heartbeat window last restarted. */
  lastHeartbeatAt: number;
  heartbeatTimeoutSeconds?: number;
  globalTimeoutSeconds?: number;
  cluster?: string;
  containerInstanceArn?: string;
  /**
   * Epoch ms at which a poll of the DRAINING instance first found no counted task left: the daemon
   * grace (DAEMON_GRACE_SECONDS) runs from here. Cleared if counted tasks show up again.
   */
  countedGoneAt?: number;
  notification: LifecycleNotification;
}

export interface LeaseView {
  /** This round's lease value. */
  mine: string;
  /** This round has written its lease to the container instance. */
  claimed: boolean;
  /** The value this round last wrote (lease.ts: write time, chain id, `mine`). */
  written?: string;
  /** The value read from the container instance in this poll (undefined: none). */
  current?: string;
  /** Writing the lease failed for good (e.g. the instance's attribute limit): run without it. */
  unavailable?: boolean;
}

export interface LifecycleSnapshot {
  /** The container instance; undefined when there is none (never joined, deregistered, INACTIVE). */
  instance?: { status: string };
  /** Unstopped tasks on the instance, classified by origin. */
  tasks: readonly ClassifiedTask[];
  /**
   * The EC2 state of the instance (`running`, `stopped`, ... or `not-found`), read in this poll only
   * while its ECS agent is disconnected; undefined otherwise, or when EC2 could not be read.
   */
  ec2State?: string;
  /** Auto Scaling's lifecycle state of the instance, when read in this poll; 'absent' when in no group. */
  groupState?: string;
  /** The group Auto Scaling reported the instance in, read with `groupState`. */
  groupName?: string;
  /**
   * A heartbeat of this very action (its hook and token) succeeded in this poll, so the action is
   * still open. The group's lifecycle state cannot tell: `Terminating:Wait` holds while any of the
   * group's termination hooks waits (aws-behaviour.md §3.2).
   */
  actionConfirmed?: boolean;
  /** Auto Scaling answered "No active Lifecycle Action found": completed, expired or abandoned. */
  actionOver: boolean;
  /** Managed draining of the group's capacity provider, when this round read it (managed-draining.ts). */
  managedDraining?: ManagedDrainingView;
  lease: LeaseView;
  /** Epoch ms after which this invocation must not start another poll (its time budget). */
  invocationEndsAt: number;
}

export interface LifecycleDecisionConfig {
  standaloneTasks: StandaloneTasksPolicy;
  pollIntervalSeconds: number;
  drainTimeoutSeconds: number;
  deadlineResult: LifecycleResult;
  maxHops: number;
  /** After the counted tasks stopped, how long to wait for the daemon tasks, which ECS stops last. */
  daemonGraceSeconds: number;
  dryRun: boolean;
  /** Requeue topic; unset: the topic the record arrived on. */
  lifecycleTopicArn?: string;
  /** Operators' topic for notices of drains cut short; unset: no notice. */
  opsTopicArn?: string;
  /** Groups ECS drains itself (managed draining): `defer` to it (the default) or drain anyway. */
  managedDraining?: ManagedDrainingMode;
}

/**
 * How a failed poll's error is classed: 'action-over' is Auto Scaling's "No active Lifecycle
 * Action found" (aws-behaviour.md §3.2), which ends the round rather than failing it.
 */
export type PollFailureClass = ErrorClass | 'action-over';

export function classifyPollFailure(error: unknown): PollFailureClass {
  return isNoActiveLifecycleAction(error) ? 'action-over' : classifyAwsError(error);
}

/** How this invocation's round of one drain has gone so far: an input like the snapshot. */
export interface RoundProgress {
  /** Steps already taken on the current snapshot. */
  stepsThisPoll: number;
  /** UpdateContainerInstancesState requests this round has made. */
  drainRequests: number;
  /** Polls in a row that failed, the current one included; 0 once a poll reads a snapshot. */
  consecutiveFailures: number;
  /** Set while the current poll has failed: the class of its error. */
  failure?: PollFailureClass;
  /** The SNS topic the record arrived on (the requeue topic unless LIFECYCLE_TOPIC_ARN is set). */
  arrivedOn?: string;
  /** Auto Scaling reported the instance in the hook's wait state earlier in this round. */
  waitConfirmed?: boolean;
  /** Epoch ms of this round's last DRAINING request. */
  lastDrainAt?: number;
  /** Set while the current poll has failed: the service whose call failed ('ecs', 'autoScaling', 'sns'). */
  failedService?: string;
  /** False once an Auto Scaling call of this round failed and none has succeeded since. */
  autoScalingAnswers?: boolean;
  /** A number in [0, 1) that spreads the retries of many drains apart (see retryPauseMs). */
  jitter?: number;
}

export const FRESH_ROUND: RoundProgress = { stepsThisPoll: 0, drainRequests: 0, consecutiveFailures: 0 };

export type CompleteReason =
  | 'drained'
  | 'daemon-grace-over'
  | 'not-a-container-instance'
  | 'instance-gone'
  | 'agent-disconnected-instance-gone'
  | 'deadline'
  | 'hop-cap'
  | 'managed-draining';

/** `not-in-transition`: the instance is not waiting in the hook's transition (a replayed, test or forged message). */
export type EndReason = 'action-over' | 'superseded' | 'not-in-transition' | 'retained';

export type GiveUpReason = 'not-retryable' | 'failures-in-a-row' | 'invocation-ending';

export type LifecycleStep =
  | { kind: 'complete'; result: LifecycleResult; reason: CompleteReason; action: LifecycleActionRef; opsTopicArn?: string }
  | { kind: 'drain'; reason: 'instance-active'; cluster: string; containerInstanceArn: string; pauseAfterMs: number }
  | { kind: 'stop-standalone'; reason: 'service-tasks-gone'; cluster: string; taskArns: string[] }
  | { kind: 'heartbeat'; reason: 'heartbeat-due' | 'before-requeue'; dueAt: number; action: LifecycleActionRef }
  | { kind: 'claim-lease'; reason: 'before-waiting' | 'lease-behind'; cluster: string; containerInstanceArn: string; value: string }
  | { kind: 'check-group'; reason: 'before-first-write'; ec2InstanceId: string }
  | { kind: 'requeue'; reason: 'invocation-ending'; topicArn?: string }
  | { kind: 'wait'; reason: 'tasks-remaining' | 'daemons-stopping' | 'settling' | 'step-limit'; until: number }
  | { kind: 'retry'; reason: 'poll-failed'; pauseMs: number; heartbeat?: LifecycleActionRef }
  | { kind: 'give-up'; reason: GiveUpReason; errorClass: ErrorClass; heartbeat?: LifecycleActionRef }
  | { kind: 'end'; reason: EndReason }
  | { kind: 'dry-run'; reason: string; wouldDo: ActingStep };

/** Steps that write to AWS, or wait for the drain: where a dry run stops. */
export type ActingStep = Extract<
  LifecycleStep,
  { kind: 'complete' | 'drain' | 'stop-standalone' | 'heartbeat' | 'claim-lease' | 'requeue' | 'wait' }
>;

/**
 * Kept free at the end of every invocation for the last poll's calls and the requeue publish. If
 * the Lambda times out anyway, Lambda's asynchronous retry runs the same message again, so a round
 * is repeated, never lost.
 */
export const INVOCATION_SAFETY_MARGIN_MS = 30_000;

/**
 * The time an invocation gives its rounds: they start no poll after `endsAt`. Below two poll
 * intervals of room each invocation would hop at once, spending MAX_HOPS in minutes instead of polling.
 */
export function invocationBudget(now: number, remainingMs: number, pollIntervalSeconds: number): { endsAt: number; tooShortToPoll: boolean } {
  return {
    endsAt: now + remainingMs - INVOCATION_SAFETY_MARGIN_MS,
    tooShortToPoll: remainingMs < INVOCATION_SAFETY_MARGIN_MS + 2 * pollIntervalSeconds * 1000,
  };
}

/** EC2 states in which an instance's tasks can no longer stop gracefully (`not-found`: EC2 forgot the id). */
export const EC2_GONE_STATES: ReadonlySet<string> = new Set(['stopping', 'stopped', 'shutting-down', 'terminated', 'not-found']);

/** Steps decided on one snapshot before it is read again; a guard, normal rounds take 1 to 4. */
export const MAX_STEPS_PER_POLL = 8;
/** Polls in a row that may fail with throttling or 5xx before the invocation gives up and throws. */
export const MAX_CONSECUTIVE_POLL_FAILURES = 3;

/** Heartbeats go out at this fraction of the hook's heartbeat timeout, leaving the rest as margin. */
export const HEARTBEAT_FRACTION = 0.5;
/**
 * Kept between our deadline and the hook's global timeout (min(48 h, 100 × heartbeat timeout),
 * aws-behaviour.md §3.2), after which Auto Scaling applies the hook's default result itself.
 */
export const GLOBAL_TIMEOUT_MARGIN_MS = 120_000;

export interface TaskCounts {
  /** Tasks the drain waits for. */
  counted: number;
  service: number;
  standalone: number;
  daemon: number;
  /** Counted tasks already told to stop (desired STOPPED) but not yet STOPPED. */
  stopping: number;
}

/**
 * A task counts until its lastStatus is STOPPED; daemons never count: ECS stops them only after
 * the other tasks (aws-behaviour.md §2), so they are waited for afterwards, within the daemon grace.
 */
export function countTasks(tasks: readonly ClassifiedTask[], policy: StandaloneTasksPolicy): TaskCounts {
  const counts: TaskCounts = { counted: 0, service: 0, standalone: 0, daemon: 0, stopping: 0 };
  for (const task of tasks) {
    if (task.lastStatus === 'STOPPED') continue;
    counts[task.origin] += 1;
    const counted = task.origin === 'service' || (task.origin === 'standalone' && policy !== 'ignore');
    if (!counted) continue;
    counts.counted += 1;
    if (task.desiredStatus === 'STOPPED') counts.stopping += 1;
  }
  return counts;
}

/** When the drain gives up: the configured timeout, or earlier if the hook's global timeout comes first. */
export function deadlineOf(chain: ChainState, config: Pick<LifecycleDecisionConfig, 'drainTimeoutSeconds'>): number {
  const configured = chain.firstSeenAt + config.drainTimeoutSeconds * 1000;
  if (chain.globalTimeoutSeconds === undefined) return configured;
  return Math.min(configured, chain.firstSeenAt + chain.globalTimeoutSeconds * 1000 - GLOBAL_TIMEOUT_MARGIN_MS);
}

export function heartbeatDueAt(chain: ChainState): number | undefined {
  if (chain.heartbeatTimeoutSeconds === undefined) return undefined;
  return chain.lastHeartbeatAt + chain.heartbeatTimeoutSeconds * 1000 * HEARTBEAT_FRACTION;
}

/**
 * Where an instance stands in a hook's transition, from DescribeAutoScalingInstances' LifecycleState
 * (docs/aws-behaviour.md §3.2): `waiting` in the transition's wait state (warm pools included), its
 * action open; `past` once the transition moved on (or the instance left every group): the action
 * is over; `outside` in any other state (InService, Standby, another transition): no action of this
 * hook waits, whatever the message says. A transition is listed once the drainer handles it; the
 * launch hook's would wait in Pending:Wait and be past from Pending:Proceed.
 */
export type TransitionStage = 'waiting' | 'past' | 'outside';

const TRANSITION_STATES: Readonly<Record<string, { waiting: readonly string[]; past: readonly string[] }>> = {
  'autoscaling:EC2_INSTANCE_TERMINATING': {
    waiting: ['Terminating:Wait', 'Warmed:Terminating:Wait'],
    past: ['Terminating:Proceed', 'Terminating', 'Terminated', 'Warmed:Terminating:Proceed', 'Warmed:Terminating', 'Warmed:Terminated', 'absent'],
  },
};

export function transitionStage(transition: string, groupState: string): TransitionStage {
  const states = TRANSITION_STATES[transition];
  if (states?.waiting.includes(groupState)) return 'waiting';
  if (states?.past.includes(groupState)) return 'past';
  return 'outside';
}

/** The stage of the chain's instance as read into the snapshot; an instance in another group is outside. */
export function stageOf(snapshot: Pick<LifecycleSnapshot, 'groupState' | 'groupName'>, chain: ChainState): TransitionStage | undefined {
  if (snapshot.groupState === undefined) return undefined;
  if (snapshot.groupName !== undefined && snapshot.groupName !== chain.notification.AutoScalingGroupName) return 'outside';
  return transitionStage(chain.notification.LifecycleTransition, snapshot.groupState);
}

/** Whether an instance's Auto Scaling lifecycle state is the wait state of the transition (termination by default). */
export function isWaitingState(groupState: string, transition = 'autoscaling:EC2_INSTANCE_TERMINATING'): boolean {
  return transitionStage(transition, groupState) === 'waiting';
}

/** Completions that cut a drain short: reported louder, and to operators when OPS_TOPIC_ARN is set. */
export function isOverdue(reason: CompleteReason): boolean {
  return reason === 'deadline' || reason === 'hop-cap';
}

/** The lifecycle action a chain drains for: the target of every Auto Scaling write. */
export function actionOf(chain: ChainState): LifecycleActionRef {
  const notification = chain.notification;
  return {
    autoScalingGroupName: notification.AutoScalingGroupName,
    lifecycleHookName: notification.LifecycleHookName,
    instanceId: notification.EC2InstanceId,
    ...(notification.LifecycleActionToken ? { lifecycleActionToken: notification.LifecycleActionToken } : {}),
  };
}

export function decideLifecycleStep(
  snapshot: LifecycleSnapshot,
  chain: ChainState,
  now: number,
  config: LifecycleDecisionConfig,
  progress: RoundProgress = FRESH_ROUND,
): LifecycleStep {
  if (progress.failure !== undefined) return decideAfterFailure(snapshot, chain, now, config, progress, progress.failure);
  // Unreachable with the rules below; a poll later is the safe way out should they change.
  if (progress.stepsThisPoll >= MAX_STEPS_PER_POLL) return { kind: 'wait', reason: 'step-limit', until: now + config.pollIntervalSeconds * 1000 };
  if (!config.dryRun) return decideIgnoringDryRun(snapshot, chain, now, config, progress);
  // A dry run writes nothing, so it has no lease to take; it reports the first step that would act
  // (a write, or waiting for the drain) and stops there instead of polling.
  const step = decideIgnoringDryRun({ ...snapshot, lease: { ...snapshot.lease, unavailable: true } }, chain, now, config, progress);
  switch (step.kind) {
    case 'complete':
    case 'drain':
    case 'stop-standalone':
    case 'heartbeat':
    case 'claim-lease':
    case 'requeue':
    case 'wait':
      return { kind: 'dry-run', reason: step.reason, wouldDo: step };
    default:
      return step;
  }
}

/**
 * Throttling and 5xx that outlast the SDK's retries: try again at the next poll while the
 * invocation has time, then give up so Lambda retries the message (twice, 1 and 2 minutes later,
 * aws-behaviour.md §4). Past the deadline the action is completed without waiting for ECS to
 * answer again, because an expired action would take the hook's default result, not the
 * configured one. The snapshot is the last one read (its tasks go into the operators' notice).
 */
function decideAfterFailure(
  snapshot: LifecycleSnapshot,
  chain: ChainState,
  now: number,
  config: LifecycleDecisionConfig,
  progress: RoundProgress,
  failure: PollFailureClass,
): LifecycleStep {
  // Also when a heartbeat sent while ECS fails (before a hand-over) finds the action over.
  if (failure === 'action-over' || snapshot.actionOver) return { kind: 'end', reason: 'action-over' };
  if (!config.dryRun && now >= deadlineOf(chain, config)) return complete(chain, config, config.deadlineResult, 'deadline');
  const pollMs = config.pollIntervalSeconds * 1000;
  const action = actionOf(chain);
  const ridesOut = ridesOutEcsFaults(progress, chain);
  const pauseMs = ridesOut ? retryPauseMs(chain, now, config, progress) : pollMs;
  if (ridesOut && now + pauseMs > snapshot.invocationEndsAt && !config.dryRun) {
    const handOver = handOverWhileEcsFails(snapshot, chain, now, config, progress);
    if (handOver) return handOver;
  }
  let giveUp: GiveUpReason | undefined;
  if (failure !== 'retryable') giveUp = 'not-retryable';
  else if (progress.consecutiveFailures >= MAX_CONSECUTIVE_POLL_FAILURES && !ridesOut) giveUp = 'failures-in-a-row';
  else if (now + pauseMs > snapshot.invocationEndsAt) giveUp = 'invocation-ending';
  if (giveUp !== undefined) {
    // Lambda's retry of this event comes one, then two minutes later: restart the hook's heartbeat
    // window first, so a short heartbeat timeout does not expire the action meanwhile.
    return { kind: 'give-up', reason: giveUp, errorClass: failure, ...(config.dryRun ? {} : { heartbeat: action }) };
  }
  // ECS may fail while Auto Scaling answers: keep the action alive through a run of failed polls.
  const dueAt = heartbeatDueAt(chain);
  const heartbeatDue = !config.dryRun && dueAt !== undefined && now >= dueAt;
  return { kind: 'retry', reason: 'poll-failed', pauseMs, ...(heartbeatDue ? { heartbeat: action } : {}) };
}

// ---------------------------------------------------------------- fleet scale: riding out ECS faults

/** Longest pause between two failed polls, in poll intervals. */
export const MAX_BACKOFF_POLLS = 4;

/**
 * ECS throttles or fails (its read bucket is shared by the whole account, aws-behaviour.md §3.1)
 * while Auto Scaling still answers: the drain is not given up, since heartbeats keep the action
 * alive and ECS recovers once the callers back off. Any other failure keeps the bounded give-up.
 */
export function ridesOutEcsFaults(progress: RoundProgress, chain: ChainState): boolean {
  // Only once the hook's heartbeat timeout is known: before, no heartbeat can keep the action open
  // through a long ride-out, and the give-up rules hand the message to Lambda's retry in time.
  if (chain.heartbeatTimeoutSeconds === undefined) return false;
  return progress.failure === 'retryable' && progress.failedService === 'ecs' && progress.autoScalingAnswers !== false;
}

/**
 * The pause after a failed poll while ECS is riding out: the poll interval doubled per failure in
 * a row (up to MAX_BACKOFF_POLLS intervals), spread by ±50 % jitter so that many drains throttled
 * together do not retry together; never past the next heartbeat or the deadline, so neither is late.
 */
export function retryPauseMs(chain: ChainState, now: number, config: LifecycleDecisionConfig, progress: RoundProgress): number {
  const pollMs = config.pollIntervalSeconds * 1000;
  const exponent = Math.max(0, progress.consecutiveFailures - 1);
  const backoff = pollMs * Math.min(2 ** exponent, MAX_BACKOFF_POLLS) * (0.5 + (progress.jitter ?? 0.5));
  const dueAt = heartbeatDueAt(chain);
  const limits = [backoff, deadlineOf(chain, config) - now, ...(dueAt !== undefined ? [dueAt - now] : [])];
  return Math.max(1000, Math.round(Math.min(...limits)));
}

/**
 * The invocation ends while ECS is failing: the chain goes on in a requeue message, as after a
 * successful poll (checking the group first), instead of handing the event to Lambda's retry.
 * Undefined when the chain cannot be requeued yet (its instance or hook was never read).
 */
function handOverWhileEcsFails(
  snapshot: LifecycleSnapshot,
  chain: ChainState,
  now: number,
  config: LifecycleDecisionConfig,
  progress: RoundProgress,
): LifecycleStep | undefined {
  if (chain.cluster === undefined || chain.containerInstanceArn === undefined || chain.heartbeatTimeoutSeconds === undefined) return undefined;
  if (chain.globalTimeoutSeconds === undefined) return undefined;
  if (chain.attempt >= config.maxHops) return complete(chain, config, config.deadlineResult, 'hop-cap');
  // As before any hop: a heartbeat of this hook and token succeeds only while this very action is
  // open (Auto Scaling still answers while ECS fails); "no active action" ends the round.
  if (!snapshot.actionConfirmed) return { kind: 'heartbeat', reason: 'before-requeue', dueAt: now, action: actionOf(chain) };
  const topicArn = config.lifecycleTopicArn ?? progress.arrivedOn;
  return { kind: 'requeue', reason: 'invocation-ending', ...(topicArn !== undefined ? { topicArn } : {}) };
}

function complete(chain: ChainState, config: LifecycleDecisionConfig, result: LifecycleResult, reason: CompleteReason): LifecycleStep {
  const notify = isOverdue(reason) && config.opsTopicArn !== undefined;
  return { kind: 'complete', result, reason, action: actionOf(chain), ...(notify ? { opsTopicArn: config.opsTopicArn } : {}) };
}

function decideIgnoringDryRun(
  snapshot: LifecycleSnapshot,
  chain: ChainState,
  now: number,
  config: LifecycleDecisionConfig,
  progress: RoundProgress,
): LifecycleStep {
  // The action is over (completed by a duplicate chain, expired, abandoned): nothing left to do.
  if (snapshot.actionOver) return { kind: 'end', reason: 'action-over' };
  // Abandoned and kept by the group's instance lifecycle policy: no action is left to drain for (retained.ts).
  if (isRetainedState(snapshot.groupState)) return { kind: 'end', reason: 'retained' };
  const stage = stageOf(snapshot, chain);
  if (stage === 'past') return { kind: 'end', reason: 'action-over' };
  if (stage === 'outside') return { kind: 'end', reason: 'not-in-transition' };
  // A lease that ranks above ours (written later, lease.ts) belongs to the live chain: this one is
  // the duplicate. ECS reads are eventually consistent (aws-behaviour.md §3.1): a stale read may show
  // an older value, which ranks below ours, so two chains may both go on, but never both end.
  const { lease } = snapshot;
  const written = lease.claimed ? lease.written : undefined;
  if (written !== undefined && lease.current !== undefined && lease.current !== written && leaseRanksAbove(lease.current, written)) {
    return { kind: 'end', reason: 'superseded' };
  }

  const instance = snapshot.instance;
  if (!instance || instance.status === 'INACTIVE') {
    // Nothing on the instance can be moved any more; holding the termination only costs money.
    const reason = chain.containerInstanceArn === undefined ? 'not-a-container-instance' : 'instance-gone';
    return complete(chain, config, 'CONTINUE', reason);
  }
  // A disconnected agent reports nothing, so ECS keeps its tasks RUNNING in its records; with the EC2
  // instance stopping, stopped or gone those tasks cannot stop gracefully any more, and waiting for
  // ECS to see them stop would wait out the deadline (aws-behaviour.md §1.6). A running or pending
  // instance may reconnect: that drain waits as usual.
  if (snapshot.ec2State !== undefined && EC2_GONE_STATES.has(snapshot.ec2State)) {
    return complete(chain, config, 'CONTINUE', 'agent-disconnected-instance-gone');
  }
  // ECS's own hook holds the termination until ECS has drained the instance (aws-behaviour.md §3.5):
  // completing ours now, without a write, leaves the drain to one drainer.
  if (defersToManagedDraining(snapshot.managedDraining, config.managedDraining)) return complete(chain, config, 'CONTINUE', 'managed-draining');

  // ECS writes (DRAINING, the lease, StopTask) only once Auto Scaling has shown, in this round, that
  // the instance waits in the hook's transition: a message alone (replayed, a test, forged) never drains.
  // Auto Scaling's own writes need no such check: it refuses them without an open action.
  const confirmed = progress.waitConfirmed === true || stage === 'waiting';
  const confirmFirst: LifecycleStep = { kind: 'check-group', reason: 'before-first-write', ec2InstanceId: chain.notification.EC2InstanceId };

  const pollMs = config.pollIntervalSeconds * 1000;
  const cluster = chain.cluster ?? '';
  const containerInstanceArn = chain.containerInstanceArn ?? '';
  // An ACTIVE instance still receives new tasks: drain it before anything else, even when empty.
  // The snapshot is read again at once, since only tasks seen after DRAINING took effect tell
  // whether the drain is done; should ECS still report ACTIVE, later requests are paced by the poll.
  if (instance.status === 'ACTIVE') {
    if (!confirmed) return confirmFirst;
    return { kind: 'drain', reason: 'instance-active', cluster, containerInstanceArn, pauseAfterMs: progress.drainRequests > 0 ? pollMs : 0 };
  }

  const counts = countTasks(snapshot.tasks, config.standaloneTasks);
  const deadline = deadlineOf(chain, config);
  let graceEnds: number | undefined;
  if (counts.counted === 0) {
    // Right after this round's DRAINING request, an empty answer may predate the request taking
    // effect (eventually consistent reads, aws-behaviour.md §3.1): a poll later, it is believed.
    const settledAt = progress.lastDrainAt === undefined ? now : progress.lastDrainAt + pollMs;
    if (now < settledAt && now < deadline) return { kind: 'wait', reason: 'settling', until: Math.min(settledAt, deadline) };
    if (counts.daemon === 0) return complete(chain, config, 'CONTINUE', 'drained');
    // ECS stops the daemon tasks last (aws-behaviour.md §2): give them their stop timeout, bounded.
    graceEnds = (chain.countedGoneAt ?? now) + config.daemonGraceSeconds * 1000;
    if (now >= graceEnds || now >= deadline) return complete(chain, config, 'CONTINUE', 'daemon-grace-over');
  }

  if (now >= deadline) return complete(chain, config, config.deadlineResult, 'deadline');
  if (chain.attempt > config.maxHops) return complete(chain, config, config.deadlineResult, 'hop-cap');

  if (config.standaloneTasks === 'stop' && counts.service === 0) {
    const toStop = snapshot.tasks
      .filter((task) => task.origin === 'standalone' && task.desiredStatus !== 'STOPPED' && task.lastStatus !== 'STOPPED')
      .map((task) => task.taskArn);
    if (toStop.length > 0 && !confirmed) return confirmFirst;
    if (toStop.length > 0) return { kind: 'stop-standalone', reason: 'service-tasks-gone', cluster, taskArns: toStop };
  }

  const dueAt = heartbeatDueAt(chain);
  if (dueAt !== undefined && now >= dueAt) return { kind: 'heartbeat', reason: 'heartbeat-due', dueAt, action: actionOf(chain) };

  if (!lease.unavailable) {
    const value = leaseValue(now, chain.chainId, lease.mine);
    if (!lease.claimed && !confirmed) return confirmFirst;
    if (!lease.claimed) return { kind: 'claim-lease', reason: 'before-waiting', cluster, containerInstanceArn, value };
    // Another chain's lease that ranks below ours was written after ours (or the read is stale):
    // write ours again, so that chain finds a lease above its own and ends.
    if (written !== undefined && lease.current !== undefined && lease.current !== written) {
      return { kind: 'claim-lease', reason: 'lease-behind', cluster, containerInstanceArn, value };
    }
  }

  if (now + pollMs > snapshot.invocationEndsAt) {
    if (chain.attempt >= config.maxHops) return complete(chain, config, config.deadlineResult, 'hop-cap');
    // Re-check before the hop: a duplicate chain or an operator may have ended the action already.
    // A heartbeat names this hook and token, so it succeeds only while this very action is open
    // (aws-behaviour.md §3.2); the group's lifecycle state belongs to all its hooks at once.
    if (!snapshot.actionConfirmed) return { kind: 'heartbeat', reason: 'before-requeue', dueAt: now, action: actionOf(chain) };
    const topicArn = config.lifecycleTopicArn ?? progress.arrivedOn;
    return { kind: 'requeue', reason: 'invocation-ending', ...(topicArn !== undefined ? { topicArn } : {}) };
  }

  const until = Math.min(now + pollMs, deadline, dueAt ?? Number.POSITIVE_INFINITY, graceEnds ?? Number.POSITIVE_INFINITY);
  return { kind: 'wait', reason: graceEnds !== undefined ? 'daemons-stopping' : 'tasks-remaining', until };
}
