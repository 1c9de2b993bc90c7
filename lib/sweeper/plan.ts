import type { GroupView } from '../aws/autoscaling';
import {
  DRAINED_AT_ATTRIBUTE,
  IDLE_SINCE_ATTRIBUTE,
  type Capacity,
  type ClusterSnapshot,
  type FinishStep,
  type PlanSettings,
  type ScaleInPlan,
  type Selected,
  type SkipReason,
  type SnapshotInstance,
  type TaskLoad,
} from './types';

/**
 * A drain this sweeper started that still has tasks after this long is undone (the instance is set
 * ACTIVE again). ECS moves service tasks off a DRAINING instance within minutes when there is room;
 * one that has not emptied in an hour is held by something the planner cannot see (a service with
 * minimumHealthyPercent 100 and maximumPercent 100, placement constraints, host ports), and leaving
 * it DRAINING would only waste its capacity (aws-behaviour.md §2).
 */
export const DRAIN_TIMEOUT_MINUTES = 60;

/**
 * How many of the least used busy instances the snapshot reads the tasks of, so that consolidation
 * has a few alternatives when the first one's tasks do not fit.
 */
export const CONSOLIDATION_CANDIDATES_INSPECTED = 3;

const MINUTE = 60_000;

export const taskCount = (instance: SnapshotInstance): number => instance.runningTasksCount + instance.pendingTasksCount;

/**
 * Idle: runs and waits for no task other than daemon tasks. Without a task read, only an instance
 * with no task at all is idle; a busy-looking instance is never guessed idle.
 */
export function isIdle(instance: SnapshotInstance): boolean {
  if (instance.workload) return instance.workload.nonDaemon.length === 0;
  return taskCount(instance) === 0;
}

const isUsable = (instance: SnapshotInstance): boolean => instance.status === 'ACTIVE' && instance.agentConnected;

/** Whether this sweeper drained the instance (its marker attribute) and it is still DRAINING. */
export const isOwnDrain = (instance: SnapshotInstance): boolean =>
  instance.status === 'DRAINING' && instance.attributes[DRAINED_AT_ATTRIBUTE] !== undefined;

/** A remembered timestamp attribute; malformed or future values count as absent. */
export function attributeTime(instance: SnapshotInstance, name: string, now: number): number | undefined {
  const raw = instance.attributes[name];
  if (raw === undefined || !/^\d{4}-\d{2}-\d{2}T/.test(raw)) return undefined;
  const time = Date.parse(raw);
  return Number.isFinite(time) && time <= now ? time : undefined;
}

/** Since when the instance has been idle: the remembered time, or now for an instance first seen idle. */
export function idleSince(instance: SnapshotInstance, now: number): number {
  return attributeTime(instance, IDLE_SINCE_ATTRIBUTE, now) ?? now;
}

/**
 * Bookkeeping writes (pure): "idle since" is set on ACTIVE instances seen idle without a valid one
 * and removed from ACTIVE instances that are busy again; a drain marker left on an ACTIVE instance
 * (a drain ECS refused, or someone set the instance ACTIVE again) is removed, so it can never make a
 * later drain look like this sweeper's. DRAINING and other instances are left alone.
 */
export function attributeChanges(
  snapshot: ClusterSnapshot,
  now: number,
): { set: string[]; clear: { targetId: string; name: string }[] } {
  const set: string[] = [];
  const clear: { targetId: string; name: string }[] = [];
  for (const instance of snapshot.instances) {
    if (instance.status !== 'ACTIVE') continue;
    const targetId = instance.containerInstanceArn;
    if (isIdle(instance)) {
      if (attributeTime(instance, IDLE_SINCE_ATTRIBUTE, now) === undefined) set.push(targetId);
    } else if (instance.attributes[IDLE_SINCE_ATTRIBUTE] !== undefined) {
      clear.push({ targetId, name: IDLE_SINCE_ATTRIBUTE });
    }
    if (instance.attributes[DRAINED_AT_ATTRIBUTE] !== undefined) clear.push({ targetId, name: DRAINED_AT_ATTRIBUTE });
  }
  return { set, clear };
}

/** Free capacity: remaining CPU and memory of ACTIVE instances with a connected agent only. */
export function freeCapacity(instances: readonly SnapshotInstance[]): Capacity {
  let cpu = 0;
  let memory = 0;
  for (const instance of instances) {
    if (!isUsable(instance)) continue;
    cpu += instance.remainingCpu;
    memory += instance.remainingMemory;
  }
  return { cpu, memory };
}

/** How many reference tasks still fit, instance by instance (a task cannot span instances). */
export function schedulableTasks(instances: readonly SnapshotInstance[], taskCpu: number, taskMemory: number): number {
  let total = 0;
  for (const instance of instances) {
    if (!isUsable(instance)) continue;
    total += Math.max(0, Math.min(Math.floor(instance.remainingCpu / taskCpu), Math.floor(instance.remainingMemory / taskMemory)));
  }
  return total;
}

/**
 * The reasons that do not depend on the rest of the plan, in the order an operator would check
 * them. Shared with the re-check before acting, so both apply the same rules.
 */
export function staticSkipReason(
  instance: SnapshotInstance,
  groups: Readonly<Record<string, GroupView>>,
  managedGroups: readonly string[],
): SkipReason | undefined {
  if (instance.status !== 'ACTIVE') return 'not-active';
  if (!instance.agentConnected) return 'agent-disconnected';
  const group = instance.group;
  if (!group || group.autoScalingGroupName === '') return 'not-in-group';
  if (managedGroups.length > 0 && !managedGroups.includes(group.autoScalingGroupName)) return 'group-not-managed';
  if (groups[group.autoScalingGroupName] === undefined) return 'group-unknown';
  if (group.lifecycleState !== 'InService') return 'not-in-service';
  // Scale-in protection does not stop TerminateInstanceInAutoScalingGroup (aws-behaviour.md §3.2),
  // so the sweeper has to honour it itself.
  if (group.protectedFromScaleIn) return 'protected';
  return undefined;
}

/**
 * Instances leaving each group: desired capacity still counts them until their termination is
 * requested. Counting every removal in flight, not just this run's, is what keeps a group at or
 * above its minimum when drains span several runs.
 */
export class GroupBudget {
  private readonly leaving = new Map<string, number>();
  constructor(private readonly groups: Readonly<Record<string, GroupView>>) {}

  canRemove(groupName: string): boolean {
    const group = this.groups[groupName];
    if (!group) return false;
    return group.desiredCapacity - (this.leaving.get(groupName) ?? 0) - 1 >= group.minSize;
  }

  take(groupName: string): void {
    this.leaving.set(groupName, (this.leaving.get(groupName) ?? 0) + 1);
  }

  leavingFrom(groupName: string): number {
    return this.leaving.get(groupName) ?? 0;
  }
}

function finishStep(
  instance: SnapshotInstance,
  snapshot: ClusterSnapshot,
  budget: GroupBudget,
  now: number,
): FinishStep {
  const base = {
    containerInstanceArn: instance.containerInstanceArn,
    ec2InstanceId: instance.ec2InstanceId,
    ...(instance.group?.autoScalingGroupName ? { autoScalingGroupName: instance.group.autoScalingGroupName } : {}),
  };
  const groupName = instance.group?.autoScalingGroupName;
  if (!groupName || snapshot.groups[groupName] === undefined) return { ...base, action: 'reactivate', reason: 'not-in-group' };
  // Terminating:Wait / Proceed: a termination (ours, or the group's own) is under way; the
  // lifecycle hook, if any, owns the instance now.
  if (instance.group?.lifecycleState !== 'InService') return { ...base, action: 'wait', reason: 'terminating' };
  if (!isIdle(instance)) {
    const drainedAt = attributeTime(instance, DRAINED_AT_ATTRIBUTE, now) ?? now;
    if (now - drainedAt >= DRAIN_TIMEOUT_MINUTES * MINUTE) return { ...base, action: 'reactivate', reason: 'drain-timed-out' };
    // The group's minimum was raised since the drain started: there is no longer room for it.
    if (!budget.canRemove(groupName)) return { ...base, action: 'reactivate', reason: 'group-at-minimum' };
    budget.take(groupName);
    return { ...base, action: 'wait', reason: 'tasks-remaining' };
  }
  if (!budget.canRemove(groupName)) return { ...base, action: 'reactivate', reason: 'group-at-minimum' };
  budget.take(groupName);
  return { ...base, action: 'terminate', reason: 'drained' };
}

const byArn = (a: SnapshotInstance, b: SnapshotInstance) =>
  a.containerInstanceArn < b.containerInstanceArn ? -1 : a.containerInstanceArn > b.containerInstanceArn ? 1 : 0;

const registeredTime = (instance: SnapshotInstance) => (instance.registeredAt ? Date.parse(instance.registeredAt) : 0) || 0;

const utilisation = (instance: SnapshotInstance): number =>
  Math.max(
    instance.registeredCpu > 0 ? (instance.registeredCpu - instance.remainingCpu) / instance.registeredCpu : 1,
    instance.registeredMemory > 0 ? (instance.registeredMemory - instance.remainingMemory) / instance.registeredMemory : 1,
  );

/**
 * The non-daemon tasks that must move when an instance is drained. A task whose size DescribeTasks
 * does not report (task-level CPU and memory are optional on EC2) is replaced by one lump: all that
 * the instance reserves beyond the known tasks, daemons included. That over-estimates, and asks
 * for a single hole large enough for all of it, so the fit check errs on the side of keeping.
 */
export function tasksToMove(instance: SnapshotInstance): TaskLoad[] {
  const tasks = instance.workload?.nonDaemon ?? [];
  const known = tasks.filter((task) => task.cpu > 0 || task.memory > 0);
  if (known.length === tasks.length) return known;
  const usedCpu = instance.registeredCpu - instance.remainingCpu;
  const usedMemory = instance.registeredMemory - instance.remainingMemory;
  const lump: TaskLoad = {
    taskArn: 'unsized-tasks',
    origin: 'service',
    cpu: Math.max(0, usedCpu - known.reduce((sum, task) => sum + task.cpu, 0)),
    memory: Math.max(0, usedMemory - known.reduce((sum, task) => sum + task.memory, 0)),
  };
  return [...known, lump];
}

/**
 * Simulates placing `tasks` on `targets` (best fit: the fullest instance that still has room), largest
 * first. Returns false as soon as one task fits nowhere. Ports and placement constraints are not
 * modelled; a drain they block is undone after DRAIN_TIMEOUT_MINUTES.
 */
export function fitsOn(tasks: readonly TaskLoad[], targets: readonly Capacity[]): boolean {
  const room = targets.map((target) => ({ ...target }));
  const ordered = [...tasks].sort((a, b) => b.cpu + b.memory - (a.cpu + a.memory) || (a.taskArn < b.taskArn ? -1 : 1));
  for (const task of ordered) {
    let best = -1;
    for (let index = 0; index < room.length; index += 1) {
      const slot = room[index]!;
      if (slot.cpu < task.cpu || slot.memory < task.memory) continue;
      const current = best >= 0 ? room[best]! : undefined;
      if (!current || slot.cpu < current.cpu || (slot.cpu === current.cpu && slot.memory < current.memory)) best = index;
    }
    if (best < 0) return false;
    room[best]!.cpu -= task.cpu;
    room[best]!.memory -= task.memory;
  }
  return true;
}

/**
 * The scale-in plan of one cluster: which instances to take out of service now, a reason for every
 * other instance, and what to do with the instances this sweeper drained in earlier runs. Pure: the
 * same snapshot, settings and time always give the same plan.
 *
 * Order of preference among idle instances: longest idle first (the strongest evidence that the
 * cluster does not need it), then the oldest registration (it carries the oldest AMI and agent),
 * then the ARN, so ties are broken the same way every run.
 */
export function planScaleIn(snapshot: ClusterSnapshot, settings: PlanSettings, now: number): ScaleInPlan {
  const budget = new GroupBudget(snapshot.groups);
  const skipped: ScaleInPlan['skipped'] = [];
  const selected: Selected[] = [];
  const skip = (instance: SnapshotInstance, reason: SkipReason) =>
    skipped.push({ containerInstanceArn: instance.containerInstanceArn, ec2InstanceId: instance.ec2InstanceId, reason });

  const instances = [...snapshot.instances].sort(byArn);

  // 1. Drains started by earlier runs come first: they already hold their group's budget. Empty
  // ones before those still moving tasks, so a finished drain is never undone for an unfinished one.
  const ownDrains = instances.filter(isOwnDrain);
  const finishing = [...ownDrains.filter(isIdle), ...ownDrains.filter((instance) => !isIdle(instance))].map((instance) =>
    finishStep(instance, snapshot, budget, now),
  );
  const consolidationInProgress = finishing.some((step) => step.action === 'wait' && step.reason === 'tasks-remaining');

  const free = freeCapacity(instances);
  const freeAfter = { ...free };
  let removals = 0;

  // 2. Idle instances, longest idle first.
  const idle: SnapshotInstance[] = [];
  const busy: SnapshotInstance[] = [];
  for (const instance of instances) {
    if (isOwnDrain(instance)) continue;
    const reason = staticSkipReason(instance, snapshot.groups, settings.autoScalingGroups);
    if (reason) skip(instance, reason);
    else if (!isIdle(instance)) busy.push(instance);
    else if (now - idleSince(instance, now) < settings.minIdleMinutes * MINUTE) skip(instance, 'not-idle-long-enough');
    else idle.push(instance);
  }
  idle.sort((a, b) => idleSince(a, now) - idleSince(b, now) || registeredTime(a) - registeredTime(b) || byArn(a, b));
  for (const instance of idle) {
    const groupName = instance.group!.autoScalingGroupName;
    if (removals >= settings.maxRemovalsPerRun) skip(instance, 'budget-used');
    else if (!budget.canRemove(groupName)) skip(instance, 'group-at-minimum');
    else if (
      freeAfter.cpu - instance.remainingCpu < settings.minFreeCpu ||
      freeAfter.memory - instance.remainingMemory < settings.minFreeMemory
    ) {
      skip(instance, 'reserve-would-break');
    } else {
      budget.take(groupName);
      removals += 1;
      freeAfter.cpu -= instance.remainingCpu;
      freeAfter.memory -= instance.remainingMemory;
      selected.push({
        containerInstanceArn: instance.containerInstanceArn,
        ec2InstanceId: instance.ec2InstanceId,
        autoScalingGroupName: groupName,
        reason: 'idle',
        idleMinutes: Math.floor((now - idleSince(instance, now)) / MINUTE),
      });
    }
  }

  // 3. Consolidation: at most one lightly used instance per run, the least used first, and only
  // when no earlier consolidation is still moving its tasks (so moves never cascade).
  const consolidation = settings.consolidate
    ? busy.filter((instance) => instance.workload !== undefined).sort((a, b) => utilisation(a) - utilisation(b) || byArn(a, b))
    : [];
  let consolidated = false;
  const tried = new Set<string>();
  for (const instance of consolidation) {
    if (consolidated) break;
    tried.add(instance.containerInstanceArn);
    const groupName = instance.group!.autoScalingGroupName;
    const moving = tasksToMove(instance);
    const movedCpu = moving.reduce((sum, task) => sum + task.cpu, 0);
    const movedMemory = moving.reduce((sum, task) => sum + task.memory, 0);
    const taken = new Set([instance.containerInstanceArn, ...selected.map((entry) => entry.containerInstanceArn)]);
    const targets = instances
      .filter((other) => isUsable(other) && !taken.has(other.containerInstanceArn))
      .map((other) => ({ cpu: other.remainingCpu, memory: other.remainingMemory }));
    if (consolidationInProgress) skip(instance, 'consolidation-in-progress');
    else if (instance.workload!.nonDaemon.some((task) => task.origin === 'standalone')) skip(instance, 'standalone-tasks');
    else if (removals >= settings.maxRemovalsPerRun) skip(instance, 'budget-used');
    else if (!budget.canRemove(groupName)) skip(instance, 'group-at-minimum');
    else if (
      freeAfter.cpu - instance.remainingCpu - movedCpu < settings.minFreeCpu ||
      freeAfter.memory - instance.remainingMemory - movedMemory < settings.minFreeMemory
    ) {
      skip(instance, 'reserve-would-break');
    } else if (!fitsOn(moving, targets)) skip(instance, 'tasks-do-not-fit');
    else {
      budget.take(groupName);
      removals += 1;
      consolidated = true;
      freeAfter.cpu -= instance.remainingCpu + movedCpu;
      freeAfter.memory -= instance.remainingMemory + movedMemory;
      selected.push({
        containerInstanceArn: instance.containerInstanceArn,
        ec2InstanceId: instance.ec2InstanceId,
        autoScalingGroupName: groupName,
        reason: 'consolidate',
        tasksToMove: (instance.workload?.nonDaemon ?? []).map((task) => task.taskArn),
      });
    }
  }
  for (const instance of busy) if (!tried.has(instance.containerInstanceArn)) skip(instance, 'busy');
  for (const step of finishing) {
    skipped.push({ containerInstanceArn: step.containerInstanceArn, ec2InstanceId: step.ec2InstanceId, reason: 'removal-in-progress' });
  }

  return {
    cluster: snapshot.cluster,
    selected,
    skipped,
    finishing,
    free,
    freeAfter,
    idleInstances: instances.filter((instance) => isUsable(instance) && isIdle(instance)).length,
    schedulableTasks: schedulableTasks(instances, settings.schedulableTaskCpu, settings.schedulableTaskMemory),
  };
}

/**
 * Which instances' tasks the snapshot reads. Task counts are free (they come with
 * DescribeContainerInstances); a task read costs calls. An instance with no task at all is idle
 * without a read; one with more tasks than the cluster has daemon services runs at least one
 * non-daemon task (a daemon service places at most one task per instance) and is busy without a
 * read. Only the instances in between are read, plus, for consolidation, the few least used busy
 * instances that could be drained.
 */
export function instancesToInspect(
  instances: readonly SnapshotInstance[],
  groups: Readonly<Record<string, GroupView>>,
  daemonServiceCount: number,
  settings: Pick<PlanSettings, 'consolidate' | 'autoScalingGroups'>,
): string[] {
  const inspect = new Set<string>();
  for (const instance of instances) {
    const count = taskCount(instance);
    if (count === 0 || count > daemonServiceCount) continue;
    if ((instance.status === 'ACTIVE' && instance.agentConnected) || isOwnDrain(instance)) inspect.add(instance.containerInstanceArn);
  }
  if (settings.consolidate) {
    const busy = instances
      .filter((instance) => taskCount(instance) > daemonServiceCount)
      .filter((instance) => staticSkipReason(instance, groups, settings.autoScalingGroups) === undefined)
      .sort((a, b) => utilisation(a) - utilisation(b) || byArn(a, b))
      .slice(0, CONSOLIDATION_CANDIDATES_INSPECTED);
    for (const instance of busy) inspect.add(instance.containerInstanceArn);
  }
  return [...inspect].sort();
}
