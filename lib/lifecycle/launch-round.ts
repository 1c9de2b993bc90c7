import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { SNSClient } from '@aws-sdk/client-sns';
import { completeLifecycleAction, recordLifecycleHeartbeat, type LifecycleActionRef } from '../aws/autoscaling';
import type { DaemonPlacement } from '../aws/daemons';
import { clusterName } from '../aws/ecs';
import { publish } from '../aws/sns';
import type { Clock } from '../clock';
import { RetryableError, describeError } from '../errors';
import { LAUNCH_REQUEUE_KIND, LAUNCH_REQUEUE_VERSION, type LaunchRequeueMessage, type LaunchSignal } from '../events/launch';
import { notifyOpsSafely, type OpsEvent } from '../notify';
import type { Level, Telemetry } from '../telemetry';
import { countingClient, type CallCounts } from './calls';
import type { LifecycleConfig, LifecycleResult } from './config';
import { classifyPollFailure, type PollFailureClass } from './decide';
import { decideLaunchStep, launchDeadlineOf, type LaunchChain, type LaunchSnapshot, type LaunchStep, type Readiness } from './launch-decide';
import { actionStartedAt } from './messages';
import { jitterOf, recordResult, type LifecycleRecordResult, type RecordOutcome, type RoundDeps } from './round';

/**
 * One invocation's round of one launch: poll the instance's readiness (launch-reads.ts), ask the
 * decision (launch-decide.ts), carry out the step, until a step finishes the round. The only writes
 * are Auto Scaling's (complete, heartbeat) and SNS's (requeue, operators' notice): nothing is
 * written to ECS, so a duplicate chain of the same notification only reads until either chain
 * completes the action and the other's next heartbeat or completion finds it over.
 */
export interface LaunchRound {
  readonly config: LifecycleConfig;
  readonly telemetry: Telemetry;
  readonly clock: Clock;
  readonly signal: LaunchSignal;
  readonly invocationEndsAt: number;
  readonly ecs: ECSClient;
  readonly autoScaling: AutoScalingClient;
  readonly sns: SNSClient;
  readonly calls: CallCounts;
  chain: LaunchChain;
  polls: number;
  consecutiveFailures: number;
  failure?: { error: unknown; errorClass: PollFailureClass; service?: string };
  lastFailedService?: string;
  autoScalingAnswers: boolean;
  /** Auto Scaling showed the instance in Pending:Wait in this round. */
  groupChecked: boolean;
  /** The cluster's DAEMON services and their constraints, read once per round. */
  daemons?: DaemonPlacement[];
  /** Per constrained daemon service: whether its constraints select the instance (read once per round). */
  readonly selects: Map<string, boolean>;
  lastReadiness?: Readiness;
  clustersSearched?: number;
}

export function chainFromLaunchSignal(signal: LaunchSignal, now: number, newId: () => string): LaunchChain {
  if (signal.kind === 'launch-requeue') {
    const message = signal.message;
    return {
      chainId: message.chainId,
      attempt: message.attempt,
      firstSeenAt: Date.parse(message.firstSeenAt),
      lastHeartbeatAt: Date.parse(message.lastHeartbeatAt),
      heartbeatTimeoutSeconds: message.heartbeatTimeoutSeconds,
      globalTimeoutSeconds: message.globalTimeoutSeconds,
      ...(message.cluster !== undefined && message.containerInstanceArn !== undefined ? { cluster: message.cluster, containerInstanceArn: message.containerInstanceArn } : {}),
      notification: message.notification,
    };
  }
  const start = actionStartedAt(signal.notification.Time, now);
  return { chainId: newId(), attempt: 0, firstSeenAt: start, lastHeartbeatAt: start, notification: signal.notification };
}

export function buildLaunchRequeueMessage(chain: LaunchChain): LaunchRequeueMessage {
  const { heartbeatTimeoutSeconds, globalTimeoutSeconds } = chain;
  // The decision requeues only after a heartbeat, so only once the hook was read.
  if (heartbeatTimeoutSeconds === undefined || globalTimeoutSeconds === undefined) throw new Error('a launch is requeued only once its hook is known');
  return {
    kind: LAUNCH_REQUEUE_KIND,
    version: LAUNCH_REQUEUE_VERSION,
    chainId: chain.chainId,
    attempt: chain.attempt + 1,
    firstSeenAt: new Date(chain.firstSeenAt).toISOString(),
    lastHeartbeatAt: new Date(chain.lastHeartbeatAt).toISOString(),
    heartbeatTimeoutSeconds,
    globalTimeoutSeconds,
    ...(chain.cluster !== undefined && chain.containerInstanceArn !== undefined ? { cluster: chain.cluster, containerInstanceArn: chain.containerInstanceArn } : {}),
    notification: chain.notification,
  };
}

export function startLaunchRound(deps: RoundDeps, signal: LaunchSignal, invocationEndsAt: number): LaunchRound {
  const calls: CallCounts = {};
  const round: LaunchRound = {
    config: deps.config,
    telemetry: deps.telemetry,
    clock: deps.clock,
    signal,
    invocationEndsAt,
    ecs: countingClient(deps.clients.ecs, 'ecs', calls, (ok) => {
      if (!ok) round.lastFailedService = 'ecs';
    }),
    autoScaling: countingClient(deps.clients.autoScaling, 'autoScaling', calls, (ok) => {
      round.autoScalingAnswers = ok;
      if (!ok) round.lastFailedService = 'autoScaling';
    }),
    sns: countingClient(deps.clients.sns, 'sns', calls, (ok) => {
      if (!ok) round.lastFailedService = 'sns';
    }),
    calls,
    chain: chainFromLaunchSignal(signal, deps.clock.now(), deps.newId),
    polls: 0,
    consecutiveFailures: 0,
    autoScalingAnswers: true,
    groupChecked: false,
    selects: new Map(),
  };
  return round;
}

/**
 * Polls until a step finishes the round; a fault while reading or acting becomes the decision's
 * input. `readSnapshot` is launch-reads.ts's reader, composed in by the handler.
 */
export async function runLaunchRound(round: LaunchRound, readSnapshot: (round: LaunchRound) => Promise<LaunchSnapshot>): Promise<LifecycleRecordResult> {
  for (;;) {
    round.polls += 1;
    let snapshot: LaunchSnapshot;
    try {
      snapshot = await readSnapshot(round);
      round.consecutiveFailures = 0;
      const finished = await takeSteps(round, snapshot);
      if (finished) return finished;
    } catch (error) {
      const finished = await takeSteps(round, failedPoll(round, error));
      delete round.failure;
      if (finished) return finished;
    }
  }
}

function failedPoll(round: LaunchRound, error: unknown): LaunchSnapshot {
  const errorClass = classifyPollFailure(error);
  round.failure = { error, errorClass, ...(round.lastFailedService ? { service: round.lastFailedService } : {}) };
  if (errorClass !== 'action-over') {
    round.consecutiveFailures += 1;
    round.telemetry.log('WARN', 'launch poll failed', { ...fields(round), errorClass, failures: round.consecutiveFailures, ...describeError(error) });
    round.telemetry.count('PollFailed', { cluster: clusterDimension(round), errorClass });
  }
  return { actionOver: false, invocationEndsAt: round.invocationEndsAt };
}

async function takeSteps(round: LaunchRound, snapshot: LaunchSnapshot): Promise<LifecycleRecordResult | undefined> {
  for (let stepsThisPoll = 0; ; stepsThisPoll += 1) {
    const now = round.clock.now();
    const step = decideLaunchStep(snapshot, round.chain, now, round.config, {
      stepsThisPoll,
      consecutiveFailures: round.consecutiveFailures,
      ...(round.failure ? { failure: round.failure.errorClass, ...(round.failure.service ? { failedService: round.failure.service } : {}) } : {}),
      autoScalingAnswers: round.autoScalingAnswers,
      jitter: jitterOf(round.chain.chainId, round.polls),
      ...(round.signal.topicArn ? { arrivedOn: round.signal.topicArn } : {}),
    });
    round.telemetry.log('DEBUG', 'launch step', { ...fields(round), step: step.kind, reason: step.reason });
    const outcome = await execute(round, step, snapshot, now);
    if (outcome.kind === 'finished') return outcome.result;
    if (outcome.kind === 'next-poll') return undefined;
    snapshot = outcome.snapshot;
  }
}

type Outcome = { kind: 'finished'; result: LifecycleRecordResult } | { kind: 'next-step'; snapshot: LaunchSnapshot } | { kind: 'next-poll' };

async function execute(round: LaunchRound, step: LaunchStep, snapshot: LaunchSnapshot, now: number): Promise<Outcome> {
  const { telemetry } = round;
  switch (step.kind) {
    case 'complete':
      return { kind: 'finished', result: await complete(round, step) };
    case 'heartbeat': {
      const answer = await recordLifecycleHeartbeat(round.autoScaling, step.action);
      if (answer === 'no-active-action') return { kind: 'next-step', snapshot: { ...snapshot, actionOver: true } };
      round.chain.lastHeartbeatAt = now;
      telemetry.count('HeartbeatRecorded', { cluster: clusterDimension(round) });
      return { kind: 'next-step', snapshot: { ...snapshot, actionConfirmed: true } };
    }
    case 'requeue': {
      if (!step.topicArn) throw new Error('no topic to requeue to: LIFECYCLE_TOPIC_ARN is unset and the record names no TopicArn');
      const message = buildLaunchRequeueMessage(round.chain);
      const subject = `ECS launch of ${round.chain.notification.EC2InstanceId} continues (hop ${message.attempt})`.slice(0, 99);
      await publish(round.sns, { topicArn: step.topicArn, subject, message: JSON.stringify(message) });
      return {
        kind: 'finished',
        result: finish(round, 'INFO', { outcome: 'requeued', reason: step.reason }, () => telemetry.count('LifecycleRequeued', { cluster: clusterDimension(round) })),
      };
    }
    case 'wait':
      await round.clock.sleep(Math.max(0, step.until - now));
      return { kind: 'next-poll' };
    case 'retry':
      if (step.heartbeat) await bestEffortHeartbeat(round, step.heartbeat);
      await round.clock.sleep(step.pauseMs);
      return { kind: 'next-poll' };
    case 'give-up': {
      const error = round.failure?.error;
      telemetry.log('ERROR', 'launch round failed', { ...fields(round), reason: step.reason, errorClass: step.errorClass, ...describeError(error) });
      telemetry.count('LifecycleFailed', { cluster: clusterDimension(round), errorClass: step.errorClass });
      if (step.heartbeat) await bestEffortHeartbeat(round, step.heartbeat);
      if (error instanceof RetryableError) throw error;
      throw new RetryableError(`launch check of ${round.chain.notification.EC2InstanceId} failed: ${describeError(error).errorName}`, { cause: error });
    }
    case 'end':
      return {
        kind: 'finished',
        result: finish(round, step.reason === 'not-in-transition' ? 'WARN' : 'INFO', { outcome: 'ended', reason: step.reason }, () =>
          telemetry.count('LifecycleEnded', { cluster: clusterDimension(round), reason: step.reason }),
        ),
      };
    case 'dry-run': {
      const wouldDo = step.wouldDo.kind === 'complete' ? `complete ${step.wouldDo.result} (${step.wouldDo.reason})` : step.wouldDo.kind;
      return {
        kind: 'finished',
        result: finish(round, 'INFO', { outcome: 'dry-run', reason: step.reason, wouldDo }, () =>
          telemetry.count('LifecycleDryRun', { cluster: clusterDimension(round), step: step.wouldDo.kind }),
        ),
      };
    }
  }
}

async function complete(round: LaunchRound, step: Extract<LaunchStep, { kind: 'complete' }>): Promise<LifecycleRecordResult> {
  const { telemetry } = round;
  const answer = await completeLifecycleAction(round.autoScaling, step.action, step.result);
  if (answer === 'no-active-action') {
    return finish(round, 'INFO', { outcome: 'ended', reason: 'action-over' }, () => telemetry.count('LifecycleEnded', { cluster: clusterDimension(round), reason: 'action-over' }));
  }
  const abandoned = step.result === 'ABANDON';
  const result = finish(round, abandoned ? 'WARN' : 'INFO', { outcome: 'completed', reason: step.reason, result: step.result }, () => {
    telemetry.count('LaunchCompleted', { cluster: clusterDimension(round), result: step.result, reason: step.reason });
    if (abandoned) telemetry.count('LaunchAbandoned', { cluster: clusterDimension(round), reason: step.reason });
  });
  if (step.opsTopicArn) await tellOps(round, noticeOf(round, step));
  return result;
}

/** A notice for people (lib/notify.ts), best effort. */
function tellOps(round: LaunchRound, event: OpsEvent): Promise<void> {
  return notifyOpsSafely(round.sns, round.config, round.telemetry, event, { cluster: clusterDimension(round), fields: fields(round) });
}

async function bestEffortHeartbeat(round: LaunchRound, action: LifecycleActionRef): Promise<void> {
  try {
    if ((await recordLifecycleHeartbeat(round.autoScaling, action)) === 'recorded') {
      round.chain.lastHeartbeatAt = round.clock.now();
      round.telemetry.count('HeartbeatRecorded', { cluster: clusterDimension(round) });
    }
  } catch (heartbeatError) {
    round.telemetry.log('WARN', 'launch heartbeat after a failed poll failed', { ...fields(round), ...describeError(heartbeatError) });
  }
}

/** In words, why the instance was not ready at the last successful read. */
export function describeReadiness(readiness: Readiness | undefined): string {
  switch (readiness?.kind) {
    case undefined:
      return 'ECS could not be read';
    case 'not-registered':
      return 'its ECS agent never registered it in a managed cluster';
    case 'not-active':
      return `its container instance is ${readiness.status}, not ACTIVE`;
    case 'agent-disconnected':
      return 'its ECS agent is not connected';
    case 'daemons-pending':
      return `daemon services not RUNNING on it: ${readiness.missing.join(', ')}`;
    case 'ready':
      return 'it is ready';
  }
}

function noticeOf(round: LaunchRound, step: Extract<LaunchStep, { kind: 'complete' }>): OpsEvent {
  const { chain } = round;
  const id = chain.notification.EC2InstanceId;
  const seconds = Math.round((round.clock.now() - chain.firstSeenAt) / 1000);
  const context = {
    ec2InstanceId: id,
    autoScalingGroupName: chain.notification.AutoScalingGroupName,
    lifecycleHookName: chain.notification.LifecycleHookName,
    cluster: clusterDimension(round),
    chainId: chain.chainId,
    result: step.result,
    reason: step.reason,
  };
  const base = { function: 'lifecycleHook' as const, resources: [id, ...(chain.containerInstanceArn ? [chain.containerInstanceArn] : [])], context, threadId: `launch-${id}` };
  if (step.result === 'CONTINUE') {
    return {
      ...base,
      type: 'completed',
      title: `ECS launch of ${id} ready after ${seconds} s, completed with CONTINUE`,
      description: [`The container instance is ACTIVE with its daemon tasks RUNNING; Auto Scaling puts the instance InService.`],
    };
  }
  const why = step.reason === 'hop-cap' ? `the check used all ${round.config.maxHops} requeue hops (MAX_HOPS)` : `it was not ready within ${round.config.launchTimeoutSeconds} seconds (LAUNCH_TIMEOUT_SECONDS)`;
  return {
    ...base,
    type: 'deadline',
    title: `ECS launch of ${id} abandoned (${step.reason}): not ready for ECS`,
    description: [
      `EC2 instance ${id} of group \`${chain.notification.AutoScalingGroupName}\` was abandoned: ${why}.`,
      `At the last read, ${describeReadiness(round.lastReadiness)}.`,
      'The lifecycle action was completed with ABANDON: Auto Scaling terminates the instance and launches a replacement.',
    ],
    nextSteps: [
      'Check the instance profile, the ECS agent configuration (ECS_CLUSTER) and the agent log on a new instance.',
      'Check that every DAEMON service can place a task on the instance type (CPU, memory, ports).',
    ],
  };
}

function clusterDimension(round: LaunchRound): string {
  return round.chain.cluster ? clusterName(round.chain.cluster) : 'none';
}

function fields(round: LaunchRound) {
  const { chain, signal, config } = round;
  return {
    ec2InstanceId: chain.notification.EC2InstanceId,
    autoScalingGroupName: chain.notification.AutoScalingGroupName,
    lifecycleHookName: chain.notification.LifecycleHookName,
    transition: chain.notification.LifecycleTransition,
    ...(chain.cluster ? { cluster: chain.cluster } : {}),
    ...(chain.containerInstanceArn ? { containerInstanceArn: chain.containerInstanceArn } : { clustersSearched: round.clustersSearched }),
    chainId: chain.chainId,
    attempt: chain.attempt,
    messageKind: signal.kind,
    dryRun: config.dryRun,
  };
}

/** The one decision line of this record, its metrics, and the result returned to the caller. */
function finish(
  round: LaunchRound,
  level: Level,
  outcome: { outcome: RecordOutcome; reason: string; result?: LifecycleResult; wouldDo?: string },
  emitMetrics: () => void,
): LifecycleRecordResult {
  const { chain, telemetry } = round;
  const heldSeconds = Math.round((round.clock.now() - chain.firstSeenAt) / 1000);
  const readiness = round.lastReadiness;
  telemetry.log(level, 'launch decision', {
    ...fields(round),
    ...outcome,
    polls: round.polls,
    heldSeconds,
    deadlineInSeconds: Math.round((launchDeadlineOf(chain, round.config) - round.clock.now()) / 1000),
    ...(readiness ? { readiness: readiness.kind, ...(readiness.kind === 'daemons-pending' ? { daemonsMissing: readiness.missing } : {}) } : {}),
    awsCalls: { ...round.calls },
  });
  emitMetrics();
  return recordResult(round, outcome);
}
