import { AwsApiError } from '../api';
import { readBoolean, readString, readStrings } from './input';
import type { Operation } from './rules';

const VALIDATION = 'ValidationError';
const validation = (message: string) => new AwsApiError(VALIDATION, message, 400);

/**
 * Auto Scaling DetachInstances (docs/aws-behaviour.md §1.8): at most 20 InService instances leave
 * the group at once, without any lifecycle hook; the EC2 instances keep running, no longer the
 * group's. Without decrementing, the group launches replacements; decrementing cannot take desired
 * capacity below MinSize. The exact refusal messages are UNVERIFIED (ValidationError either way).
 * https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DetachInstances.html
 * https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-detach-attach-instances.html
 */
const detachInstances: Operation = (world, input) => {
  const name = readString(input, 'AutoScalingGroupName', VALIDATION, true)!;
  const ids = readStrings(input, 'InstanceIds', VALIDATION) ?? [];
  if (ids.length > 20) throw validation('The number of instances to detach must not exceed 20.');
  const decrement = readBoolean(input, 'ShouldDecrementDesiredCapacity', VALIDATION);
  if (decrement === undefined) throw validation('ShouldDecrementDesiredCapacity is required');
  const group = world.groups.get(name);
  if (!group) throw validation(`AutoScalingGroup name not found - AutoScalingGroup ${name} not found`);
  for (const id of ids) {
    const member = group.instances.get(id);
    if (!member) throw validation(`The instance ${id} is not part of Auto Scaling group ${name}.`);
    if (member.lifecycleState !== 'InService') throw validation(`The instance ${id} is not in InService.`);
  }
  if (decrement && group.desiredCapacity - ids.length < group.minSize) {
    throw validation(`Detaching ${ids.length} instance(s) with decrement would take desired capacity below the group's minimum size ${group.minSize}.`);
  }
  const now = new Date(world.now());
  const activities = ids.map((id) => {
    group.instances.delete(id);
    const ec2 = world.ec2.get(id);
    if (ec2) delete ec2.groupName;
    world.record('group', 'instance detached', { group: name, ec2InstanceId: id, decrement });
    return {
      ActivityId: world.random.uuid(),
      AutoScalingGroupName: name,
      Description: `Detaching EC2 instance: ${id}`,
      Cause: `At ${now.toISOString()} instance ${id} was detached in response to a user request${decrement ? ', shrinking the capacity' : ''}.`,
      StartTime: now,
      StatusCode: 'InProgress',
      Progress: 50,
    };
  });
  if (decrement) group.desiredCapacity -= ids.length;
  else world.rules.autoScaling.requestGroupPass(name);
  return { Activities: activities };
};

export const detachOperations: Record<string, Operation> = { DetachInstances: detachInstances };
