import { AwsApiError, type ApiInput, type ApiOutput } from '../api';
import { paginate, readInteger, readList, readString, readStrings } from './input';
import { ACCOUNT, type Ec2Instance } from './model';
import type { Operation, World } from './world';

// ---------------------------------------------------------------- SNS

const SNS_MESSAGE_LIMIT = 262_144;

/** Publish with the model's limits: message ≤ 256 KB, subject < 100 characters without line breaks (aws-behaviour.md §4). */
const publish: Operation = (world, input) => {
  const topicArn = readString(input, 'TopicArn', 'InvalidParameter') ?? readString(input, 'TargetArn', 'InvalidParameter');
  if (!topicArn) throw new AwsApiError('InvalidParameter', 'Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter', 400);
  const message = readString(input, 'Message', 'InvalidParameter');
  if (message === undefined || message === '') throw new AwsApiError('InvalidParameter', 'Invalid parameter: Empty message', 400);
  if (Buffer.byteLength(message, 'utf8') > SNS_MESSAGE_LIMIT) {
    throw new AwsApiError('InvalidParameter', 'Invalid parameter: Message too long', 400);
  }
  const subject = readString(input, 'Subject', 'InvalidParameter');
  // eslint-disable-next-line no-control-regex
  if (subject !== undefined && (subject.length >= 100 || subject === '' || /[\u0000-\u001f]/.test(subject))) {
    throw new AwsApiError('InvalidParameter', 'Invalid parameter: Subject', 400);
  }
  if (!world.topics.has(topicArn)) throw new AwsApiError('NotFound', 'Topic does not exist', 404);
  const messageId = world.publish(topicArn, message, subject, messageAttributes(input.MessageAttributes));
  return { MessageId: messageId };
};

/** Publish's MessageAttributes (a map of {DataType, StringValue}) as Lambda shows them ({Type, Value}). */
function messageAttributes(raw: unknown): Record<string, { Type: string; Value: string }> {
  const out: Record<string, { Type: string; Value: string }> = {};
  if (!raw || typeof raw !== 'object') return out;
  const entries: [string, unknown][] = Array.isArray(raw)
    ? raw.map((entry) => [String((entry as { Name?: unknown; key?: unknown }).Name ?? (entry as { key?: unknown }).key), (entry as { Value?: unknown; value?: unknown }).Value ?? (entry as { value?: unknown }).value])
    : Object.entries(raw);
  for (const [name, value] of entries) {
    const attribute = value as { DataType?: string; StringValue?: string };
    out[name] = { Type: attribute?.DataType ?? 'String', Value: attribute?.StringValue ?? '' };
  }
  return out;
}

// ---------------------------------------------------------------- EC2

const STATE_CODES: Record<Ec2Instance['state'], number> = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48 };

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

// ---------------------------------------------------------------- CloudWatch

/** PutMetricData limits: ≤ 1000 datums, namespace not starting with AWS/ (aws-behaviour.md §6). */
const putMetricData: Operation = (world: World, input: ApiInput) => {
  const namespace = readString(input, 'Namespace', 'InvalidParameterValue', true)!;
  if (namespace.length < 1 || namespace.length > 255 || namespace.startsWith('AWS/')) {
    throw new AwsApiError('InvalidParameterValue', `The value ${namespace} for parameter Namespace is invalid.`, 400);
  }
  const data = (readList(input, 'MetricData') ?? []) as Record<string, unknown>[];
  if (data.length === 0) throw new AwsApiError('MissingParameter', 'The parameter MetricData is required.', 400);
  if (data.length > 1000) {
    throw new AwsApiError('InvalidParameterValue', 'The collection MetricData must not have a size greater than 1000.', 400);
  }
  const stored = data.map((datum, index) => {
    const name = datum.MetricName;
    if (typeof name !== 'string' || name === '') {
      throw new AwsApiError('InvalidParameterValue', `The parameter MetricData.member.${index + 1}.MetricName is required.`, 400);
    }
    const dimensions = (Array.isArray(datum.Dimensions) ? datum.Dimensions : []) as { Name?: string; Value?: string }[];
    if (dimensions.length > 30) {
      throw new AwsApiError('InvalidParameterValue', `The collection MetricData.member.${index + 1}.Dimensions must not have a size greater than 30.`, 400);
    }
    const values = Array.isArray(datum.Values) ? (datum.Values as number[]) : [];
    const value = typeof datum.Value === 'number' ? datum.Value : values.reduce((sum, item) => sum + item, 0);
    const timestamp = datum.Timestamp instanceof Date ? datum.Timestamp.getTime() : typeof datum.Timestamp === 'number' ? datum.Timestamp : world.now();
    return {
      namespace,
      metricName: name,
      dimensions: Object.fromEntries(dimensions.map((dimension) => [dimension.Name ?? '', dimension.Value ?? ''])),
      value,
      ...(typeof datum.Unit === 'string' ? { unit: datum.Unit } : {}),
      timestamp,
    };
  });
  for (const datum of stored) world.storeMetric(datum);
  return {};
};

export const otherOperations: Record<'sns' | 'ec2' | 'cloudwatch', Record<string, Operation>> = {
  sns: { Publish: publish },
  ec2: { DescribeInstances: describeInstances },
  cloudwatch: { PutMetricData: putMetricData },
};
