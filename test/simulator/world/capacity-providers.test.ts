import { TERMINATE_LIFECYCLE_ACTION } from '../../../simulator/world/autoscaling-events';
import { MANAGED_DRAINING_HOOK } from '../../../simulator/world/managed-draining';
import type { BusEvent } from '../../../simulator/world/model';
import { asg, ecs, errorOf, groupWorld, lifecycleStateOf, newWorld } from './helpers';

/**
 * ECS capacity providers bound to Auto Scaling groups, and ECS's managed instance draining as an
 * actor of the world (docs/aws-behaviour.md §1.11, §3.5).
 */
function providerWorld(options: { managedDraining?: 'ENABLED' | 'DISABLED'; suiteHook?: boolean; stopSeconds?: number; associate?: boolean } = {}) {
  const { world, clock, topic, group, ids } = groupWorld({ minSize: 0, maxSize: 6 });
  world.createService({ cluster: 'c', name: 'web', desiredCount: 3, cpu: 512, memory: 1024, stopSeconds: options.stopSeconds ?? 60, minimumHealthyPercent: 50 });
  world.placeInitialTasks();
  if (options.suiteHook) world.putLifecycleHook({ groupName: 'g', name: 'suite-drain', heartbeatTimeout: 300, defaultResult: 'CONTINUE', topicArn: topic.arn });
  ecs(world, 'CreateCapacityProvider', {
    name: 'cp',
    autoScalingGroupProvider: {
      autoScalingGroupArn: group.arn,
      managedScaling: { status: 'ENABLED', targetCapacity: 100 },
      ...(options.managedDraining ? { managedDraining: options.managedDraining } : {}),
    },
  });
  if (options.associate !== false) ecs(world, 'PutClusterCapacityProviders', { cluster: 'c', capacityProviders: ['cp'], defaultCapacityProviderStrategy: [] });
  const events: BusEvent[] = [];
  world.onBusEvent((event) => events.push(event));
  return { world, clock, group, ids, events };
}

describe('capacity providers (aws-behaviour.md §3.5)', () => {
  it('CreateCapacityProvider tags the group AmazonECSManaged; managed draining is on by default, termination protection off', () => {
    const { world } = providerWorld();
    const groups = asg(world, 'DescribeAutoScalingGroups', { AutoScalingGroupNames: ['g'] }).AutoScalingGroups as { Tags: { Key: string }[] }[];
    expect(groups[0]!.Tags.map((tag) => tag.Key)).toContain('AmazonECSManaged');
    const described = ecs(world, 'DescribeCapacityProviders', { capacityProviders: ['cp', 'FARGATE', 'nope'] });
    expect(described.capacityProviders).toEqual([
      expect.objectContaining({
        name: 'cp',
        status: 'ACTIVE',
        autoScalingGroupProvider: expect.objectContaining({
          autoScalingGroupArn: world.groups.get('g')!.arn,
          managedScaling: expect.objectContaining({ status: 'ENABLED', targetCapacity: 100 }),
          managedTerminationProtection: 'DISABLED',
          managedDraining: 'ENABLED',
        }),
      }),
      expect.objectContaining({ name: 'FARGATE', type: 'FARGATE' }),
    ]);
    expect((described.capacityProviders as Record<string, unknown>[])[1]).not.toHaveProperty('autoScalingGroupProvider');
    expect(described.failures).toEqual([{ arn: 'nope', reason: 'MISSING' }]);
  });

  it('DescribeClusters lists the associated providers by name; an empty list without any', () => {
    const { world } = providerWorld();
    world.createCluster({ name: 'plain' });
    const clusters = ecs(world, 'DescribeClusters', { clusters: ['c', 'plain'] }).clusters as { clusterName: string; capacityProviders: string[] }[];
    expect(clusters.map((cluster) => [cluster.clusterName, cluster.capacityProviders])).toEqual([
      ['c', ['cp']],
      ['plain', []],
    ]);
  });

  it('pages DescribeCapacityProviders by 10 at most and refuses a larger page', () => {
    const { world } = newWorld();
    world.createCluster({ name: 'c' });
    for (let index = 0; index < 12; index += 1) {
      world.createGroup({ name: `g${index}`, cluster: 'c', minSize: 0, maxSize: 1, desiredCapacity: 0, instanceCpu: 1024, instanceMemory: 2048 });
      world.createCapacityProvider({ name: `cp${index}`, group: `g${index}` });
    }
    const names = Array.from({ length: 12 }, (_, index) => `cp${index}`);
    const first = ecs(world, 'DescribeCapacityProviders', { capacityProviders: names });
    expect((first.capacityProviders as unknown[]).length).toBe(10);
    const second = ecs(world, 'DescribeCapacityProviders', { capacityProviders: names, nextToken: first.nextToken });
    expect((second.capacityProviders as unknown[]).length).toBe(2);
    expect(second.nextToken).toBeUndefined();
    expect(errorOf(() => ecs(world, 'DescribeCapacityProviders', { maxResults: 11 })).code).toBe('InvalidParameterException');
  });

  it('refuses a second provider on one group, a reserved name, and a provider already serving another cluster', () => {
    const { world, group } = providerWorld();
    expect(errorOf(() => world.createCapacityProvider({ name: 'cp2', group: 'g' })).code).toBe('InvalidParameterException');
    expect(errorOf(() => ecs(world, 'CreateCapacityProvider', { name: 'ecs-x', autoScalingGroupProvider: { autoScalingGroupArn: group.arn } })).code).toBe(
      'InvalidParameterException',
    );
    world.createCluster({ name: 'other' });
    expect(errorOf(() => world.putClusterCapacityProviders('other', ['cp'])).code).toBe('ResourceInUseException');
  });

  it('with managed draining, the association adds ECS’s own termination hook to the group; without it, none', () => {
    expect([...providerWorld().group.hooks.keys()]).toEqual([MANAGED_DRAINING_HOOK]);
    expect([...providerWorld({ managedDraining: 'DISABLED' }).group.hooks.keys()]).toEqual([]);
    expect([...providerWorld({ associate: false }).group.hooks.keys()]).toEqual([]);
  });
});

describe('ECS managed instance draining (aws-behaviour.md §3.5)', () => {
  it('Auto Scaling announces each termination action on EventBridge; ECS drains the instance and completes its own hook once every task stopped', async () => {
    const { world, clock, ids, events } = providerWorld({ stopSeconds: 60 });
    asg(world, 'TerminateInstanceInAutoScalingGroup', { InstanceId: ids[0], ShouldDecrementDesiredCapacity: true });
    const announced = events.filter((event) => event['detail-type'] === TERMINATE_LIFECYCLE_ACTION);
    expect(announced).toEqual([
      expect.objectContaining({
        source: 'aws.autoscaling',
        resources: [world.groups.get('g')!.arn],
        detail: expect.objectContaining({ LifecycleHookName: MANAGED_DRAINING_HOOK, EC2InstanceId: ids[0], LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING' }),
      }),
    ]);
    await clock.advance(2_000);
    const instance = world.containerInstanceOf(ids[0]!)!;
    expect(instance.status).toBe('DRAINING');
    expect(world.drains).toEqual([expect.objectContaining({ ec2InstanceId: ids[0], by: 'ecs-managed-draining' })]);
    const action = [...world.lifecycleActions.values()].find((candidate) => candidate.instanceId === ids[0])!;
    expect(action.state).toBe('active');
    // The service task on it is replaced, then stopped (60 s); ECS completes a check later.
    await clock.advance(5 * 60_000);
    expect(action).toMatchObject({ state: 'completed', result: 'CONTINUE', unstoppedTasksAtEnd: 0 });
    expect(world.terminations).toEqual([expect.objectContaining({ ec2InstanceId: ids[0], unstoppedTasks: 0 })]);
    expect(world.killedTasks.filter((task) => task.origin !== 'daemon')).toEqual([]);
  });

  it('runs alongside another termination hook: the instance waits for both, whoever completes first', async () => {
    const { world, clock, ids } = providerWorld({ suiteHook: true, stopSeconds: 120 });
    asg(world, 'TerminateInstanceInAutoScalingGroup', { InstanceId: ids[0], ShouldDecrementDesiredCapacity: true });
    const suite = [...world.lifecycleActions.values()].find((action) => action.hookName === 'suite-drain')!;
    asg(world, 'CompleteLifecycleAction', { AutoScalingGroupName: 'g', LifecycleHookName: 'suite-drain', LifecycleActionToken: suite.token, LifecycleActionResult: 'CONTINUE' });
    expect(suite.othersHolding).toBe(1);
    const state = () => lifecycleStateOf(world, ids[0]!);
    await clock.advance(60_000);
    expect(state()).toBe('Terminating:Wait');
    expect(world.terminations).toEqual([]);
    await clock.advance(10 * 60_000);
    expect(world.terminations).toEqual([expect.objectContaining({ ec2InstanceId: ids[0], unstoppedTasks: 0 })]);
  });

  it('keeps its own action alive with heartbeats while the tasks take longer than the hook’s heartbeat timeout', async () => {
    const { world, clock, ids } = providerWorld();
    world.runTask({ cluster: 'c', ec2InstanceId: ids[0]!, family: 'job', cpu: 128, memory: 128, runSeconds: 2 * 3600 });
    asg(world, 'TerminateInstanceInAutoScalingGroup', { InstanceId: ids[0], ShouldDecrementDesiredCapacity: true });
    const action = [...world.lifecycleActions.values()].find((candidate) => candidate.instanceId === ids[0])!;
    await clock.advance(90 * 60_000);
    expect(action.state).toBe('active');
    expect(action.heartbeats).toBeGreaterThan(0);
    await clock.advance(40 * 60_000);
    expect(action).toMatchObject({ state: 'completed', result: 'CONTINUE', unstoppedTasksAtEnd: 0 });
  });

  it('an instance already DRAINING is taken over as it is; DRAINING requests through the API are recorded as the API’s', async () => {
    const { world, clock, ids } = providerWorld();
    ecs(world, 'UpdateContainerInstancesState', { cluster: 'c', containerInstances: [world.containerInstanceOf(ids[1]!)!.arn], status: 'DRAINING' });
    asg(world, 'TerminateInstanceInAutoScalingGroup', { InstanceId: ids[1], ShouldDecrementDesiredCapacity: true });
    await clock.advance(2_000);
    expect(world.managedDrains).toEqual([expect.objectContaining({ ec2InstanceId: ids[1], alreadyDraining: true })]);
    expect(world.drains.map((drain) => drain.by)).toEqual(['api']);
    expect(world.drainRequests).toEqual([expect.objectContaining({ ec2InstanceId: ids[1], by: 'api' })]);
  });

  it('drains on a Spot interruption warning, in groups with managed draining only', async () => {
    const { world, clock, ids } = providerWorld();
    world.emit('EC2 Spot Instance Interruption Warning', [ids[2]!], { 'instance-id': ids[2], 'instance-action': 'terminate' });
    await clock.advance(2_000);
    expect(world.containerInstanceOf(ids[2]!)!.status).toBe('DRAINING');
    const off = providerWorld({ managedDraining: 'DISABLED' });
    off.world.emit('EC2 Spot Instance Interruption Warning', [off.ids[2]!], { 'instance-id': off.ids[2], 'instance-action': 'terminate' });
    await off.clock.advance(2_000);
    expect(off.world.containerInstanceOf(off.ids[2]!)!.status).toBe('ACTIVE');
  });
});
