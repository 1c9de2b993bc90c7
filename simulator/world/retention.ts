import type { Group, GroupInstance } from './model';
import type { WorldState } from './state';

/**
 * Instance lifecycle policies (docs/aws-behaviour.md §3.4): with the retention trigger
 * `TerminateHookAbandon: retain`, an instance whose termination lifecycle action ends in ABANDON
 * (CompleteLifecycleAction with ABANDON, or a heartbeat or global timeout whose default result is
 * ABANDON) is not terminated. It goes through Terminating:Proceed to Terminating:Retained, keeps
 * running (its container instance, DRAINING or not, stays registered), no longer counts toward
 * desired capacity, so the group launches a replacement, and stays until someone calls
 * TerminateInstanceInAutoScalingGroup. A CONTINUE never retains.
 * https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-lifecycle-policy.html
 * https://docs.aws.amazon.com/autoscaling/ec2/userguide/configure-instance-retention.html
 * https://docs.aws.amazon.com/autoscaling/ec2/userguide/manage-retained-instances.html
 *
 * Modelled choices (UNVERIFIED): the instance spends one second in Terminating:Proceed; terminating
 * a retained instance runs no lifecycle hook again and does not change desired capacity.
 */
export const RETAINED_STATE = 'Terminating:Retained';
const PROCEED_BEFORE_RETAINED_MS = 1_000;

export function retainsOnAbandon(group: Group): boolean {
  return group.instanceLifecyclePolicy?.retentionTriggers.terminateHookAbandon === 'retain';
}

/** Keeps the abandoned instance; `replace` asks the group for a pass (it launches the replacement). */
export function retain(world: WorldState, group: Group, member: GroupInstance, replace: () => void): void {
  member.lifecycleState = 'Terminating:Proceed';
  world.pendingCause.delete(member.id);
  world.clock.schedule(world.now() + PROCEED_BEFORE_RETAINED_MS, () => {
    if (member.lifecycleState !== 'Terminating:Proceed') return;
    member.lifecycleState = RETAINED_STATE;
    world.retainedInstances.push({ at: world.now(), ec2InstanceId: member.id, groupName: group.name });
    world.record('group', 'instance retained', { group: group.name, ec2InstanceId: member.id });
  });
  replace();
}

/** TerminateInstanceInAutoScalingGroup on a retained instance: it goes now, `terminate` does the rest. */
export function terminateRetained(world: WorldState, group: Group, member: GroupInstance, terminate: () => void): void {
  const record = world.retainedInstances.find((entry) => entry.ec2InstanceId === member.id && entry.terminatedAt === undefined);
  if (record) record.terminatedAt = world.now();
  world.record('group', 'retained instance terminated', { group: group.name, ec2InstanceId: member.id });
  world.pendingCause.set(member.id, 'terminate-api');
  terminate();
}
