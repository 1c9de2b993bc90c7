import type { CapacityProviderView } from '../aws/capacity-providers';

/**
 * Groups whose ECS capacity provider has managed instance draining on: ECS keeps its own
 * termination hook on the group, drains the instance and completes that hook only once the tasks
 * are gone, and Auto Scaling waits for every hook (docs/aws-behaviour.md §3.5). A second drainer
 * adds writes and races, nothing else, so by default the drainer completes its own hook at once.
 */
export const MANAGED_DRAINING_MODES = ['defer', 'drain-anyway'] as const;
export type ManagedDrainingMode = (typeof MANAGED_DRAINING_MODES)[number];

/**
 * What the drainer knows about the group: `enabled` / `disabled` from its capacity provider (a
 * group without one is `disabled`), `unknown` when the read failed. Undefined: not read (later
 * rounds of a chain, or `drain-anyway`).
 */
export type ManagedDrainingView = 'enabled' | 'disabled' | 'unknown';

/**
 * Pure: whether the drain is left to ECS. Only a read that found managed draining on defers; a
 * failed read drains as before, which is safe with ECS draining too (DRAINING is idempotent, and
 * ECS's hook still holds the termination until its own drain is done).
 */
export function defersToManagedDraining(view: ManagedDrainingView | undefined, mode: ManagedDrainingMode | undefined): boolean {
  return view === 'enabled' && (mode ?? 'defer') === 'defer';
}

/** Pure: the view of one group from its cluster's capacity providers. */
export function managedDrainingOf(providers: readonly CapacityProviderView[], autoScalingGroupName: string): ManagedDrainingView {
  return providers.some((provider) => provider.autoScalingGroupName === autoScalingGroupName && provider.managedDraining) ? 'enabled' : 'disabled';
}

/**
 * The hook ECS adds to a group when its capacity provider has managed draining (the name the
 * cluster's `managed_draining` attachment gives, aws-behaviour.md §3.5). A group without it is not
 * drained by ECS, so its capacity providers need no read.
 */
export const ECS_MANAGED_DRAINING_HOOK = 'ecs-managed-draining-termination-hook';

export function hasManagedDrainingHook(groupHooks: readonly string[]): boolean {
  return groupHooks.includes(ECS_MANAGED_DRAINING_HOOK);
}
