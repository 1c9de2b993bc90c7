import type { GroupView } from '../../../lib/aws/autoscaling';
import { capacityProviderStandDown } from '../../../lib/sweeper/capacity-providers';

/** When the sweeper stands down in a capacity provider's group, and the reason it gives (docs/aws-behaviour.md §3.5). */
const group = (overrides: Partial<GroupView> = {}): GroupView => ({
  autoScalingGroupName: 'asg',
  autoScalingGroupArn: 'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:1:autoScalingGroupName/asg',
  minSize: 0,
  desiredCapacity: 2,
  maxSize: 4,
  ...overrides,
});
const provider = (scaling: boolean, protection: boolean, draining: boolean) => ({
  name: 'cp',
  autoScalingGroupName: 'asg',
  managedScaling: scaling,
  managedTerminationProtection: protection,
  managedDraining: draining,
});

describe('capacityProviderStandDown', () => {
  it.each<[string, GroupView | undefined, 'stand-down' | 'cooperate' | undefined, string | undefined]>([
    ['plain group', group(), 'stand-down', undefined],
    ['managed scaling', group({ ecsManaged: true, capacityProvider: provider(true, false, true) }), 'stand-down', 'managed-scaling'],
    ['managed scaling and termination protection: scaling first', group({ ecsManaged: true, capacityProvider: provider(true, true, true) }), undefined, 'managed-scaling'],
    ['managed termination protection alone', group({ ecsManaged: true, capacityProvider: provider(false, true, false) }), 'stand-down', 'managed-termination-protection'],
    ['managed draining alone: ECS only drains what is terminated', group({ ecsManaged: true, capacityProvider: provider(false, false, true) }), 'stand-down', undefined],
    ['tagged, providers not read: the tag decides', group({ ecsManaged: true }), 'stand-down', 'managed-by-capacity-provider'],
    ['cooperate', group({ ecsManaged: true, capacityProvider: provider(true, true, true) }), 'cooperate', undefined],
    ['unknown group', undefined, 'stand-down', undefined],
  ])('%s', (_name, view, mode, expected) => {
    expect(capacityProviderStandDown(view, mode)).toBe(expected);
  });
});
