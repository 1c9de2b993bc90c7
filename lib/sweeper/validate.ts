import type { GroupView } from '../aws/autoscaling';
import { GroupBudget, isIdle, staticSkipReason, unitsOf } from './plan';
import type { FinishStep, PlanSettings, ScaleInPlan, Selected, SnapshotInstance } from './types';

/** The chosen instances read again just before acting, with every unstopped task they run. */
export interface FreshState {
  instances: ReadonlyMap<string, SnapshotInstance>;
  groups: Readonly<Record<string, GroupView>>;
}

export interface Dropped {
  containerInstanceArn: string;
  ec2InstanceId: string;
  reason: string;
}

export interface Recheck {
  terminate: FinishStep[];
  drain: Selected[];
  dropped: Dropped[];
}

/**
 * Re-check before acting (pure): every instance the plan chose is compared with its fresh state and
 * dropped when it changed in a way that matters — gone, no longer ACTIVE (or, for a finished drain,
 * no longer DRAINING), disconnected, moved to another group, protected, a task arrived, or its
 * group's minimum or desired capacity no longer leaves room. The group budget is counted again from
 * the fresh sizes, in the order the plan used. The rest of the cluster is not read again: the
 * reserve was checked on a snapshot a few seconds old.
 */
export function recheckPlan(
  plan: ScaleInPlan,
  fresh: FreshState,
  managedGroups: readonly string[],
  capacityProviderMode?: PlanSettings['capacityProviderMode'],
): Recheck {
  // Weights come from the fresh membership: the group's budget is in capacity units (aws-behaviour.md §7).
  const budget = new GroupBudget(fresh.groups);
  const units = (arn: string) => {
    const instance = fresh.instances.get(arn);
    return instance ? unitsOf(instance) : 1;
  };
  const dropped: Dropped[] = [];
  const drop = (entry: { containerInstanceArn: string; ec2InstanceId: string }, reason: string) =>
    dropped.push({ containerInstanceArn: entry.containerInstanceArn, ec2InstanceId: entry.ec2InstanceId, reason });

  for (const step of plan.finishing) {
    if (step.action === 'wait' && (step.reason === 'tasks-remaining' || step.reason === 'zone-balance') && step.autoScalingGroupName) {
      budget.take(step.autoScalingGroupName, units(step.containerInstanceArn));
    }
  }

  const terminate: FinishStep[] = [];
  for (const step of plan.finishing.filter((candidate) => candidate.action === 'terminate')) {
    const instance = fresh.instances.get(step.containerInstanceArn);
    const groupName = step.autoScalingGroupName ?? '';
    if (!instance) drop(step, 'gone');
    else if (instance.status !== 'DRAINING') drop(step, `status-${instance.status}`);
    else if (instance.group?.autoScalingGroupName !== groupName) drop(step, 'group-changed');
    else if (instance.group.lifecycleState !== 'InService') drop(step, 'not-in-service');
    else if (!isIdle(instance)) drop(step, 'busy');
    else if (!budget.canRemove(groupName, unitsOf(instance))) drop(step, 'group-at-minimum');
    else {
      budget.take(groupName, unitsOf(instance));
      terminate.push(step);
    }
  }

  const drain: Selected[] = [];
  for (const selected of plan.selected) {
    const instance = fresh.instances.get(selected.containerInstanceArn);
    if (!instance) {
      drop(selected, 'gone');
      continue;
    }
    const reason = staticSkipReason(instance, fresh.groups, managedGroups, capacityProviderMode);
    if (reason) drop(selected, reason);
    else if (instance.group?.autoScalingGroupName !== selected.autoScalingGroupName) drop(selected, 'group-changed');
    else if (selected.reason === 'idle' && !isIdle(instance)) drop(selected, 'busy');
    else if (selected.reason === 'consolidate' && !onlyPlannedTasks(instance, selected)) drop(selected, 'tasks-changed');
    else if (!budget.canRemove(selected.autoScalingGroupName, unitsOf(instance))) drop(selected, 'group-at-minimum');
    else {
      budget.take(selected.autoScalingGroupName, unitsOf(instance));
      drain.push(selected);
    }
  }
  return { terminate, drain, dropped };
}

/** A consolidation still holds: no standalone task and no task the plan did not fit elsewhere. */
function onlyPlannedTasks(instance: SnapshotInstance, selected: Selected): boolean {
  const planned = new Set(selected.tasksToMove ?? []);
  const tasks = instance.workload?.nonDaemon ?? [];
  return tasks.every((task) => task.origin !== 'standalone' && planned.has(task.taskArn));
}
