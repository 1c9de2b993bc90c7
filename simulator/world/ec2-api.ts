import { AwsApiError, type ApiOutput } from '../api';
import { paginate, readInteger, readList, readString, readStrings } from './input';
import { ACCOUNT, type Ec2Instance } from './model';
import type { Operation } from './rules';

/**
 * EC2 DescribeInstances: the lifecycle drainer reads the state of an instance whose ECS agent is
 * disconnected (lib/aws/ec2.ts). States follow the world's stop, start and termination rules
 * (ec2-power.ts, ec2.ts); an unknown id answers `InvalidInstanceID.NotFound`.
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstances.html
 */

const STATE_CODES: Record<Ec2Instance['state'], number> = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80 };

function instanceOutput(instance: Ec2Instance): ApiOutput {
  return {
    InstanceId: instance.id,
    InstanceType: instance.instanceType,
    State: { Code: STATE_CODES[instance.state], Name: instance.state },
    LaunchTime: new Date(instance.launchedAt),
    Placement: { AvailabilityZone: instance.az },
    ...(instance.spot ? { InstanceLifecycle: 'spot' } : {}),
    Tags: instance.groupName ? [{ Key: 'aws:autoscaling:groupName', Value: instance.groupName }] : [],
  };
}

const describeInstances: Operation = (world, input) => {
  const ids = readStrings(input, 'InstanceIds', 'InvalidParameterValue');
  const filters = (readList(input, 'Filters') ?? []) as { Name?: string; Values?: string[] }[];
  const maxResults = readInteger(input, 'MaxResults', 'InvalidParameterValue');
  if (maxResults !== undefined && ids) {
    throw new AwsApiError('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults', 400);
  }
  if (maxResults !== undefined && (maxResults < 5 || maxResults > 1000)) {
    throw new AwsApiError('InvalidParameterValue', 'Value for parameter maxResults is invalid. Expecting a value between 5 and 1000.', 400);
  }
  let instances: Ec2Instance[];
  if (ids) {
    for (const id of ids) {
      if (!/^i-[0-9a-f]{8}([0-9a-f]{9})?$/.test(id)) throw new AwsApiError('InvalidInstanceID.Malformed', `Invalid id: "${id}"`, 400);
    }
    const missing = ids.filter((id) => !world.ec2.has(id));
    if (missing.length === 1) throw new AwsApiError('InvalidInstanceID.NotFound', `The instance ID '${missing[0]}' does not exist`, 400);
    if (missing.length > 1) throw new AwsApiError('InvalidInstanceID.NotFound', `The instance IDs '${missing.join(', ')}' do not exist`, 400);
    instances = ids.map((id) => world.ec2.get(id)!);
  } else {
    instances = [...world.ec2.values()];
  }
  for (const filter of filters) {
    const values = filter.Values ?? [];
    if (filter.Name === 'instance-state-name') instances = instances.filter((instance) => values.includes(instance.state));
    else if (filter.Name === 'instance-id') instances = instances.filter((instance) => values.includes(instance.id));
    else throw new AwsApiError('InvalidParameterValue', `The filter '${filter.Name}' is invalid`, 400);
  }
  const { page, nextToken } = paginate(instances, maxResults ?? 1000, readString(input, 'NextToken', 'InvalidParameterValue'), 'InvalidNextToken');
  return {
    Reservations: page.map((instance) => ({ ReservationId: `r-${instance.id.slice(2)}`, OwnerId: ACCOUNT, Instances: [instanceOutput(instance)] })),
    ...(nextToken ? { NextToken: nextToken } : {}),
  };
};

export const ec2Operations: Record<string, Operation> = { DescribeInstances: describeInstances };
