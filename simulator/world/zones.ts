import { AZS, type Cluster, type Group, type GroupInstance, type InstanceTypeOverride, type Task } from './model';
import type { WorldState } from './state';

/**
 * Availability Zones and instance weights of Auto Scaling groups (docs/aws-behaviour.md §7).
 *
 * - A group spans its zones; a launch goes to the zone with the fewest of the group's instances
 *   (Auto Scaling "attempts to distribute instances evenly between the Availability Zones").
 * - AZRebalance: when terminations leave one zone more than one instance above another, Auto Scaling
 *   launches in the short zone first and then terminates in the long one, choosing the victim by the
 *   default termination policy, busy or not; only a termination lifecycle hook gives anyone a chance
 *   to drain it.
 *   https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-benefits.html#AutoScalingBehavior.InstanceUsage
 * - Weighted mixed-instances groups: each instance type counts for its WeightedCapacity; MinSize,
 *   DesiredCapacity and MaxSize are capacity units.
 *   https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-mixed-instances-groups-instance-weighting.html
 *
 * Simplifications: zone balance is judged in instances, not capacity units; the instance type of a
 * launch follows the overrides' priority order (the first whose weight does not overshoot).
 */

/** The group's zones: its own list, else the Region's three. */
export const zonesOf = (group: Group): readonly string[] => group.zones ?? AZS;

/** Capacity units of one member (1 without weights). */
export const unitsOfMember = (member: GroupInstance): number => member.weight ?? 1;

/** Members that count towards capacity: launching (held by a launch hook too) or in service. */
export const inCapacity = (group: Group): GroupInstance[] =>
  [...group.instances.values()].filter((member) => member.lifecycleState === 'InService' || member.lifecycleState.startsWith('Pending'));

/** Capacity units launching or in service, leaving out an AZRebalance launch not yet matched by its termination. */
export function capacityUnits(group: Group): number {
  let units = 0;
  for (const member of inCapacity(group)) if (member.id !== group.rebalance?.launchedId) units += unitsOfMember(member);
  return units;
}

/** Launching or in-service instances of the group per zone (every zone of the group listed). */
export function zoneCounts(world: WorldState, group: Group): Map<string, number> {
  const counts = new Map(zonesOf(group).map((zone) => [zone, 0]));
  for (const member of inCapacity(group)) {
    const zone = world.ec2.get(member.id)?.az;
    if (zone !== undefined && counts.has(zone)) counts.set(zone, counts.get(zone)! + 1);
  }
  return counts;
}

/** The zone of the next launch: the one with the fewest instances, the group's zone order on ties. */
export function launchZone(world: WorldState, group: Group): string {
  const counts = [...zoneCounts(world, group)];
  return counts.reduce((best, entry) => (entry[1] < best[1] ? entry : best), counts[0] ?? [zonesOf(group)[0]!, 0])[0];
}

/**
 * The instance type of the next launch in a weighted group: the first override (priority order)
 * whose weight fits in the units still missing, else the lightest one.
 */
export function launchType(group: Group, missingUnits: number): InstanceTypeOverride | undefined {
  const overrides = group.mixedInstances;
  if (!overrides || overrides.length === 0) return undefined;
  return overrides.find((override) => override.weight <= missingUnits) ?? [...overrides].sort((a, b) => a.weight - b.weight)[0];
}

/**
 * The default termination policy among candidates: the zone with the most instances first, then the
 * instance closest to its next billing hour, then (standing in for "random") the instance id.
 * https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-termination-policies.html
 */
export function defaultTerminationOrder(world: WorldState, group: Group, candidates: readonly GroupInstance[]): GroupInstance[] {
  const counts = zoneCounts(world, group);
  const zoneCount = (member: GroupInstance) => counts.get(world.ec2.get(member.id)?.az ?? '') ?? 0;
  const pastHour = (member: GroupInstance) => (world.now() - member.launchedAt) % 3_600_000;
  return [...candidates].sort((a, b) => zoneCount(b) - zoneCount(a) || pastHour(b) - pastHour(a) || a.id.localeCompare(b.id));
}

/** Whether the group's zones differ by more than one instance, and the short and long zones. */
export function imbalance(world: WorldState, group: Group): { short: string; long: string } | undefined {
  const counts = [...zoneCounts(world, group)];
  if (counts.length < 2) return undefined;
  const short = counts.reduce((best, entry) => (entry[1] < best[1] ? entry : best));
  const long = counts.reduce((best, entry) => (entry[1] > best[1] ? entry : best));
  return long[1] - short[1] > 1 ? { short: short[0], long: long[0] } : undefined;
}

/** What an AZRebalance step needs from the Auto Scaling rules. */
export interface RebalanceActions {
  launch(group: Group, zone: string): string;
  terminate(group: Group, member: GroupInstance): void;
}

/**
 * One AZRebalance step of a group with AZRebalance on, run with every group pass. Only a settled
 * group rebalances (nothing launching or terminating); the launch comes first, and once it is in
 * service the long zone loses its instance chosen by the default termination policy, with no drain
 * (a termination hook, if any, still runs). Desired capacity does not change.
 */
export function rebalanceStep(world: WorldState, group: Group, actions: RebalanceActions): void {
  if (!group.azRebalance) return;
  const members = [...group.instances.values()];
  const progress = group.rebalance;
  if (progress) {
    const launched = group.instances.get(progress.launchedId);
    if (launched?.lifecycleState.startsWith('Pending')) return;
    group.rebalance = undefined;
    if (launched?.lifecycleState !== 'InService') return;
    const candidates = members.filter(
      (member) => member.lifecycleState === 'InService' && member.id !== launched.id && world.ec2.get(member.id)?.az === progress.fromZone,
    );
    const victim = defaultTerminationOrder(world, group, candidates)[0];
    const record = [...world.azRebalances].reverse().find((entry) => entry.launchedId === launched.id);
    if (!victim) return;
    if (record) {
      record.terminatedId = victim.id;
      record.terminatedIn = progress.fromZone;
    }
    world.record('group', 'AZRebalance: terminating in the long zone', { group: group.name, ec2InstanceId: victim.id, zone: progress.fromZone });
    actions.terminate(group, victim);
    return;
  }
  if (members.some((member) => member.lifecycleState !== 'InService')) return;
  const unbalanced = imbalance(world, group);
  if (!unbalanced) return;
  const causedBy = group.lastDeparture?.cause ?? 'unknown';
  const launchedId = actions.launch(group, unbalanced.short);
  group.rebalance = { launchedId, fromZone: unbalanced.long, causedBy };
  world.azRebalances.push({ at: world.now(), groupName: group.name, launchedIn: unbalanced.short, launchedId, causedBy });
  world.record('group', 'AZRebalance: launching in the short zone', { group: group.name, zone: unbalanced.short, causedBy });
}

/** The attribute the ECS agent gives every container instance: its Availability Zone. */
export const ZONE_ATTRIBUTE = 'ecs.availability-zone';

/**
 * Service tasks per zone, for placement: the service scheduler spreads a service's tasks over zones
 * first and over instances within a zone next, like the strategy
 * spread(attribute:ecs.availability-zone), spread(instanceId) that the ECS console gives a new
 * service ("AZ balanced spread") and that the developer guide shows as its first example.
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/strategy-examples.html
 * Zones count only where the cluster has an ACTIVE instance, so a zone without capacity does not
 * look like the emptiest one.
 */
export function serviceZoneSpread(cluster: Cluster, live: readonly Task[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const instance of cluster.instances.values()) {
    const zone = instance.attributes.get(ZONE_ATTRIBUTE);
    if (zone !== undefined && instance.status === 'ACTIVE') counts.set(zone, counts.get(zone) ?? 0);
  }
  for (const task of live) {
    const zone = cluster.instances.get(task.containerInstanceArn)?.attributes.get(ZONE_ATTRIBUTE);
    if (zone !== undefined) counts.set(zone, (counts.get(zone) ?? 0) + 1);
  }
  return counts;
}
