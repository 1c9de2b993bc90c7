import type { LifecycleActionRef } from '../aws/autoscaling';
import type { ErrorClass } from '../errors';
import type { LaunchNotification } from '../events/launch';
import type { LifecycleResult } from './config';
import { GLOBAL_TIMEOUT_MARGIN_MS, HEARTBEAT_FRACTION, MAX_BACKOFF_POLLS, MAX_CONSECUTIVE_POLL_FAILURES, MAX_STEPS_PER_POLL, type PollFailureClass } from './decide';

/**
 * The pure core of the launch hook: Auto Scaling holds a new instance in `Pending:Wait`
 * (docs/aws-behaviour.md §3.2, "Launch hooks") until this decides CONTINUE, because ECS can place
 * on it: its container instance is registered in a managed cluster, ACTIVE, its agent connected,
 * and (LAUNCH_WAIT_FOR_DAEMONS) every DAEMON service that should run there has a RUNNING task on it.
 * At LAUNCH_TIMEOUT_SECONDS (or the hop cap) it decides ABANDON, so Auto Scaling terminates the
 * instance and launches another. The round (launch-round.ts) reads, carries out and asks again.
 */

/** Where one launch stands; carried in the launch requeue message between invocations. */
export interface LaunchChain {
  chainId: string;
  /** SNS hops so far: 0 for Auto Scaling's own notification. */
  attempt: number;
  /** Epoch ms of the notification (the action's start). */
  firstSeenAt: number;
  /** Epoch ms at which the hook's heartbeat window last restarted. */
  lastHeartbeatAt: number;
  heartbeatTimeoutSeconds?: number;
  globalTimeoutSeconds?: number;
  /** The container instance, once found. */
  cluster?: string;
  containerInstanceArn?: string;
  notification: LaunchNotification;
}

/** What ECS showed of the instance in one poll: why it is not ready yet, or that it is. */
export type Readiness =
  | { kind: 'not-registered' }
  | { kind: 'not-active'; status: string }
  | { kind: 'agent-disconnected' }
  /** DAEMON services that should run on the instance and have no RUNNING task there. */
  | { kind: 'daemons-pending'; missing: readonly string[] }
  /** `daemons`: the DAEMON services found running on it (0 when not required). */
  | { kind: 'ready'; daemons: number };

export interface LaunchSnapshot {
  /** Auto Scaling's lifecycle state of the instance ('absent': in no group), read on a round's first poll. */
  groupState?: string;
  groupName?: string;
  /** What ECS showed; undefined when the poll did not get that far. */
  readiness?: Readiness;
  /** Auto Scaling answered "No active Lifecycle Action found". */
  actionOver: boolean;
  /** A heartbeat of this very action succeeded in this poll. */
  actionConfirmed?: boolean;
  invocationEndsAt: number;
}

export interface LaunchDecisionConfig {
  launchPollIntervalSeconds: number;
  launchTimeoutSeconds: number;
  maxHops: number;
  dryRun: boolean;
  lifecycleTopicArn?: string;
  opsTopicArn?: string;
}

export interface LaunchProgress {
  stepsThisPoll: number;
  /** Polls in a row that failed, the current one included. */
  consecutiveFailures: number;
  failure?: PollFailureClass;
  /** The service whose call failed in the current poll. */
  failedService?: string;
  /** False once an Auto Scaling call failed and none has succeeded since. */
  autoScalingAnswers?: boolean;
  /** The topic the record arrived on. */
  arrivedOn?: string;
  /** A number in [0, 1) that spreads retries of many rounds apart. */
  jitter?: number;
}

export const FRESH_LAUNCH: LaunchProgress = { stepsThisPoll: 0, consecutiveFailures: 0 };

export type LaunchCompleteReason = 'ready' | 'deadline' | 'hop-cap';
export type LaunchEndReason = 'action-over' | 'not-in-transition';

export type LaunchStep =
  | { kind: 'complete'; result: LifecycleResult; reason: LaunchCompleteReason; action: LifecycleActionRef; opsTopicArn?: string }
  | { kind: 'heartbeat'; reason: 'heartbeat-due' | 'before-requeue'; action: LifecycleActionRef }
  | { kind: 'requeue'; reason: 'invocation-ending'; topicArn?: string }
  | { kind: 'wait'; reason: Readiness['kind'] | 'step-limit'; until: number }
  | { kind: 'retry'; reason: 'poll-failed'; pauseMs: number; heartbeat?: LifecycleActionRef }
  | { kind: 'give-up'; reason: 'not-retryable' | 'failures-in-a-row' | 'invocation-ending'; errorClass: ErrorClass; heartbeat?: LifecycleActionRef }
  | { kind: 'end'; reason: LaunchEndReason }
  | { kind: 'dry-run'; reason: string; wouldDo: Extract<LaunchStep, { kind: 'complete' | 'heartbeat' | 'requeue' | 'wait' }> };

/**
 * Where the instance stands in the launch transition (DescribeAutoScalingInstances' LifecycleState,
 * docs/aws-behaviour.md §3.2): `waiting` in Pending:Wait (a warm pool's too); `past` once the launch
 * went on (Pending:Proceed, InService, a warm pool's state) or ended in a termination, or the instance
 * left every group: the action is over; `outside` in a state no launch action precedes (a replayed,
 * test or forged message).
 */
export function launchStage(groupState: string): 'waiting' | 'past' | 'outside' {
  if (groupState === 'Pending:Wait' || groupState === 'Warmed:Pending:Wait') return 'waiting';
  if (groupState === 'Pending' || groupState === 'Standby' || groupState.startsWith('EnteringStandby') || groupState.startsWith('Detach')) return 'outside';
  return 'past';
}

/** When the launch is given up: LAUNCH_TIMEOUT_SECONDS, or earlier if the hook's global timeout comes first. */
export function launchDeadlineOf(chain: LaunchChain, config: Pick<LaunchDecisionConfig, 'launchTimeoutSeconds'>): number {
  const configured = chain.firstSeenAt + config.launchTimeoutSeconds * 1000;
  if (chain.globalTimeoutSeconds === undefined) return configured;
  return Math.min(configured, chain.firstSeenAt + chain.globalTimeoutSeconds * 1000 - GLOBAL_TIMEOUT_MARGIN_MS);
}

function heartbeatDueAt(chain: LaunchChain): number | undefined {
  if (chain.heartbeatTimeoutSeconds === undefined) return undefined;
  return chain.lastHeartbeatAt + chain.heartbeatTimeoutSeconds * 1000 * HEARTBEAT_FRACTION;
}

export function launchActionOf(chain: LaunchChain): LifecycleActionRef {
  const { AutoScalingGroupName, LifecycleHookName, EC2InstanceId, LifecycleActionToken } = chain.notification;
  return {
    autoScalingGroupName: AutoScalingGroupName,
    lifecycleHookName: LifecycleHookName,
    instanceId: EC2InstanceId,
    ...(LifecycleActionToken ? { lifecycleActionToken: LifecycleActionToken } : {}),
  };
}

function complete(chain: LaunchChain, config: LaunchDecisionConfig, result: LifecycleResult, reason: LaunchCompleteReason): LaunchStep {
  // An abandoned launch is news for operators; a ready one is routine (OPS_NOTIFY_LEVEL decides).
  const notify = config.opsTopicArn !== undefined;
  return { kind: 'complete', result, reason, action: launchActionOf(chain), ...(notify ? { opsTopicArn: config.opsTopicArn } : {}) };
}

export function decideLaunchStep(
  snapshot: LaunchSnapshot,
  chain: LaunchChain,
  now: number,
  config: LaunchDecisionConfig,
  progress: LaunchProgress = FRESH_LAUNCH,
): LaunchStep {
  const step = progress.failure !== undefined ? decideAfterFailure(snapshot, chain, now, config, progress, progress.failure) : decideOnSnapshot(snapshot, chain, now, config, progress);
  if (!config.dryRun) return step;
  // A dry run reads and reports the first step that would act, then stops.
  switch (step.kind) {
    case 'complete':
    case 'heartbeat':
    case 'requeue':
    case 'wait':
      return { kind: 'dry-run', reason: step.reason, wouldDo: step };
    default:
      return step;
  }
}

function decideOnSnapshot(snapshot: LaunchSnapshot, chain: LaunchChain, now: number, config: LaunchDecisionConfig, progress: LaunchProgress): LaunchStep {
  const pollMs = config.launchPollIntervalSeconds * 1000;
  if (progress.stepsThisPoll >= MAX_STEPS_PER_POLL) return { kind: 'wait', reason: 'step-limit', until: now + pollMs };
  if (snapshot.actionOver) return { kind: 'end', reason: 'action-over' };
  if (snapshot.groupState !== undefined) {
    // Another group than the message names: not this action's instance, whatever the message says.
    const inAnotherGroup = snapshot.groupName !== undefined && snapshot.groupName !== chain.notification.AutoScalingGroupName;
    const stage = inAnotherGroup ? 'outside' : launchStage(snapshot.groupState);
    if (stage === 'past') return { kind: 'end', reason: 'action-over' };
    if (stage === 'outside') return { kind: 'end', reason: 'not-in-transition' };
  }
  const readiness = snapshot.readiness ?? { kind: 'not-registered' };
  // Ready beats every bound: the instance is what the hook waited for, even at the deadline.
  if (readiness.kind === 'ready') return complete(chain, config, 'CONTINUE', 'ready');
  const deadline = launchDeadlineOf(chain, config);
  if (now >= deadline) return complete(chain, config, 'ABANDON', 'deadline');
  if (chain.attempt > config.maxHops) return complete(chain, config, 'ABANDON', 'hop-cap');

  const dueAt = heartbeatDueAt(chain);
  if (dueAt !== undefined && now >= dueAt) return { kind: 'heartbeat', reason: 'heartbeat-due', action: launchActionOf(chain) };

  if (now + pollMs > snapshot.invocationEndsAt) {
    if (chain.attempt >= config.maxHops) return complete(chain, config, 'ABANDON', 'hop-cap');
    // A heartbeat of this hook and token succeeds only while this very action is open: a duplicate
    // chain whose twin already completed ends here instead of hopping on (docs/aws-behaviour.md §3.2).
    if (!snapshot.actionConfirmed) return { kind: 'heartbeat', reason: 'before-requeue', action: launchActionOf(chain) };
    const topicArn = config.lifecycleTopicArn ?? progress.arrivedOn;
    return { kind: 'requeue', reason: 'invocation-ending', ...(topicArn !== undefined ? { topicArn } : {}) };
  }
  return { kind: 'wait', reason: readiness.kind, until: Math.min(now + pollMs, deadline, dueAt ?? Number.POSITIVE_INFINITY) };
}

/**
 * A poll failed. Throttling and 5xx are tried again, the pause doubling per failure in a row (up
 * to MAX_BACKOFF_POLLS poll intervals, spread by the jitter), while the invocation has time; ECS
 * alone failing while Auto Scaling answers is ridden out with heartbeats, as drains do. Past the
 * deadline the launch is abandoned without another read: an expired action would take the hook's
 * default result instead. Anything else hands the message to Lambda's retry.
 */
function decideAfterFailure(
  snapshot: LaunchSnapshot,
  chain: LaunchChain,
  now: number,
  config: LaunchDecisionConfig,
  progress: LaunchProgress,
  failure: PollFailureClass,
): LaunchStep {
  if (failure === 'action-over' || snapshot.actionOver) return { kind: 'end', reason: 'action-over' };
  const deadline = launchDeadlineOf(chain, config);
  if (!config.dryRun && now >= deadline) return complete(chain, config, 'ABANDON', 'deadline');
  const action = launchActionOf(chain);
  const heartbeat = config.dryRun ? {} : { heartbeat: action };
  if (failure !== 'retryable') return { kind: 'give-up', reason: 'not-retryable', errorClass: failure, ...heartbeat };
  const ridesOut = chain.heartbeatTimeoutSeconds !== undefined && progress.failedService === 'ecs' && progress.autoScalingAnswers !== false;
  if (!ridesOut && progress.consecutiveFailures >= MAX_CONSECUTIVE_POLL_FAILURES) return { kind: 'give-up', reason: 'failures-in-a-row', errorClass: failure, ...heartbeat };
  const pollMs = config.launchPollIntervalSeconds * 1000;
  const exponent = Math.max(0, progress.consecutiveFailures - 1);
  const backoff = pollMs * Math.min(2 ** exponent, MAX_BACKOFF_POLLS) * (0.5 + (progress.jitter ?? 0.5));
  const dueAt = heartbeatDueAt(chain);
  const pauseMs = Math.max(1000, Math.round(Math.min(backoff, deadline - now, ...(dueAt !== undefined ? [dueAt - now] : []))));
  if (now + pauseMs > snapshot.invocationEndsAt) return { kind: 'give-up', reason: 'invocation-ending', errorClass: failure, ...heartbeat };
  const heartbeatDue = !config.dryRun && dueAt !== undefined && now >= dueAt;
  return { kind: 'retry', reason: 'poll-failed', pauseMs, ...(heartbeatDue ? { heartbeat: action } : {}) };
}
