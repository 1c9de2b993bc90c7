import type { ClassifiedTask } from '../aws/tasks';
import type { LifecycleNotification } from '../events/lifecycle';
import type { LifecycleResult, StandaloneTasksPolicy } from './config';

/**
 * The pure core of the lifecycle-hook drainer: given what was read (snapshot), where the drain
 * stands (chain) and the time, decide the next single step. The executor carries the step out,
 * updates the chain and asks again, so every write the drainer makes is chosen here.
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
  notification: LifecycleNotification;
}

export interface LeaseView {
  /** This round's lease value. */
  mine: string;
  /** This round has written its lease to the container instance. */
  claimed: boolean;
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
  /** Auto Scaling's lifecycle state of the instance, when read in this poll; 'absent' when in no group. */
  groupState?: string;
  /** Auto Scaling answered "No active Lifecycle Action found": completed, expired or abandoned. */
  actionOver: boolean;
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
  dryRun: boolean;
}

export type CompleteReason = 'drained' | 'not-a-container-instance' | 'instance-gone' | 'deadline' | 'hop-cap';

export type LifecycleStep =
  | { kind: 'complete'; result: LifecycleResult; reason: CompleteReason }
  | { kind: 'drain'; reason: 'instance-active' }
  | { kind: 'stop-standalone'; reason: 'service-tasks-gone'; taskArns: string[] }
  | { kind: 'heartbeat'; reason: 'heartbeat-due'; dueAt: number }
  | { kind: 'claim-lease'; reason: 'before-waiting' }
  | { kind: 'check-group'; reason: 'before-requeue' }
  | { kind: 'requeue'; reason: 'invocation-ending' }
  | { kind: 'wait'; reason: 'tasks-remaining'; until: number }
  | { kind: 'end'; reason: 'action-over' | 'superseded' }
  | { kind: 'dry-run'; reason: string; wouldDo: ActingStep };

/** Steps that write to AWS, or wait for the drain: where a dry run stops. */
export type ActingStep = Extract<
  LifecycleStep,
  { kind: 'complete' | 'drain' | 'stop-standalone' | 'heartbeat' | 'claim-lease' | 'requeue' | 'wait' }
>;

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

/** A task counts until its lastStatus is STOPPED; daemons never count (ECS stops them last). */
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

/** True for Auto Scaling states in which the action still waits for us (incl. warm pools). */
export function isWaitingState(groupState: string): boolean {
  return groupState.endsWith('Terminating:Wait');
}

export function decideLifecycleStep(
  snapshot: LifecycleSnapshot,
  chain: ChainState,
  now: number,
  config: LifecycleDecisionConfig,
): LifecycleStep {
  if (!config.dryRun) return decideIgnoringDryRun(snapshot, chain, now, config);
  // A dry run writes nothing, so it has no lease to take; it reports the first step that would act
  // (a write, or waiting for the drain) and stops there instead of polling.
  const step = decideIgnoringDryRun({ ...snapshot, lease: { ...snapshot.lease, unavailable: true } }, chain, now, config);
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

function decideIgnoringDryRun(
  snapshot: LifecycleSnapshot,
  chain: ChainState,
  now: number,
  config: LifecycleDecisionConfig,
): LifecycleStep {
  // The action is over (completed by a duplicate chain, expired, abandoned): nothing left to do.
  if (snapshot.actionOver) return { kind: 'end', reason: 'action-over' };
  if (snapshot.groupState !== undefined && !isWaitingState(snapshot.groupState)) return { kind: 'end', reason: 'action-over' };
  // Another round wrote its lease after ours: it is the live chain, this one is the duplicate.
  const { lease } = snapshot;
  if (lease.claimed && lease.current !== undefined && lease.current !== lease.mine) return { kind: 'end', reason: 'superseded' };

  const instance = snapshot.instance;
  if (!instance || instance.status === 'INACTIVE') {
    // Nothing on the instance can be moved any more; holding the termination only costs money.
    const reason = chain.containerInstanceArn === undefined ? 'not-a-container-instance' : 'instance-gone';
    return { kind: 'complete', result: 'CONTINUE', reason };
  }

  // An ACTIVE instance still receives new tasks: drain it before anything else, even when empty.
  if (instance.status === 'ACTIVE') return { kind: 'drain', reason: 'instance-active' };

  const counts = countTasks(snapshot.tasks, config.standaloneTasks);
  if (counts.counted === 0) return { kind: 'complete', result: 'CONTINUE', reason: 'drained' };

  const deadline = deadlineOf(chain, config);
  if (now >= deadline) return { kind: 'complete', result: config.deadlineResult, reason: 'deadline' };
  if (chain.attempt > config.maxHops) return { kind: 'complete', result: config.deadlineResult, reason: 'hop-cap' };

  if (config.standaloneTasks === 'stop' && counts.service === 0) {
    const toStop = snapshot.tasks
      .filter((task) => task.origin === 'standalone' && task.desiredStatus !== 'STOPPED' && task.lastStatus !== 'STOPPED')
      .map((task) => task.taskArn);
    if (toStop.length > 0) return { kind: 'stop-standalone', reason: 'service-tasks-gone', taskArns: toStop };
  }

  const dueAt = heartbeatDueAt(chain);
  if (dueAt !== undefined && now >= dueAt) return { kind: 'heartbeat', reason: 'heartbeat-due', dueAt };

  if (!lease.claimed && !lease.unavailable) return { kind: 'claim-lease', reason: 'before-waiting' };

  const pollMs = config.pollIntervalSeconds * 1000;
  if (now + pollMs > snapshot.invocationEndsAt) {
    if (chain.attempt >= config.maxHops) return { kind: 'complete', result: config.deadlineResult, reason: 'hop-cap' };
    // Re-check before acting: a duplicate chain or an operator may have ended the action already.
    if (snapshot.groupState === undefined) return { kind: 'check-group', reason: 'before-requeue' };
    return { kind: 'requeue', reason: 'invocation-ending' };
  }

  const until = Math.min(now + pollMs, deadline, dueAt ?? Number.POSITIVE_INFINITY);
  return { kind: 'wait', reason: 'tasks-remaining', until };
}
