import type { ContainerInstanceView } from '../aws/ecs';
import type { GroupInstanceView } from '../aws/autoscaling';
import { UNDOABLE, readRecord } from './record';

/**
 * What to do for an instance that is `running` again. Pure. The drain is undone only when this
 * function started it (the record), for a reason an instance survives, and no termination is under
 * way (the group is not terminating it).
 */
export type UndrainDecision =
  | { action: 'undrain' }
  /** ACTIVE already (undone before, a retry) with the record still there: remove the record only. */
  | { action: 'clear-record' }
  | {
      action: 'none';
      reason: 'not-a-container-instance' | 'not-drained-by-suite' | 'termination-drain' | 'not-draining' | 'termination-under-way' | 'dry-run';
    };

/** Lifecycle states in which the group is taking the instance away (or has let it go). */
export function terminationUnderWay(member: GroupInstanceView | undefined): boolean {
  if (!member) return false;
  return member.lifecycleState.startsWith('Terminating') || member.lifecycleState === 'Terminated' || member.lifecycleState.startsWith('Detach');
}

export function decideUndrain(instance: ContainerInstanceView | undefined, member: GroupInstanceView | undefined, dryRun: boolean): UndrainDecision {
  if (!instance) return { action: 'none', reason: 'not-a-container-instance' };
  const record = readRecord(instance.attributes);
  if (!record) return { action: 'none', reason: 'not-drained-by-suite' };
  if (!UNDOABLE.has(record.reason)) return { action: 'none', reason: 'termination-drain' };
  if (terminationUnderWay(member)) return { action: 'none', reason: 'termination-under-way' };
  if (dryRun) return { action: 'none', reason: 'dry-run' };
  if (instance.status === 'ACTIVE') return { action: 'clear-record' };
  if (instance.status !== 'DRAINING') return { action: 'none', reason: 'not-draining' };
  return { action: 'undrain' };
}
