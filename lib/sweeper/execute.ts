import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { describeGroupInstances, describeGroups, describeTerminationHooks, terminateInstanceInGroup } from '../aws/autoscaling';
import {
  clusterName,
  deleteInstanceAttributes,
  describeContainerInstances,
  type ContainerInstanceView,
  putInstanceAttributes,
  setActive,
  setDraining,
} from '../aws/ecs';
import { sameResource } from '../aws/partitions';
import { listUnstoppedTasks } from '../aws/tasks';
import type { Clock, InvocationContext } from '../clock';
import { NonActionableError, describeError, isGroupBusy } from '../errors';
import type { Telemetry } from '../telemetry';
import { DRAIN_POLL_SECONDS, drainsToWatch, finishingSettings, keepWaiting, sortWatched, type Watched } from './finish';
import { GroupBudget, attributeTime, daemonHold, planScaleIn } from './plan';
import { toWorkloads } from './snapshot';
import { DRAINED_AT_ATTRIBUTE, IDLE_SINCE_ATTRIBUTE, type ClusterSnapshot, type PlanSettings, type ScaleInPlan, type SnapshotInstance } from './types';
import { recheckPlan, type Dropped, type FreshState } from './validate';

/**
 * No new write starts with less than this much of the invocation left: a termination or drain
 * interrupted by the Lambda timeout would be retried blind, and the next run (30 minutes later)
 * picks up anything left undone from the instances' own state.
 */
export const WRITE_TIME_MARGIN_MS = 15_000;

export interface ExecuteDeps {
  ecs: ECSClient;
  autoScaling: AutoScalingClient;
  telemetry: Telemetry;
  clock: Clock;
  context?: InvocationContext;
  managedGroups: readonly string[];
  capacityProviderMode?: 'stand-down' | 'cooperate';
  /**
   * Whether a group has a termination lifecycle hook, by group name: shared by the clusters of one
   * run so that each group is asked once per run at most.
   */
  terminationHooks?: Map<string, Promise<boolean>>;
}

/** What the executor did, by EC2 instance id. */
export interface ExecutionOutcome {
  drained: string[];
  terminated: string[];
  reactivated: string[];
  /** TerminateInstanceInAutoScalingGroup refused with ValidationError (group minimum, not in a group). */
  refused: { ec2InstanceId: string; reason: string }[];
  dropped: Dropped[];
  /** Writes ECS refused per instance (failures[]). */
  failed: { ec2InstanceId: string; reason: string }[];
  /** Planned writes not started because the invocation was about to time out. */
  deferred: number;
  /** Drained idle instances not terminated because a task arrived just before DRAINING; a later run terminates them. */
  postponed: string[];
  /**
   * Terminations Auto Scaling refused for now because the instance's group was busy
   * (ScalingActivityInProgress, ResourceContention): the instance stays DRAINING with its marker and
   * a later run terminates it.
   */
  deferredTerminations: { ec2InstanceId: string; reason: string }[];
  /**
   * Drained idle instances not terminated yet because their group has no termination hook and their
   * daemon tasks have not all STOPPED; they stay DRAINING with their marker for a later run.
   */
  awaitingDaemons: { ec2InstanceId: string; reason: 'daemons-stopping' }[];
}

export const emptyOutcome = (): ExecutionOutcome => ({ drained: [], terminated: [], reactivated: [], refused: [], dropped: [], failed: [], deferred: 0, postponed: [], deferredTerminations: [], awaitingDaemons: [] });

/** Reads the chosen instances again: describe, group membership and sizes, every unstopped task. */
async function readFresh(
  deps: ExecuteDeps,
  snapshot: Pick<ClusterSnapshot, 'cluster' | 'daemonServices' | 'groups'>,
  arns: readonly string[],
  options: { includeInstances?: boolean; described?: readonly ContainerInstanceView[]; tasksOf?: ReadonlySet<string> } = {},
): Promise<FreshState> {
  // A finishing pass has just described them.
  const described = options.described ? { instances: options.described } : await describeContainerInstances(deps.ecs, snapshot.cluster, arns);
  const memberships = await describeGroupInstances(
    deps.autoScaling,
    described.instances.map((instance) => instance.ec2InstanceId).filter(Boolean),
  );
  const groupNames = [...new Set([...memberships.values()].map((member) => member.autoScalingGroupName).filter(Boolean))];
  const groups = groupNames.length > 0 ? Object.fromEntries(await describeGroups(deps.autoScaling, groupNames, { includeInstances: options.includeInstances === true })) : {};
  // Capacity-provider settings do not change in the seconds since the snapshot: they are not read again.
  for (const [name, group] of Object.entries(groups)) {
    const provider = snapshot.groups[name]?.capacityProvider;
    if (provider) groups[name] = { ...group, capacityProvider: provider };
  }
  // Every unstopped task, including those already told to stop but still shutting down, which the
  // snapshot's cheaper read does not see (aws-behaviour.md §2).
  const tasks = new Map<string, Awaited<ReturnType<typeof listUnstoppedTasks>>>();
  for (const instance of described.instances) {
    if (options.tasksOf && !options.tasksOf.has(instance.containerInstanceArn)) continue;
    tasks.set(instance.containerInstanceArn, await listUnstoppedTasks(deps.ecs, snapshot.cluster, instance.containerInstanceArn));
  }
  const workloads = toWorkloads(tasks, new Set(snapshot.daemonServices));
  const instances = new Map<string, SnapshotInstance>();
  for (const instance of described.instances) {
    const group = memberships.get(instance.ec2InstanceId);
    const workload = workloads.get(instance.containerInstanceArn);
    instances.set(instance.containerInstanceArn, { ...instance, ...(group ? { group } : {}), ...(workload ? { workload } : {}) });
  }
  return { instances, groups };
}

/**
 * Carries out a plan: undoes drains that can no longer end in a removal, re-reads every instance it
 * is about to act on and drops the ones that changed, terminates finished drains, then marks, drains
 * and (for idle instances) terminates the selected ones. DRAINING always comes first, so the
 * termination's lifecycle hook, if any, sees an instance that takes no new task.
 */
export async function executePlan(deps: ExecuteDeps, snapshot: ClusterSnapshot, plan: ScaleInPlan, readJustNow?: FreshState): Promise<ExecutionOutcome> {
  const outcome = emptyOutcome();
  const { ecs, autoScaling, telemetry } = deps;
  const cluster = snapshot.cluster;
  const byArn = new Map(snapshot.instances.map((instance) => [instance.containerInstanceArn, instance]));
  const timeLeft = () => deps.context?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY;
  const dimensions = { cluster: clusterName(cluster) };

  // 1. Drains that cannot finish: set ACTIVE again and forget the instance's idle clock.
  const reactivate = plan.finishing.filter((step) => step.action === 'reactivate');
  if (reactivate.length > 0) {
    if (timeLeft() < WRITE_TIME_MARGIN_MS) outcome.deferred += reactivate.length;
    else {
      const refused = await setActive(ecs, cluster, reactivate.map((step) => step.containerInstanceArn));
      const refusedArns = new Set(refused.map((failure) => failure.arn));
      for (const step of reactivate) {
        const failure = refused.find((entry) => entry.arn === step.containerInstanceArn);
        if (failure) outcome.failed.push({ ec2InstanceId: step.ec2InstanceId, reason: `reactivate: ${failure.reason}` });
        else outcome.reactivated.push(step.ec2InstanceId);
      }
      const attributes = reactivate
        .filter((step) => !refusedArns.has(step.containerInstanceArn))
        .flatMap((step) =>
          [DRAINED_AT_ATTRIBUTE, IDLE_SINCE_ATTRIBUTE]
            .filter((name) => byArn.get(step.containerInstanceArn)?.attributes[name] !== undefined)
            .map((name) => ({ targetId: step.containerInstanceArn, name })),
        );
      if (attributes.length > 0) await deleteInstanceAttributes(ecs, cluster, attributes);
    }
  }

  // 2. Re-check before acting.
  const toRead = [
    ...plan.finishing.filter((step) => step.action === 'terminate').map((step) => step.containerInstanceArn),
    ...plan.selected.map((selected) => selected.containerInstanceArn),
  ];
  if (toRead.length === 0) return outcome;
  // A finishing pass plans on instances it has just read: that read is the re-check.
  const fresh = readJustNow ?? (await readFresh(deps, snapshot, toRead));
  const checked = recheckPlan(plan, fresh, deps.managedGroups, deps.capacityProviderMode);
  outcome.dropped.push(...checked.dropped);
  for (const entry of checked.dropped) {
    telemetry.log('INFO', 'sweep candidate changed; dropped', { cluster, ec2InstanceId: entry.ec2InstanceId, reason: entry.reason });
  }

  // 3. Daemon grace: only instances about to be terminated that still have unstopped tasks need
  // to know whether their group has a termination hook; one DescribeLifecycleHooks per group.
  const hooks = deps.terminationHooks ?? new Map<string, Promise<boolean>>();
  const hasHook = (group: string): Promise<boolean> => {
    let known = hooks.get(group);
    if (!known) {
      // Unknown is treated as no hook: the instance then waits (bounded) for its daemons instead of
      // losing them, and the cluster's sweep goes on (the permission may not be deployed yet).
      known = describeTerminationHooks(autoScaling, group).then(
        (found) => found.length > 0,
        (error: unknown) => {
          deps.telemetry.log('WARN', 'termination hooks not read; the group is treated as having none', { group, ...describeError(error) });
          return false;
        },
      );
      hooks.set(group, known);
    }
    return known;
  };
  const now = deps.clock.now();
  const held = new Set<string>();
  const idleNow = checked.drain.filter((selected) => selected.reason === 'idle');
  const candidates = [
    ...checked.terminate.map((step) => ({ entry: step, ownDrain: true })),
    ...idleNow.map((selected) => ({ entry: selected, ownDrain: false })),
  ];
  for (const { entry, ownDrain } of candidates) {
    const instance = fresh.instances.get(entry.containerInstanceArn);
    const unstoppedTasks = (instance?.workload?.daemonTasks ?? 0) + (instance?.workload?.nonDaemon.length ?? 0);
    const group = entry.autoScalingGroupName;
    if (unstoppedTasks === 0 || !group || !instance) continue;
    const reason = daemonHold({
      unstoppedTasks,
      terminationHook: await hasHook(group),
      // A marker that cannot be read counts as a drain started now: the bound then starts again.
      drainedAt: ownDrain ? (attributeTime(instance, DRAINED_AT_ATTRIBUTE, now) ?? now) : undefined,
      now,
    });
    if (reason) held.add(entry.containerInstanceArn);
  }
  const awaitDaemons = (ec2InstanceId: string) => {
    outcome.awaitingDaemons.push({ ec2InstanceId, reason: 'daemons-stopping' });
    telemetry.log('INFO', 'termination waits for daemon tasks to stop', { cluster, ec2InstanceId });
  };

  const terminate = async (ec2InstanceId: string): Promise<void> => {
    if (timeLeft() < WRITE_TIME_MARGIN_MS) {
      outcome.deferred += 1;
      return;
    }
    try {
      await terminateInstanceInGroup(autoScaling, ec2InstanceId);
      outcome.terminated.push(ec2InstanceId);
    } catch (error) {
      if (isGroupBusy(error)) {
        // The group's state, not the plan, is in the way: the rest of the plan goes on, and the
        // instance, DRAINING with its marker, is terminated by a later run (aws-behaviour.md §3.2).
        const reason = describeError(error).errorName;
        telemetry.log('WARN', 'termination deferred: the group is busy', { cluster, ec2InstanceId, ...describeError(error) });
        telemetry.count('TerminationDeferred', dimensions);
        outcome.deferredTerminations.push({ ec2InstanceId, reason });
        return;
      }
      if (!(error instanceof NonActionableError)) throw error;
      // The instance stays DRAINING with its marker; the next run terminates it or sets it ACTIVE again.
      telemetry.log('WARN', 'termination refused', { cluster, ec2InstanceId, ...describeError(error.cause ?? error) });
      telemetry.count('TerminationRefused', dimensions);
      outcome.refused.push({ ec2InstanceId, reason: describeError(error.cause ?? error).errorName });
    }
  };

  // 4. Drains finished since an earlier run.
  for (const step of checked.terminate) {
    if (held.has(step.containerInstanceArn)) awaitDaemons(step.ec2InstanceId);
    else await terminate(step.ec2InstanceId);
  }

  // 5. New removals: mark, drain, then terminate the idle ones. The mark comes first so that no
  // instance is ever DRAINING by this sweeper without the sweeper knowing it on its next run.
  if (checked.drain.length === 0) return outcome;
  if (timeLeft() < WRITE_TIME_MARGIN_MS) {
    outcome.deferred += checked.drain.length;
    return outcome;
  }
  const drainedAt = new Date(deps.clock.now()).toISOString();
  const marked = await putInstanceAttributes(
    ecs,
    cluster,
    checked.drain.map((selected) => ({ targetId: selected.containerInstanceArn, name: DRAINED_AT_ATTRIBUTE, value: drainedAt })),
    { skipFull: true },
  );
  // An instance with no free attribute slot cannot carry the marker, and an unmarked drain would be
  // one this sweeper forgets: it is skipped, and said so (README "Attribute slots").
  const full = new Set(marked.full);
  for (const selected of checked.drain.filter((entry) => full.has(entry.containerInstanceArn))) {
    telemetry.log('WARN', 'instance skipped: no free attribute slot for the drain marker', { cluster, ec2InstanceId: selected.ec2InstanceId });
    telemetry.count('AttributesFull', dimensions);
    outcome.dropped.push({ containerInstanceArn: selected.containerInstanceArn, ec2InstanceId: selected.ec2InstanceId, reason: 'attributes-full' });
  }
  checked.drain = checked.drain.filter((entry) => !full.has(entry.containerInstanceArn));
  if (checked.drain.length === 0) return outcome;
  const drained = await setDraining(ecs, cluster, checked.drain.map((selected) => selected.containerInstanceArn));
  const nowDraining = checked.drain.filter((selected) => drained.draining.some((entry) => sameResource(entry, selected.containerInstanceArn)));
  const arrivals = await tasksArrivedDuringDrain(deps, cluster, fresh, nowDraining.filter((selected) => selected.reason === 'idle').map((selected) => selected.containerInstanceArn));
  for (const selected of checked.drain) {
    const arn = selected.containerInstanceArn;
    if (drained.gone.some((gone) => sameResource(gone, arn))) {
      outcome.dropped.push({ containerInstanceArn: arn, ec2InstanceId: selected.ec2InstanceId, reason: 'gone' });
      continue;
    }
    const failure = drained.failed.find((entry) => sameResource(entry.arn, arn));
    if (failure || !drained.draining.some((entry) => sameResource(entry, arn))) {
      outcome.failed.push({ ec2InstanceId: selected.ec2InstanceId, reason: `drain: ${failure?.reason ?? 'not draining'}` });
      continue;
    }
    outcome.drained.push(selected.ec2InstanceId);
    // A consolidated instance still runs tasks: ECS moves them now, a later run terminates it empty.
    if (selected.reason !== 'idle') continue;
    if (arrivals.has(arn)) {
      // ECS placed a task between the re-check and DRAINING. DRAINING moves it; the drain marker
      // lets the next run terminate the instance once it is empty.
      outcome.postponed.push(selected.ec2InstanceId);
      telemetry.log('INFO', 'termination postponed: a task arrived before DRAINING', { cluster, ec2InstanceId: selected.ec2InstanceId });
      continue;
    }
    if (held.has(arn)) {
      // No hook waits for the daemons: the next run terminates the instance once they have STOPPED.
      awaitDaemons(selected.ec2InstanceId);
      continue;
    }
    await terminate(selected.ec2InstanceId);
  }
  return outcome;
}

/**
 * Closes the window between the re-check and DRAINING: one DescribeContainerInstances of the
 * newly drained idle instances. An instance whose task count grew since the re-check got a task
 * in that window and must not be terminated now.
 */
async function tasksArrivedDuringDrain(
  deps: ExecuteDeps,
  cluster: string,
  fresh: FreshState,
  arns: readonly string[],
): Promise<Set<string>> {
  const arrived = new Set<string>();
  if (arns.length === 0) return arrived;
  const after = await describeContainerInstances(deps.ecs, cluster, arns);
  for (const arn of arns) {
    const before = fresh.instances.get(arn);
    const now = after.instances.find((instance) => instance.containerInstanceArn === arn);
    if (!before || !now) continue;
    if (now.runningTasksCount + now.pendingTasksCount > before.runningTasksCount + before.pendingTasksCount) arrived.add(arn);
  }
  return arrived;
}

/** One cluster's drains watched within the run, and what its finishing passes did. */
export interface WatchedDrains {
  cluster: string;
  daemonServices: string[];
  /** The groups as the run's snapshot read them: their capacity-provider settings are not read again. */
  groups: ClusterSnapshot['groups'];
  instances: Watched[];
}

export interface FinishedWithinRun {
  /** Everything the finishing passes did; `awaitingDaemons` as of the last pass. */
  outcome: ExecutionOutcome;
  /** Watched instances still DRAINING when the wait ended: the next run finishes them. */
  leftToNextRun: string[];
}

/**
 * Watches the run's drains for up to `waitSeconds` (decisions in finish.ts): every
 * DRAIN_POLL_SECONDS one DescribeContainerInstances per cluster (by 100), and for the instances
 * whose tasks have all been told to stop, one read of their groups (with instances, for zone
 * balance), memberships and unstopped tasks, then the plan and execution a later run would make:
 * terminate, set ACTIVE again, or wait (daemons still stopping). Nothing starts with less than
 * WRITE_TIME_MARGIN_MS of the invocation left after the next wait.
 */
export async function finishDrainsWithinRun(
  deps: ExecuteDeps,
  settings: PlanSettings,
  watched: readonly WatchedDrains[],
  waitSeconds: number,
): Promise<Map<string, FinishedWithinRun>> {
  const results = new Map<string, FinishedWithinRun>();
  const pending = new Map<string, { daemonServices: string[]; groups: ClusterSnapshot['groups']; arns: string[]; ids: Map<string, string> }>();
  for (const entry of watched) {
    if (entry.instances.length === 0) continue;
    pending.set(entry.cluster, {
      daemonServices: entry.daemonServices,
      groups: entry.groups,
      arns: entry.instances.map((instance) => instance.containerInstanceArn),
      ids: new Map(entry.instances.map((instance) => [instance.containerInstanceArn, instance.ec2InstanceId])),
    });
    results.set(entry.cluster, { outcome: emptyOutcome(), leftToNextRun: [] });
  }
  const timeLeft = () => deps.context?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY;
  const pollMs = DRAIN_POLL_SECONDS * 1000;
  const waitMs = waitSeconds * 1000;
  const waitUntil = deps.clock.now() + waitMs;
  let looks = 0;
  while (pending.size > 0 && keepWaiting({ now: deps.clock.now(), waitUntil, waitMs, looks, timeLeftMs: timeLeft(), pollMs, reserveMs: WRITE_TIME_MARGIN_MS })) {
    looks += 1;
    await deps.clock.sleep(pollMs);
    // One ledger per pass, shared by the clusters: a group spanning clusters is budgeted once.
    const ledger = new GroupBudget({});
    for (const [cluster, entry] of [...pending]) {
      const described = await describeContainerInstances(deps.ecs, cluster, entry.arns);
      const { ready, moving } = sortWatched(described.instances);
      entry.arns = moving.map((instance) => instance.containerInstanceArn);
      if (ready.length > 0) {
        // The drains still moving tasks are planned too (without a task read): they hold their
        // zones and their group's budget until they end.
        const fresh = await readFresh(deps, { cluster, daemonServices: entry.daemonServices, groups: entry.groups }, [...ready, ...moving].map((instance) => instance.containerInstanceArn), {
          includeInstances: true,
          described: [...ready, ...moving],
          tasksOf: new Set(ready.map((instance) => instance.containerInstanceArn)),
        });
        const snapshot: ClusterSnapshot = { cluster, instances: [...fresh.instances.values()], groups: { ...fresh.groups }, daemonServices: entry.daemonServices };
        const plan = planScaleIn(snapshot, finishingSettings(settings), deps.clock.now(), ledger);
        const outcome = await executePlan(deps, snapshot, plan, fresh);
        const result = results.get(cluster)!;
        mergeOutcome(result.outcome, outcome);
        result.outcome.awaitingDaemons = outcome.awaitingDaemons;
        const still = new Set(entry.arns);
        entry.arns.push(...drainsToWatch(plan, outcome).map((instance) => instance.containerInstanceArn).filter((arn) => !still.has(arn)));
      }
      if (entry.arns.length === 0) pending.delete(cluster);
    }
  }
  for (const [cluster, entry] of pending) results.get(cluster)!.leftToNextRun = entry.arns.map((arn) => entry.ids.get(arn) ?? arn);
  return results;
}

/** Adds what a finishing pass did to what the earlier passes did. */
export function mergeOutcome(into: ExecutionOutcome, pass: ExecutionOutcome): void {
  into.drained.push(...pass.drained);
  into.terminated.push(...pass.terminated);
  into.reactivated.push(...pass.reactivated);
  into.refused.push(...pass.refused);
  into.dropped.push(...pass.dropped);
  into.failed.push(...pass.failed);
  into.deferred += pass.deferred;
  into.postponed.push(...pass.postponed);
  into.deferredTerminations.push(...pass.deferredTerminations);
}
