import { asg, errorOf, groupWorld } from './helpers';

/** DetachInstances (docs/aws-behaviour.md §1.8). */
describe('Auto Scaling DetachInstances', () => {
  const group = (desired = 2, max = 2) => groupWorld({ maxSize: max, desiredCapacity: desired }, { timings: { bootMs: 30_000 } });

  it('without decrementing: the instance leaves the group, keeps running, and the group launches a replacement (even at MaxSize)', async () => {
    const { world, clock, ids } = group(2, 2);
    asg(world, 'DetachInstances', { AutoScalingGroupName: 'g', InstanceIds: [ids[0]], ShouldDecrementDesiredCapacity: false });
    expect(world.groupOf(ids[0]!)).toBeUndefined();
    expect(world.ec2.get(ids[0]!)!.state).toBe('running');
    expect(world.containerInstanceOf(ids[0]!)!.status).toBe('ACTIVE');
    const described = asg(world, 'DescribeAutoScalingInstances', { InstanceIds: [ids[0]] }) as { AutoScalingInstances: unknown[] };
    expect(described.AutoScalingInstances).toEqual([]);
    await clock.advance(32_000);
    const g = world.groups.get('g')!;
    expect(g.desiredCapacity).toBe(2);
    expect([...g.instances.values()].filter((member) => member.lifecycleState === 'InService')).toHaveLength(2);
    expect(g.instances.has(ids[0]!)).toBe(false);
    // The detached instance runs no lifecycle hook and is not terminated by the group.
    expect(world.terminations).toEqual([]);
  });

  it('with decrementing: no replacement, and not below MinSize', async () => {
    const { world, clock, ids } = group(2, 3);
    asg(world, 'DetachInstances', { AutoScalingGroupName: 'g', InstanceIds: [ids[0]], ShouldDecrementDesiredCapacity: true });
    await clock.advance(32_000);
    expect(world.groups.get('g')!.desiredCapacity).toBe(1);
    expect(world.groups.get('g')!.instances.size).toBe(1);
    expect(errorOf(() => asg(world, 'DetachInstances', { AutoScalingGroupName: 'g', InstanceIds: [ids[1]], ShouldDecrementDesiredCapacity: true })).code).toBe('ValidationError');
  });

  it('refuses an instance not in the group (a second detach), more than 20 ids, and a missing decrement flag', () => {
    const { world, ids } = group();
    asg(world, 'DetachInstances', { AutoScalingGroupName: 'g', InstanceIds: [ids[0]], ShouldDecrementDesiredCapacity: false });
    expect(errorOf(() => asg(world, 'DetachInstances', { AutoScalingGroupName: 'g', InstanceIds: [ids[0]], ShouldDecrementDesiredCapacity: false })).code).toBe('ValidationError');
    const many = Array.from({ length: 21 }, (_, index) => `i-0000000${index.toString(16).padStart(10, '0')}`);
    expect(errorOf(() => asg(world, 'DetachInstances', { AutoScalingGroupName: 'g', InstanceIds: many, ShouldDecrementDesiredCapacity: false })).code).toBe('ValidationError');
    expect(errorOf(() => asg(world, 'DetachInstances', { AutoScalingGroupName: 'g', InstanceIds: [ids[1]] })).code).toBe('ValidationError');
  });
});
