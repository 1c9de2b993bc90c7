import { AutoScalingClient, DescribeAutoScalingGroupsCommand, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeContainerInstancesCommand,
  ECSClient,
  ListContainerInstancesCommand,
  ListServicesCommand,
  type ContainerInstance,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { loadSweeperConfig } from '../../../lib/sweeper/config';
import { makeScaleInSweeperHandler } from '../../../lib/sweeper/handler';
import { attributeChanges } from '../../../lib/sweeper/plan';
import { MemoryTelemetry } from '../../../lib/telemetry';
import { NOW, busy, instance, minutesAgo, snapshot } from './builders';

const ecsMock = mockClient(ECSClient);
const autoScalingMock = mockClient(AutoScalingClient);
const cloudWatchMock = mockClient(CloudWatchClient);
afterAll(() => {
  ecsMock.restore();
  autoScalingMock.restore();
  cloudWatchMock.restore();
});

const idleInstance = (cluster: string, id: string): ContainerInstance => ({
  containerInstanceArn: `arn:aws:ecs:us-east-1:123456789012:container-instance/${cluster}/${id}`,
  ec2InstanceId: id,
  status: 'ACTIVE',
  agentConnected: true,
  runningTasksCount: 0,
  pendingTasksCount: 0,
  registeredResources: [
    { name: 'CPU', type: 'INTEGER', integerValue: 2048 },
    { name: 'MEMORY', type: 'INTEGER', integerValue: 4096 },
  ],
  remainingResources: [
    { name: 'CPU', type: 'INTEGER', integerValue: 2048 },
    { name: 'MEMORY', type: 'INTEGER', integerValue: 4096 },
  ],
  attributes: [{ name: 'ecs-ec2-keeper.idle-since', value: minutesAgo(120) }],
});

describe('sweeper handler: one group budget across clusters', () => {
  it('removes one instance of a group that serves two clusters when the group has room for one', async () => {
    const byCluster: Record<string, ContainerInstance> = { one: idleInstance('one', 'i-0000000000000000a'), two: idleInstance('two', 'i-0000000000000000b') };
    ecsMock.on(ListContainerInstancesCommand).callsFake((input: { cluster: string }) => ({ containerInstanceArns: [byCluster[input.cluster]!.containerInstanceArn] }));
    ecsMock.on(DescribeContainerInstancesCommand).callsFake((input: { cluster: string }) => ({ containerInstances: [byCluster[input.cluster]], failures: [] }));
    ecsMock.on(ListServicesCommand).resolves({ serviceArns: [] });
    autoScalingMock.on(DescribeAutoScalingInstancesCommand).callsFake((input: { InstanceIds: string[] }) => ({
      AutoScalingInstances: input.InstanceIds.map((id) => ({
        InstanceId: id,
        AutoScalingGroupName: 'shared',
        AvailabilityZone: id.endsWith('a') ? 'us-east-1a' : 'us-east-1b',
        LifecycleState: 'InService',
        HealthStatus: 'HEALTHY',
        ProtectedFromScaleIn: false,
      })),
    }));
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [{ AutoScalingGroupName: 'shared', MinSize: 1, MaxSize: 4, DesiredCapacity: 2 } as never],
    });
    cloudWatchMock.on(PutMetricDataCommand).resolves({});

    const config = loadSweeperConfig({ CLUSTERS: 'one,two', DRY_RUN: 'true', MIN_FREE_CPU: '0', MIN_FREE_MEMORY: '0' });
    const handler = makeScaleInSweeperHandler({
      config,
      clients: { ecs: new ECSClient({}), autoScaling: new AutoScalingClient({}), cloudWatch: new CloudWatchClient({}) },
      telemetry: new MemoryTelemetry(),
      clock: { now: () => NOW, sleep: async () => undefined },
    });
    const result = await handler({});
    expect(result.clusters.map((entry) => entry.selected.length)).toEqual([1, 0]);
    expect(result.clusters[1]!.skippedByReason).toEqual({ 'group-at-minimum': 1 });
  });
});

describe('anti-churn clock', () => {
  it('starts underused-since on underused busy instances only with consolidation and a delay, and clears it when use rises', () => {
    const light = busy(256, 256, {}, 'light');
    const heavy = busy(1800, 3800, { attributes: { 'ecs-ec2-keeper.underused-since': minutesAgo(30) } }, 'heavy');
    const idle = instance({}, 'idle');
    const snap = snapshot([light, heavy, idle]);
    const changes = attributeChanges(snap, NOW, { consolidate: true, consolidateAfterMinutes: 60, underusedPercent: 50 });
    expect(changes.setUnderused).toEqual([light.containerInstanceArn]);
    expect(changes.clear).toContainEqual({ targetId: heavy.containerInstanceArn, name: 'ecs-ec2-keeper.underused-since' });
    expect(attributeChanges(snap, NOW, { consolidate: true, consolidateAfterMinutes: 0 }).setUnderused).toEqual([]);
    expect(attributeChanges(snap, NOW).setUnderused).toEqual([]);
  });
});
