import { AwsApiError, type ApiInput, type ApiOutput } from '../api';
import { chunkLimit, paginate, readBoolean, readInteger, readString, readStrings } from './input';
import type { Group, GroupInstance, LifecycleAction } from './model';
import type { Operation, RuledWorld as World } from './rules';
import { unitsOfMember, zonesOf } from './zones';

/**
 * Auto Scaling operations with the limits and errors of aws-behaviour.md §3.2: every refusal is a
 * `ValidationError` (HTTP 400) with the message AWS uses.
 */
const VALIDATION = 'ValidationError';

function validation(message: string): AwsApiError {
  return new AwsApiError(VALIDATION, message, 400);
}

function maxRecords(input: ApiInput, max: number, fallback: number): number {
  const value = readInteger(input, 'MaxRecords', VALIDATION);
  if (value === undefined) return fallback;
  if (value < 1 || value > max) throw validation(`MaxRecords must be between 1 and ${max}`);
  return value;
}

function instanceOutput(world: World, group: Group, member: GroupInstance, withGroup: boolean): ApiOutput {
  const ec2 = world.ec2.get(member.id);
  return {
    InstanceId: member.id,
    InstanceType: ec2?.instanceType,
    ...(withGroup ? { AutoScalingGroupName: group.name } : {}),
    AvailabilityZone: ec2?.az,
    LifecycleState: member.lifecycleState,
    HealthStatus: withGroup ? member.healthStatus.toUpperCase() : member.healthStatus,
    ProtectedFromScaleIn: member.protectedFromScaleIn,
    // Reported for groups with instance weights only, as a string (AutoScalingInstanceDetails).
    ...(group.mixedInstances ? { WeightedCapacity: String(member.weight ?? 1) } : {}),
    LaunchTemplate: { LaunchTemplateId: 'lt-0123456789abcdef0', LaunchTemplateName: `${group.name}-template`, Version: '1' },
  };
}

const describeAutoScalingInstances: Operation = (world, input) => {
  const ids = readStrings(input, 'InstanceIds', VALIDATION);
  chunkLimit(ids, 50, 'InstanceIds', VALIDATION);
  const size = maxRecords(input, 50, 50);
  const members: { group: Group; member: GroupInstance }[] = [];
  if (ids) {
    // Unknown ids are silently left out (aws-behaviour.md §3.2).
    for (const id of ids) {
      const found = world.groupOf(id);
      if (found) members.push({ group: found.group, member: found.instance });
    }
  } else {
    for (const group of world.groups.values()) for (const member of group.instances.values()) members.push({ group, member });
  }
  const { page, nextToken } = paginate(members, size, readString(input, 'NextToken', VALIDATION), 'InvalidNextToken');
  return {
    AutoScalingInstances: page.map(({ group, member }) => instanceOutput(world, group, member, true)),
    ...(nextToken ? { NextToken: nextToken } : {}),
  };
};

const describeAutoScalingGroups: Operation = (world, input) => {
  const names = readStrings(input, 'AutoScalingGroupNames', VALIDATION);
  const size = maxRecords(input, 100, 50);
  const includeInstances = readBoolean(input, 'IncludeInstances', VALIDATION) ?? true;
  if (input.Filters !== undefined && Array.isArray(input.Filters) && input.Filters.length > 0) {
    throw validation('Filters are not supported by this simulator');
  }
  const groups = [...world.groups.values()].filter((group) => !names || names.includes(group.name));
  const { page, nextToken } = paginate(groups, size, readString(input, 'NextToken', VALIDATION), 'InvalidNextToken');
  return {
    AutoScalingGroups: page.map((group) => ({
      AutoScalingGroupName: group.name,
      AutoScalingGroupARN: group.arn,
      MinSize: group.minSize,
      MaxSize: group.maxSize,
      DesiredCapacity: group.desiredCapacity,
      DefaultCooldown: 300,
      AvailabilityZones: [...zonesOf(group)],
      HealthCheckType: 'EC2',
      HealthCheckGracePeriod: 300,
      CreatedTime: new Date(group.createdAt),
      NewInstancesProtectedFromScaleIn: false,
      Instances: includeInstances ? [...group.instances.values()].map((member) => instanceOutput(world, group, member, false)) : [],
      Tags: group.tags.map((tag) => ({
        ResourceId: group.name,
        ResourceType: 'auto-scaling-group',
        Key: tag.key,
        Value: tag.value,
        PropagateAtLaunch: true,
      })),
      TerminationPolicies: ['Default'],
      ...(group.instanceLifecyclePolicy
        ? { InstanceLifecyclePolicy: { RetentionTriggers: { TerminateHookAbandon: group.instanceLifecyclePolicy.retentionTriggers.terminateHookAbandon } } }
        : {}),
    })),
    ...(nextToken ? { NextToken: nextToken } : {}),
  };
};

function groupNamed(world: World, input: ApiInput): Group {
  const name = readString(input, 'AutoScalingGroupName', VALIDATION, true)!;
  const group = world.groups.get(name);
  if (!group) throw validation(`Group ${name} not found`);
  return group;
}

const describeLifecycleHooks: Operation = (world, input) => {
  const group = groupNamed(world, input);
  const names = readStrings(input, 'LifecycleHookNames', VALIDATION);
  const hooks = [...group.hooks.values()].filter((hook) => !names || names.includes(hook.name));
  return {
    LifecycleHooks: hooks.map((hook) => ({
      LifecycleHookName: hook.name,
      AutoScalingGroupName: group.name,
      LifecycleTransition: hook.transition,
      ...(hook.topicArn ? { NotificationTargetARN: hook.topicArn, RoleARN: hook.roleArn } : {}),
      ...(hook.metadata !== undefined ? { NotificationMetadata: hook.metadata } : {}),
      HeartbeatTimeout: hook.heartbeatTimeout,
      GlobalTimeout: Math.min(172_800, 100 * hook.heartbeatTimeout),
      DefaultResult: hook.defaultResult,
    })),
  };
};

const putLifecycleHook: Operation = (world, input) => {
  const group = groupNamed(world, input);
  const name = readString(input, 'LifecycleHookName', VALIDATION, true)!;
  const transition = readString(input, 'LifecycleTransition', VALIDATION) ?? 'autoscaling:EC2_INSTANCE_TERMINATING';
  if (transition !== 'autoscaling:EC2_INSTANCE_TERMINATING' && transition !== 'autoscaling:EC2_INSTANCE_LAUNCHING') {
    throw validation('LifecycleTransition must be autoscaling:EC2_INSTANCE_LAUNCHING or autoscaling:EC2_INSTANCE_TERMINATING');
  }
  const heartbeat = readInteger(input, 'HeartbeatTimeout', VALIDATION);
  if (heartbeat !== undefined && (heartbeat < 30 || heartbeat > 7200)) throw validation('HeartbeatTimeout must be between 30 and 7200');
  const defaultResult = readString(input, 'DefaultResult', VALIDATION);
  if (defaultResult !== undefined && defaultResult !== 'CONTINUE' && defaultResult !== 'ABANDON') {
    throw validation('DefaultResult must be CONTINUE or ABANDON');
  }
  const topicArn = readString(input, 'NotificationTargetARN', VALIDATION);
  if (topicArn && !world.topics.has(topicArn)) throw validation(`Unable to publish test message to notification target ${topicArn}`);
  const metadata = readString(input, 'NotificationMetadata', VALIDATION);
  world.rules.autoScaling.putLifecycleHook({
    groupName: group.name,
    name,
    transition,
    ...(heartbeat !== undefined ? { heartbeatTimeout: heartbeat } : {}),
    ...(defaultResult ? { defaultResult: defaultResult as 'CONTINUE' | 'ABANDON' } : {}),
    ...(topicArn ? { topicArn } : {}),
    ...(metadata !== undefined ? { metadata } : {}),
  });
  return {};
};

/**
 * The active action named by token or instance id. Completed, expired and unknown actions answer
 * ValidationError "No active Lifecycle Action found with token|instance ID …" (aws-behaviour.md §3.2).
 */
function activeAction(world: World, input: ApiInput): LifecycleAction {
  const group = groupNamed(world, input);
  const hookName = readString(input, 'LifecycleHookName', VALIDATION, true)!;
  const token = readString(input, 'LifecycleActionToken', VALIDATION);
  // The model fixes the token's length at 36 (a UUID); another length is refused before any lookup
  // (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CompleteLifecycleAction.html).
  if (token !== undefined && token.length !== 36) {
    throw validation(`1 validation error detected: Value '${token}' at 'lifecycleActionToken' failed to satisfy constraint: Member must have length less than or equal to 36 and greater than or equal to 36`);
  }
  const instanceId = readString(input, 'InstanceId', VALIDATION);
  if (token === undefined && instanceId === undefined) throw validation('Either LifecycleActionToken or InstanceId must be provided');
  if (!group.hooks.has(hookName)) throw validation(`No Lifecycle Hook found with name ${hookName} for group ${group.name}`);
  const matches = (action: LifecycleAction) =>
    action.state === 'active' &&
    action.groupName === group.name &&
    action.hookName === hookName &&
    (token !== undefined ? action.token === token : action.instanceId === instanceId);
  const action = [...world.lifecycleActions.values()].find(matches);
  if (!action) {
    throw validation(
      token !== undefined ? `No active Lifecycle Action found with token ${token}` : `No active Lifecycle Action found with instance ID ${instanceId}`,
    );
  }
  return action;
}

const completeLifecycleAction: Operation = (world, input) => {
  const result = readString(input, 'LifecycleActionResult', VALIDATION, true);
  if (result !== 'CONTINUE' && result !== 'ABANDON') throw validation('LifecycleActionResult must be CONTINUE or ABANDON');
  const action = activeAction(world, input);
  world.rules.autoScaling.completeAction(action, result);
  return {};
};

const recordLifecycleActionHeartbeat: Operation = (world, input) => {
  const action = activeAction(world, input);
  world.rules.autoScaling.heartbeat(action);
  return {};
};

function activity(world: World, group: Group, description: string, cause: string): ApiOutput {
  const now = new Date(world.now());
  return {
    ActivityId: world.random.uuid(),
    AutoScalingGroupName: group.name,
    Description: description,
    Cause: cause,
    StartTime: now,
    StatusCode: 'InProgress',
    Progress: 0,
  };
}

const terminateInstanceInAutoScalingGroup: Operation = (world, input) => {
  const instanceId = readString(input, 'InstanceId', VALIDATION, true)!;
  const decrement = readBoolean(input, 'ShouldDecrementDesiredCapacity', VALIDATION);
  if (decrement === undefined) throw validation('ShouldDecrementDesiredCapacity is required');
  const found = world.groupOf(instanceId);
  if (!found) throw validation(`Instance Id not found - No managed instance found for instance ID ${instanceId}`);
  const { group, instance } = found;
  world.rules.autoScaling.checkWrite(group.name, 'TerminateInstanceInAutoScalingGroup');
  const description = `Terminating EC2 instance: ${instanceId}`;
  const cause = `At ${new Date(world.now()).toISOString()} instance ${instanceId} was taken out of service in response to a user request${decrement ? ', shrinking the capacity' : ''}.`;
  // A retained instance stays until this call (docs/aws-behaviour.md §3.4, simulator/world/retention.ts).
  if (instance.lifecycleState === 'Terminating:Retained') {
    world.rules.autoScaling.terminateRetainedInstance(group, instance);
    return { Activity: activity(world, group, description, cause) };
  }
  // UNVERIFIED: a second request for an instance already terminating is answered with an
  // activity and changes nothing (in particular, desired capacity is not lowered twice).
  if (instance.lifecycleState !== 'InService' && instance.lifecycleState !== 'Pending') {
    return { Activity: activity(world, group, description, cause) };
  }
  if (decrement) {
    // With instance weights, desired capacity drops by the instance's weight, and a request that
    // would take it below the minimum (in capacity units) is refused (docs/aws-behaviour.md §7).
    const units = unitsOfMember(instance);
    if (group.desiredCapacity - units < group.minSize) {
      const message =
        group.desiredCapacity <= group.minSize
          ? `Currently, desiredSize equals minSize (${group.minSize}). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.`
          : `Terminating instance ${instanceId} (weight ${units}) without replacement would take desired capacity ${group.desiredCapacity} below the group's min size (${group.minSize}). Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.`;
      world.refusedTerminations.push({ at: world.now(), groupName: group.name, ec2InstanceId: instanceId, message });
      throw validation(message);
    }
    group.desiredCapacity -= units;
  }
  world.record('group', 'instance termination requested', { group: group.name, ec2InstanceId: instanceId, decrement });
  // Protection from scale-in does not block this call (aws-behaviour.md §3.2).
  world.rules.autoScaling.beginTermination(group, instance, 'terminate-api');
  return { Activity: activity(world, group, description, cause) };
};

const setInstanceProtection: Operation = (world, input) => {
  const group = groupNamed(world, input);
  const ids = readStrings(input, 'InstanceIds', VALIDATION) ?? [];
  if (ids.length > 50) throw new AwsApiError('LimitExceeded', 'The number of instances exceeds the limit of 50.', 400);
  const protect = readBoolean(input, 'ProtectedFromScaleIn', VALIDATION);
  if (protect === undefined) throw validation('ProtectedFromScaleIn is required');
  for (const id of ids) {
    if (!group.instances.has(id)) throw validation(`The instance ${id} is not part of Auto Scaling group ${group.name}.`);
  }
  world.rules.autoScaling.checkWrite(group.name, 'SetInstanceProtection');
  for (const id of ids) group.instances.get(id)!.protectedFromScaleIn = protect;
  return {};
};

const setDesiredCapacity: Operation = (world, input) => {
  const name = readString(input, 'AutoScalingGroupName', VALIDATION, true)!;
  const desired = readInteger(input, 'DesiredCapacity', VALIDATION);
  if (desired === undefined) throw validation('DesiredCapacity is required');
  if (world.groups.has(name)) world.rules.autoScaling.checkWrite(name, 'SetDesiredCapacity');
  world.rules.autoScaling.setDesiredCapacity(name, desired);
  return {};
};

export const autoScalingOperations: Record<string, Operation> = {
  DescribeAutoScalingInstances: describeAutoScalingInstances,
  DescribeAutoScalingGroups: describeAutoScalingGroups,
  DescribeLifecycleHooks: describeLifecycleHooks,
  PutLifecycleHook: putLifecycleHook,
  CompleteLifecycleAction: completeLifecycleAction,
  RecordLifecycleActionHeartbeat: recordLifecycleActionHeartbeat,
  TerminateInstanceInAutoScalingGroup: terminateInstanceInAutoScalingGroup,
  SetInstanceProtection: setInstanceProtection,
  SetDesiredCapacity: setDesiredCapacity,
};
