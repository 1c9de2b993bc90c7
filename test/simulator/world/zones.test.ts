import { diurnalCount, scheduleDiurnal } from '../../../simulator/world/diurnal';
import { ReservationStepPolicy } from '../../../simulator/world/step-scaling';
import type { World } from '../../../simulator/world/world';
import { START, asg, ecs, errorOf, newWorld } from './helpers';

const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
const MIXED = [{ type: 'm5.xlarge', cpu: 4096, memory: 16384, weight: 2 }, { type: 'm5.large', cpu: 2048, memory: 8192, weight: 1 }];

function zoneCounts(world: World, groupName: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const member of world.groups.get(groupName)!.instances.values()) {
    if (member.lifecycleState !== 'InService' && member.lifecycleState !== 'Pending') continue;
    const zone = world.ec2.get(member.id)!.az;
    counts[zone] = (counts[zone] ?? 0) + 1;
  }
  return counts;
}

function zonedGroup(world: World, overrides: Record<string, unknown> = {}) {
  world.createCluster({ name: 'c' });
  return world.createGroup({
    name: 'g',
    cluster: 'c',
    minSize: 0,
    maxSize: 30,
    desiredCapacity: 6,
    instanceCpu: 2048,
    instanceMemory: 8192,
    zones: ZONES,
    ...overrides,
  });
}

const terminate = (world: World, instanceId: string) =>
  asg(world, 'TerminateInstanceInAutoScalingGroup', { InstanceId: instanceId, ShouldDecrementDesiredCapacity: true });

describe('Availability Zones of Auto Scaling groups', () => {
  it('spreads a group over its zones and reports each instance\'s zone to Auto Scaling and ECS alike', async () => {
    const { clock, world } = newWorld();
    zonedGroup(world);
    expect(zoneCounts(world, 'g')).toEqual({ 'us-east-1a': 2, 'us-east-1b': 2, 'us-east-1c': 2 });
    world.setDesiredCapacity('g', 9);
    await clock.advance(120_000);
    expect(zoneCounts(world, 'g')).toEqual({ 'us-east-1a': 3, 'us-east-1b': 3, 'us-east-1c': 3 });
    const described = asg(world, 'DescribeAutoScalingInstances', {}) as { AutoScalingInstances: Array<{ InstanceId: string; AvailabilityZone: string }> };
    for (const entry of described.AutoScalingInstances) {
      expect(world.containerInstanceOf(entry.InstanceId)!.attributes.get('ecs.availability-zone')).toBe(entry.AvailabilityZone);
    }
  });

  it('AZRebalance: after terminations leave zones two apart, launches in the short zone, then terminates a busy instance in the long one without a drain', async () => {
    const { clock, world } = newWorld();
    const group = zonedGroup(world, { azRebalance: true });
    world.createService({ cluster: 'c', name: 'web', desiredCount: 6, cpu: 512, memory: 1024 });
    world.placeInitialTasks();
    const inB = [...group.instances.keys()].filter((id) => world.ec2.get(id)!.az === 'us-east-1b');
    terminate(world, inB[0]!);
    await clock.advance(30_000);
    // One apart: tolerated.
    expect(world.azRebalances).toEqual([]);
    terminate(world, inB[1]!);
    await clock.advance(5 * 60_000);
    expect(world.azRebalances).toHaveLength(1);
    const [rebalance] = world.azRebalances;
    expect(rebalance).toMatchObject({ launchedIn: 'us-east-1b', causedBy: 'terminate-api' });
    expect(['us-east-1a', 'us-east-1c']).toContain(rebalance!.terminatedIn);
    expect(world.terminations.filter((termination) => termination.cause === 'az-rebalance')).toHaveLength(1);
    // Desired capacity is unchanged: a rebalance replaces, it does not shrink.
    expect(group.desiredCapacity).toBe(4);
    const counts = Object.values(zoneCounts(world, 'g'));
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    // The victim was busy and nobody drained it: its service task was killed with it.
    const victim = rebalance!.terminatedId!;
    expect(world.killedTasks.some((task) => task.ec2InstanceId === victim && task.origin === 'service')).toBe(true);
  });

  it('AZRebalance is off unless the group turns it on', async () => {
    const { clock, world } = newWorld();
    const group = zonedGroup(world);
    const inB = [...group.instances.keys()].filter((id) => world.ec2.get(id)!.az === 'us-east-1b');
    for (const id of inB) terminate(world, id);
    await clock.advance(10 * 60_000);
    expect(world.azRebalances).toEqual([]);
    expect(zoneCounts(world, 'g')['us-east-1b']).toBeUndefined();
  });

  it('spreads a service\'s tasks over zones before instances', () => {
    const { world } = newWorld();
    world.createCluster({ name: 'c' });
    // Four instances in us-east-1a, one in each other zone.
    for (const az of ['us-east-1a', 'us-east-1a', 'us-east-1a', 'us-east-1a', 'us-east-1b', 'us-east-1c']) {
      world.addInstance({ cluster: 'c', cpu: 4096, memory: 8192, az });
    }
    world.createService({ cluster: 'c', name: 'web', desiredCount: 6, cpu: 256, memory: 512 });
    world.placeInitialTasks();
    const perZone: Record<string, number> = {};
    for (const task of world.clusters.get('c')!.tasks.values()) {
      const zone = world.clusters.get('c')!.instances.get(task.containerInstanceArn)!.attributes.get('ecs.availability-zone')!;
      perZone[zone] = (perZone[zone] ?? 0) + 1;
    }
    expect(perZone).toEqual({ 'us-east-1a': 2, 'us-east-1b': 2, 'us-east-1c': 2 });
  });
});

describe('weighted mixed-instances groups', () => {
  it('sizes the group in capacity units and reports each instance\'s WeightedCapacity', () => {
    const { world } = newWorld();
    const group = zonedGroup(world, { desiredCapacity: 5, minSize: 2, mixedInstances: MIXED });
    const types = [...group.instances.keys()].map((id) => world.ec2.get(id)!.instanceType).sort();
    // Two m5.xlarge (2 units each) and one m5.large: 5 units in three instances.
    expect(types).toEqual(['m5.large', 'm5.xlarge', 'm5.xlarge']);
    const described = asg(world, 'DescribeAutoScalingInstances', {}) as { AutoScalingInstances: Array<{ InstanceType: string; WeightedCapacity: string }> };
    expect(described.AutoScalingInstances.map((entry) => [entry.InstanceType, entry.WeightedCapacity]).sort()).toEqual([
      ['m5.large', '1'],
      ['m5.xlarge', '2'],
      ['m5.xlarge', '2'],
    ]);
    const groups = asg(world, 'DescribeAutoScalingGroups', {}) as { AutoScalingGroups: Array<{ Instances: Array<{ WeightedCapacity?: string }> }> };
    expect(groups.AutoScalingGroups[0]!.Instances.every((entry) => entry.WeightedCapacity !== undefined)).toBe(true);
    expect(world.containerInstanceOf([...group.instances.keys()][0]!)!.registeredCpu).toBe(4096);
  });

  it('lowers desired capacity by the weight, and refuses a termination that would take it below the minimum in units', () => {
    const { world } = newWorld();
    const group = zonedGroup(world, { desiredCapacity: 5, minSize: 2, mixedInstances: MIXED });
    const byType = (type: string) => [...group.instances.keys()].filter((id) => world.ec2.get(id)!.instanceType === type);
    terminate(world, byType('m5.xlarge')[0]!);
    expect(group.desiredCapacity).toBe(3);
    // 3 - 2 = 1 < min 2: refused, recorded, and nothing changes.
    const error = errorOf(() => terminate(world, byType('m5.xlarge')[1]!));
    expect(error.code).toBe('ValidationError');
    expect(group.desiredCapacity).toBe(3);
    expect(world.refusedTerminations).toEqual([expect.objectContaining({ groupName: 'g', ec2InstanceId: byType('m5.xlarge')[1] })]);
    // The m5.large (1 unit) still fits: 3 - 1 = 2.
    terminate(world, byType('m5.large')[0]!);
    expect(group.desiredCapacity).toBe(2);
  });

  it('launches towards desired capacity in units', async () => {
    const { clock, world } = newWorld();
    const group = zonedGroup(world, { desiredCapacity: 2, mixedInstances: MIXED });
    world.setDesiredCapacity('g', 7);
    await clock.advance(120_000);
    let units = 0;
    for (const member of group.instances.values()) units += member.weight ?? 1;
    expect(units).toBe(7);
  });
});

describe('diurnal load and a reservation step policy', () => {
  it('follows a day curve: peak at the peak hour, night twelve hours later', () => {
    const spec = { night: 10, peak: 50, peakHour: 14 };
    const at = (hour: number) => Date.UTC(2026, 2, 4, hour, 0, 0);
    expect(diurnalCount(spec, at(14))).toBe(50);
    expect(diurnalCount(spec, at(2))).toBe(10);
    expect(diurnalCount(spec, at(8))).toBe(30);
    expect(diurnalCount(spec, at(20))).toBe(30);
  });

  it('sets the service\'s desired count every step, and the step policy adds capacity when tasks cannot be placed', async () => {
    const { clock, world } = newWorld();
    zonedGroup(world, { desiredCapacity: 3, maxSize: 60, instanceCpu: 2048, instanceMemory: 4096 });
    world.createService({ cluster: 'c', name: 'web', desiredCount: 3, cpu: 1024, memory: 1024 });
    world.placeInitialTasks();
    const policy = new ReservationStepPolicy(world, world.rules.autoScaling, { groupName: 'g', cluster: 'c', minFreeCpu: 1024, stepUnits: 2, warmupSeconds: 120 });
    policy.start(START + 3 * 3_600_000);
    // 10:00 is four hours before the peak: 10 + 40 × (1 + cos 60°) / 2 = 40 tasks of 1,024 CPU units.
    scheduleDiurnal(world, world.rules.ecs, { cluster: 'c', service: 'web', night: 10, peak: 50, peakHour: 14, stepMinutes: 15 }, START + 3 * 3_600_000);
    await clock.advance(60_000);
    expect(world.clusters.get('c')!.services.get('web')!.desiredCount).toBe(40);
    await clock.advance(3 * 3_600_000);
    expect(policy.actions.length).toBeGreaterThan(3);
    expect(policy.actions.every((action) => action.to === action.from + 2)).toBe(true);
    const web = [...world.clusters.get('c')!.tasks.values()].filter((task) => task.serviceName === 'web' && task.lastStatus === 'RUNNING');
    expect(web).toHaveLength(world.clusters.get('c')!.services.get('web')!.desiredCount);
    const active = ecs(world, 'ListContainerInstances', { cluster: 'c', status: 'ACTIVE' }) as { containerInstanceArns: string[] };
    expect(active.containerInstanceArns.length).toBeGreaterThan(20);
  });
});
