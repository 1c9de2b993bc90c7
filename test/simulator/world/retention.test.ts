import { asg, groupWorld, lifecycleStateOf } from './helpers';

/** Instance lifecycle policies that retain abandoned instances (docs/aws-behaviour.md §3.4). */
function retainingWorld(options: { policy?: 'retain' | 'terminate'; defaultResult?: 'CONTINUE' | 'ABANDON' } = {}) {
  const { world, clock, topic, group, ids } = groupWorld({ maxSize: 5, desiredCapacity: 2, ...(options.policy ? { terminateHookAbandon: options.policy } : {}) });
  world.putLifecycleHook({ groupName: 'g', name: 'drain', heartbeatTimeout: 300, defaultResult: options.defaultResult ?? 'ABANDON', topicArn: topic.arn });
  const stateOf = (id: string) => lifecycleStateOf(world, id);
  const terminate = (id: string, decrement = false) => asg(world, 'TerminateInstanceInAutoScalingGroup', { InstanceId: id, ShouldDecrementDesiredCapacity: decrement });
  const complete = (id: string, result: 'CONTINUE' | 'ABANDON') =>
    asg(world, 'CompleteLifecycleAction', { AutoScalingGroupName: 'g', LifecycleHookName: 'drain', InstanceId: id, LifecycleActionResult: result });
  return { world, clock, group, ids, stateOf, terminate, complete };
}

describe('instance lifecycle policy: retention (aws-behaviour.md §3.4)', () => {
  it('DescribeAutoScalingGroups shows the policy', () => {
    const { world } = retainingWorld({ policy: 'retain' });
    const groups = asg(world, 'DescribeAutoScalingGroups', { AutoScalingGroupNames: ['g'] }).AutoScalingGroups as Record<string, unknown>[];
    expect(groups[0]!.InstanceLifecyclePolicy).toEqual({ RetentionTriggers: { TerminateHookAbandon: 'retain' } });
    const plain = retainingWorld();
    expect((asg(plain.world, 'DescribeAutoScalingGroups', {}).AutoScalingGroups as Record<string, unknown>[])[0]).not.toHaveProperty('InstanceLifecyclePolicy');
  });

  it('ABANDON keeps the instance running in Terminating:Retained, its container instance as it was, and the group launches a replacement', async () => {
    const { world, clock, group, ids, stateOf, terminate, complete } = retainingWorld({ policy: 'retain' });
    terminate(ids[0]!);
    world.setContainerInstanceStatus(world.containerInstanceOf(ids[0]!)!, 'DRAINING');
    complete(ids[0]!, 'ABANDON');
    expect(stateOf(ids[0]!)).toBe('Terminating:Proceed');
    await clock.advance(2_000);
    expect(stateOf(ids[0]!)).toBe('Terminating:Retained');
    expect(world.ec2.get(ids[0]!)!.state).toBe('running');
    expect(world.containerInstanceOf(ids[0]!)!.status).toBe('DRAINING');
    expect(world.retainedInstances).toEqual([expect.objectContaining({ ec2InstanceId: ids[0], groupName: 'g' })]);
    await clock.advance(5 * 60_000);
    expect(world.terminations).toEqual([]);
    // Retained instances do not count toward desired capacity: a replacement joined.
    expect([...group.instances.values()].filter((member) => member.lifecycleState === 'InService')).toHaveLength(2);
    expect(group.instances.size).toBe(3);
  });

  it('a heartbeat timeout with default result ABANDON retains too; with CONTINUE it terminates', async () => {
    const abandoning = retainingWorld({ policy: 'retain', defaultResult: 'ABANDON' });
    abandoning.terminate(abandoning.ids[0]!);
    await abandoning.clock.advance(301_000 + 2_000);
    expect(abandoning.stateOf(abandoning.ids[0]!)).toBe('Terminating:Retained');

    const continuing = retainingWorld({ policy: 'retain', defaultResult: 'CONTINUE' });
    continuing.terminate(continuing.ids[0]!);
    await continuing.clock.advance(301_000 + 2_000);
    expect(continuing.world.terminations).toEqual([expect.objectContaining({ ec2InstanceId: continuing.ids[0] })]);
  });

  it('CONTINUE, or a policy of terminate, terminates as before', async () => {
    const kept = retainingWorld({ policy: 'retain' });
    kept.terminate(kept.ids[0]!);
    kept.complete(kept.ids[0]!, 'CONTINUE');
    await kept.clock.advance(2_000);
    expect(kept.world.terminations).toEqual([expect.objectContaining({ ec2InstanceId: kept.ids[0] })]);

    const terminating = retainingWorld({ policy: 'terminate' });
    terminating.terminate(terminating.ids[0]!);
    terminating.complete(terminating.ids[0]!, 'ABANDON');
    await terminating.clock.advance(2_000);
    expect(terminating.world.terminations).toEqual([expect.objectContaining({ ec2InstanceId: terminating.ids[0] })]);
  });

  it('stays until TerminateInstanceInAutoScalingGroup, which terminates it at once (no hook again)', async () => {
    const { world, clock, ids, terminate, complete } = retainingWorld({ policy: 'retain' });
    terminate(ids[0]!);
    complete(ids[0]!, 'ABANDON');
    await clock.advance(2 * 3600_000);
    expect(world.terminations).toEqual([]);
    const actions = world.lifecycleActions.size;
    terminate(ids[0]!, true);
    await clock.advance(20_000);
    expect(world.lifecycleActions.size).toBe(actions);
    expect(world.terminations).toEqual([expect.objectContaining({ ec2InstanceId: ids[0], cause: 'terminate-api' })]);
    expect(world.retainedInstances[0]!.terminatedAt).toBeDefined();
  });
});
