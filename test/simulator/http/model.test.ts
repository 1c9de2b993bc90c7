import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SNSClient } from '@aws-sdk/client-sns';
import type { ServiceName } from '../../../simulator/api';
import { findOperation, SERVICES } from '../../../simulator/http/model';

// The server's protocol constants must be the installed clients' own; an SDK upgrade that changes
// a version, namespace or protocol should fail here, not in an integration run.
describe('service model', () => {
  const clients = {
    ecs: new ECSClient({ region: 'us-east-1' }),
    autoscaling: new AutoScalingClient({ region: 'us-east-1' }),
    sns: new SNSClient({ region: 'us-east-1' }),
    ec2: new EC2Client({ region: 'us-east-1' }),
    cloudwatch: new CloudWatchClient({ region: 'us-east-1' }),
  };
  afterAll(() => Object.values(clients).forEach((client) => client.destroy()));

  const protocolIds: Record<string, string> = {
    'json1.1': 'aws.protocols#awsJson1_1',
    'json1.0': 'aws.protocols#awsJson1_0',
    query: 'aws.protocols#awsQuery',
    ec2: 'aws.protocols#ec2Query',
  };

  it.each(Object.keys(clients) as ServiceName[])('%s matches the installed client', (service) => {
    const config = clients[service].config as unknown as {
      protocolSettings: { version: string; xmlNamespace: string; serviceTarget: string; awsQueryCompatible?: boolean };
      protocol: { getShapeId(): string };
      signingName?: string;
    };
    const model = SERVICES[service];
    expect(config.protocolSettings).toMatchObject({ version: model.version, xmlNamespace: model.xmlNamespace, serviceTarget: model.target });
    expect(Boolean(config.protocolSettings.awsQueryCompatible)).toBe(model.queryCompatible);
    expect(config.protocol.getShapeId()).toBe(protocolIds[model.protocol]);
  });

  const used = {
    ecs: ['ListClusters', 'ListContainerInstances', 'DescribeContainerInstances', 'UpdateContainerInstancesState', 'ListTasks', 'DescribeTasks', 'StopTask', 'DescribeServices', 'ListAttributes', 'PutAttributes', 'DeleteAttributes'],
    autoscaling: ['DescribeAutoScalingInstances', 'DescribeAutoScalingGroups', 'DescribeLifecycleHooks', 'CompleteLifecycleAction', 'RecordLifecycleActionHeartbeat', 'TerminateInstanceInAutoScalingGroup', 'SetInstanceProtection', 'SetDesiredCapacity'],
    sns: ['Publish'],
    ec2: ['DescribeInstances'],
    cloudwatch: ['PutMetricData'],
  };
  it.each(Object.entries(used).flatMap(([service, operations]) => operations.map((operation) => [service as ServiceName, operation] as const)))('%s %s has a schema', (service, operation) => {
    const found = findOperation(service, operation);
    expect(found?.name).toBe(operation);
    expect(found?.input.isStructSchema()).toBe(true);
  });

  it('knows nothing of names that are not operations', () => {
    expect(findOperation('ecs', 'LaunchRockets')).toBeUndefined();
    expect(findOperation('ecs', 'Task')).toBeUndefined(); // a structure, not an operation
    expect(findOperation('ecs', '__proto__')).toBeUndefined();
    expect(findOperation('sns', 'DescribeTasks')).toBeUndefined();
  });
});
