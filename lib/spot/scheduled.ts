import type { ContainerInstanceView } from '../aws/ecs';
import type { GroupInstanceView } from '../aws/autoscaling';
import { terminationUnderWay } from './undrain';

/**
 * What to do for an instance named by an AWS Health scheduled event whose window opens within the
 * lead time. Pure. In a group the function may act on: terminate it through the group without
 * lowering desired capacity, so the termination hook drains it and the group launches its
 * replacement (docs/aws-behaviour.md §1.8). Outside a group (or in one it may not touch): drain it.
 * Repeated Health notices find the instance Terminating or DRAINING and write nothing.
 */
export type ScheduledDecision =
  | { action: 'replace'; group: string }
  | { action: 'drain' }
  | {
      action: 'none';
      reason: 'not-a-container-instance' | 'termination-under-way' | 'not-in-service' | 'already-draining' | 'not-active' | 'dry-run';
    };

export function decideScheduled(
  instance: ContainerInstanceView | undefined,
  member: GroupInstanceView | undefined,
  groups: readonly string[],
  dryRun: boolean,
): ScheduledDecision {
  if (!instance) return { action: 'none', reason: 'not-a-container-instance' };
  const managedGroup = member && (groups.length === 0 || groups.includes(member.autoScalingGroupName));
  if (member && terminationUnderWay(member)) return { action: 'none', reason: 'termination-under-way' };
  if (managedGroup) {
    // Pending, Standby, warm pool: the group is not serving with it; nothing to replace yet.
    if (member.lifecycleState !== 'InService') return { action: 'none', reason: 'not-in-service' };
    if (dryRun) return { action: 'none', reason: 'dry-run' };
    return { action: 'replace', group: member.autoScalingGroupName };
  }
  if (instance.status === 'DRAINING') return { action: 'none', reason: 'already-draining' };
  if (instance.status !== 'ACTIVE') return { action: 'none', reason: 'not-active' };
  if (dryRun) return { action: 'none', reason: 'dry-run' };
  return { action: 'drain' };
}
