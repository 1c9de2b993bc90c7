import { daemonsNotRunningOn } from './ecs';
import type { Group, GroupInstance, InServiceEntry, LifecycleAction, LifecycleHook, LifecycleTransition } from './model';
import type { WorldState } from './state';

/**
 * Launch lifecycle hooks (docs/aws-behaviour.md §3.2, "Launch hooks"):
 *
 * - A group with `autoscaling:EC2_INSTANCE_LAUNCHING` hooks puts each instance it launches in
 *   `Pending:Wait` and starts one lifecycle action per launch hook, with the notification every
 *   hook gets (aws-behaviour.md §1.4). The EC2 instance boots meanwhile and its ECS agent registers
 *   as usual, so ECS can place tasks on it (daemon tasks first) while Auto Scaling still holds it.
 * - CONTINUE (completed, or the default result at a timeout) once every launch action of the
 *   instance ended: `Pending:Proceed`, then `InService`. ABANDON: the instance is terminated and
 *   the group launches a replacement.
 *   https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks-overview.html
 *
 * Whether an abandoned launch goes through the group's termination hooks is not documented
 * (UNVERIFIED): the world terminates it directly, the harsher reading, so any task ECS placed on it
 * meanwhile is killed and shows in the report.
 */
export const LAUNCHING: LifecycleTransition = 'autoscaling:EC2_INSTANCE_LAUNCHING';
export const TERMINATING: LifecycleTransition = 'autoscaling:EC2_INSTANCE_TERMINATING';

/** Pending:Wait → Pending:Proceed → InService takes this long once the last launch action ended. */
export const PROCEED_MS = 1_000;

export const hooksOf = (group: Group, transition: LifecycleTransition): LifecycleHook[] =>
  [...group.hooks.values()].filter((hook) => hook.transition === transition);

/** The fields of the notification Auto Scaling publishes for an action, in the order AWS sends them. */
export function notificationOf(
  hook: LifecycleHook,
  group: Group,
  member: GroupInstance,
  token: string,
  requestId: string,
  now: number,
  account: string,
): { message: Record<string, string>; subject: string } {
  const launching = hook.transition === LAUNCHING;
  // Real messages carry Origin and Destination: EC2 → AutoScalingGroup for a launch, the reverse for a
  // termination (docs/aws-behaviour.md §1.4).
  const message: Record<string, string> = {
    Origin: launching ? 'EC2' : 'AutoScalingGroup',
    LifecycleHookName: hook.name,
    Destination: launching ? 'AutoScalingGroup' : 'EC2',
    AccountId: account,
    RequestId: requestId,
    LifecycleTransition: hook.transition,
    AutoScalingGroupName: group.name,
    Service: 'AWS Auto Scaling',
    Time: new Date(now).toISOString(),
    EC2InstanceId: member.id,
    LifecycleActionToken: token,
  };
  if (hook.metadata !== undefined) message.NotificationMetadata = hook.metadata;
  const subject = `Auto Scaling:  Lifecycle action '${launching ? 'LAUNCHING' : 'TERMINATING'}' for instance ${member.id} in progress.`;
  return { message, subject };
}

/**
 * What an instance's launch action ending means for it: `none` while another launch action of the
 * instance is still open (CONTINUE waits for it), `proceed` to InService, `abandon` to terminate.
 * A launch whose EC2 instance is already gone (a Spot reclaim while it waited) is abandoned.
 */
export function launchOutcome(world: WorldState, action: LifecycleAction, result: 'CONTINUE' | 'ABANDON'): 'none' | 'proceed' | 'abandon' {
  const membership = world.groupOf(action.instanceId);
  if (!membership || membership.instance.lifecycleState !== 'Pending:Wait') return 'none';
  const ec2 = world.ec2.get(action.instanceId);
  if (result === 'ABANDON' || !ec2 || (ec2.state !== 'pending' && ec2.state !== 'running')) return 'abandon';
  const open = [...world.lifecycleActions.values()].some((other) => other.instanceId === action.instanceId && other.state === 'active');
  return open ? 'none' : 'proceed';
}

/**
 * The instance enters InService: recorded with what ECS knew of it then, so a report can tell
 * whether a launch hook let it in before its container instance was ACTIVE, connected and running
 * every daemon it should run.
 */
export function enterService(world: WorldState, group: Group, member: GroupInstance): InServiceEntry {
  member.lifecycleState = 'InService';
  member.inServiceAt = world.now();
  const instance = world.containerInstanceOf(member.id);
  const containerInstance: InServiceEntry['containerInstance'] = !instance || instance.status === 'INACTIVE'
    ? 'none'
    : instance.status !== 'ACTIVE'
      ? 'other-status'
      : !instance.agentConnected
        ? 'agent-disconnected'
        : 'ACTIVE';
  const entry: InServiceEntry = {
    at: world.now(),
    ec2InstanceId: member.id,
    groupName: group.name,
    launchHooks: hooksOf(group, LAUNCHING).length,
    containerInstance,
    daemonsNotRunning: instance && containerInstance === 'ACTIVE' ? daemonsNotRunningOn(world, instance) : [],
  };
  world.inService.push(entry);
  world.record('group', 'instance InService', { group: group.name, ec2InstanceId: member.id, containerInstance, daemonsNotRunning: entry.daemonsNotRunning.length });
  return entry;
}
