import type { GroupView } from '../aws/autoscaling';
import type { PlanSettings, SkipReason } from './types';

/**
 * Whether the sweeper stands down in a group because ECS manages it through a capacity provider
 * (docs/aws-behaviour.md §3.5), and why. Managed scaling target-tracks the group's desired
 * capacity and scales in instances without tasks itself; managed termination protection protects
 * instances that run tasks: removing instances there fights ECS. Managed draining alone does not:
 * ECS then only drains what is terminated, the sweeper's terminations included.
 *
 * The settings come from the cluster's capacity providers when they were read; otherwise from the
 * group's `AmazonECSManaged` tag, which ECS adds to a capacity provider's group whatever its
 * settings (the cautious reading, and the sweeper's earlier one).
 */
export function capacityProviderStandDown(group: GroupView | undefined, mode: PlanSettings['capacityProviderMode']): SkipReason | undefined {
  if (mode === 'cooperate' || !group) return undefined;
  const provider = group.capacityProvider;
  if (provider) {
    if (provider.managedScaling) return 'managed-scaling';
    if (provider.managedTerminationProtection) return 'managed-termination-protection';
    return undefined;
  }
  return group.ecsManaged ? 'managed-by-capacity-provider' : undefined;
}
