import type { Group, LifecycleAction, LifecycleHook } from './model';
import type { WorldState } from './state';

/**
 * Auto Scaling sends an event to EventBridge whenever a lifecycle hook is invoked, whatever the
 * hook's notification target (docs/aws-behaviour.md §1.11); ECS's managed instance draining listens
 * to these (managed-draining.ts). The event id is the action's token, so emitting draws nothing
 * from the seeded random source and older scenarios keep their figures.
 * https://docs.aws.amazon.com/autoscaling/ec2/userguide/prepare-for-lifecycle-notifications.html
 */
export const TERMINATE_LIFECYCLE_ACTION = 'EC2 Instance-terminate Lifecycle Action';

export function announceLifecycleAction(world: WorldState, group: Group, hook: LifecycleHook, action: LifecycleAction): void {
  if (hook.transition !== 'autoscaling:EC2_INSTANCE_TERMINATING') return;
  world.emitFrom(
    'aws.autoscaling',
    TERMINATE_LIFECYCLE_ACTION,
    [group.arn],
    {
      Origin: 'AutoScalingGroup',
      Destination: 'EC2',
      LifecycleActionToken: action.token,
      AutoScalingGroupName: group.name,
      LifecycleHookName: hook.name,
      EC2InstanceId: action.instanceId,
      LifecycleTransition: hook.transition,
      ...(hook.metadata !== undefined ? { NotificationMetadata: hook.metadata } : {}),
    },
    action.token,
  );
}
