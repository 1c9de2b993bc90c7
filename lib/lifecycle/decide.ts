import type { LifecycleActionRef } from '../aws/autoscaling';
import type { ClassifiedTask } from '../aws/tasks';
import { classifyAwsError, isNoActiveLifecycleAction, type ErrorClass } from '../errors';
import type { LifecycleNotification } from '../events/lifecycle';
import type { LifecycleResult, StandaloneTasksPolicy } from './config';
import { isCompletionMarker, leaseRanksAbove, leaseValue } from './lease';
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
  /**
   * The instance's task count (runningTasksCount + pendingTasksCount) proves that tasks the drain
   * waits for remain (countProvesTasksRemain), so its tasks were not listed in this poll: `tasks`
   * holds what an earlier poll read, if anything.
   */
  tasksRemain?: boolean;
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
  /** ECS cluster-resource reads per second all drains together aim to stay under (pacing); unset: DEFAULT_READ_BUDGET_PER_SECOND. */
  readBudgetPerSecond?: number;
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
  /** A number in [0, 1) fixed for the chain: its place in the fleet's pace when it has none of its own (pacing). */
  chainJitter?: number;
  /** The drains in progress in the instance's group, as this round last read them (pacing). */
  fleet?: FleetView;
  /** Epoch ms of this round's last snapshot read: the next poll is one paced period after it. */
  lastReadAt?: number;
  /** Epoch ms at which this invocation's round started. */
  roundStartedAt?: number;
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
  /** `read: false`: a wake-up before the next poll is due (heartbeat, daemon grace, deadline): nothing is read. */
  | { kind: 'wait'; reason: 'tasks-remaining' | 'daemons-stopping' | 'settling' | 'step-limit' | 'paced-start'; until: number; read?: false }
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
/** The heartbeats of a fleet's drains are spread over this fraction of the timeout before it. */
export const HEARTBEAT_SPREAD = 0.25;
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

/**
 * When the next heartbeat is due: at HEARTBEAT_FRACTION of the timeout. The first one of a fleet's
 * drains comes earlier by up to HEARTBEAT_SPREAD of it (by the drain's place), since the actions of
 * one scale-in all start together and Auto Scaling throttles on its own (aws-behaviour.md §3.2).
 */
export function heartbeatDueAt(chain: ChainState, fleet?: FleetView): number | undefined {
  if (chain.heartbeatTimeoutSeconds === undefined) return undefined;
  const drains = Math.max(1, fleet?.drains ?? 1);
  // Only the window the notification opened is shared; after its first heartbeat a drain keeps its own.
  const shared = chain.lastHeartbeatAt === chain.firstSeenAt;
  const earlier = shared && drains > 1 && fleet?.rank !== undefined ? (HEARTBEAT_SPREAD * Math.min(fleet.rank, drains - 1)) / drains : 0;
  return chain.lastHeartbeatAt + chain.heartbeatTimeoutSeconds * 1000 * (HEARTBEAT_FRACTION - earlier);
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
  const action = actionOf(chain);
  const ridesOut = ridesOutEcsFaults(progress, chain);
  // Other faults are tried again a poll later, spread by ±50 % jitter so that drains that failed
  // together (a throttled burst of Auto Scaling calls when a scale-in starts) do not retry together.
  const pauseMs = retryPauseMs(chain, now, config, { ...progress, consecutiveFailures: ridesOut ? progress.consecutiveFailures : 1 });
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
  const dueAt = heartbeatDueAt(chain, progress.fleet);
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
  const dueAt = heartbeatDueAt(chain, progress.fleet);
  // A heartbeat already overdue (it failed too) is tried again before three quarters of the timeout.
  const heartbeatLimit =
    dueAt === undefined || chain.heartbeatTimeoutSeconds === undefined ? undefined : dueAt > now ? dueAt - now : chain.lastHeartbeatAt + chain.heartbeatTimeoutSeconds * 750 - now;
  const untilDeadline = deadlineOf(chain, config) - now;
  // Limits already behind (a dry run past its deadline, a heartbeat long overdue and sent with this retry) cap nothing.
  const limits = [backoff, ...[untilDeadline, heartbeatLimit ?? 0].filter((limit) => limit > 0)];
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
  // The event path found this drain finished on a full read and marked the instance just before
  // completing the action (lease.ts completionMarker). Once the instance is gone (INACTIVE: it was
  // terminated) the action is over; while it is still DRAINING the completion may not have gone
  // through, so it is made again, with no task read (Auto Scaling answers if it is over).
  if (snapshot.lease.current !== undefined && isCompletionMarker(snapshot.lease.current)) {
    if (snapshot.instance?.status === 'INACTIVE') return { kind: 'end', reason: 'action-over' };
    if (snapshot.instance?.status === 'DRAINING') return complete(chain, config, 'CONTINUE', 'drained');
  }
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
  if (snapshot.tasksRemain) {
    // Proven by the task count: with STANDALONE_TASKS=stop a service task, otherwise a counted one.
    counts.counted = Math.max(counts.counted, 1);
    if (config.standaloneTasks === 'stop') counts.service = Math.max(counts.service, 1);
  }
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

  const dueAt = heartbeatDueAt(chain, progress.fleet);
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

  // Polls are paced (pacing): one period after the last read, whatever woke the round since.
  const pollAt = nextPollAt(chain, progress.lastReadAt ?? now, pacingOf(config, progress));
  if (pollAt > snapshot.invocationEndsAt) {
    if (chain.attempt >= config.maxHops) return complete(chain, config, config.deadlineResult, 'hop-cap');
    // Re-check before the hop: a duplicate chain or an operator may have ended the action already.
    // A heartbeat names this hook and token, so it succeeds only while this very action is open
    // (aws-behaviour.md §3.2); the group's lifecycle state belongs to all its hooks at once.
    if (!snapshot.actionConfirmed) return { kind: 'heartbeat', reason: 'before-requeue', dueAt: now, action: actionOf(chain) };
    const topicArn = config.lifecycleTopicArn ?? progress.arrivedOn;
    return { kind: 'requeue', reason: 'invocation-ending', ...(topicArn !== undefined ? { topicArn } : {}) };
  }

  const until = Math.min(pollAt, deadline, dueAt ?? Number.POSITIVE_INFINITY, graceEnds ?? Number.POSITIVE_INFINITY);
  // Woken before the next poll is due (for a heartbeat, the end of the daemon grace or the deadline),
  // the round decides on what its last poll read, no older than a period: the drains of one scale-in
  // share their deadline, and reading ECS all at once then would burst the account's read bucket.
  const read = until >= pollAt;
  return { kind: 'wait', reason: graceEnds !== undefined ? 'daemons-stopping' : 'tasks-remaining', until, ...(read ? {} : { read: false as const }) };
}

// ---------------------------------------------------------------- fleet scale: a shared read budget

/**
 * The drains in progress in one Auto Scaling group, read with the group (DescribeAutoScalingGroups:
 * its instances in the hook's wait state, docs/aws-behaviour.md §3.2). Auto Scaling throttles on
 * its own, so this costs nothing of ECS's cluster-resource read bucket (§3.1).
 */
export interface FleetView {
  /** Instances waiting in the transition, this one included; at least 1. */
  drains: number;
  /** This instance's place among them, ordered by instance id (0-based); undefined when not listed. */
  rank?: number;
}

/**
 * ECS cluster-resource reads per second that the drains of a group together aim to stay under:
 * half of the account's bucket refill (20 per second, docs/aws-behaviour.md §3.1), leaving the rest
 * to other tools and to the event path.
 */
export const DEFAULT_READ_BUDGET_PER_SECOND = 10;
/** A poll while tasks are stopping: DescribeContainerInstances and DescribeTasks of those tasks. */
export const READS_PER_POLL = 2;
/**
 * A drain's reads in its first two polls: the lookup (ListContainerInstances,
 * DescribeContainerInstances) and the read after DRAINING, then, once the service tasks are told to
 * stop, the first task read: both ListTasks and DescribeTasks, which page through the host's recently
 * STOPPED tasks (about 6 with an hour of short jobs). A drain's last full read is about as dear and
 * comes as far apart as the starts when tasks take as long everywhere: spreading the starts spreads
 * the ends too.
 */
export const READS_PER_START = 9;
/** Shares of the budget: the drains' starts, then their polls; the rest is left to the task events and requeues. */
export const START_SHARE = 0.35;
export const POLL_SHARE = 0.15;
/**
 * A polling round of a fleet reads at most this share of the budget per second: its task read (up
 * to 6 reads) is spread over seconds, during which other drains' polls and starts come and go.
 */
export const INVOCATION_READ_SHARE = 0.1;
/**
 * A task-event batch reads at most this share of the budget per second: a finished drain's last
 * task read takes about 3 s, and at most two batches run at once (the mapping's maximum concurrency).
 */
export const EVENT_READ_SHARE = 0.15;
/** The poll interval is stretched at most this many times, so a large fleet's safety net still comes within minutes. */
export const MAX_POLL_STRETCH = 4;
/** Starts are spread over at most this fraction of DRAIN_TIMEOUT_SECONDS, so a large fleet still drains in time. */
export const MAX_START_SPREAD_FRACTION = 1 / 3;

export interface Pacing {
  /** Between two polls of one drain: the poll interval, longer when many drains share the budget. */
  periodMs: number;
  /** How long after the notification the drain makes its first ECS read. */
  startOffsetMs: number;
  /** Between the starts of two drains of the group (0 alone): the first half of each slot is its drain's. */
  startSpacingMs: number;
  /** Between two ECS reads of one invocation; 0 for a drain alone in its group. */
  readSpacingMs: number;
  /**
   * For a drain of a fleet: its polls fall on a grid of one period from the notification, offset by
   * its place (so the group's polls come evenly apart); undefined: one period after the last read.
   */
  pollPhaseMs?: number;
}

/**
 * How one drain paces its ECS reads so that n drains of its group together stay under the budget,
 * without any state shared between them: each knows n and its own place (FleetView), and all of
 * them compute the same schedule.
 *
 * - Starts: the drain at place r makes its first read r × READS_PER_START / (budget × START_SHARE)
 *   seconds after the notification (1.6 s apart with the default budget), within
 *   MAX_START_SPREAD_FRACTION of the drain timeout. Without a place (not listed), a jitter stands in.
 * - Polls: every max(POLL_INTERVAL_SECONDS, n × READS_PER_POLL / (budget × POLL_SHARE)) seconds, at
 *   most MAX_POLL_STRETCH intervals, on a grid offset by the drain's place.
 * - Within an invocation, once the drain is not alone, reads at most budget / n per second, and at
 *   most budget × INVOCATION_READ_SHARE, so that a full task read does not land in one second.
 */
export function pacing(
  fleet: FleetView | undefined,
  config: Pick<LifecycleDecisionConfig, 'pollIntervalSeconds' | 'drainTimeoutSeconds' | 'readBudgetPerSecond'>,
  jitter = 0,
): Pacing {
  const drains = Math.max(1, Math.floor(fleet?.drains ?? 1));
  const budget = config.readBudgetPerSecond ?? DEFAULT_READ_BUDGET_PER_SECOND;
  const pollMs = config.pollIntervalSeconds * 1000;
  const sharedMs = ((drains * READS_PER_POLL) / (budget * POLL_SHARE)) * 1000;
  const periodMs = Math.round(Math.min(MAX_POLL_STRETCH * pollMs, Math.max(pollMs, sharedMs)));
  const unit = Math.min(Math.max(jitter, 0), 0.999_999);
  // Its place, and within the first half of its slot a little further by its own jitter, so that two
  // chains of one drain (a duplicate delivery) do not read in the same second either.
  const position = fleet?.rank !== undefined ? Math.min(fleet.rank, drains - 1) + unit / 2 : unit * drains;
  const place = Math.floor(position);
  const spacingMs = drains > 1 ? Math.min((READS_PER_START / (budget * START_SHARE)) * 1000, (config.drainTimeoutSeconds * 1000 * MAX_START_SPREAD_FRACTION) / drains) : 0;
  return {
    periodMs,
    startOffsetMs: Math.round(position * spacingMs),
    startSpacingMs: Math.round(spacingMs),
    // n drains each reading at budget / n cannot exceed the budget together; more than a few never
    // read that fast: INVOCATION_READ_SHARE of the budget each at most.
    readSpacingMs: drains > 1 ? Math.round(1000 * Math.min(drains / budget, 1 / (budget * INVOCATION_READ_SHARE))) : 0,
    ...(drains > 1 ? { pollPhaseMs: Math.round((place / drains) * periodMs) } : {}),
  };
}

/**
 * When a drain polls next after reading at `lastReadAt`: one period later, or, in a fleet, at its
 * next grid time at least half a period later (pacing), so that the group's polls stay evenly apart
 * whatever delayed one drain's reads.
 */
export function nextPollAt(chain: Pick<ChainState, 'firstSeenAt'>, lastReadAt: number, pace: Pacing): number {
  if (pace.pollPhaseMs === undefined) return lastReadAt + pace.periodMs;
  const base = chain.firstSeenAt + pace.pollPhaseMs;
  const earliest = lastReadAt + pace.periodMs / 2;
  return base + Math.max(0, Math.ceil((earliest - base) / pace.periodMs)) * pace.periodMs;
}

/** The pacing a round's decision works with: its fleet as last read, its own jitter. */
export function pacingOf(config: LifecycleDecisionConfig, progress: Pick<RoundProgress, 'fleet' | 'chainJitter'>): Pacing {
  return pacing(progress.fleet, config, progress.chainJitter ?? 0);
}

/** The fleet as DescribeAutoScalingGroups lists it: the instances waiting in the transition, and this one's place. */
export function fleetOf(members: readonly { instanceId: string; lifecycleState: string }[], instanceId: string, transition = 'autoscaling:EC2_INSTANCE_TERMINATING'): FleetView {
  const waiting = members.filter((member) => transitionStage(transition, member.lifecycleState) === 'waiting').map((member) => member.instanceId).sort();
  const rank = waiting.indexOf(instanceId);
  return { drains: Math.max(1, waiting.length), ...(rank >= 0 ? { rank } : {}) };
}

/**
 * Whether the instance's task count alone proves that tasks the drain waits for remain, so that a
 * poll need not list them. runningTasksCount counts the tasks whose desired status is RUNNING
 * (docs/aws-behaviour.md §1.10, §2): none of those is STOPPED, and a daemon service has at most one
 * task on an instance (a DRAINING one gets no new task). So with STANDALONE_TASKS=wait more tasks
 * than DAEMON services means a counted task remains. With `stop` or `ignore` standalone tasks do not
 * prove it (`stop` waits for service tasks before stopping them; `ignore` does not count them): the
 * standalone tasks seen by the last full read are added, and before any full read nothing is proven.
 * A count that proves nothing costs a task read; it can never complete a drain by itself.
 */
export function countProvesTasksRemain(input: {
  tasksCount: number;
  daemonServices: number;
  policy: StandaloneTasksPolicy;
  /** Standalone tasks with desired status RUNNING at the last full read; undefined: none yet. */
  knownStandalone?: number;
}): boolean {
  const { tasksCount, daemonServices, policy, knownStandalone } = input;
  if (policy === 'wait') return tasksCount > daemonServices;
  if (knownStandalone === undefined) return false;
  return tasksCount > daemonServices + knownStandalone;
}

/**
 * Whether a task event's instance may be drained (nothing but ignored standalone tasks left), so that
 * the event path reads its tasks. Daemon tasks keep desired status RUNNING until the other tasks have
 * stopped (§2), and a drained instance has none left; ignored standalone tasks are known only from a
 * full read (undefined: none was made, so nothing rules it out).
 */
export function countMayShowDrained(input: { tasksCount: number; policy: StandaloneTasksPolicy; knownStandalone?: number }): boolean {
  const { tasksCount, policy, knownStandalone } = input;
  if (tasksCount === 0) return true;
  if (policy !== 'ignore') return false;
  return knownStandalone === undefined || tasksCount <= knownStandalone;
}

/** Before a round's first ECS read: read, or first check the group, or wait for the drain's paced start. */
export type FirstReadStep =
  | { kind: 'read'; reason: 'instance-known' | 'start-reached' | 'invocation-ending' }
  | { kind: 'check-group'; reason: 'before-first-read'; ec2InstanceId: string }
  | { kind: 'read-hook'; reason: 'before-waiting' }
  | Extract<LifecycleStep, { kind: 'end' | 'heartbeat' | 'wait' }>;

/**
 * Every round reads Auto Scaling first: the instance's lifecycle state, which every ECS write needs
 * anyway, and the group's drains (FleetView). An instance past or outside the transition ends the
 * round with no ECS read at all. A fresh drain (the notification, its container instance not yet
 * found) then waits for its paced start (pacing), heartbeats going on meanwhile; a requeued chain of
 * a fleet waits for its next grid poll (its previous invocation hopped right after a poll); a drain
 * alone reads at once. The deadline, or an invocation too short for the wait, read at once.
 */
export function decideFirstRead(
  chain: ChainState,
  now: number,
  config: LifecycleDecisionConfig,
  progress: RoundProgress,
  seen: Pick<LifecycleSnapshot, 'groupState' | 'groupName' | 'invocationEndsAt'>,
): FirstReadStep {
  if (seen.groupState === undefined) return { kind: 'check-group', reason: 'before-first-read', ec2InstanceId: chain.notification.EC2InstanceId };
  // Retained after an ABANDON (aws-behaviour.md §3.4): nothing to drain or complete, an operator's turn.
  if (isRetainedState(seen.groupState)) return { kind: 'end', reason: 'retained' };
  const stage = stageOf(seen, chain);
  if (stage === 'past') return { kind: 'end', reason: 'action-over' };
  if (stage === 'outside') return { kind: 'end', reason: 'not-in-transition' };
  const pace = pacingOf(config, progress);
  let readAt: number;
  if (chain.containerInstanceArn === undefined) {
    readAt = chain.firstSeenAt + pace.startOffsetMs;
    // A start missed (the group could not be read in time: Auto Scaling throttling a scale-in's first
    // burst) is made in the second half of a slot, between two others' starts: at once if now is one.
    const spacing = pace.startSpacingMs;
    if (readAt < now && spacing > 0) {
      const intoSlot = (now - chain.firstSeenAt) % spacing;
      readAt = intoSlot >= spacing / 2 ? now : now - intoSlot + Math.round(spacing / 2);
    }
  }
  // A requeued chain: its previous invocation hopped right after a poll, which stands for one period
  // (for a drain alone in its group, the poll is made at once, as the hop is rare and cheap).
  else if ((progress.fleet?.drains ?? 1) > 1 && progress.roundStartedAt !== undefined) readAt = nextPollAt(chain, progress.roundStartedAt, pace);
  else return { kind: 'read', reason: 'instance-known' };
  readAt = Math.min(readAt, deadlineOf(chain, config));
  if (readAt <= now) return { kind: 'read', reason: 'start-reached' };
  if (readAt > seen.invocationEndsAt) return { kind: 'read', reason: 'invocation-ending' };
  // Heartbeats are timed by the hook's heartbeat timeout: read it before a wait (a dry run sends none).
  if (chain.heartbeatTimeoutSeconds === undefined && !config.dryRun) return { kind: 'read-hook', reason: 'before-waiting' };
  const dueAt = config.dryRun ? undefined : heartbeatDueAt(chain, progress.fleet);
  if (dueAt !== undefined && now >= dueAt) return { kind: 'heartbeat', reason: 'heartbeat-due', dueAt, action: actionOf(chain) };
  return { kind: 'wait', reason: 'paced-start', until: Math.min(readAt, dueAt ?? Number.POSITIVE_INFINITY) };
}

/**
 * Between two ECS reads of a task-event batch: the share of the budget any one invocation reads at.
 * At most a few batches run at once (the event source mapping's maximum concurrency), and a batch
 * reads tasks only of instances that may just have drained.
 */
export function eventReadSpacingMs(config: Pick<LifecycleDecisionConfig, 'readBudgetPerSecond'>): number {
  return Math.round(1000 / ((config.readBudgetPerSecond ?? DEFAULT_READ_BUDGET_PER_SECOND) * EVENT_READ_SHARE));
}
