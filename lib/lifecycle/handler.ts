import { randomUUID } from 'node:crypto';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import {
  completeLifecycleAction,
  describeGroupInstances,
  describeLifecycleHook,
  recordLifecycleHeartbeat,
  type LifecycleActionRef,
} from '../aws/autoscaling';
import { clusterName, describeContainerInstances, findContainerInstance, resolveClusters, setDraining } from '../aws/ecs';
import { classifyTasks, daemonServiceNames, listUnstoppedTasks, stopTask, type ClassifiedTask } from '../aws/tasks';
import type { Clock, InvocationContext } from '../clock';
import { RetryableError, classifyAwsError, describeError, isNoActiveLifecycleAction } from '../errors';
import { parseLifecycleRecord, snsRecords, type LifecycleSignal } from '../events/lifecycle';
import type { Level, Telemetry } from '../telemetry';
import type { LifecycleConfig, LifecycleResult } from './config';
import {
  countTasks,
  deadlineOf,
  decideLifecycleStep,
  heartbeatDueAt,
  type ChainState,
  type CompleteReason,
  type LeaseView,
  type LifecycleSnapshot,
  type LifecycleStep,
} from './decide';
import { countingClient, type CallCounts } from './calls';
import { LEASE_ATTRIBUTE, writeLease } from './lease';
import { buildRequeueMessage, chainFromSignal, opsNotice, requeueSubject } from './messages';

export interface LifecycleHookDeps {
  config: LifecycleConfig;
  clients: { ecs: ECSClient; autoScaling: AutoScalingClient; sns: SNSClient };
  telemetry: Telemetry;
  clock: Clock;
  /** Random ids for chains and leases; injectable so tests can name them. */
  newId?: () => string;
}

/**
 * Kept free at the end of every invocation for the last poll's calls and the requeue publish. If
 * the Lambda times out anyway, Lambda's asynchronous retry runs the same message again, so a round
 * is repeated, never lost.
 */
export const INVOCATION_SAFETY_MARGIN_MS = 30_000;
/** Steps decided on one snapshot before it is read again; a guard, normal rounds take 1 to 4. */
export const MAX_STEPS_PER_POLL = 8;
/** Polls in a row that may fail with throttling or 5xx before the invocation gives up and throws. */
export const MAX_CONSECUTIVE_POLL_FAILURES = 3;
/** Used when the hook cannot be read (deleted meanwhile): the shortest timeout Auto Scaling allows. */
export const FALLBACK_HEARTBEAT_TIMEOUT_SECONDS = 30;

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

export interface LifecycleHandlerResult {
  records: LifecycleRecordResult[];
}

const FUNCTION = 'lifecycleHook';

/**
 * Lifecycle-hook drainer: Auto Scaling termination notifications (and its own requeue messages)
 * from SNS in; the container instance drained and the lifecycle action completed out.
 *
 * Every record is processed, concurrently and independently. Bad input is acknowledged; a fault a
 * retry can fix in any record makes the invocation throw after every record was processed, so
 * Lambda retries the whole event. Records that had already completed then find the action over,
 * and a record that had already requeued starts a second chain, which the lease ends (lease.ts).
 */
export function makeLifecycleHookHandler(deps: LifecycleHookDeps) {
  const { config, telemetry, clock } = deps;
  const newId = deps.newId ?? randomUUID;

  async function processRecord(record: unknown, invocationEndsAt: number): Promise<LifecycleRecordResult> {
    const parsed = parseLifecycleRecord(record, { autoScalingGroups: config.autoScalingGroups });
    if (parsed.outcome === 'invalid') {
      telemetry.log('ERROR', 'invalid event', { reason: parsed.reason, detail: parsed.detail });
      telemetry.count('InvalidEvent', { function: FUNCTION, reason: parsed.reason });
      return { outcome: 'invalid', reason: parsed.reason };
    }
    if (parsed.outcome === 'ignored') {
      telemetry.log('INFO', 'lifecycle decision', { outcome: 'ignored', kind: parsed.kind, reason: parsed.reason });
      telemetry.count('EventIgnored', { function: FUNCTION, kind: parsed.kind, reason: parsed.reason });
      return { outcome: 'ignored', kind: parsed.kind, reason: parsed.reason };
    }
    return new Drain(parsed.signal, invocationEndsAt).run();
  }

  /** One round of one drain: the polls of this invocation for one record. */
  class Drain {
    private chain: ChainState;
    private lease: LeaseView;
    private polls = 0;
    /** Clusters searched by the first round's lookup; logged when nothing was found. */
    private clustersSearched: number | undefined;
    private drainRequests = 0;
    private consecutiveFailures = 0;
    /** Scheduling strategy never changes for a service, so one DescribeServices per service per round. */
    private readonly daemonByService = new Map<string, boolean>();
    private lastCounts: ReturnType<typeof countTasks> | undefined;
    private lastTasks: readonly ClassifiedTask[] = [];
    /** AWS requests of this round, per service: reported on the decision line. */
    private readonly calls: CallCounts = {};
    private readonly ecs = countingClient(deps.clients.ecs, 'ecs', this.calls);
    private readonly autoScaling = countingClient(deps.clients.autoScaling, 'autoScaling', this.calls);
    private readonly sns = countingClient(deps.clients.sns, 'sns', this.calls);

    constructor(
      private readonly signal: LifecycleSignal,
      private readonly invocationEndsAt: number,
    ) {
      this.chain = chainFromSignal(signal, clock.now(), newId);
      this.lease = { mine: newId(), claimed: false };
    }

    private get ref(): LifecycleActionRef {
      const notification = this.chain.notification;
      return {
        autoScalingGroupName: notification.AutoScalingGroupName,
        lifecycleHookName: notification.LifecycleHookName,
        instanceId: notification.EC2InstanceId,
        ...(notification.LifecycleActionToken ? { lifecycleActionToken: notification.LifecycleActionToken } : {}),
      };
    }

    private get clusterDimension(): string {
      return this.chain.cluster ? clusterName(this.chain.cluster) : 'none';
    }

    async run(): Promise<LifecycleRecordResult> {
      const pollMs = config.pollIntervalSeconds * 1000;
      for (;;) {
        this.polls += 1;
        try {
          const snapshot = await this.readSnapshot();
          this.consecutiveFailures = 0;
          const finished = await this.act(snapshot);
          if (finished) return finished;
        } catch (error) {
          const finished = await this.onFault(error, pollMs);
          if (finished) return finished;
        }
      }
    }

    /** Reads what the decision needs. Later rounds skip the lookup: the message names the instance. */
    private async readSnapshot(): Promise<LifecycleSnapshot> {
      const { ecs, autoScaling } = this;
      const chain = this.chain;
      let instance: { status: string; lease?: string } | undefined;
      if (chain.cluster === undefined || chain.containerInstanceArn === undefined) {
        const clusters = await resolveClusters(ecs, config.clusters);
        this.clustersSearched = clusters.length;
        const found = await findContainerInstance(ecs, clusters, chain.notification.EC2InstanceId, telemetry);
        if (found) {
          chain.cluster = found.cluster;
          chain.containerInstanceArn = found.containerInstanceArn;
          instance = { status: found.status, lease: found.attributes[LEASE_ATTRIBUTE] };
        }
      } else {
        const described = await describeContainerInstances(ecs, chain.cluster, [chain.containerInstanceArn]);
        const found = described.instances.find((candidate) => candidate.containerInstanceArn === chain.containerInstanceArn);
        // MISSING in failures[] and INACTIVE both mean: deregistered, nothing left to drain.
        if (found) instance = { status: found.status, lease: found.attributes[LEASE_ATTRIBUTE] };
      }

      let tasks: ClassifiedTask[] = [];
      if (instance && instance.status !== 'INACTIVE' && chain.cluster && chain.containerInstanceArn) {
        if (chain.heartbeatTimeoutSeconds === undefined || chain.globalTimeoutSeconds === undefined) {
          const hook = await describeLifecycleHook(autoScaling, this.ref.autoScalingGroupName, this.ref.lifecycleHookName);
          if (!hook) {
            telemetry.log('WARN', 'lifecycle hook not found; assuming the shortest heartbeat timeout', {
              autoScalingGroupName: this.ref.autoScalingGroupName,
              lifecycleHookName: this.ref.lifecycleHookName,
            });
          }
          chain.heartbeatTimeoutSeconds = hook?.heartbeatTimeoutSeconds ?? FALLBACK_HEARTBEAT_TIMEOUT_SECONDS;
          chain.globalTimeoutSeconds = hook?.globalTimeoutSeconds ?? 100 * FALLBACK_HEARTBEAT_TIMEOUT_SECONDS;
        }
        // An ACTIVE instance is drained first and read again, so its tasks are not read yet
        // (a dry run reads them, to report what a drain would wait for).
        if (instance.status !== 'ACTIVE' || config.dryRun) tasks = await this.readTasks(chain.cluster, chain.containerInstanceArn);
      }
      this.lastTasks = tasks;
      this.lastCounts = countTasks(tasks, config.standaloneTasks);
      return {
        ...(instance ? { instance: { status: instance.status } } : {}),
        tasks,
        actionOver: false,
        lease: { ...this.lease, ...(instance?.lease !== undefined ? { current: instance.lease } : {}) },
        invocationEndsAt: this.invocationEndsAt,
      };
    }

    private async readTasks(cluster: string, containerInstanceArn: string): Promise<ClassifiedTask[]> {
      const ecs = this.ecs;
      const tasks = await listUnstoppedTasks(ecs, cluster, containerInstanceArn);
      const unknown = [
        ...new Set(tasks.map((task) => task.serviceName).filter((name): name is string => name !== undefined)),
      ].filter((name) => !this.daemonByService.has(name));
      if (unknown.length > 0) {
        const daemons = await daemonServiceNames(ecs, cluster, unknown);
        for (const name of unknown) this.daemonByService.set(name, daemons.has(name));
      }
      const daemonNames = new Set([...this.daemonByService].filter(([, daemon]) => daemon).map(([name]) => name));
      return classifyTasks(tasks, daemonNames);
    }

    /** Decides and executes steps on one snapshot; returns a result when the round is over. */
    private async act(snapshot: LifecycleSnapshot): Promise<LifecycleRecordResult | undefined> {
      for (let index = 0; index < MAX_STEPS_PER_POLL; index += 1) {
        const now = clock.now();
        const step = decideLifecycleStep(snapshot, this.chain, now, config);
        telemetry.log('DEBUG', 'lifecycle step', { ...this.fields(), step: step.kind, reason: step.reason });
        switch (step.kind) {
          case 'complete':
            return this.complete(step.result, step.reason, snapshot);
          case 'drain': {
            const outcome = await setDraining(this.ecs, this.chain.cluster ?? '', [this.chain.containerInstanceArn ?? '']);
            if (outcome.failed.length > 0) {
              throw new RetryableError(`could not set DRAINING: ${outcome.failed.map((failure) => failure.reason).join(', ')}`);
            }
            this.drainRequests += 1;
            telemetry.count('InstanceDrained', { kind: 'lifecycle-hook', cluster: this.clusterDimension });
            // Read again at once: only tasks seen after DRAINING took effect tell whether the drain is
            // done. Should ECS still report ACTIVE, the next attempts are paced by the poll interval.
            if (this.drainRequests > 1) await clock.sleep(config.pollIntervalSeconds * 1000);
            return undefined;
          }
          case 'stop-standalone': {
            for (const taskArn of step.taskArns) {
              await stopTask(this.ecs, this.chain.cluster ?? '', taskArn, 'Auto Scaling is terminating the container instance');
            }
            telemetry.count('StandaloneTasksStopped', { cluster: this.clusterDimension }, step.taskArns.length);
            const stopped = new Set(step.taskArns);
            snapshot = { ...snapshot, tasks: snapshot.tasks.map((task) => (stopped.has(task.taskArn) ? { ...task, desiredStatus: 'STOPPED' } : task)) };
            break;
          }
          case 'heartbeat': {
            const answer = await recordLifecycleHeartbeat(this.autoScaling, this.ref);
            if (answer === 'no-active-action') snapshot = { ...snapshot, actionOver: true };
            else {
              this.chain.lastHeartbeatAt = now;
              telemetry.count('HeartbeatRecorded', { cluster: this.clusterDimension });
            }
            break;
          }
          case 'claim-lease': {
            await this.claimLease();
            snapshot = { ...snapshot, lease: { ...this.lease, current: this.lease.mine } };
            break;
          }
          case 'check-group': {
            const states = await describeGroupInstances(this.autoScaling, [this.chain.notification.EC2InstanceId]);
            snapshot = { ...snapshot, groupState: states.get(this.chain.notification.EC2InstanceId)?.lifecycleState ?? 'absent' };
            break;
          }
          case 'requeue':
            return this.requeue();
          case 'wait':
            await clock.sleep(Math.max(0, step.until - now));
            return undefined;
          case 'end':
            return this.finish('INFO', { outcome: 'ended', reason: step.reason }, () =>
              telemetry.count('LifecycleEnded', { cluster: this.clusterDimension, reason: step.reason }),
            );
          case 'dry-run':
            return this.finish('INFO', { outcome: 'dry-run', reason: step.reason, wouldDo: describeStep(step.wouldDo) }, () =>
              telemetry.count('LifecycleDryRun', { cluster: this.clusterDimension, step: step.wouldDo.kind }),
            );
        }
      }
      // Unreachable with the decision table as it is; a poll later is the safe way out if it changes.
      await clock.sleep(config.pollIntervalSeconds * 1000);
      return undefined;
    }

    private async claimLease(): Promise<void> {
      try {
        await writeLease(this.ecs, this.chain.cluster ?? '', this.chain.containerInstanceArn ?? '', this.lease.mine);
        this.lease = { ...this.lease, claimed: true };
      } catch (error) {
        if (classifyAwsError(error) === 'retryable') throw error;
        // Without a lease duplicate chains still end when the action ends; the drain itself goes on.
        this.lease = { ...this.lease, unavailable: true };
        telemetry.log('WARN', 'lifecycle lease unavailable', { ...this.fields(), ...describeError(error) });
        telemetry.count('LeaseUnavailable', { cluster: this.clusterDimension });
      }
    }

    private async complete(result: LifecycleResult, reason: CompleteReason, snapshot: LifecycleSnapshot): Promise<LifecycleRecordResult> {
      const answer = await completeLifecycleAction(this.autoScaling, this.ref, result);
      const overdue = reason === 'deadline' || reason === 'hop-cap';
      if (answer === 'no-active-action') {
        return this.finish('INFO', { outcome: 'ended', reason: 'action-over' }, () =>
          telemetry.count('LifecycleEnded', { cluster: this.clusterDimension, reason: 'action-over' }),
        );
      }
      const finished = this.finish(overdue ? 'WARN' : 'INFO', { outcome: 'completed', reason, result }, () => {
        telemetry.count('LifecycleCompleted', { cluster: this.clusterDimension, result, reason });
        if (overdue) telemetry.count('LifecycleDeadline', { cluster: this.clusterDimension, reason });
      });
      if (overdue && config.opsTopicArn) await this.notifyOps(result, reason, snapshot);
      return finished;
    }

    /** A notice for people; failing to send it must not undo or repeat the completion. */
    private async notifyOps(result: LifecycleResult, reason: CompleteReason, snapshot: LifecycleSnapshot): Promise<void> {
      const notice = opsNotice({ chain: this.chain, result, reason, now: clock.now(), tasks: snapshot.tasks, config });
      try {
        await this.sns.send(new PublishCommand({ TopicArn: config.opsTopicArn, Subject: notice.subject, Message: notice.message }));
      } catch (error) {
        telemetry.log('ERROR', 'ops notice failed', { ...this.fields(), ...describeError(error) });
        telemetry.count('OpsNoticeFailed', { cluster: this.clusterDimension });
      }
    }

    private async requeue(): Promise<LifecycleRecordResult> {
      const topicArn = config.lifecycleTopicArn ?? this.signal.topicArn;
      if (!topicArn) throw new Error('no topic to requeue to: LIFECYCLE_TOPIC_ARN is unset and the record names no TopicArn');
      const message = buildRequeueMessage(this.chain);
      await this.sns.send(
        new PublishCommand({ TopicArn: topicArn, Subject: requeueSubject(this.chain), Message: JSON.stringify(message) }),
      );
      return this.finish('INFO', { outcome: 'requeued', reason: 'invocation-ending', nextAttempt: message.attempt }, () =>
        telemetry.count('LifecycleRequeued', { cluster: this.clusterDimension }),
      );
    }

    /**
     * Throttling and 5xx that outlast the SDK's retries: try again at the next poll while the
     * invocation has time, then throw so Lambda retries the message (twice, 1 and 2 minutes later).
     * Past the deadline the action is completed without waiting for ECS to answer again, because
     * an expired action would take the hook's default result, not the configured one.
     */
    private async onFault(error: unknown, pollMs: number): Promise<LifecycleRecordResult | undefined> {
      const errorClass = classifyAwsError(error);
      const now = clock.now();
      if (isNoActiveLifecycleAction(error)) {
        return this.finish('INFO', { outcome: 'ended', reason: 'action-over' }, () =>
          telemetry.count('LifecycleEnded', { cluster: this.clusterDimension, reason: 'action-over' }),
        );
      }
      this.consecutiveFailures += 1;
      telemetry.log('WARN', 'lifecycle poll failed', { ...this.fields(), errorClass, failures: this.consecutiveFailures, ...describeError(error) });
      telemetry.count('PollFailed', { cluster: this.clusterDimension, errorClass });

      if (!config.dryRun && now >= deadlineOf(this.chain, config)) {
        const emptySnapshot = this.faultSnapshot();
        return this.complete(config.deadlineResult, 'deadline', emptySnapshot);
      }
      const canRetry =
        errorClass === 'retryable' &&
        this.consecutiveFailures < MAX_CONSECUTIVE_POLL_FAILURES &&
        now + pollMs <= this.invocationEndsAt;
      if (canRetry) {
        // ECS may fail while Auto Scaling answers: keep the action alive through a run of failed polls.
        const heartbeatDue = heartbeatDueAt(this.chain);
        if (!config.dryRun && heartbeatDue !== undefined && now >= heartbeatDue) await this.bestEffortHeartbeat();
        await clock.sleep(pollMs);
        return undefined;
      }
      telemetry.log('ERROR', 'lifecycle round failed', { ...this.fields(), errorClass, ...describeError(error) });
      telemetry.count('LifecycleFailed', { cluster: this.clusterDimension, errorClass });
      // Lambda's retry of this event comes one, then two minutes later: restart the hook's
      // heartbeat window first, so a short heartbeat timeout does not expire the action meanwhile.
      if (!config.dryRun) await this.bestEffortHeartbeat();
      if (error instanceof RetryableError) throw error;
      throw new RetryableError(`lifecycle drain of ${this.chain.notification.EC2InstanceId} failed: ${describeError(error).errorName}`, {
        cause: error,
      });
    }

    /** Best effort: a failure here changes nothing about the error being reported. */
    private async bestEffortHeartbeat(): Promise<void> {
      try {
        if ((await recordLifecycleHeartbeat(this.autoScaling, this.ref)) === 'recorded') {
          this.chain.lastHeartbeatAt = clock.now();
          telemetry.count('HeartbeatRecorded', { cluster: this.clusterDimension });
        }
      } catch (heartbeatError) {
        telemetry.log('WARN', 'lifecycle heartbeat after a failed poll failed', { ...this.fields(), ...describeError(heartbeatError) });
      }
    }

    private faultSnapshot(): LifecycleSnapshot {
      return { tasks: this.lastTasks, actionOver: false, lease: this.lease, invocationEndsAt: this.invocationEndsAt };
    }

    private fields() {
      const notification = this.chain.notification;
      return {
        ec2InstanceId: notification.EC2InstanceId,
        autoScalingGroupName: notification.AutoScalingGroupName,
        lifecycleHookName: notification.LifecycleHookName,
        ...(this.chain.cluster ? { cluster: this.chain.cluster } : {}),
        ...(this.chain.containerInstanceArn ? { containerInstanceArn: this.chain.containerInstanceArn } : { clustersSearched: this.clustersSearched }),
        chainId: this.chain.chainId,
        attempt: this.chain.attempt,
        messageKind: this.signal.kind,
        dryRun: config.dryRun,
      };
    }

    /** The one decision line of this record, its metrics, and the result returned to the caller. */
    private finish(
      level: Level,
      outcome: { outcome: RecordOutcome; reason: string; result?: LifecycleResult; wouldDo?: string; nextAttempt?: number },
      emitMetrics: () => void,
    ): LifecycleRecordResult {
      const elapsedSeconds = Math.round((clock.now() - this.chain.firstSeenAt) / 1000);
      telemetry.log(level, 'lifecycle decision', {
        ...this.fields(),
        ...outcome,
        polls: this.polls,
        awsCalls: { ...this.calls },
        elapsedSeconds,
        ...(this.lastCounts ? { tasks: this.lastCounts } : {}),
      });
      emitMetrics();
      return {
        outcome: outcome.outcome,
        reason: outcome.reason,
        messageId: this.signal.messageId,
        kind: this.signal.kind,
        ec2InstanceId: this.chain.notification.EC2InstanceId,
        autoScalingGroupName: this.chain.notification.AutoScalingGroupName,
        ...(this.chain.cluster ? { cluster: this.chain.cluster } : {}),
        ...(this.chain.containerInstanceArn ? { containerInstanceArn: this.chain.containerInstanceArn } : {}),
        ...(outcome.result ? { result: outcome.result } : {}),
        ...(outcome.wouldDo ? { wouldDo: outcome.wouldDo } : {}),
        chainId: this.chain.chainId,
        attempt: this.chain.attempt,
        polls: this.polls,
        awsCalls: { ...this.calls },
      };
    }
  }

  return async function lifecycleHookHandler(event: unknown, context: InvocationContext): Promise<LifecycleHandlerResult> {
    const remaining = context.getRemainingTimeInMillis();
    const invocationEndsAt = clock.now() + remaining - INVOCATION_SAFETY_MARGIN_MS;
    if (remaining < INVOCATION_SAFETY_MARGIN_MS + 2 * config.pollIntervalSeconds * 1000) {
      // Each invocation would then hop at once, spending MAX_HOPS in minutes instead of polling.
      telemetry.log('WARN', 'invocation too short to poll', { remainingMs: remaining, pollIntervalSeconds: config.pollIntervalSeconds });
    }
    const envelope = snsRecords(event);
    if (!envelope.ok) {
      telemetry.log('ERROR', 'invalid event', { reason: envelope.reason, detail: envelope.detail });
      telemetry.count('InvalidEvent', { function: FUNCTION, reason: envelope.reason });
      return { records: [{ outcome: 'invalid', reason: envelope.reason }] };
    }

    const settled = await Promise.allSettled(
      envelope.records.map((record) => processRecord(record, invocationEndsAt)),
    );
    const results: LifecycleRecordResult[] = [];
    const failures: unknown[] = [];
    for (const outcome of settled) {
      if (outcome.status === 'fulfilled') results.push(outcome.value);
      else {
        failures.push(outcome.reason);
        results.push({ outcome: 'failed', reason: describeError(outcome.reason).errorName });
      }
    }
    if (failures.length > 0) {
      throw new RetryableError(
        `${failures.length} of ${settled.length} lifecycle records failed: ${failures.map((error) => describeError(error).errorName).join(', ')}`,
        { cause: failures[0] },
      );
    }
    return { records: results };
  };
}

function describeStep(step: LifecycleStep): string {
  switch (step.kind) {
    case 'complete':
      return `complete ${step.result} (${step.reason})`;
    case 'stop-standalone':
      return `stop ${step.taskArns.length} standalone task(s)`;
    default:
      return step.kind;
  }
}
