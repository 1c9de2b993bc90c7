import {
  DeleteAttributesCommand,
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ListAttributesCommand,
  ListClustersCommand,
  ListContainerInstancesCommand,
  ListTasksCommand,
  PutAttributesCommand,
  StopTaskCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { body, startHarness, type Harness } from './harness';

// The real ECS client (AWS JSON 1.1) against the server: inputs reach the control plane in the
// model's shape, outputs come back as the SDK's typed objects.
describe('ECS over AWS JSON 1.1', () => {
  let h: Harness;
  beforeAll(async () => { h = await startHarness(); });
  afterAll(() => h.close());

  const registeredAt = new Date('2026-11-20T10:15:30.250Z');

  it('ListClusters: pagination token both ways, empty list kept', async () => {
    h.plane.on('ecs:ListClusters', (input) => (input.nextToken ? { clusterArns: [] } : { clusterArns: ['arn:c1', 'arn:c2'], nextToken: 'page-2' }));
    const first = await h.clients.ecs.send(new ListClustersCommand({ maxResults: 2 }));
    const second = await h.clients.ecs.send(new ListClustersCommand({ maxResults: 2, nextToken: first.nextToken }));
    expect(body(first)).toEqual({ clusterArns: ['arn:c1', 'arn:c2'], nextToken: 'page-2' });
    expect(body(second)).toEqual({ clusterArns: [] });
    expect(h.plane.inputsOf('ListClusters')).toEqual([{ maxResults: 2 }, { maxResults: 2, nextToken: 'page-2' }]);
  });

  it('ListContainerInstances: filter, status and maxResults arrive typed', async () => {
    h.plane.on('ecs:ListContainerInstances', () => ({ containerInstanceArns: ['arn:ci/1'] }));
    const input = { cluster: 'prod', filter: "ec2InstanceId in ['i-1', 'i-2']", status: 'DRAINING' as const, maxResults: 100 };
    const out = await h.clients.ecs.send(new ListContainerInstancesCommand(input));
    expect(body(out)).toEqual({ containerInstanceArns: ['arn:ci/1'] });
    expect(h.plane.inputsOf('ListContainerInstances').at(-1)).toEqual(input);
  });

  it('DescribeContainerInstances: nested resources, Dates, booleans and failures[] decode exactly', async () => {
    const instance = {
      containerInstanceArn: 'arn:ci/1',
      ec2InstanceId: 'i-1',
      status: 'ACTIVE',
      agentConnected: true,
      runningTasksCount: 3,
      pendingTasksCount: 0,
      registeredAt,
      registeredResources: [
        { name: 'CPU', type: 'INTEGER', integerValue: 2048 },
        { name: 'MEMORY', type: 'INTEGER', integerValue: 3904 },
        { name: 'PORTS', type: 'STRINGSET', stringSetValue: ['22', '2375'] },
      ],
      remainingResources: [{ name: 'CPU', type: 'INTEGER', integerValue: 0 }],
      attributes: [{ name: 'ecs.capability.x', value: 'y' }],
      tags: [{ key: 'team', value: 'infra' }],
    };
    h.plane.on('ecs:DescribeContainerInstances', () => ({
      containerInstances: [{ ...instance, notInTheModel: 'dropped' }],
      failures: [{ arn: 'arn:ci/missing', reason: 'MISSING' }],
    }));
    const input = { cluster: 'prod', containerInstances: ['arn:ci/1', 'arn:ci/missing'], include: ['TAGS' as const] };
    const out = await h.clients.ecs.send(new DescribeContainerInstancesCommand(input));
    expect(body(out)).toEqual({ containerInstances: [instance], failures: [{ arn: 'arn:ci/missing', reason: 'MISSING' }] });
    expect(out.containerInstances?.[0]?.registeredAt).toBeInstanceOf(Date);
    expect(out.containerInstances?.[0]?.registeredAt?.getTime()).toBe(registeredAt.getTime());
    expect(h.plane.inputsOf('DescribeContainerInstances').at(-1)).toEqual(input);
  });

  it('UpdateContainerInstancesState: per-instance failures come back next to the updated instances', async () => {
    h.plane.on('ecs:UpdateContainerInstancesState', (input) => ({
      containerInstances: [{ containerInstanceArn: (input.containerInstances as string[])[0], status: input.status }],
      failures: [{ arn: 'arn:ci/2', reason: 'MISSING', detail: 'not in cluster' }],
    }));
    const out = await h.clients.ecs.send(new UpdateContainerInstancesStateCommand({ cluster: 'prod', containerInstances: ['arn:ci/1', 'arn:ci/2'], status: 'DRAINING' }));
    expect(body(out)).toEqual({
      containerInstances: [{ containerInstanceArn: 'arn:ci/1', status: 'DRAINING' }],
      failures: [{ arn: 'arn:ci/2', reason: 'MISSING', detail: 'not in cluster' }],
    });
  });

  it('ListTasks and DescribeTasks: task timestamps survive the epoch-seconds round trip to the millisecond', async () => {
    const stoppingAt = new Date('2026-11-20T10:20:00.001Z');
    h.plane.on('ecs:ListTasks', () => ({ taskArns: ['arn:task/1'], nextToken: 'n' }));
    h.plane.on('ecs:DescribeTasks', () => ({
      tasks: [
        {
          taskArn: 'arn:task/1',
          lastStatus: 'RUNNING',
          desiredStatus: 'STOPPED',
          startedBy: 'ecs-svc/123',
          group: 'service:web',
          cpu: '256',
          createdAt: registeredAt,
          stoppingAt,
          containers: [{ name: 'app', lastStatus: 'RUNNING', exitCode: 0 }],
          overrides: { containerOverrides: [] },
        },
      ],
      failures: [],
    }));
    const list = await h.clients.ecs.send(new ListTasksCommand({ cluster: 'prod', containerInstance: 'arn:ci/1', desiredStatus: 'RUNNING' }));
    const described = await h.clients.ecs.send(new DescribeTasksCommand({ cluster: 'prod', tasks: list.taskArns }));
    expect(body(list)).toEqual({ taskArns: ['arn:task/1'], nextToken: 'n' });
    expect(h.plane.inputsOf('ListTasks').at(-1)).toEqual({ cluster: 'prod', containerInstance: 'arn:ci/1', desiredStatus: 'RUNNING' });
    const task = described.tasks?.[0];
    expect(task?.stoppingAt).toEqual(stoppingAt);
    expect(task?.createdAt).toEqual(registeredAt);
    expect(task?.containers).toEqual([{ name: 'app', lastStatus: 'RUNNING', exitCode: 0 }]);
    expect(task?.overrides).toEqual({ containerOverrides: [] });
    expect(described.failures).toEqual([]);
  });

  it('StopTask: reason arrives, the stopped task comes back', async () => {
    h.plane.on('ecs:StopTask', (input) => ({ task: { taskArn: input.task, desiredStatus: 'STOPPED', stoppedReason: input.reason } }));
    const out = await h.clients.ecs.send(new StopTaskCommand({ cluster: 'prod', task: 'arn:task/1', reason: 'draining "i-1"' }));
    expect(out.task).toEqual({ taskArn: 'arn:task/1', desiredStatus: 'STOPPED', stoppedReason: 'draining "i-1"' });
  });

  it('DescribeServices: deployment configuration numbers and deployment dates', async () => {
    const service = {
      serviceName: 'web',
      schedulingStrategy: 'REPLICA',
      desiredCount: 4,
      runningCount: 4,
      deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200, deploymentCircuitBreaker: { enable: false, rollback: true } },
      deployments: [{ id: 'ecs-svc/1', status: 'PRIMARY', desiredCount: 4, createdAt: registeredAt, updatedAt: registeredAt }],
    };
    h.plane.on('ecs:DescribeServices', () => ({ services: [service], failures: [] }));
    const out = await h.clients.ecs.send(new DescribeServicesCommand({ cluster: 'prod', services: ['web'] }));
    expect(body(out)).toEqual({ services: [service], failures: [] });
  });

  it('ListAttributes, PutAttributes and DeleteAttributes: nested attribute lists both ways', async () => {
    const attribute = { name: 'drain.state', value: 'draining', targetType: 'container-instance' as const, targetId: 'arn:ci/1' };
    h.plane.on('ecs:ListAttributes', () => ({ attributes: [attribute] }));
    h.plane.on('ecs:PutAttributes', (input) => ({ attributes: input.attributes }));
    h.plane.on('ecs:DeleteAttributes', (input) => ({ attributes: input.attributes }));
    const listed = await h.clients.ecs.send(new ListAttributesCommand({ cluster: 'prod', targetType: 'container-instance', attributeName: 'drain.state' }));
    const put = await h.clients.ecs.send(new PutAttributesCommand({ cluster: 'prod', attributes: [attribute] }));
    const deleted = await h.clients.ecs.send(new DeleteAttributesCommand({ cluster: 'prod', attributes: [{ name: 'drain.state', targetId: 'arn:ci/1' }] }));
    expect(listed.attributes).toEqual([attribute]);
    expect(put.attributes).toEqual([attribute]);
    expect(deleted.attributes).toEqual([{ name: 'drain.state', targetId: 'arn:ci/1' }]);
    expect(h.plane.inputsOf('PutAttributes').at(-1)).toEqual({ cluster: 'prod', attributes: [attribute] });
  });

  it('answers 200 concurrent calls each with its own output and request id', async () => {
    h.plane.on('ecs:ListTasks', async (input) => {
      await new Promise((resolve) => setImmediate(resolve));
      return { taskArns: [`arn:task/${String(input.cluster)}`] };
    });
    const outs = await Promise.all(Array.from({ length: 200 }, (_, i) => h.clients.ecs.send(new ListTasksCommand({ cluster: `c${i}` }))));
    expect(outs.map((out) => out.taskArns)).toEqual(Array.from({ length: 200 }, (_, i) => [`arn:task/c${i}`]));
    expect(new Set(outs.map((out) => out.$metadata.requestId)).size).toBe(200);
  });

  it('sends a request id header the SDK reports', async () => {
    h.plane.on('ecs:ListClusters', () => ({ clusterArns: [] }));
    const one = await h.clients.ecs.send(new ListClustersCommand({}));
    const two = await h.clients.ecs.send(new ListClustersCommand({}));
    expect(one.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(one.$metadata.requestId).not.toBe(two.$metadata.requestId);
  });
});
