import type { GroupView } from '../aws/autoscaling';
import { capacityProviderStandDown } from './capacity-providers';
import {
  DO_NOT_DISRUPT_ATTRIBUTES,
  DRAINED_AT_ATTRIBUTE,
  IDLE_SINCE_ATTRIBUTE,
  INSTANCE_TYPE_ATTRIBUTE,
  TRUNK_ATTRIBUTE,
  UNDERUSED_SINCE_ATTRIBUTE,
  ZONE_ATTRIBUTE,
  type ReserveTasks,
  type Room,
  type ScheduleWindow,
  type TaskShape,
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
 * A drained instance in a group without a termination lifecycle hook is terminated only once its
 * daemon tasks have STOPPED, or once its drain is this old. ECS stops daemon tasks on a DRAINING
 * instance last, seconds after the other tasks, and then gives them their stop timeout (at most
 * 120 s); without a hook to wait for them, a termination in the same run would kill log routers and
 * metric agents mid-flush (docs/aws-behaviour.md §2). The bound keeps a stuck daemon from holding an
 * instance, and its cost, for ever.
 */
export const DAEMON_STOP_BOUND_MINUTES = 10;

/**
 * How many of the least used busy instances the snapshot reads the tasks of, so that consolidation
 * has a few alternatives when the first one's tasks do not fit.
 */
export const CONSOLIDATION_CANDIDATES_INSPECTED = 3;

/**
 * How many busy instances, the least used first, consolidation tries per run when their tasks are
 * known (all of them when the snapshot read the whole cluster's tasks). Each try places the
 * instance's tasks on every other instance, so the bound keeps planning time linear in the cluster.
 */
export const CONSOLIDATION_CANDIDATES_TRIED = 20;

const MINUTE = 60_000;

/**
 * Tasks on an instance. `runningTasksCount` counts every task whose desired status is RUNNING, so it
 * already holds the PENDING ones (docs/aws-behaviour.md §2); adding `pendingTasksCount` counted
 * them twice. The larger of the two is exact as documented, and still never zero while either is not.
 */
export const taskCount = (instance: SnapshotInstance): number => Math.max(instance.runningTasksCount, instance.pendingTasksCount);

/**
 * Idle: runs and waits for no task other than daemon tasks. Without a task read, only an instance
 * with no task at all is idle; a busy-looking instance is never guessed idle.
 */
export function isIdle(instance: SnapshotInstance): boolean {
  if (instance.workload) return instance.workload.nonDaemon.length === 0;
  return taskCount(instance) === 0;
}

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

/** CPU or memory reserved, as a fraction of registered (the larger of the two). */
export const utilisation = (instance: SnapshotInstance): number =>
  Math.max(
    instance.registeredCpu > 0 ? (instance.registeredCpu - instance.remainingCpu) / instance.registeredCpu : 1,
    instance.registeredMemory > 0 ? (instance.registeredMemory - instance.remainingMemory) / instance.registeredMemory : 1,
  );

/** Underused: busy, and at or below the threshold (consolidation's anti-churn clock runs only then). */
export const isUnderused = (instance: SnapshotInstance, settings: Pick<PlanSettings, 'underusedPercent'>): boolean =>
  !isIdle(instance) && utilisation(instance) * 100 <= (settings.underusedPercent ?? DEFAULT_UNDERUSED_PERCENT);

export const DEFAULT_UNDERUSED_PERCENT = 50;

/**
 * Bookkeeping writes (pure): "idle since" is set on ACTIVE instances seen idle without a valid one
 * and removed from ACTIVE instances that are busy again; a drain marker left on an ACTIVE instance
 * (a drain ECS refused, or someone set the instance ACTIVE again) is removed, so it can never make a
 * later drain look like this sweeper's. With consolidation and an anti-churn delay, "underused
 * since" is kept the same way. DRAINING and other instances are left alone.
 */
export function attributeChanges(
  snapshot: ClusterSnapshot,
  now: number,
  settings: Pick<PlanSettings, 'consolidate' | 'consolidateAfterMinutes' | 'underusedPercent'> = { consolidate: false },
): { set: string[]; setUnderused: string[]; clear: { targetId: string; name: string }[] } {
  const set: string[] = [];
  const setUnderused: string[] = [];
  const clear: { targetId: string; name: string }[] = [];
  const antiChurn = settings.consolidate && (settings.consolidateAfterMinutes ?? 0) > 0;
  for (const instance of snapshot.instances) {
    if (instance.status !== 'ACTIVE') continue;
    const targetId = instance.containerInstanceArn;
    if (isIdle(instance)) {
      if (attributeTime(instance, IDLE_SINCE_ATTRIBUTE, now) === undefined) set.push(targetId);
    } else if (instance.attributes[IDLE_SINCE_ATTRIBUTE] !== undefined) {
      clear.push({ targetId, name: IDLE_SINCE_ATTRIBUTE });
    }
    if (instance.attributes[DRAINED_AT_ATTRIBUTE] !== undefined) clear.push({ targetId, name: DRAINED_AT_ATTRIBUTE });
    if (antiChurn && isUnderused(instance, settings)) {
      if (attributeTime(instance, UNDERUSED_SINCE_ATTRIBUTE, now) === undefined) setUnderused.push(targetId);
    } else if (instance.attributes[UNDERUSED_SINCE_ATTRIBUTE] !== undefined) {
      clear.push({ targetId, name: UNDERUSED_SINCE_ATTRIBUTE });
    }
  }
  return { set, setUnderused, clear };
}

const isUsable = (instance: SnapshotInstance): boolean => instance.status === 'ACTIVE' && instance.agentConnected;

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

/** The instance's zone: from Auto Scaling, else from the agent's attribute. */
export const zoneOf = (instance: SnapshotInstance): string | undefined =>
  instance.group?.availabilityZone ?? instance.attributes[ZONE_ATTRIBUTE];

/**
 * Elastic network interfaces per instance type, the primary one included, for the common types
 * only (https://docs.aws.amazon.com/ec2/latest/instancetypes/gp.html and co.: "Network
 * specifications"). A type not listed is unknown, and the fit check says so instead of guessing.
 */
export const ENI_LIMITS: Readonly<Record<string, number>> = {
  't3.nano': 2, 't3.micro': 2, 't3.small': 3, 't3.medium': 3, 't3.large': 3, 't3.xlarge': 4, 't3.2xlarge': 4,
  'm5.large': 3, 'm5.xlarge': 4, 'm5.2xlarge': 4, 'm5.4xlarge': 8, 'm5.8xlarge': 8, 'm5.12xlarge': 8, 'm5.16xlarge': 15, 'm5.24xlarge': 15,
  'c5.large': 3, 'c5.xlarge': 4, 'c5.2xlarge': 4, 'c5.4xlarge': 8, 'c5.9xlarge': 8, 'c5.12xlarge': 8, 'c5.18xlarge': 15, 'c5.24xlarge': 15,
  'r5.large': 3, 'r5.xlarge': 4, 'r5.2xlarge': 4, 'r5.4xlarge': 8, 'r5.8xlarge': 8, 'r5.12xlarge': 8, 'r5.16xlarge': 15, 'r5.24xlarge': 15,
};

/**
 * ENIs still free for awsvpc tasks: the type's limit minus the primary interface minus one per
 * awsvpc task. Unknown (undefined) when the type is not in the table, when the instance uses ENI
 * trunking (its branch-interface limit is another table), or when its tasks were not read.
 */
export function freeEnis(instance: SnapshotInstance): number | undefined {
  if (instance.attributes[TRUNK_ATTRIBUTE] !== undefined) return undefined;
  const limit = ENI_LIMITS[instance.attributes[INSTANCE_TYPE_ATTRIBUTE] ?? ''];
  if (limit === undefined) return undefined;
  if (instance.workload === undefined) return taskCount(instance) === 0 ? limit - 1 : undefined;
  return Math.max(0, limit - 1 - instance.workload.nonDaemon.filter((task) => task.eni).length);
}

/**
 * The room of an instance for the fit check. `needs` leaves out what no task to be placed asks for
 * (ports, ENIs), which changes no answer and spares the work on large clusters.
 */
export function roomOf(instance: SnapshotInstance, needs: { ports: boolean; enis: boolean } = { ports: true, enis: true }): Room {
  const room: Room = { cpu: instance.remainingCpu, memory: instance.remainingMemory };
  if (instance.registeredGpus !== undefined) room.gpu = instance.remainingGpus ?? 0;
  if (needs.enis) {
    const enis = freeEnis(instance);
    if (enis !== undefined) room.enis = enis;
  }
  if (needs.ports && instance.usedPorts) room.usedPorts = new Set(instance.usedPorts);
  return room;
}

const needsOf = (tasks: readonly TaskShape[]) => ({
  ports: tasks.some((task) => (task.hostPorts?.length ?? 0) > 0),
  enis: tasks.some((task) => task.eni === true),
});

/**
 * Whether one task fits in a room. 'unknown': it would fit but for ENIs the room cannot count.
 * Ports are checked only where ECS reported them: a room without a port list is taken as free of
 * bound ports, which is what ECS reports for an instance whose agent registered no PORTS.
 */
export function fitsIn(room: Room, task: TaskShape): boolean | 'unknown' {
  if (room.cpu < task.cpu || room.memory < task.memory) return false;
  if ((task.gpu ?? 0) > 0 && (room.gpu ?? 0) < task.gpu!) return false;
  if (task.hostPorts && room.usedPorts && task.hostPorts.some((port) => room.usedPorts!.has(port))) return false;
  if (task.eni) {
    if (room.enis === undefined) return 'unknown';
    if (room.enis < 1) return false;
  }
  return true;
}

function takeRoom(room: Room, task: TaskShape): void {
  room.cpu -= task.cpu;
  room.memory -= task.memory;
  if (task.gpu && room.gpu !== undefined) room.gpu -= task.gpu;
  if (task.eni && room.enis !== undefined) room.enis -= 1;
  if (task.hostPorts && task.hostPorts.length > 0) room.usedPorts = new Set([...(room.usedPorts ?? []), ...task.hostPorts]);
}

/**
 * Places tasks one by one in the rooms (best fit: the fullest room that still fits, by CPU then
 * memory, lowest index on ties), changing the rooms. Returns the index of the room each task went
 * to, or the outcome of the first task that fits nowhere: 'no-room', or 'unknown' when only rooms
 * with an unknown ENI count could have taken it.
 */
export function place(tasks: readonly TaskShape[], rooms: Room[]): { ok: true; used: number[] } | { ok: false; why: 'no-room' | 'unknown' } {
  const used: number[] = [];
  for (const task of tasks) {
    let best = -1;
    let unknown = false;
    for (let index = 0; index < rooms.length; index += 1) {
      const slot = rooms[index]!;
      const fit = fitsIn(slot, task);
      if (fit === 'unknown') unknown = true;
      if (fit !== true) continue;
      const current = best >= 0 ? rooms[best]! : undefined;
      if (!current || slot.cpu < current.cpu || (slot.cpu === current.cpu && slot.memory < current.memory)) best = index;
    }
    if (best < 0) return { ok: false, why: unknown ? 'unknown' : 'no-room' };
    takeRoom(rooms[best]!, task);
    used.push(best);
  }
  return { ok: true, used };
}

const taskSize = (task: TaskShape) => task.cpu + task.memory;

/** Largest first, so the big tasks find their holes before small ones fill them. */
export const largestFirst = <T extends TaskShape & { taskArn?: string }>(tasks: readonly T[]): T[] =>
  [...tasks].sort((a, b) => taskSize(b) - taskSize(a) || ((a.taskArn ?? '') < (b.taskArn ?? '') ? -1 : (a.taskArn ?? '') > (b.taskArn ?? '') ? 1 : 0));

const copyRoom = (room: Room): Room => ({ ...room });

/** How many tasks of one shape fit in one room, the same test the placement uses. */
function slots(room: Room, shape: TaskShape): number {
  if (fitsIn(room, shape) !== true) return 0;
  let count = Math.min(shape.cpu > 0 ? Math.floor(room.cpu / shape.cpu) : Infinity, shape.memory > 0 ? Math.floor(room.memory / shape.memory) : Infinity);
  if ((shape.gpu ?? 0) > 0) count = Math.min(count, Math.floor((room.gpu ?? 0) / shape.gpu!));
  if (shape.eni) count = Math.min(count, room.enis ?? 0);
  // A static host port can be bound once per instance.
  if (shape.hostPorts && shape.hostPorts.length > 0) count = Math.min(count, 1);
  return Number.isFinite(count) ? Math.max(0, count) : 0;
}

/**
 * How many reference tasks still fit, instance by instance (a task cannot span instances): the
 * number a best-fit placement of identical tasks reaches, computed per room.
 */
export function schedulableTasks(instances: readonly SnapshotInstance[], taskCpu: number, taskMemory: number): number {
  // The reference task asks for CPU and memory only, so a room of CPU and memory gives the same
  // answer as the full fit check without building one per instance.
  const shape = { cpu: taskCpu, memory: taskMemory };
  const room: Room = { cpu: 0, memory: 0 };
  let total = 0;
  for (const instance of instances) {
    if (!isUsable(instance)) continue;
    room.cpu = instance.remainingCpu;
    room.memory = instance.remainingMemory;
    total += slots(room, shape);
  }
  return total;
}

/** Whether the operator opted the instance out of disruption. */
export const optedOut = (instance: SnapshotInstance): boolean =>
  DO_NOT_DISRUPT_ATTRIBUTES.some((name) => instance.attributes[name] !== undefined && instance.attributes[name] !== 'false');

/**
 * The reasons that do not depend on the rest of the plan, in the order an operator would check
 * them. Shared with the re-check before acting, so both apply the same rules.
 */
export function staticSkipReason(
  instance: SnapshotInstance,
  groups: Readonly<Record<string, GroupView>>,
  managedGroups: readonly string[],
  capacityProviderMode?: PlanSettings['capacityProviderMode'],
): SkipReason | undefined {
  if (instance.status !== 'ACTIVE') return 'not-active';
  if (!instance.agentConnected) return 'agent-disconnected';
  const group = instance.group;
  if (!group || group.autoScalingGroupName === '') return 'not-in-group';
  if (managedGroups.length > 0 && !managedGroups.includes(group.autoScalingGroupName)) return 'group-not-managed';
  if (groups[group.autoScalingGroupName] === undefined) return 'group-unknown';
  if (group.lifecycleState !== 'InService') return 'not-in-service';
  // Managed scaling scales in instances without non-daemon tasks itself and target-tracks desired
  // capacity; managed termination protection protects busy instances until ECS scales in
  // (aws-behaviour.md §7). Removing instances there fights ECS.
  const managed = capacityProviderStandDown(groups[group.autoScalingGroupName], capacityProviderMode);
  if (managed) return managed;
  // Scale-in protection does not stop TerminateInstanceInAutoScalingGroup (aws-behaviour.md §3.2),
  // so the sweeper has to honour it itself.
  if (group.protectedFromScaleIn) return 'protected';
  if (optedOut(instance)) return 'do-not-disrupt';
  return undefined;
}

/** An instance's weight in its group's capacity units (1 without instance weights). */
export const unitsOf = (instance: SnapshotInstance): number => instance.group?.weightedCapacity ?? 1;

/**
 * The state of every group across the clusters of one run: capacity units leaving (desired
 * capacity still counts them until their termination is requested) and instances per zone. Counting
 * every removal in flight, not just this run's, keeps a group at or above its minimum when drains
 * span several runs; sharing one ledger between the clusters of a run budgets a group that spans
 * clusters once. With instance weights MinSize and DesiredCapacity are capacity units
 * (aws-behaviour.md §7), so removals are counted in the instance's weight.
 */
export class GroupBudget {
  private readonly leaving = new Map<string, number>();
  /** group → zone → instances of the group seen InService (by EC2 id, so a re-seen instance counts once). */
  private readonly members = new Map<string, Map<string, Set<string>>>();
  private readonly zonesLeaving = new Map<string, Map<string, number>>();
  private readonly counted = new Set<string>();
  private groups: Record<string, GroupView>;

  constructor(groups: Readonly<Record<string, GroupView>>) {
    this.groups = { ...groups };
  }

  /**
   * Adds a cluster's groups and InService members (for zone counts): the group's own instance list
   * when DescribeAutoScalingGroups gave it, else the instances of the snapshots seen in this run.
   */
  observe(groups: Readonly<Record<string, GroupView>>, instances: readonly SnapshotInstance[]): void {
    Object.assign(this.groups, groups);
    for (const group of Object.values(groups)) {
      for (const member of group.members ?? []) {
        // Launches still Pending count in their zone: they will be in service when a removal lands,
        // and Auto Scaling sent them there because that zone was short.
        if ((member.lifecycleState === 'InService' || member.lifecycleState.startsWith('Pending')) && member.availabilityZone) {
          this.member(group.autoScalingGroupName, member.availabilityZone, member.instanceId);
        }
      }
    }
    for (const instance of instances) {
      const group = instance.group;
      const zone = zoneOf(instance);
      if (!group || group.autoScalingGroupName === '' || group.lifecycleState !== 'InService' || zone === undefined) continue;
      if (groups[group.autoScalingGroupName]?.members !== undefined) continue;
      this.member(group.autoScalingGroupName, zone, instance.ec2InstanceId);
    }
  }

  private member(groupName: string, zone: string, instanceId: string): void {
    let zones = this.members.get(groupName);
    if (!zones) this.members.set(groupName, (zones = new Map()));
    let ids = zones.get(zone);
    if (!ids) zones.set(zone, (ids = new Set()));
    ids.add(instanceId);
  }

  canRemove(groupName: string, units = 1): boolean {
    const group = this.groups[groupName];
    if (!group) return false;
    return group.desiredCapacity - (this.leaving.get(groupName) ?? 0) - units >= group.minSize;
  }

  /**
   * Zone balance: Auto Scaling keeps a group's zones within one instance of each other and
   * rebalances (launching in one zone, terminating in another, busy or not) when they drift
   * (aws-behaviour.md §7, AZRebalance). A removal is allowed only from a zone with at least as many
   * remaining instances as every other zone of the group, so no zone ends more than one below
   * another. Groups whose zones are unknown are not judged; an instance with an unknown zone in a
   * group whose zones are known is kept. `alsoLeaving`: instances per zone that will leave too
   * (drains still under way), to judge the balance once they are gone.
   */
  zoneAllows(groupName: string, zone: string | undefined, alsoLeaving?: ReadonlyMap<string, number>): boolean {
    const zones = this.members.get(groupName);
    if (!zones || zones.size === 0) return true;
    if (zone === undefined || !zones.has(zone)) return false;
    const remaining = (name: string) => zones.get(name)!.size - (this.zonesLeaving.get(groupName)?.get(name) ?? 0) - (alsoLeaving?.get(name) ?? 0);
    const mine = remaining(zone);
    for (const other of zones.keys()) if (other !== zone && remaining(other) > mine) return false;
    return true;
  }

  /** Remaining instances of the group in a zone (for preferring the fullest zone). */
  zoneCount(groupName: string, zone: string | undefined): number {
    const ids = zone === undefined ? undefined : this.members.get(groupName)?.get(zone);
    return (ids?.size ?? 0) - (zone === undefined ? 0 : (this.zonesLeaving.get(groupName)?.get(zone) ?? 0));
  }

  take(groupName: string, units = 1, zone?: string, ec2InstanceId?: string): void {
    if (ec2InstanceId !== undefined) {
      // The same instance seen again (a retried plan, a second cluster listing it) leaves once.
      if (this.counted.has(ec2InstanceId)) return;
      this.counted.add(ec2InstanceId);
    }
    this.leaving.set(groupName, (this.leaving.get(groupName) ?? 0) + units);
    if (zone !== undefined) {
      let zones = this.zonesLeaving.get(groupName);
      if (!zones) this.zonesLeaving.set(groupName, (zones = new Map()));
      zones.set(zone, (zones.get(zone) ?? 0) + 1);
    }
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
  stillDraining: ReadonlyMap<string, ReadonlyMap<string, number>> = new Map(),
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
  const units = unitsOf(instance);
  const take = () => budget.take(groupName, units, zoneOf(instance), instance.ec2InstanceId);
  if (!isIdle(instance)) {
    const drainedAt = attributeTime(instance, DRAINED_AT_ATTRIBUTE, now) ?? now;
    if (now - drainedAt >= DRAIN_TIMEOUT_MINUTES * MINUTE) return { ...base, action: 'reactivate', reason: 'drain-timed-out' };
    // The group's minimum was raised since the drain started: there is no longer room for it.
    if (!budget.canRemove(groupName, units)) return { ...base, action: 'reactivate', reason: 'group-at-minimum' };
    take();
    return { ...base, action: 'wait', reason: 'tasks-remaining' };
  }
  if (!budget.canRemove(groupName, units)) return { ...base, action: 'reactivate', reason: 'group-at-minimum' };
  // Zones change while an instance drains (Auto Scaling launches in the zone with the fewest
  // instances, and the draining instance still counts there): terminating it now could leave its
  // zone two below another, and AZRebalance would then terminate a busy instance without a drain
  // (aws-behaviour.md §7). It goes back into service instead.
  if (!budget.zoneAllows(groupName, zoneOf(instance))) {
    // Unless another drain of this sweeper, still moving its tasks, is what keeps a fuller zone
    // full: that one's termination comes first, and this one waits for it instead of going back.
    if (!budget.zoneAllows(groupName, zoneOf(instance), stillDraining.get(groupName))) return { ...base, action: 'reactivate', reason: 'zone-balance' };
    take();
    return { ...base, action: 'wait', reason: 'zone-balance' };
  }
  take();
  return { ...base, action: 'terminate', reason: 'drained' };
}

/**
 * Whether a drained, idle instance must wait for its daemons before it is terminated (pure).
 * `unstoppedTasks`: its tasks not yet STOPPED, read just before acting (those ECS has told to stop
 * included); `terminationHook`: its group has a termination lifecycle hook, whose drainer waits for
 * the daemons itself; `drainedAt`: when this sweeper drained it, undefined for a drain of this run.
 */
export function daemonHold(input: {
  unstoppedTasks: number;
  terminationHook: boolean;
  drainedAt: number | undefined;
  now: number;
}): 'daemons-stopping' | undefined {
  if (input.terminationHook || input.unstoppedTasks === 0) return undefined;
  if (input.drainedAt !== undefined && input.now - input.drainedAt >= DAEMON_STOP_BOUND_MINUTES * MINUTE) return undefined;
  return 'daemons-stopping';
}

/** In-service drains still moving tasks, per group and zone: they leave their zones soon. */
function drainsByZone(instances: readonly SnapshotInstance[]): Map<string, Map<string, number>> {
  const byGroup = new Map<string, Map<string, number>>();
  for (const instance of instances) {
    const group = instance.group;
    const zone = zoneOf(instance);
    if (!group || group.lifecycleState !== 'InService' || zone === undefined) continue;
    let zones = byGroup.get(group.autoScalingGroupName);
    if (!zones) byGroup.set(group.autoScalingGroupName, (zones = new Map()));
    zones.set(zone, (zones.get(zone) ?? 0) + 1);
  }
  return byGroup;
}

const byArn = (a: SnapshotInstance, b: SnapshotInstance) =>
  a.containerInstanceArn < b.containerInstanceArn ? -1 : a.containerInstanceArn > b.containerInstanceArn ? 1 : 0;

const registeredTime = (instance: SnapshotInstance) => (instance.registeredAt ? Date.parse(instance.registeredAt) : 0) || 0;

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
  const unsized = tasks.filter((task) => !(task.cpu > 0 || task.memory > 0));
  const lump: TaskLoad = {
    taskArn: 'unsized-tasks',
    origin: 'service',
    cpu: Math.max(0, usedCpu - known.reduce((sum, task) => sum + task.cpu, 0)),
    memory: Math.max(0, usedMemory - known.reduce((sum, task) => sum + task.memory, 0)),
    ...(unsized.some((task) => task.gpu) ? { gpu: unsized.reduce((sum, task) => sum + (task.gpu ?? 0), 0) } : {}),
    ...(unsized.some((task) => task.eni) ? { eni: true } : {}),
    ...(unsized.some((task) => task.hostPorts) ? { hostPorts: [...new Set(unsized.flatMap((task) => task.hostPorts ?? []))].sort() } : {}),
  };
  return [...known, lump];
}

/** Whether `now` falls in one of the windows (UTC; a window past midnight belongs to its start day). */
export function inWindow(windows: readonly ScheduleWindow[] | undefined, now: number): boolean {
  if (!windows || windows.length === 0) return true;
  const date = new Date(now);
  const day = date.getUTCDay();
  const minute = date.getUTCHours() * 60 + date.getUTCMinutes();
  return windows.some((window) => {
    if (window.startMinute <= window.endMinute) {
      return window.days.includes(day) && minute >= window.startMinute && minute < window.endMinute;
    }
    return (window.days.includes(day) && minute >= window.startMinute) || (window.days.includes((day + 6) % 7) && minute < window.endMinute);
  });
}

/** The number of drains the disruption budget allows at once in a cluster of `size` instances. */
export function disruptionAllowance(settings: Pick<PlanSettings, 'maxDraining' | 'maxDrainingPercent'>, size: number): number {
  let allowed = Infinity;
  if (settings.maxDraining !== undefined) allowed = settings.maxDraining;
  if (settings.maxDrainingPercent !== undefined) allowed = Math.min(allowed, Math.floor((size * settings.maxDrainingPercent) / 100));
  return allowed;
}

/**
 * The task-shaped reserve, zone by zone: the rooms of the usable instances still in service and the
 * placement of the reserve tasks on them, kept so that a removal whose instance holds none of the
 * reserve needs no new placement (best fit makes the same choices without a room it never chose).
 */
class TaskReserve {
  private readonly rooms = new Map<string, { arns: string[]; rooms: Room[]; used: Set<string> | undefined }>();
  private readonly shapes: TaskShape[];

  constructor(
    instances: readonly SnapshotInstance[],
    reserve: readonly ReserveTasks[],
  ) {
    this.shapes = largestFirst(reserve.flatMap((entry) => Array.from({ length: entry.count }, () => strip(entry))));
    if (this.shapes.length === 0) return;
    const needs = needsOf(this.shapes);
    for (const instance of instances) {
      if (!isUsable(instance)) continue;
      const zone = zoneOf(instance) ?? 'unknown-zone';
      let entry = this.rooms.get(zone);
      if (!entry) this.rooms.set(zone, (entry = { arns: [], rooms: [], used: undefined }));
      entry.arns.push(instance.containerInstanceArn);
      entry.rooms.push(roomOf(instance, needs));
    }
  }

  get active(): boolean {
    return this.shapes.length > 0;
  }

  /** The placement of one zone's reserve, computed when needed: the instances it uses, or undefined when it does not fit. */
  private placement(zone: string): Set<string> | undefined {
    const entry = this.rooms.get(zone)!;
    if (entry.used === undefined) {
      const result = place(this.shapes, entry.rooms.map(copyRoom));
      entry.used = result.ok ? new Set(result.used.map((index) => entry.arns[index]!)) : new Set(['<does-not-fit>']);
    }
    return entry.used.has('<does-not-fit>') ? undefined : entry.used;
  }

  /** Whether every zone still holds the reserve after the instance leaves and its tasks move as `moves` says. */
  holdsWithout(instance: SnapshotInstance, moved?: { rooms: Map<string, Room> }): boolean {
    if (!this.active) return true;
    const zone = zoneOf(instance) ?? 'unknown-zone';
    for (const [name, entry] of this.rooms) {
      const changed = name === zone || (moved !== undefined && entry.arns.some((arn) => moved.rooms.has(arn)));
      if (!changed) {
        if (this.placement(name) === undefined) return false;
        continue;
      }
      const used = this.placement(name);
      // Already short of the reserve: no removal is allowed to make it worse.
      if (used === undefined) return false;
      if (!moved && !used.has(instance.containerInstanceArn)) continue;
      const rooms: Room[] = [];
      entry.arns.forEach((arn, index) => {
        if (arn !== instance.containerInstanceArn) rooms.push(moved?.rooms.get(arn) ?? entry.rooms[index]!);
      });
      if (!place(this.shapes, rooms.map(copyRoom)).ok) return false;
    }
    return true;
  }

  /** Records a removal (and the rooms its tasks took). */
  remove(instance: SnapshotInstance, moved?: { rooms: Map<string, Room> }): void {
    for (const entry of this.rooms.values()) {
      const index = entry.arns.indexOf(instance.containerInstanceArn);
      let changed = false;
      if (index >= 0) {
        entry.arns.splice(index, 1);
        entry.rooms.splice(index, 1);
        changed = true;
      }
      if (moved) {
        entry.arns.forEach((arn, at) => {
          const room = moved.rooms.get(arn);
          if (room) {
            entry.rooms[at] = room;
            changed = true;
          }
        });
      }
      if (changed) entry.used = undefined;
    }
  }
}

const strip = (entry: ReserveTasks): TaskShape => ({
  cpu: entry.cpu,
  memory: entry.memory,
  ...(entry.gpu ? { gpu: entry.gpu } : {}),
  ...(entry.eni ? { eni: true } : {}),
  ...(entry.hostPorts ? { hostPorts: entry.hostPorts } : {}),
});

/**
 * The scale-in plan of one cluster: which instances to take out of service now, a reason for every
 * other instance, and what to do with the instances this sweeper drained in earlier runs. Pure: the
 * same snapshot, settings, time and ledger always give the same plan.
 *
 * Order of preference among idle instances: the zone with the most instances of the group (so
 * removals keep zones balanced), then longest idle (the strongest evidence that the cluster does
 * not need it), then the oldest registration (it carries the oldest AMI and agent), then the ARN.
 *
 * `ledger`: the run's shared group state when the sweeper plans several clusters; a group that
 * spans clusters is then budgeted once. Without it, the plan budgets this cluster alone.
 */
export function planScaleIn(snapshot: ClusterSnapshot, settings: PlanSettings, now: number, ledger?: GroupBudget): ScaleInPlan {
  const budget = ledger ?? new GroupBudget(snapshot.groups);
  budget.observe(snapshot.groups, snapshot.instances);
  const skipped: ScaleInPlan['skipped'] = [];
  const selected: Selected[] = [];
  const skip = (instance: SnapshotInstance, reason: SkipReason) =>
    skipped.push({ containerInstanceArn: instance.containerInstanceArn, ec2InstanceId: instance.ec2InstanceId, reason });

  const instances = [...snapshot.instances].sort(byArn);

  // 1. Drains started by earlier runs come first: they already hold their group's budget. Empty
  // ones before those still moving tasks, so a finished drain is never undone for an unfinished one.
  // Finished ones in the fullest zones first, so that terminating one never waits on a sibling in a
  // shorter zone.
  const ownDrains = instances.filter(isOwnDrain);
  const moving = ownDrains.filter((instance) => !isIdle(instance));
  const empty = ownDrains
    .filter(isIdle)
    .map((instance) => ({ instance, zoneCount: budget.zoneCount(instance.group?.autoScalingGroupName ?? '', zoneOf(instance)) }))
    .sort((a, b) => b.zoneCount - a.zoneCount || byArn(a.instance, b.instance))
    .map((entry) => entry.instance);
  const stillDraining = drainsByZone(moving);
  const finishing = [...empty, ...moving].map((instance) => finishStep(instance, snapshot, budget, now, stillDraining));
  const consolidationInProgress = finishing.some((step) => step.action === 'wait' && step.reason === 'tasks-remaining');
  // Drains in progress hold the disruption budget until their instance is gone or set ACTIVE again.
  const drainingNow = finishing.filter((step) => step.action !== 'reactivate').length;
  const disruptionsLeft = () => disruptionAllowance(settings, instances.length) - drainingNow - selected.length;

  const free = freeCapacity(instances);
  const freeAfter = { ...free };
  const reserve = new TaskReserve(instances, settings.reserveTasks ?? []);

  // 2. Idle instances.
  const idle: SnapshotInstance[] = [];
  const busy: SnapshotInstance[] = [];
  for (const instance of instances) {
    if (isOwnDrain(instance)) continue;
    const reason = staticSkipReason(instance, snapshot.groups, settings.autoScalingGroups, settings.capacityProviderMode);
    if (reason) skip(instance, reason);
    else if (!isIdle(instance)) busy.push(instance);
    else if (now - idleSince(instance, now) < settings.minIdleMinutes * MINUTE) skip(instance, 'not-idle-long-enough');
    else idle.push(instance);
  }
  const since = new Map(idle.map((instance) => [instance, idleSince(instance, now)]));
  idle.sort((a, b) => since.get(a)! - since.get(b)! || registeredTime(a) - registeredTime(b) || byArn(a, b));

  /** The first rule a removal would break, in the order an operator would check them. */
  const blocker = (instance: SnapshotInstance, moving: readonly TaskLoad[] = []): SkipReason | undefined => {
    const groupName = instance.group!.autoScalingGroupName;
    const movedCpu = moving.reduce((sum, task) => sum + task.cpu, 0);
    const movedMemory = moving.reduce((sum, task) => sum + task.memory, 0);
    if (selected.length >= settings.maxRemovalsPerRun) return 'budget-used';
    if (disruptionsLeft() < 1) return 'disruption-budget';
    if (!budget.canRemove(groupName, unitsOf(instance))) return 'group-at-minimum';
    if (!budget.zoneAllows(groupName, zoneOf(instance))) return 'zone-balance';
    if (
      freeAfter.cpu - instance.remainingCpu - movedCpu < settings.minFreeCpu ||
      freeAfter.memory - instance.remainingMemory - movedMemory < settings.minFreeMemory
    ) {
      return 'reserve-would-break';
    }
    return undefined;
  };
  const remove = (instance: SnapshotInstance, entry: Selected, movedCpu = 0, movedMemory = 0) => {
    budget.take(entry.autoScalingGroupName, unitsOf(instance), zoneOf(instance), instance.ec2InstanceId);
    freeAfter.cpu -= instance.remainingCpu + movedCpu;
    freeAfter.memory -= instance.remainingMemory + movedMemory;
    selected.push(entry);
  };

  // Each round takes the best instance that breaks no rule; zone counts change with every removal,
  // so the preference is evaluated again. Rounds are bounded by maxRemovalsPerRun.
  const open = new Set(idle);
  for (;;) {
    let best: SnapshotInstance | undefined;
    let bestZoneCount = -1;
    for (const instance of open) {
      const zoneCount = budget.zoneCount(instance.group!.autoScalingGroupName, zoneOf(instance));
      if (best !== undefined && zoneCount <= bestZoneCount) continue;
      if (blocker(instance) !== undefined || !reserve.holdsWithout(instance)) continue;
      best = instance;
      bestZoneCount = zoneCount;
    }
    if (!best) break;
    open.delete(best);
    reserve.remove(best);
    remove(best, {
      containerInstanceArn: best.containerInstanceArn,
      ec2InstanceId: best.ec2InstanceId,
      autoScalingGroupName: best.group!.autoScalingGroupName,
      reason: 'idle',
      idleMinutes: Math.floor((now - idleSince(best, now)) / MINUTE),
    });
  }
  for (const instance of idle) if (open.has(instance)) skip(instance, blocker(instance) ?? 'reserve-would-break');

  // 3. Consolidation: at most one lightly used instance per run, the least used first, and only
  // when no earlier consolidation is still moving its tasks (so moves never cascade), inside the
  // schedule windows, and only after the instance has been underused long enough (anti-churn).
  const consolidation = settings.consolidate
    ? busy
        .filter((instance) => instance.workload !== undefined)
        .sort((a, b) => utilisation(a) - utilisation(b) || byArn(a, b))
        .slice(0, CONSOLIDATION_CANDIDATES_TRIED)
    : [];
  let consolidated = false;
  const tried = new Set<string>();
  const windowOpen = inWindow(settings.consolidationWindows, now);
  const afterMinutes = settings.consolidateAfterMinutes ?? 0;
  for (const instance of consolidation) {
    if (consolidated) break;
    tried.add(instance.containerInstanceArn);
    const groupName = instance.group!.autoScalingGroupName;
    const moving = tasksToMove(instance);
    const movedCpu = moving.reduce((sum, task) => sum + task.cpu, 0);
    const movedMemory = moving.reduce((sum, task) => sum + task.memory, 0);
    const underusedSince = attributeTime(instance, UNDERUSED_SINCE_ATTRIBUTE, now) ?? now;
    if (consolidationInProgress) {
      skip(instance, 'consolidation-in-progress');
      continue;
    }
    if (instance.workload!.nonDaemon.some((task) => task.origin === 'standalone')) {
      skip(instance, 'standalone-tasks');
      continue;
    }
    if (!windowOpen) {
      skip(instance, 'outside-consolidation-window');
      continue;
    }
    if (afterMinutes > 0 && (!isUnderused(instance, settings) || now - underusedSince < afterMinutes * MINUTE)) {
      skip(instance, 'not-underused-long-enough');
      continue;
    }
    const reason = blocker(instance, moving);
    if (reason) {
      skip(instance, reason);
      continue;
    }
    const taken = new Set([instance.containerInstanceArn, ...selected.map((entry) => entry.containerInstanceArn)]);
    const targets = instances.filter((other) => isUsable(other) && !taken.has(other.containerInstanceArn));
    const needs = needsOf(moving);
    const rooms = targets.map((target) => roomOf(target, needs));
    // Best fit, largest first. Placement constraints and strategies of services are not modelled;
    // a drain they block is undone after DRAIN_TIMEOUT_MINUTES.
    const placed = place(largestFirst(moving), rooms);
    if (!placed.ok) {
      skip(instance, placed.why === 'unknown' ? 'eni-limit-unknown' : 'tasks-do-not-fit');
      continue;
    }
    const moved = { rooms: new Map<string, Room>() };
    for (const index of new Set(placed.used)) moved.rooms.set(targets[index]!.containerInstanceArn, rooms[index]!);
    if (!reserve.holdsWithout(instance, moved)) {
      skip(instance, 'reserve-would-break');
      continue;
    }
    reserve.remove(instance, moved);
    consolidated = true;
    remove(
      instance,
      {
        containerInstanceArn: instance.containerInstanceArn,
        ec2InstanceId: instance.ec2InstanceId,
        autoScalingGroupName: groupName,
        reason: 'consolidate',
        tasksToMove: (instance.workload?.nonDaemon ?? []).map((task) => task.taskArn),
      },
      movedCpu,
      movedMemory,
    );
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
