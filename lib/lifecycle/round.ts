import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { SNSClient } from '@aws-sdk/client-sns';
import { clusterName } from '../aws/ecs';
import type { ClassifiedTask } from '../aws/tasks';
import type { Clock } from '../clock';
import type { LifecycleSignal } from '../events/lifecycle';
import type { Level, Telemetry } from '../telemetry';
import { countingClient, pacedReads, type CallCounts } from './calls';
import type { LifecycleConfig, LifecycleResult } from './config';
import { pacing, type ChainState, type FleetView, type LeaseView, type LifecycleSnapshot, type PollFailureClass, type RoundProgress, type TaskCounts } from './decide';
import type { CapacityProviderCache } from './capacity-reads';
import type { ManagedDrainingView } from './managed-draining';
import { chainFromSignal } from './messages';
import { newTaskMemory, type TaskMemory } from './task-reads';

export type RecordOutcome = 'completed' | 'requeued' | 'ended' | 'ignored' | 'invalid' | 'dry-run' | 'failed';

export interface LifecycleRecordResult {
  outcome: RecordOutcome;
  reason: string;
  messageId?: string;
  kind?: string;
  ec2InstanceId?: string;
  autoScalingGroupName?: string;
  cluster?: string;
  containerInstanceArn?: string;
  result?: LifecycleResult;
  chainId?: string;
  attempt?: number;
  polls?: number;
  /** The step a dry run would have taken. */
  wouldDo?: string;
  /** AWS requests this round made, per service. */
  awsCalls?: Record<string, number>;
}

export interface RoundDeps {
  config: LifecycleConfig;
  clients: { ecs: ECSClient; autoScaling: AutoScalingClient; sns: SNSClient; ec2: EC2Client };
  telemetry: Telemetry;
  clock: Clock;
  newId: () => string;
  /** The execution environment's capacity providers (capacity-reads.ts). */
  capacityProviders?: CapacityProviderCache;
}

/**
 * One round of one drain: the polls of this invocation for one record. Plain state that the
 * snapshot reader and the executor update and the decision reads; it decides nothing itself.
 */
export interface Round {
  readonly config: LifecycleConfig;
  readonly telemetry: Telemetry;
  readonly clock: Clock;
  readonly signal: LifecycleSignal;
  /** Epoch ms after which this invocation must not start another poll. */
  readonly invocationEndsAt: number;
  /** The clients, counting this round's requests into `calls`. */
  readonly ecs: ECSClient;
  readonly autoScaling: AutoScalingClient;
  readonly sns: SNSClient;
  readonly ec2: EC2Client;
  /** AWS requests of this round, per service: reported on the decision line. */
  readonly calls: CallCounts;
  chain: ChainState;
  lease: LeaseView;
  polls: number;
  drainRequests: number;
  /** When this round last asked for DRAINING. */
  lastDrainAt?: number;
  consecutiveFailures: number;
  /** Auto Scaling reported the instance in the hook's wait state during this round. */
  waitConfirmed: boolean;
  /** The current poll's failure, while it is being handled. */
  failure?: { error: unknown; errorClass: PollFailureClass; service?: string };
  /** Clusters searched by the first round's lookup; logged when nothing was found. */
  clustersSearched?: number;
  /** The cluster's DAEMON services, read once per round when the first service task is seen. */
  readonly daemonLookup: { names?: ReadonlySet<string> };
  lastTasks: readonly ClassifiedTask[];
  lastCounts?: TaskCounts;
  /** What this drain knows about its instance's tasks (task-reads.ts); STOPPED ARNs travel in the requeue message. */
  readonly taskMemory: TaskMemory;
  /** Polls that listed the instance's tasks (the rest described only the tasks being stopped). */
  fullTaskReads: number;
  /** Service of the call that failed last (set by the counting clients). */
  lastFailedService?: string;
  /** False once an Auto Scaling call failed and none has succeeded since. */
  autoScalingAnswers: boolean;
  readonly capacityProviders?: CapacityProviderCache;
  /** The group's managed draining, once this round has read it (capacity-reads.ts). */
  managedDraining?: ManagedDrainingView;
  /** Whether the group retains abandoned instances, from the same DescribeAutoScalingGroups. */
  retainsAbandoned?: boolean;
  /** The drains in progress in the group, from this round's DescribeAutoScalingGroups (pacing). */
  fleet?: FleetView;
  /** The instance's lifecycle state as this round read it before its first ECS read (a fresh drain). */
  groupSeen?: { groupState: string; groupName?: string };
  /** When this round last read a snapshot: its polls are paced from there. */
  lastReadAt?: number;
  /** This invocation has made its first ECS read (the paced start is behind it). */
  firstReadDone: boolean;
  /** When this invocation's round started. */
  readonly startedAt: number;
}

export function startRound(deps: RoundDeps, signal: LifecycleSignal, invocationEndsAt: number): Round {
  const calls: CallCounts = {};
  const stopped = signal.kind === 'requeue' && signal.message.version === 2 ? (signal.message.stoppedTaskArns ?? []) : [];
  const round: Round = {
    config: deps.config,
    telemetry: deps.telemetry,
    clock: deps.clock,
    signal,
    invocationEndsAt,
    // Reads of one invocation are spaced as the pacing says (none for a drain alone in its group).
    ecs: pacedReads(
      countingClient(deps.clients.ecs, 'ecs', calls, (ok) => {
        if (!ok) round.lastFailedService = 'ecs';
      }),
      deps.clock,
      () => pacing(round.fleet, deps.config, jitterOf(round.chain.chainId, 0)).readSpacingMs,
    ),
    autoScaling: countingClient(deps.clients.autoScaling, 'autoScaling', calls, (ok) => {
      round.autoScalingAnswers = ok;
      if (!ok) round.lastFailedService = 'autoScaling';
    }),
    sns: countingClient(deps.clients.sns, 'sns', calls, (ok) => {
      if (!ok) round.lastFailedService = 'sns';
    }),
    ec2: countingClient(deps.clients.ec2, 'ec2', calls),
    calls,
    chain: chainFromSignal(signal, deps.clock.now(), deps.newId),
    lease: { mine: deps.newId(), claimed: false },
    polls: 0,
    drainRequests: 0,
    consecutiveFailures: 0,
    waitConfirmed: false,
    lastTasks: [],
    taskMemory: newTaskMemory(stopped),
    daemonLookup: {},
    fullTaskReads: 0,
    autoScalingAnswers: true,
    ...(deps.capacityProviders ? { capacityProviders: deps.capacityProviders } : {}),
    firstReadDone: false,
    startedAt: deps.clock.now(),
  };
  return round;
}

/** The decision's view of the round so far. */
export function progressOf(round: Round, stepsThisPoll: number): RoundProgress {
  return {
    stepsThisPoll,
    drainRequests: round.drainRequests,
    consecutiveFailures: round.consecutiveFailures,
    ...(round.failure ? { failure: round.failure.errorClass, ...(round.failure.service ? { failedService: round.failure.service } : {}) } : {}),
    autoScalingAnswers: round.autoScalingAnswers,
    jitter: jitterOf(round.chain.chainId, round.polls),
    chainJitter: jitterOf(round.chain.chainId, 0),
    ...(round.signal.topicArn ? { arrivedOn: round.signal.topicArn } : {}),
    ...(round.waitConfirmed ? { waitConfirmed: true } : {}),
    ...(round.lastDrainAt !== undefined ? { lastDrainAt: round.lastDrainAt } : {}),
    ...(round.fleet ? { fleet: round.fleet } : {}),
    ...(round.lastReadAt !== undefined ? { lastReadAt: round.lastReadAt } : {}),
    roundStartedAt: round.startedAt,
  };
}

/** A deterministic number in [0, 1) per chain and poll (FNV-1a): spreads retries, repeats per seed. */
export function jitterOf(chainId: string, poll: number): number {
  let hash = 0x811c9dc5;
  for (const char of `${chainId}:${poll}`) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash / 2 ** 32;
}

/** What is known while a poll has failed: the last tasks read, and nothing about the instance. */
export function faultSnapshot(round: Round): LifecycleSnapshot {
  return { tasks: round.lastTasks, actionOver: false, lease: round.lease, invocationEndsAt: round.invocationEndsAt };
}

export function clusterDimension(round: Round): string {
  return round.chain.cluster ? clusterName(round.chain.cluster) : 'none';
}

export function fields(round: Round) {
  const { chain, signal, config } = round;
  const notification = chain.notification;
  return {
    ec2InstanceId: notification.EC2InstanceId,
    autoScalingGroupName: notification.AutoScalingGroupName,
    lifecycleHookName: notification.LifecycleHookName,
    ...(chain.cluster ? { cluster: chain.cluster } : {}),
    ...(chain.containerInstanceArn ? { containerInstanceArn: chain.containerInstanceArn } : { clustersSearched: round.clustersSearched }),
    chainId: chain.chainId,
    attempt: chain.attempt,
    messageKind: signal.kind,
    dryRun: config.dryRun,
  };
}

/** The one decision line of this record, its metrics, and the result returned to the caller. */
export function finish(
  round: Round,
  level: Level,
  outcome: { outcome: RecordOutcome; reason: string; result?: LifecycleResult; wouldDo?: string; nextAttempt?: number },
  emitMetrics: () => void,
): LifecycleRecordResult {
  const { chain, telemetry } = round;
  const elapsedSeconds = Math.round((round.clock.now() - chain.firstSeenAt) / 1000);
  telemetry.log(level, 'lifecycle decision', {
    ...fields(round),
    ...outcome,
    polls: round.polls,
    fullTaskReads: round.fullTaskReads,
    awsCalls: { ...round.calls },
    elapsedSeconds,
    ...(round.lastCounts ? { tasks: round.lastCounts } : {}),
  });
  emitMetrics();
  return recordResult(round, outcome);
}

/** What a drain's or a launch's round returns for its record. */
export function recordResult(
  round: {
    signal: { messageId: string; kind: string };
    chain: { chainId: string; attempt: number; cluster?: string; containerInstanceArn?: string; notification: { EC2InstanceId: string; AutoScalingGroupName: string } };
    polls: number;
    calls: CallCounts;
  },
  outcome: { outcome: RecordOutcome; reason: string; result?: LifecycleResult; wouldDo?: string },
): LifecycleRecordResult {
  const { chain } = round;
  return {
    outcome: outcome.outcome,
    reason: outcome.reason,
    messageId: round.signal.messageId,
    kind: round.signal.kind,
    ec2InstanceId: chain.notification.EC2InstanceId,
    autoScalingGroupName: chain.notification.AutoScalingGroupName,
    ...(chain.cluster ? { cluster: chain.cluster } : {}),
    ...(chain.containerInstanceArn ? { containerInstanceArn: chain.containerInstanceArn } : {}),
    ...(outcome.result ? { result: outcome.result } : {}),
    ...(outcome.wouldDo ? { wouldDo: outcome.wouldDo } : {}),
    chainId: chain.chainId,
    attempt: chain.attempt,
    polls: round.polls,
    awsCalls: { ...round.calls },
  };
}
