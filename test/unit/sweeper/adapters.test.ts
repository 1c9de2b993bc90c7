import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DeleteAttributesCommand,
  ECSClient,
  ListServicesCommand,
  PutAttributesCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { putMetricData, type Datum } from '../../../lib/aws/cloudwatch';
import { deleteInstanceAttributes, putInstanceAttributes, setActive } from '../../../lib/aws/ecs';
import { listDaemonServiceNames } from '../../../lib/aws/tasks';
import { readsWholeCluster, taskReadCost, toWorkloads } from '../../../lib/sweeper/snapshot';
import { instance } from './builders';

const ecsMock = mockClient(ECSClient);
const cloudWatchMock = mockClient(CloudWatchClient);
const ecs = new ECSClient({ region: 'us-east-1' });
beforeEach(() => {
  ecsMock.reset();
  cloudWatchMock.reset();
});
afterAll(() => {
  ecsMock.restore();
  cloudWatchMock.restore();
});

describe('CloudWatch adapter', () => {
  it('sends at most 1000 datums per PutMetricData', async () => {
    cloudWatchMock.on(PutMetricDataCommand).resolves({});
    const datums: Datum[] = Array.from({ length: 2001 }, (_, index) => ({
      name: 'FreeCpu',
      value: index,
      dimensions: { cluster: `c${index}` },
      timestamp: Date.parse('2026-03-04T10:30:00Z'),
    }));
    expect(await putMetricData(new CloudWatchClient({ region: 'us-east-1' }), 'EcsEc2Keeper', datums)).toBe(3);
    const sizes = cloudWatchMock.commandCalls(PutMetricDataCommand).map((call) => call.args[0].input.MetricData?.length);
    expect(sizes).toEqual([1000, 1000, 1]);
    expect(cloudWatchMock.commandCalls(PutMetricDataCommand)[2]?.args[0].input).toEqual({
      Namespace: 'EcsEc2Keeper',
      MetricData: [{ MetricName: 'FreeCpu', Value: 2000, Unit: 'None', Timestamp: new Date('2026-03-04T10:30:00Z'), Dimensions: [{ Name: 'cluster', Value: 'c2000' }] }],
    });
  });
});

describe('ECS adapter additions', () => {
  it('writes and deletes attributes 10 per call, typed as container-instance attributes', async () => {
    ecsMock.on(PutAttributesCommand).resolves({});
    ecsMock.on(DeleteAttributesCommand).resolves({});
    const attributes = Array.from({ length: 12 }, (_, index) => ({ targetId: `arn:ci/${index}`, name: 'ecs-ec2-keeper.idle-since', value: '2026-03-04T10:30:00.000Z' }));
    await putInstanceAttributes(ecs, 'prod', attributes);
    await deleteInstanceAttributes(ecs, 'prod', attributes.slice(0, 3));
    await putInstanceAttributes(ecs, 'prod', []);
    expect(ecsMock.commandCalls(PutAttributesCommand).map((call) => call.args[0].input.attributes?.length)).toEqual([10, 2]);
    expect(ecsMock).toHaveReceivedNthCommandWith(2, PutAttributesCommand, {
      cluster: 'prod',
      attributes: [
        { name: 'ecs-ec2-keeper.idle-since', value: '2026-03-04T10:30:00.000Z', targetType: 'container-instance', targetId: 'arn:ci/10' },
        { name: 'ecs-ec2-keeper.idle-since', value: '2026-03-04T10:30:00.000Z', targetType: 'container-instance', targetId: 'arn:ci/11' },
      ],
    });
    expect(ecsMock).toHaveReceivedCommandWith(DeleteAttributesCommand, {
      cluster: 'prod',
      attributes: [0, 1, 2].map((index) => ({ name: 'ecs-ec2-keeper.idle-since', targetType: 'container-instance', targetId: `arn:ci/${index}` })),
    });
  });

  it('setActive returns the instances ECS refused', async () => {
    ecsMock.on(UpdateContainerInstancesStateCommand).resolves({ containerInstances: [{ containerInstanceArn: 'a', status: 'ACTIVE' }], failures: [{ arn: 'b', reason: 'INACTIVE' }] });
    expect(await setActive(ecs, 'prod', ['a', 'b'])).toEqual([{ arn: 'b', reason: 'INACTIVE' }]);
    expect(ecsMock).toHaveReceivedCommandWith(UpdateContainerInstancesStateCommand, { cluster: 'prod', containerInstances: ['a', 'b'], status: 'ACTIVE' });
  });

  it('lists the DAEMON services of a cluster over every page', async () => {
    // The SDK paginator reuses one input object, so each request is copied as it is sent.
    const requests: unknown[] = [];
    const pages = [
      { serviceArns: ['arn:aws:ecs:us-east-1:123456789012:service/prod/log-router'], nextToken: 'next' },
      { serviceArns: ['arn:aws:ecs:us-east-1:123456789012:service/node-exporter'] },
    ];
    ecsMock.on(ListServicesCommand).callsFake((input) => {
      requests.push(structuredClone(input));
      return pages[requests.length - 1];
    });
    expect([...(await listDaemonServiceNames(ecs, 'prod'))]).toEqual(['log-router', 'node-exporter']);
    expect(requests).toEqual([
      { cluster: 'prod', schedulingStrategy: 'DAEMON', maxResults: 100 },
      { cluster: 'prod', schedulingStrategy: 'DAEMON', maxResults: 100, nextToken: 'next' },
    ]);
  });
});

describe('snapshot helpers', () => {
  it('reads tasks per instance when few instances need it, and cluster-wide when that is cheaper', () => {
    const crowd = Array.from({ length: 100 }, () => instance({ runningTasksCount: 2 }));
    // 3 instances with 2 tasks: 3 lists + 1 describe, against 2 x 2 pages for the 200 tasks of the cluster.
    expect(taskReadCost(crowd.slice(0, 3), crowd)).toEqual({ perInstance: 4, wholeCluster: 4 });
    expect(taskReadCost(crowd.slice(0, 2), crowd)).toEqual({ perInstance: 3, wholeCluster: 4 });
    expect(taskReadCost(crowd, crowd)).toEqual({ perInstance: 102, wholeCluster: 4 });
    // At equal cost the whole cluster's read brings every instance's tasks for consolidation.
    expect(readsWholeCluster(taskReadCost(crowd.slice(0, 3), crowd))).toBe(true);
    expect(readsWholeCluster(taskReadCost(crowd.slice(0, 2), crowd))).toBe(false);
    expect(readsWholeCluster(taskReadCost(crowd, crowd))).toBe(true);
  });

  it('separates daemon tasks from service and standalone ones and drops stopped tasks', () => {
    const workloads = toWorkloads(
      new Map([
        [
          'ci',
          [
            { taskArn: 'd', lastStatus: 'RUNNING', desiredStatus: 'RUNNING', group: 'service:log-router', serviceName: 'log-router', cpu: 64, memory: 128 },
            { taskArn: 's', lastStatus: 'RUNNING', desiredStatus: 'RUNNING', group: 'service:web', serviceName: 'web', cpu: 256, memory: 512 },
            { taskArn: 'b', lastStatus: 'PENDING', desiredStatus: 'RUNNING', group: 'family:batch', cpu: 0, memory: 0 },
            { taskArn: 'x', lastStatus: 'STOPPED', desiredStatus: 'STOPPED', group: 'service:web', serviceName: 'web', cpu: 256, memory: 512 },
          ],
        ],
      ]),
      new Set(['log-router']),
    );
    expect(workloads.get('ci')).toEqual({
      daemonTasks: 1,
      nonDaemon: [{ taskArn: 's', origin: 'service', cpu: 256, memory: 512 }, { taskArn: 'b', origin: 'standalone', cpu: 0, memory: 0 }],
    });
  });
});
