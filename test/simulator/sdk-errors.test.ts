import { CompleteLifecycleActionCommand, DescribeAutoScalingInstancesCommand, TerminateInstanceInAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeContainerInstancesCommand, ListContainerInstancesCommand, UpdateContainerInstancesStateCommand, paginateListContainerInstances } from '@aws-sdk/client-ecs';
import { buildClients, type AwsClients } from '../../lib/clients';
import { classifyAwsError, isNoActiveLifecycleAction } from '../../lib/errors';
import { VirtualClock } from '../../simulator/clock';
import { startServer, type RunningServer } from '../../simulator/http/server';
import { World } from '../../simulator/world/world';

/** The world's answers as the unmodified AWS SDK v3 clients see them, over HTTP. */
describe('the simulated world through the real SDK clients', () => {
  let server: RunningServer;
  let clients: AwsClients;
  let world: World;

  beforeAll(async () => {
    world = new World(new VirtualClock(), { seed: 3 });
    world.createCluster({ name: 'big' });
    for (let index = 0; index < 250; index += 1) world.addInstance({ cluster: 'big', cpu: 1024, memory: 1024 });
    world.createGroup({ name: 'g', cluster: 'big', minSize: 1, maxSize: 3, desiredCapacity: 1, instanceCpu: 1024, instanceMemory: 1024 });
    server = await startServer(world);
    clients = buildClients({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: 'sim', secretAccessKey: 'sim' }, maxAttempts: 1, retryMode: 'standard' });
  });

  afterAll(async () => {
    for (const client of [clients.ecs, clients.autoScaling]) client.destroy();
    await server.close();
  });

  it('pages 251 container instances with the SDK paginator, 100 per page', async () => {
    const pages: number[] = [];
    for await (const page of paginateListContainerInstances({ client: clients.ecs, pageSize: 100 }, { cluster: 'big' })) {
      pages.push(page.containerInstanceArns?.length ?? 0);
    }
    expect(pages).toEqual([100, 100, 51]);
  });

  it('reports ClusterNotFoundException with its name, message, status and fault', async () => {
    const error = await clients.ecs.send(new ListContainerInstancesCommand({ cluster: 'nope' })).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'ClusterNotFoundException', message: 'Cluster not found.', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    expect(classifyAwsError(error)).toBe('fatal');
  });

  it('returns failures[] with HTTP 200 for unknown container instances', async () => {
    const described = await clients.ecs.send(new DescribeContainerInstancesCommand({ cluster: 'big', containerInstances: ['0000'] }));
    expect(described.failures).toEqual([{ arn: '0000', reason: 'MISSING' }]);
    const updated = await clients.ecs.send(new UpdateContainerInstancesStateCommand({ cluster: 'big', containerInstances: ['0000'], status: 'DRAINING' }));
    expect(updated.failures?.[0]?.reason).toBe('MISSING');
  });

  it('answers a finished lifecycle action with the ValidationError the suite treats as done', async () => {
    const error = await clients.autoScaling
      .send(new CompleteLifecycleActionCommand({ AutoScalingGroupName: 'g', LifecycleHookName: 'none', LifecycleActionToken: '00000000-0000-4000-8000-000000000000', LifecycleActionResult: 'CONTINUE' }))
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'ValidationError', $metadata: { httpStatusCode: 400 } });
    world.putLifecycleHook({ groupName: 'g', name: 'drain' });
    const gone = await clients.autoScaling
      .send(new CompleteLifecycleActionCommand({ AutoScalingGroupName: 'g', LifecycleHookName: 'drain', InstanceId: 'i-0123456789abcdef0', LifecycleActionResult: 'CONTINUE' }))
      .catch((caught: unknown) => caught);
    expect((gone as Error).message).toBe('No active Lifecycle Action found with instance ID i-0123456789abcdef0');
    expect(isNoActiveLifecycleAction(gone)).toBe(true);
  });

  it('ignores unknown ids in DescribeAutoScalingInstances and refuses a termination below the minimum', async () => {
    const [member] = world.groups.get('g')!.instances.keys();
    const described = await clients.autoScaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [member!, 'i-0123456789abcdef0'] }));
    expect(described.AutoScalingInstances?.map((instance) => [instance.InstanceId, instance.LifecycleState, instance.ProtectedFromScaleIn])).toEqual([
      [member, 'InService', false],
    ]);
    const refused = await clients.autoScaling
      .send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: member!, ShouldDecrementDesiredCapacity: true }))
      .catch((caught: unknown) => caught);
    expect(refused).toMatchObject({ name: 'ValidationError' });
    expect((refused as Error).message).toMatch(/^Currently, desiredSize equals minSize \(1\)/);
  });
});
