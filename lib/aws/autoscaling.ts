import {
  CompleteLifecycleActionCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeLifecycleHooksCommand,
  DetachInstancesCommand,
  RecordLifecycleActionHeartbeatCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  paginateDescribeAutoScalingGroups,
  type AutoScalingClient,
} from '@aws-sdk/client-auto-scaling';
import { NonActionableError, isNoActiveLifecycleAction, isValidationError } from '../errors';
import type { CapacityProviderView } from './capacity-providers';
import { chunk } from './batch';

/** AWS limits (botocore autoscaling model): docs/aws-behaviour.md §3.2. */
export const DESCRIBE_AUTO_SCALING_INSTANCES_BATCH = 50;
export const DESCRIBE_AUTO_SCALING_GROUPS_BATCH = 50;

export interface GroupInstanceView {
  instanceId: string;
  autoScalingGroupName: string;
  /** InService, Terminating:Wait, Terminating:Proceed, … */
  lifecycleState: string;
  protectedFromScaleIn: boolean;
  healthStatus: string;
  availabilityZone?: string;
  /** The instance's weight in capacity units when the group uses instance weights. */
  weightedCapacity?: number;
}

export interface GroupView {
  autoScalingGroupName: string;
  autoScalingGroupArn: string;
  minSize: number;
  desiredCapacity: number;
  maxSize: number;
  /**
   * The group carries the `AmazonECSManaged` tag, which ECS adds to the group of a capacity provider
   * with managed scaling: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/asg-capacity-providers-create-auto-scaling-group.html
   */
  ecsManaged?: boolean;
  /** New instances start protected from scale in (managed termination protection requires it). */
  newInstancesProtected?: boolean;
  /**
   * Its instance lifecycle policy retains instances whose termination action is abandoned
   * (`TerminateHookAbandon: retain`, docs/aws-behaviour.md §3.4).
   */
  retainsAbandoned?: boolean;
  /** The settings of the capacity provider bound to it, when the sweeper read them (lib/aws/capacity-providers.ts). */
  capacityProvider?: CapacityProviderView;
  /** Every instance of the group, when described with its instances (zone balance counts them all). */
  members?: GroupMemberView[];
}

export interface GroupMemberView {
  instanceId: string;
  availabilityZone?: string;
  lifecycleState: string;
  weightedCapacity?: number;
}

export interface LifecycleHookView {
  autoScalingGroupName: string;
  lifecycleHookName: string;
  heartbeatTimeoutSeconds: number;
  globalTimeoutSeconds: number;
  defaultResult: string;
}

export type LifecycleResult = 'CONTINUE' | 'ABANDON';

/**
 * DescribeAutoScalingInstances, 50 ids per call, every page. Unknown ids are silently left out by
 * AWS, so an instance missing from the result is not in any group (or already gone).
 */
export async function describeGroupInstances(
  autoScaling: AutoScalingClient,
  instanceIds: readonly string[],
): Promise<Map<string, GroupInstanceView>> {
  const found = new Map<string, GroupInstanceView>();
  for (const batch of chunk([...new Set(instanceIds)], DESCRIBE_AUTO_SCALING_INSTANCES_BATCH)) {
    let nextToken: string | undefined;
    do {
      const response = await autoScaling.send(
        new DescribeAutoScalingInstancesCommand({
          InstanceIds: batch,
          MaxRecords: DESCRIBE_AUTO_SCALING_INSTANCES_BATCH,
          ...(nextToken ? { NextToken: nextToken } : {}),
        }),
      );
      for (const instance of response.AutoScalingInstances ?? []) {
        if (!instance.InstanceId) continue;
        found.set(instance.InstanceId, {
          instanceId: instance.InstanceId,
          autoScalingGroupName: instance.AutoScalingGroupName ?? '',
          lifecycleState: instance.LifecycleState ?? 'Unknown',
          protectedFromScaleIn: instance.ProtectedFromScaleIn ?? false,
          healthStatus: instance.HealthStatus ?? 'Unknown',
          ...(instance.AvailabilityZone ? { availabilityZone: instance.AvailabilityZone } : {}),
          ...weight(instance.WeightedCapacity),
        });
      }
      nextToken = response.NextToken;
    } while (nextToken);
  }
  return found;
}

/** WeightedCapacity is a string of 1–999 (AutoScalingInstanceDetails); anything else means no weight. */
function weight(raw: string | undefined): { weightedCapacity?: number } {
  const value = raw === undefined ? NaN : Number(raw);
  return Number.isInteger(value) && value >= 1 ? { weightedCapacity: value } : {};
}

/** DescribeAutoScalingGroups for the named groups (without their instance lists), every page. */
export async function describeGroups(
  autoScaling: AutoScalingClient,
  groupNames: readonly string[],
  options: { includeInstances?: boolean } = {},
): Promise<Map<string, GroupView>> {
  const groups = new Map<string, GroupView>();
  for (const batch of chunk([...new Set(groupNames)], DESCRIBE_AUTO_SCALING_GROUPS_BATCH)) {
    const pages = paginateDescribeAutoScalingGroups(
      { client: autoScaling },
      // Instance lists make the call slower and easier to throttle: only when the caller needs them.
      { AutoScalingGroupNames: batch, IncludeInstances: options.includeInstances === true, MaxRecords: 100 },
    );
    for await (const page of pages) {
      for (const group of page.AutoScalingGroups ?? []) {
        if (!group.AutoScalingGroupName) continue;
        groups.set(group.AutoScalingGroupName, {
          autoScalingGroupName: group.AutoScalingGroupName,
          autoScalingGroupArn: group.AutoScalingGroupARN ?? '',
          minSize: group.MinSize ?? 0,
          desiredCapacity: group.DesiredCapacity ?? 0,
          maxSize: group.MaxSize ?? 0,
          ...((group.Tags ?? []).some((tag) => tag.Key === 'AmazonECSManaged') ? { ecsManaged: true } : {}),
          ...(group.NewInstancesProtectedFromScaleIn ? { newInstancesProtected: true } : {}),
          ...(group.InstanceLifecyclePolicy?.RetentionTriggers?.TerminateHookAbandon === 'retain' ? { retainsAbandoned: true } : {}),
          ...(options.includeInstances === true
            ? {
                members: (group.Instances ?? [])
                  .filter((member) => member.InstanceId)
                  .map((member) => ({
                    instanceId: member.InstanceId!,
                    ...(member.AvailabilityZone ? { availabilityZone: member.AvailabilityZone } : {}),
                    lifecycleState: member.LifecycleState ?? 'Unknown',
                    ...weight(member.WeightedCapacity),
                  })),
              }
            : {}),
        });
      }
    }
  }
  return groups;
}

export async function describeLifecycleHook(
  autoScaling: AutoScalingClient,
  autoScalingGroupName: string,
  lifecycleHookName: string,
): Promise<{ hook?: LifecycleHookView; groupHooks: string[] }> {
  // Every hook of the group (at most 50) in the same one call: whether ECS's managed-draining hook
  // is there too decides whether the capacity providers are read (lib/lifecycle/capacity-reads.ts).
  const response = await autoScaling.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: autoScalingGroupName }));
  const groupHooks = (response.LifecycleHooks ?? []).map((candidate) => candidate.LifecycleHookName ?? '').filter(Boolean);
  const hook = response.LifecycleHooks?.find((candidate) => candidate.LifecycleHookName === lifecycleHookName);
  if (!hook) return { groupHooks };
  const heartbeat = hook.HeartbeatTimeout ?? 3600;
  return {
    groupHooks,
    hook: {
      autoScalingGroupName,
      lifecycleHookName,
      heartbeatTimeoutSeconds: heartbeat,
      // Global timeout: min(48 h, 100 × heartbeat timeout) (aws-behaviour.md §3.2).
      globalTimeoutSeconds: hook.GlobalTimeout ?? Math.min(172_800, 100 * heartbeat),
      defaultResult: hook.DefaultResult ?? 'ABANDON',
    },
  };
}

/**
 * The group's hooks on the terminating transition (DescribeLifecycleHooks without names returns
 * every hook of the group, at most 50 per group).
 */
export async function describeTerminationHooks(autoScaling: AutoScalingClient, autoScalingGroupName: string): Promise<LifecycleHookView[]> {
  const response = await autoScaling.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: autoScalingGroupName }));
  return (response.LifecycleHooks ?? [])
    .filter((hook) => hook.LifecycleTransition === 'autoscaling:EC2_INSTANCE_TERMINATING' && hook.LifecycleHookName)
    .map((hook) => {
      const heartbeat = hook.HeartbeatTimeout ?? 3600;
      return {
        autoScalingGroupName,
        lifecycleHookName: hook.LifecycleHookName!,
        heartbeatTimeoutSeconds: heartbeat,
        globalTimeoutSeconds: hook.GlobalTimeout ?? Math.min(172_800, 100 * heartbeat),
        defaultResult: hook.DefaultResult ?? 'ABANDON',
      };
    });
}

export interface LifecycleActionRef {
  autoScalingGroupName: string;
  lifecycleHookName: string;
  instanceId: string;
  lifecycleActionToken?: string;
}

function actionIdentity(ref: LifecycleActionRef) {
  return {
    AutoScalingGroupName: ref.autoScalingGroupName,
    LifecycleHookName: ref.lifecycleHookName,
    // The token identifies this very action; the instance id is the fallback when there is none.
    ...(ref.lifecycleActionToken ? { LifecycleActionToken: ref.lifecycleActionToken } : { InstanceId: ref.instanceId }),
  };
}

/**
 * Completes a lifecycle action. An action that is already complete, expired or unknown answers
 * `ValidationError` "No active Lifecycle Action found …": the work is over, so that is reported as
 * 'no-active-action', not thrown (aws-behaviour.md §3.2).
 */
export async function completeLifecycleAction(
  autoScaling: AutoScalingClient,
  ref: LifecycleActionRef,
  result: LifecycleResult,
): Promise<'completed' | 'no-active-action'> {
  try {
    await autoScaling.send(new CompleteLifecycleActionCommand({ ...actionIdentity(ref), LifecycleActionResult: result }));
    return 'completed';
  } catch (error) {
    if (isNoActiveLifecycleAction(error)) return 'no-active-action';
    throw error;
  }
}

/** Restarts the hook's heartbeat timeout; 'no-active-action' when the action is over. */
export async function recordLifecycleHeartbeat(
  autoScaling: AutoScalingClient,
  ref: LifecycleActionRef,
): Promise<'recorded' | 'no-active-action'> {
  try {
    await autoScaling.send(new RecordLifecycleActionHeartbeatCommand(actionIdentity(ref)));
    return 'recorded';
  } catch (error) {
    if (isNoActiveLifecycleAction(error)) return 'no-active-action';
    throw error;
  }
}

/**
 * Terminates an instance and lowers the group's desired capacity, so no replacement is launched.
 * It goes through the group's termination lifecycle hooks. Refusals that a retry cannot fix (the
 * group is at its minimum, the instance is in no group) become NonActionableError.
 */
export async function terminateInstanceInGroup(autoScaling: AutoScalingClient, instanceId: string): Promise<void> {
  await finalOnRefusal(
    autoScaling.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: instanceId, ShouldDecrementDesiredCapacity: true })),
    `termination of ${instanceId}`,
  );
}

/**
 * Terminates an instance through its group WITHOUT lowering desired capacity: the group runs its
 * termination lifecycle hooks and launches a replacement (docs/aws-behaviour.md §1.8). Refusals a
 * retry cannot fix (the instance is in no group) become NonActionableError.
 */
export async function replaceInstanceInGroup(autoScaling: AutoScalingClient, instanceId: string): Promise<void> {
  await finalOnRefusal(
    autoScaling.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: instanceId, ShouldDecrementDesiredCapacity: false })),
    `replacement of ${instanceId}`,
  );
}

/**
 * Detaches instances from their group WITHOUT lowering desired capacity: the group launches their
 * replacements at once, and the detached instances skip every lifecycle hook (docs/aws-behaviour.md
 * §1.8). At most 20 per call. Refusals a retry cannot fix (an instance no longer InService or no
 * longer in the group) become NonActionableError.
 */
export async function detachForReplacement(autoScaling: AutoScalingClient, group: string, instanceIds: readonly string[]): Promise<void> {
  await finalOnRefusal(
    autoScaling.send(new DetachInstancesCommand({ AutoScalingGroupName: group, InstanceIds: [...instanceIds], ShouldDecrementDesiredCapacity: false })),
    `detach of ${instanceIds.join(', ')} from ${group}`,
  );
}

/** Auto Scaling's ValidationError is a refusal no retry fixes: NonActionableError. */
async function finalOnRefusal(call: Promise<unknown>, what: string): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (isValidationError(error)) throw new NonActionableError(`${what} refused: ${(error as Error).message}`, { cause: error });
    throw error;
  }
}
