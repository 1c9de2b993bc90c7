import { AwsApiError } from '../api';
import { liveMembers, refreshSurplus, type AutoScalingRules } from './autoscaling';
import type { Group, GroupInstance, InstanceRefresh } from './model';
import type { WorldState } from './state';
import { zoneCounts } from './zones';

/**
 * Instance refresh (StartInstanceRefresh), as AWS documents it (docs/aws-behaviour.md §3.2):
 * every instance the group had when the refresh started is replaced, in batches, while the group
 * keeps at least MinHealthyPercentage of its desired capacity InService and past its warmup, and
 * has at most MaxHealthyPercentage of it InService or pending.
 *
 * - MaxHealthyPercentage above 100 launches replacements first, up to that bound; old instances are
 *   terminated only as the new ones enter InService (launch hooks held them until then) and finish
 *   their warmup.
 * - At 100 it terminates first, as many as MinHealthyPercentage allows and at least one at a time,
 *   and the group launches the replacements.
 * - Terminations go through the group's termination lifecycle hooks, like any other.
 * https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-refresh-overview.html
 * https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-instance-maintenance-policy.html
 *
 * Simplifications: no checkpoints, skip matching, rollback, alarms or bake time; the instances to
 * replace are taken from the fullest zone first, then the oldest; desired capacity changes during a
 * refresh are followed as the group follows them.
 */
export interface RefreshSpec {
  groupName: string;
  /** 0–100, default 90. */
  minHealthyPercentage?: number;
  /** 100–200, default 100; at most 100 above the minimum. */
  maxHealthyPercentage?: number;
  /** Default 0 here (AWS defaults to the group's default instance warmup or health check grace period). */
  instanceWarmupSeconds?: number;
}

/** How often a refresh checks its group. */
export const REFRESH_TICK_MS = 5_000;



export function startInstanceRefresh(world: WorldState, autoScaling: AutoScalingRules, spec: RefreshSpec): InstanceRefresh {
  const group = world.groups.get(spec.groupName);
  if (!group) throw new AwsApiError('ValidationError', `AutoScalingGroup name not found - AutoScalingGroup ${spec.groupName} not found`, 400);
  if (group.refresh?.status === 'InProgress') {
    throw new AwsApiError('InstanceRefreshInProgress', `An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.`, 400);
  }
  const min = spec.minHealthyPercentage ?? 90;
  const max = spec.maxHealthyPercentage ?? 100;
  if (min < 0 || min > 100 || max < 100 || max > 200 || max - min > 100) {
    throw new AwsApiError('ValidationError', 'MinHealthyPercentage must be 0-100, MaxHealthyPercentage 100-200, at most 100 apart', 400);
  }
  const refresh: InstanceRefresh = {
    id: world.random.uuid(),
    groupName: group.name,
    startedAt: world.now(),
    minHealthyPercentage: min,
    maxHealthyPercentage: max,
    instanceWarmupMs: (spec.instanceWarmupSeconds ?? 0) * 1000,
    toReplace: new Set(liveMembers(group).map((member) => member.id)),
    status: 'InProgress',
    replaced: 0,
  };
  group.refresh = refresh;
  world.instanceRefreshes.push(refresh);
  world.record('group', 'instance refresh started', { group: group.name, instances: refresh.toReplace.size, minHealthyPercentage: min, maxHealthyPercentage: max });
  const tick = () => {
    if (refreshStep(world, autoScaling, group, refresh)) return;
    world.clock.schedule(world.now() + REFRESH_TICK_MS, tick);
  };
  autoScaling.requestGroupPass(group.name);
  world.clock.schedule(world.now() + REFRESH_TICK_MS, tick);
  return refresh;
}

/** One look at the group: terminates the old instances the healthy bound allows. True once the refresh is over. */
function refreshStep(world: WorldState, autoScaling: AutoScalingRules, group: Group, refresh: InstanceRefresh): boolean {
  const now = world.now();
  const members = liveMembers(group);
  // Old instances that left by other means (scale-in, Spot) need no replacing.
  for (const id of refresh.toReplace) if (!members.some((member) => member.id === id)) refresh.toReplace.delete(id);
  const warmedUp = (member: GroupInstance) =>
    member.lifecycleState === 'InService' && (member.inServiceAt === undefined || now - member.inServiceAt >= refresh.instanceWarmupMs);
  const healthy = members.filter(warmedUp).length;
  const settling = members.some((member) => !warmedUp(member)) || [...group.instances.values()].some((member) => member.lifecycleState.startsWith('Terminating'));
  if (refresh.toReplace.size === 0) {
    if (settling) return false;
    refresh.status = 'Successful';
    refresh.endedAt = now;
    world.record('group', 'instance refresh succeeded', { group: group.name, replaced: refresh.replaced, seconds: Math.round((now - refresh.startedAt) / 1000) });
    autoScaling.requestGroupPass(group.name);
    return true;
  }
  const minHealthy = Math.ceil((group.desiredCapacity * refresh.minHealthyPercentage) / 100);
  let allowed = healthy - minHealthy;
  // Without room to launch first, a refresh still replaces one instance at a time once nothing is settling.
  if (allowed < 1 && !settling && refreshSurplus(group) === 0) allowed = 1;
  if (allowed < 1) return false;
  const counts = zoneCounts(world, group);
  const zoneOf = (member: GroupInstance) => counts.get(world.ec2.get(member.id)?.az ?? '') ?? 0;
  const victims = members
    .filter((member) => refresh.toReplace.has(member.id) && member.lifecycleState === 'InService')
    .sort((a, b) => zoneOf(b) - zoneOf(a) || a.launchedAt - b.launchedAt || a.id.localeCompare(b.id))
    .slice(0, allowed);
  for (const victim of victims) {
    refresh.toReplace.delete(victim.id);
    refresh.replaced += 1;
    world.record('group', 'instance refresh replaces instance', { group: group.name, ec2InstanceId: victim.id });
    autoScaling.beginTermination(group, victim, 'instance-refresh');
  }
  return false;
}
