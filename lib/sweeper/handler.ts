import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { SNSClient } from '@aws-sdk/client-sns';
import { putMetricData, type Datum } from '../aws/cloudwatch';
import { clusterName, deleteInstanceAttributes, putInstanceAttributes, resolveClusters } from '../aws/ecs';
import type { Clock, InvocationContext } from '../clock';
import { RetryableError, classifyAwsError, describeError, isClusterNotFound } from '../errors';
import { notifyOpsSafely } from '../notify';
import type { Telemetry } from '../telemetry';
import type { SweeperConfig } from './config';
import { parseSweepEvent } from './event';
import { emptyOutcome, executePlan, finishDrainsWithinRun, mergeOutcome, type ExecutionOutcome, type WatchedDrains } from './execute';
import { drainsToWatch } from './finish';
import { GroupBudget, attributeChanges, planScaleIn } from './plan';
import { takeSnapshot } from './snapshot';
import { IDLE_SINCE_ATTRIBUTE, UNDERUSED_SINCE_ATTRIBUTE, type ClusterSnapshot, type ScaleInPlan, type SkipReason } from './types';

export interface SweeperDeps {
  config: SweeperConfig;
  /** `sns` only publishes operators' notices (OPS_TOPIC_ARN); without it none are sent. */
  clients: { ecs: ECSClient; autoScaling: AutoScalingClient; cloudWatch: CloudWatchClient; sns?: SNSClient };
  telemetry: Telemetry;
  clock: Clock;
}

/** One cluster's sweep: the plan in numbers and what was done. */
export interface ClusterSweep {
  cluster: string;
  outcome: 'executed' | 'planned' | 'cluster-not-found' | 'failed';
  instances: number;
  idleInstances: number;
  freeCpu: number;
  freeMemory: number;
  schedulableTasks: number;
  selected: ScaleInPlan['selected'];
  skippedByReason: Partial<Record<SkipReason, number>>;
  execution: ExecutionOutcome;
  error?: string;
}

export interface SweepResult {
  outcome: 'swept' | 'invalid';
  reason?: string;
  dryRun: boolean;
  clusters: ClusterSweep[];
}

/** The decision line lists at most this many instances per list, so it stays one readable log event. */
export const LOG_LIST_LIMIT = 50;

const bounded = <T>(items: readonly T[]) =>
  items.length > LOG_LIST_LIMIT ? { items: items.slice(0, LOG_LIST_LIMIT), omitted: items.length - LOG_LIST_LIMIT } : { items };

function countReasons(plan: ScaleInPlan): Partial<Record<SkipReason, number>> {
  const counts: Partial<Record<SkipReason, number>> = {};
  for (const entry of plan.skipped) counts[entry.reason] = (counts[entry.reason] ?? 0) + 1;
  return counts;
}

/** What the run remembers of a cluster's sweep until its drains are finished. */
interface SweptCluster {
  plan: ScaleInPlan;
  daemonServices: string[];
  groups: ClusterSnapshot['groups'];
  timestamp: number;
}

/**
 * The scale-in sweeper: for every managed cluster, snapshot, plan (pure), and unless DRY_RUN,
 * carry out the plan; then finish the run's drains within DRAIN_WAIT_SECONDS, publish the capacity
 * metrics and log one decision line per cluster.
 * A cluster that fails does not stop the others; the invocation then fails at the end, after the
 * others' metrics are out, so the failure reaches the Lambda Errors metric and the failed-events
 * queue.
 */
export function makeScaleInSweeperHandler(deps: SweeperDeps) {
  const { config, clients, telemetry, clock } = deps;

  async function sweepCluster(
    cluster: string,
    context: InvocationContext | undefined,
    datums: Datum[],
    ledger: GroupBudget,
    terminationHooks: Map<string, Promise<boolean>>,
    swept: Map<string, SweptCluster>,
  ): Promise<ClusterSweep> {
    const snapshot = await takeSnapshot(clients, cluster, config);
    if (snapshot.capacityProviderReadError) {
      telemetry.log('WARN', 'capacity providers not read; groups tagged AmazonECSManaged stand down', { cluster, ...snapshot.capacityProviderReadError });
      telemetry.count('CapacityProviderReadFailed', { function: 'scaleInSweeper', errorClass: snapshot.capacityProviderReadError.errorClass });
    }
    const now = clock.now();

    const changes = attributeChanges(snapshot, now, config);
    let attributesWritten = false;
    let attributesFull: string[] = [];
    if (!config.dryRun) {
      // Bookkeeping, not a decision: when it fails the sweep goes on, and newly idle instances start
      // their idle clock on the next run instead.
      try {
        const since = new Date(now).toISOString();
        const written = await putInstanceAttributes(
          clients.ecs,
          cluster,
          [
            ...changes.set.map((targetId) => ({ targetId, name: IDLE_SINCE_ATTRIBUTE, value: since })),
            ...changes.setUnderused.map((targetId) => ({ targetId, name: UNDERUSED_SINCE_ATTRIBUTE, value: since })),
          ],
          { skipFull: true },
        );
        await deleteInstanceAttributes(clients.ecs, cluster, changes.clear);
        attributesWritten = true;
        // A full instance (10 custom attributes) starts no idle clock, so it is never removed; the
        // rest of the cluster is swept as usual (README "Attribute slots").
        const ids = new Map(snapshot.instances.map((instance) => [instance.containerInstanceArn, instance.ec2InstanceId]));
        attributesFull = written.full.map((arn) => ids.get(arn) ?? arn);
        if (attributesFull.length > 0) {
          telemetry.log('WARN', 'instances skipped: no free attribute slot', { cluster, reason: 'attributes-full', ec2InstanceIds: attributesFull });
          telemetry.count('AttributesFull', { cluster: clusterName(cluster) }, attributesFull.length);
        }
      } catch (error) {
        telemetry.log('WARN', 'idle-since not recorded', { cluster, ...describeError(error) });
        telemetry.count('IdleSinceNotRecorded', { cluster: clusterName(cluster) });
      }
    }

    const plan = planScaleIn(snapshot, config, now, ledger);
    const execution = config.dryRun
      ? emptyOutcome()
      : await executePlan({ ...clients, telemetry, clock, managedGroups: config.autoScalingGroups, capacityProviderMode: config.capacityProviderMode, terminationHooks, ...(context ? { context } : {}) }, snapshot, plan);

    const dimensions = { cluster: clusterName(cluster) };
    const timestamp = clock.now();
    datums.push(
      { name: 'FreeCpu', value: plan.free.cpu, dimensions, timestamp },
      { name: 'FreeMemory', value: plan.free.memory, dimensions, timestamp },
      { name: 'IdleInstances', value: plan.idleInstances, dimensions, timestamp },
      { name: 'SchedulableTasks', value: plan.schedulableTasks, dimensions, timestamp },
    );
    // InstancesRemoved goes out once the run's drains are finished (finishWithinRun below).
    swept.set(cluster, { plan, daemonServices: snapshot.daemonServices, groups: snapshot.groups, timestamp });

    if (execution.terminated.length > 0) await reportRemovals(cluster, plan, execution.terminated);

    const skippedByReason = countReasons(plan);
    // Busy instances are the common case and the least interesting: list every other reason first,
    // so the bounded list shows the instances an operator is looking for.
    const interesting = [...plan.skipped].sort((a, b) => Number(a.reason === 'busy') - Number(b.reason === 'busy'));
    const skipped = bounded(interesting.map((entry) => ({ ec2InstanceId: entry.ec2InstanceId, reason: entry.reason })));
    // A finished drain held for its daemons (execute.ts) is logged as the wait it became.
    const awaiting = new Set(execution.awaitingDaemons.map((entry) => entry.ec2InstanceId));
    const finishing = bounded(
      plan.finishing.map((step) =>
        awaiting.has(step.ec2InstanceId) && step.action === 'terminate'
          ? { ec2InstanceId: step.ec2InstanceId, action: 'wait' as const, reason: 'daemons-stopping' as const }
          : { ec2InstanceId: step.ec2InstanceId, action: step.action, reason: step.reason },
      ),
    );
    const totals = {
      cluster,
      outcome: config.dryRun ? ('planned' as const) : ('executed' as const),
      instances: snapshot.instances.length,
      idleInstances: plan.idleInstances,
      freeCpu: plan.free.cpu,
      freeMemory: plan.free.memory,
      schedulableTasks: plan.schedulableTasks,
    };
    telemetry.log('INFO', 'sweep decision', {
      ...totals,
      dryRun: config.dryRun,
      freeCpuAfter: plan.freeAfter.cpu,
      freeMemoryAfter: plan.freeAfter.memory,
      selected: plan.selected.map((entry) => ({
        ec2InstanceId: entry.ec2InstanceId,
        group: entry.autoScalingGroupName,
        reason: entry.reason,
        ...(entry.idleMinutes !== undefined ? { idleMinutes: entry.idleMinutes } : {}),
        ...(entry.tasksToMove ? { tasksToMove: entry.tasksToMove.length } : {}),
      })),
      skippedByReason,
      skipped: skipped.items,
      ...(skipped.omitted ? { skippedOmitted: skipped.omitted } : {}),
      finishing: finishing.items,
      ...(finishing.omitted ? { finishingOmitted: finishing.omitted } : {}),
      // Counts of bookkeeping writes; in a dry run (or when they failed) what would have been written.
      ...(attributesWritten
        ? { idleSinceSet: changes.set.length, underusedSinceSet: changes.setUnderused.length, attributesCleared: changes.clear.length }
        : { idleSinceNotSet: changes.set.length, underusedSinceNotSet: changes.setUnderused.length, attributesNotCleared: changes.clear.length }),
      drained: execution.drained,
      terminated: execution.terminated,
      reactivated: execution.reactivated,
      refused: execution.refused,
      dropped: execution.dropped.map((entry) => ({ ec2InstanceId: entry.ec2InstanceId, reason: entry.reason })),
      failed: execution.failed,
      deferred: execution.deferred,
      postponed: execution.postponed,
      deferredTerminations: execution.deferredTerminations,
      awaitingDaemons: execution.awaitingDaemons,
      ...(attributesFull.length > 0 ? { attributesFull: bounded(attributesFull).items } : {}),
    });
    return { ...totals, selected: plan.selected, skippedByReason, execution };
  }

  /** A notice for people; failing to send it changes nothing about the sweep. */
  async function reportRemovals(cluster: string, plan: ScaleInPlan, terminated: readonly string[]): Promise<void> {
    if (!clients.sns) return;
    const name = clusterName(cluster);
    const why = new Map(plan.selected.map((entry) => [entry.ec2InstanceId, entry.reason]));
    const event = {
      type: 'removed' as const,
      function: 'scaleInSweeper' as const,
      title: `Sweeper removed ${terminated.length} instance(s) from ${name}`,
      description: terminated.map((id) => `\`${id}\` (${why.get(id) ?? 'drained earlier'})`),
      resources: [...terminated],
      context: { cluster: name, removed: String(terminated.length) },
    };
    await notifyOpsSafely(clients.sns, config, telemetry, event, { cluster: name, fields: { cluster } });
  }

  /**
   * Finishes the run's drains within the run (lib/sweeper/finish.ts): the instances drained by this
   * run (and earlier drains still moving tasks) are watched for up to DRAIN_WAIT_SECONDS and
   * terminated as soon as they are empty, so an empty instance is not paid for until the next run.
   * What it did joins the cluster's outcome, and is logged in one `drains finished within the run`
   * line per cluster.
   */
  async function finishWithinRun(
    results: ClusterSweep[],
    swept: ReadonlyMap<string, SweptCluster>,
    context: InvocationContext | undefined,
    terminationHooks: Map<string, Promise<boolean>>,
    failures: string[],
  ): Promise<void> {
    if (config.dryRun || config.drainWaitSeconds <= 0) return;
    const watched: WatchedDrains[] = [];
    for (const result of results) {
      const remembered = swept.get(result.cluster);
      if (!remembered || result.outcome !== 'executed') continue;
      const instances = drainsToWatch(remembered.plan, result.execution);
      if (instances.length > 0) watched.push({ cluster: result.cluster, daemonServices: remembered.daemonServices, groups: remembered.groups, instances });
    }
    if (watched.length === 0) return;
    const started = clock.now();
    let finished: Awaited<ReturnType<typeof finishDrainsWithinRun>>;
    try {
      finished = await finishDrainsWithinRun(
        { ...clients, telemetry, clock, managedGroups: config.autoScalingGroups, capacityProviderMode: config.capacityProviderMode, terminationHooks, ...(context ? { context } : {}) },
        config,
        watched,
        config.drainWaitSeconds,
      );
    } catch (error) {
      // The drains stay DRAINING with their markers: the next run finishes them.
      const errorClass = classifyAwsError(error);
      telemetry.log('ERROR', 'sweep failed', { stage: 'finish-drains', errorClass, ...describeError(error) });
      telemetry.count('SweepFailed', { cluster: 'all', errorClass });
      failures.push(`finishing drains (${describeError(error).errorName})`);
      return;
    }
    for (const result of results) {
      const done = finished.get(result.cluster);
      if (!done) continue;
      const execution = result.execution;
      // Held for their daemons and still DRAINING when the wait ended: the next run terminates them.
      const left = new Set(done.leftToNextRun);
      const held = new Map([...execution.awaitingDaemons, ...done.outcome.awaitingDaemons].map((entry) => [entry.ec2InstanceId, entry]));
      mergeOutcome(execution, done.outcome);
      execution.awaitingDaemons = [...held.values()].filter((entry) => left.has(entry.ec2InstanceId));
      telemetry.log('INFO', 'drains finished within the run', {
        cluster: result.cluster,
        waitedSeconds: Math.round((clock.now() - started) / 1000),
        terminated: done.outcome.terminated,
        reactivated: done.outcome.reactivated,
        refused: done.outcome.refused,
        dropped: done.outcome.dropped.map((entry) => ({ ec2InstanceId: entry.ec2InstanceId, reason: entry.reason })),
        failed: done.outcome.failed,
        deferred: done.outcome.deferred,
        deferredTerminations: done.outcome.deferredTerminations,
        leftToNextRun: done.leftToNextRun,
      });
      if (done.outcome.terminated.length > 0) await reportRemovals(result.cluster, swept.get(result.cluster)!.plan, done.outcome.terminated);
    }
  }

  return async function scaleInSweeperHandler(event: unknown, context?: InvocationContext): Promise<SweepResult> {
    const trigger = parseSweepEvent(event);
    if (trigger.outcome === 'invalid') {
      telemetry.log('ERROR', 'invalid event', { reason: trigger.reason, detail: trigger.detail });
      telemetry.count('InvalidEvent', { function: 'scaleInSweeper', reason: trigger.reason });
      return { outcome: 'invalid', reason: trigger.reason, dryRun: config.dryRun, clusters: [] };
    }

    let clusters: string[];
    try {
      clusters = await resolveClusters(clients.ecs, config.clusters);
    } catch (error) {
      telemetry.log('ERROR', 'sweep failed', { stage: 'list-clusters', errorClass: classifyAwsError(error), ...describeError(error) });
      telemetry.count('SweepFailed', { cluster: 'all', errorClass: classifyAwsError(error) });
      throw new RetryableError(`sweep failed listing clusters: ${describeError(error).errorName}`, { cause: error });
    }

    const results: ClusterSweep[] = [];
    const datums: Datum[] = [];
    const failures: string[] = [];
    // One ledger for the run: a group whose instances serve several clusters is budgeted once.
    const ledger = new GroupBudget({});
    // Termination hooks by group, asked at most once per run (lib/sweeper/execute.ts).
    const terminationHooks = new Map<string, Promise<boolean>>();
    const swept = new Map<string, SweptCluster>();
    for (const cluster of clusters) {
      try {
        results.push(await sweepCluster(cluster, context, datums, ledger, terminationHooks, swept));
      } catch (error) {
        const failed = emptyClusterSweep(cluster, 'failed');
        if (isClusterNotFound(error)) {
          telemetry.log('WARN', 'managed cluster not found', { cluster });
          telemetry.count('ClusterNotFound', { cluster: clusterName(cluster) });
          results.push({ ...failed, outcome: 'cluster-not-found' });
          continue;
        }
        const errorClass = classifyAwsError(error);
        telemetry.log('ERROR', 'sweep failed', { cluster, errorClass, ...describeError(error) });
        telemetry.count('SweepFailed', { cluster: clusterName(cluster), errorClass });
        failures.push(`${clusterName(cluster)} (${describeError(error).errorName})`);
        results.push({ ...failed, error: describeError(error).errorName });
      }
    }

    await finishWithinRun(results, swept, context, terminationHooks, failures);
    for (const result of results) {
      const remembered = swept.get(result.cluster);
      if (!remembered) continue;
      datums.push({ name: 'InstancesRemoved', value: result.execution.terminated.length, dimensions: { cluster: clusterName(result.cluster) }, timestamp: remembered.timestamp });
    }

    // Metrics describe the clusters, they do not change them, so they are published in DRY_RUN too:
    // alarms on SchedulableTasks can be built before removals are switched on.
    if (datums.length > 0) {
      try {
        await putMetricData(clients.cloudWatch, config.metricsNamespace, datums);
      } catch (error) {
        telemetry.log('ERROR', 'sweep metrics not published', { errorClass: classifyAwsError(error), ...describeError(error) });
        telemetry.count('SweepFailed', { cluster: 'all', errorClass: classifyAwsError(error) });
        failures.push(`metrics (${describeError(error).errorName})`);
      }
    }
    if (failures.length > 0) throw new RetryableError(`sweep failed for ${failures.join(', ')}`);
    return { outcome: 'swept', dryRun: config.dryRun, clusters: results };
  };
}

function emptyClusterSweep(cluster: string, outcome: ClusterSweep['outcome']): ClusterSweep {
  const totals = { instances: 0, idleInstances: 0, freeCpu: 0, freeMemory: 0, schedulableTasks: 0 };
  return { cluster, outcome, ...totals, selected: [], skippedByReason: {}, execution: emptyOutcome() };
}
