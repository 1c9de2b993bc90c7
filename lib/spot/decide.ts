import type { ContainerInstanceView } from '../aws/ecs';

/**
 * What to do with one container instance that should stop taking tasks.
 * Pure: the same view and flags always give the same decision.
 */
export type DrainDecision =
  | { action: 'drain'; reason: 'active' }
  | { action: 'none'; reason: 'not-a-container-instance' | 'already-draining' | 'not-active' | 'dry-run' };

export function decideDrain(instance: ContainerInstanceView | undefined, dryRun: boolean): DrainDecision {
  if (!instance) return { action: 'none', reason: 'not-a-container-instance' };
  if (instance.status === 'DRAINING') return { action: 'none', reason: 'already-draining' };
  // Only ACTIVE instances can be set to DRAINING; REGISTERING, DEREGISTERING and the like are refused by ECS.
  if (instance.status !== 'ACTIVE') return { action: 'none', reason: 'not-active' };
  if (dryRun) return { action: 'none', reason: 'dry-run' };
  return { action: 'drain', reason: 'active' };
}
