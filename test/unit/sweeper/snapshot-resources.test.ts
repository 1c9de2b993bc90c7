import { AutoScalingClient, DescribeAutoScalingGroupsCommand, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeTasksCommand, ECSClient } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { describeGroupInstances, describeGroups } from '../../../lib/aws/autoscaling';
import { toView } from '../../../lib/aws/ecs';
import { describeTasks } from '../../../lib/aws/tasks';
import { roomOf } from '../../../lib/sweeper/plan';
import { toWorkloads } from '../../../lib/sweeper/snapshot';

const ecsMock = mockClient(ECSClient);
const autoScalingMock = mockClient(AutoScalingClient);
beforeEach(() => {
  ecsMock.reset();
  autoScalingMock.reset();
});

describe('snapshot reads what the fit check, zones and weights need', () => {
  it('container instances: GPUs and taken host ports from registered/remaining resources', () => {
    const view = toView('prod', {
      containerInstanceArn: 'arn:ci/1',
      ec2InstanceId: 'i-0123456789abcdef0',
      registeredResources: [
        { name: 'CPU', type: 'INTEGER', integerValue: 4096 },
        { name: 'MEMORY', type: 'INTEGER', integerValue: 16384 },
        { name: 'GPU', type: 'STRINGSET', stringSetValue: ['gpu-0', 'gpu-1'] },
      ],
      remainingResources: [
        { name: 'CPU', type: 'INTEGER', integerValue: 1024 },
        { name: 'MEMORY', type: 'INTEGER', integerValue: 4096 },
        { name: 'GPU', type: 'STRINGSET', stringSetValue: ['gpu-1'] },
        { name: 'PORTS', type: 'STRINGSET', stringSetValue: ['22', '80'] },
        { name: 'PORTS_UDP', type: 'STRINGSET', stringSetValue: ['53'] },
      ],
      attributes: [{ name: 'ecs.availability-zone', value: 'us-east-1b' }],
    });
    expect(view).toMatchObject({ registeredGpus: 2, remainingGpus: 1, usedPorts: ['tcp/22', 'tcp/80', 'udp/53'] });
    const room = roomOf({ ...view, status: 'ACTIVE' });
    expect(room.gpu).toBe(1);
    expect([...room.usedPorts!]).toEqual(['tcp/22', 'tcp/80', 'udp/53']);
    expect(toView('prod', { containerInstanceArn: 'arn:ci/2' })).not.toHaveProperty('registeredGpus');
  });

  it('Auto Scaling instances: zone and weight; groups: the AmazonECSManaged tag', async () => {
    autoScalingMock.on(DescribeAutoScalingInstancesCommand).resolves({
      AutoScalingInstances: [
        { InstanceId: 'i-1', AutoScalingGroupName: 'g', AvailabilityZone: 'us-east-1a', LifecycleState: 'InService', HealthStatus: 'HEALTHY', ProtectedFromScaleIn: false, WeightedCapacity: '4' },
        { InstanceId: 'i-2', AutoScalingGroupName: 'g', AvailabilityZone: 'us-east-1c', LifecycleState: 'InService', HealthStatus: 'HEALTHY', ProtectedFromScaleIn: false, WeightedCapacity: 'x' },
      ],
    });
    const members = await describeGroupInstances(new AutoScalingClient({}), ['i-1', 'i-2']);
    expect(members.get('i-1')).toMatchObject({ availabilityZone: 'us-east-1a', weightedCapacity: 4 });
    expect(members.get('i-2')).not.toHaveProperty('weightedCapacity');

    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        { AutoScalingGroupName: 'cp', MinSize: 0, MaxSize: 5, DesiredCapacity: 2, Tags: [{ Key: 'AmazonECSManaged', Value: '' }], NewInstancesProtectedFromScaleIn: true } as never,
        { AutoScalingGroupName: 'plain', MinSize: 0, MaxSize: 5, DesiredCapacity: 2, Tags: [] } as never,
      ],
    });
    const groups = await describeGroups(new AutoScalingClient({}), ['cp', 'plain']);
    expect(groups.get('cp')).toMatchObject({ ecsManaged: true, newInstancesProtected: true });
    expect(groups.get('plain')).not.toHaveProperty('ecsManaged');
  });

  it('tasks: GPUs, static host ports and an own ENI reach the workload', async () => {
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [
        {
          taskArn: 'arn:task/gpu',
          lastStatus: 'RUNNING',
          group: 'service:ml',
          cpu: '1024',
          memory: '2048',
          containerInstanceArn: 'arn:ci/1',
          containers: [{ gpuIds: ['gpu-0'], networkBindings: [{ hostPort: 8080, protocol: 'tcp' }, { hostPort: 0 }] }],
        },
        {
          taskArn: 'arn:task/vpc',
          lastStatus: 'RUNNING',
          group: 'service:api',
          cpu: '256',
          memory: '512',
          containerInstanceArn: 'arn:ci/1',
          attachments: [{ type: 'ElasticNetworkInterface', status: 'ATTACHED' }],
        },
      ],
    });
    const tasks = await describeTasks(new ECSClient({}), 'prod', ['arn:task/gpu', 'arn:task/vpc']);
    const workload = toWorkloads(new Map([['arn:ci/1', tasks]]), new Set()).get('arn:ci/1')!;
    expect(workload.nonDaemon).toEqual([
      { taskArn: 'arn:task/gpu', origin: 'service', cpu: 1024, memory: 2048, gpu: 1, hostPorts: ['tcp/8080'] },
      { taskArn: 'arn:task/vpc', origin: 'service', cpu: 256, memory: 512, eni: true },
    ]);
  });
});
