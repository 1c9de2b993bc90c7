import { asg, clusterWith, ecs, errorOf, groupWorld, newWorld, START } from './helpers';

/**
 * Limits and refusals of the real APIs that the world enforces (docs/aws-behaviour.md §3.1, §3.2,
 * §6): a handler that would break them fails here as it would at AWS.
 */
const put = (targetId: string, names: string[], value = 'v') => ({
  cluster: 'c',
  attributes: names.map((name) => ({ name, value, targetType: 'container-instance', targetId })),
});
const labels = (count: number, prefix = 'team.l') => Array.from({ length: count }, (_, index) => `${prefix}${index}`);
const customNames = (attributes: Map<string, string>) => [...attributes.keys()].filter((name) => !name.startsWith('ecs.'));

describe('container-instance attributes (aws-behaviour.md §3.1)', () => {
  it('holds at most 10 custom attributes; the agent’s ecs.* attributes do not count', () => {
    const { world } = newWorld();
    const [instance] = clusterWith(world, 1);
    expect([...instance!.attributes.keys()].filter((name) => name.startsWith('ecs.')).length).toBeGreaterThan(0);
    ecs(world, 'PutAttributes', put(instance!.arn, labels(10)));
    expect(customNames(instance!.attributes)).toHaveLength(10);
    // Overwriting one of the ten takes no new slot; the agent's namespace takes none either.
    ecs(world, 'PutAttributes', put(instance!.arn, ['team.l3', 'ecs.capability.custom']));
    const error = errorOf(() => ecs(world, 'PutAttributes', put(instance!.arn, ['one-more'])));
    expect({ code: error.code, status: error.httpStatus }).toEqual({ code: 'AttributeLimitExceededException', status: 400 });
    expect(instance!.attributes.has('one-more')).toBe(false);
  });

  it('fails the whole call when one target would exceed the limit: no target gets anything', () => {
    const { world } = newWorld();
    const [full, free] = clusterWith(world, 2);
    ecs(world, 'PutAttributes', put(full!.arn, labels(9)));
    const before = { full: full!.version, free: free!.version };
    const error = errorOf(() =>
      ecs(world, 'PutAttributes', {
        cluster: 'c',
        attributes: [
          { name: 'x.idle-since', value: '2026-03-04T10:00:00.000Z', targetType: 'container-instance', targetId: free!.arn },
          { name: 'x.idle-since', value: '2026-03-04T10:00:00.000Z', targetType: 'container-instance', targetId: full!.arn },
          { name: 'x.drained-at', value: '2026-03-04T10:00:00.000Z', targetType: 'container-instance', targetId: full!.arn },
        ],
      }),
    );
    expect(error.code).toBe('AttributeLimitExceededException');
    expect(free!.attributes.has('x.idle-since')).toBe(false);
    expect(customNames(full!.attributes)).toHaveLength(9);
    expect({ full: full!.version, free: free!.version }).toEqual(before);
    // The same write without the full target goes through.
    ecs(world, 'PutAttributes', put(free!.arn, ['x.idle-since', 'x.drained-at']));
    expect(customNames(free!.attributes)).toEqual(['x.idle-since', 'x.drained-at']);
  });

  it.each([
    ['letters, digits, - _ . / and \\', 'Team_1/zone.a-b\\c', true],
    ['128 characters', 'a'.repeat(128), true],
    ['129 characters', 'a'.repeat(129), false],
    ['an at sign', 'team@x', false],
    ['a colon', 'team:x', false],
    ['a space', 'team x', false],
    ['nothing', '', false],
  ])('a name of %s is %s', (_what, name, accepted) => {
    const { world } = newWorld();
    const [instance] = clusterWith(world, 1);
    const call = () => ecs(world, 'PutAttributes', put(instance!.arn, [name]));
    if (accepted) expect(call).not.toThrow();
    else expect(errorOf(call).code).toBe('InvalidParameterException');
  });

  it.each([
    ['an ISO timestamp', '2026-03-04T10:00:00.000Z', true],
    ['letters with @ / \\ : and inner spaces', 'ops@team a/b\\c:d', true],
    ['128 characters', 'v'.repeat(128), true],
    ['129 characters', 'v'.repeat(129), false],
    ['a leading space', ' v', false],
    ['a trailing space', 'v ', false],
    ['a comma', 'a,b', false],
  ])('a value of %s is %s', (_what, value, accepted) => {
    const { world } = newWorld();
    const [instance] = clusterWith(world, 1);
    const call = () => ecs(world, 'PutAttributes', put(instance!.arn, ['name'], value));
    if (accepted) expect(call).not.toThrow();
    else expect(errorOf(call).code).toBe('InvalidParameterException');
  });

  it('with the attribute-slots fault on, a share of the instances registers with 8 to 10 labels of its own', () => {
    const { world } = newWorld({ attributeSlotsFull: { rate: 0.5, seed: 3 } });
    const instances = clusterWith(world, 40);
    const counts = instances.map((instance) => customNames(instance.attributes).length);
    expect(counts.every((count) => count === 0 || (count >= 8 && count <= 10))).toBe(true);
    const labelled = counts.filter((count) => count > 0).length;
    expect(labelled).toBeGreaterThan(8);
    expect(labelled).toBeLessThan(32);
    const off = newWorld();
    expect(clusterWith(off.world, 10).every((instance) => customNames(instance.attributes).length === 0)).toBe(true);
  });
});

describe('ListTasks with a service name (aws-behaviour.md §3.1)', () => {
  it('answers ServiceNotFoundException for a service the cluster does not have', () => {
    const { world } = newWorld();
    clusterWith(world, 1);
    world.createService({ cluster: 'c', name: 'web', desiredCount: 0, cpu: 256, memory: 512 });
    expect(ecs(world, 'ListTasks', { cluster: 'c', serviceName: 'web' })).toEqual({ taskArns: [] });
    const error = errorOf(() => ecs(world, 'ListTasks', { cluster: 'c', serviceName: 'nope' }));
    expect({ code: error.code, status: error.httpStatus }).toEqual({ code: 'ServiceNotFoundException', status: 400 });
  });
});

function hookedWorld() {
  const built = groupWorld({ minSize: 0 }, {});
  built.world.putLifecycleHook({ groupName: 'g', name: 'drain', heartbeatTimeout: 300, topicArn: built.topic.arn });
  return built;
}

describe('lifecycle action tokens (aws-behaviour.md §3.2)', () => {
  it.each(['CompleteLifecycleAction', 'RecordLifecycleActionHeartbeat'])('%s refuses a token that is not 36 characters before looking it up', (operation) => {
    const { world } = hookedWorld();
    const base = { AutoScalingGroupName: 'g', LifecycleHookName: 'drain', ...(operation === 'CompleteLifecycleAction' ? { LifecycleActionResult: 'CONTINUE' } : {}) };
    for (const token of ['short', 'x'.repeat(37)]) {
      const error = errorOf(() => asg(world, operation, { ...base, LifecycleActionToken: token }));
      expect({ code: error.code, message: error.message }).toEqual({ code: 'ValidationError', message: expect.stringMatching(/lifecycleActionToken.*length/) });
    }
    // A well-formed token of no action is the "no active action" answer.
    const unknown = errorOf(() => asg(world, operation, { ...base, LifecycleActionToken: '00000000-0000-4000-8000-000000000000' }));
    expect(unknown.message).toMatch(/^No active Lifecycle Action found with token/);
  });
});

describe('Auto Scaling writes while the group is busy (aws-behaviour.md §3.2)', () => {
  it('refuses TerminateInstanceInAutoScalingGroup and SetDesiredCapacity during an activity, changing nothing, and accepts them after it', async () => {
    const { world, clock, group, ids } = hookedWorld();
    world.rules.autoScaling.beginActivity('g', 60_000);
    const terminate = () => asg(world, 'TerminateInstanceInAutoScalingGroup', { InstanceId: ids[0], ShouldDecrementDesiredCapacity: true });
    const error = errorOf(terminate);
    expect({ code: error.code, status: error.httpStatus }).toEqual({ code: 'ScalingActivityInProgress', status: 400 });
    expect(errorOf(() => asg(world, 'SetDesiredCapacity', { AutoScalingGroupName: 'g', DesiredCapacity: 2 })).code).toBe('ScalingActivityInProgress');
    expect({ desired: group.desiredCapacity, state: group.instances.get(ids[0]!)!.lifecycleState }).toEqual({ desired: 3, state: 'InService' });
    // Protection is not refused for an activity (its API reference lists only ResourceContention).
    expect(() => asg(world, 'SetInstanceProtection', { AutoScalingGroupName: 'g', InstanceIds: [ids[1]], ProtectedFromScaleIn: true })).not.toThrow();
    await clock.advance(60_001);
    expect(terminate).not.toThrow();
    expect(group.desiredCapacity).toBe(2);
    expect(START).toBeLessThan(clock.now());
  });
});

describe('PutMetricData validation (aws-behaviour.md §6)', () => {
  const datum = (overrides: Record<string, unknown> = {}) => ({ MetricName: 'FreeCpu', Value: 1, Unit: 'None', Timestamp: new Date(START), Dimensions: [{ Name: 'ClusterName', Value: 'c' }], ...overrides });
  const putData = (world: ReturnType<typeof newWorld>['world'], data: unknown[]) => world.callSync('cloudwatch', 'PutMetricData', { Namespace: 'Keeper', MetricData: data });

  it('accepts a well-formed datum and stores it', () => {
    const { world } = newWorld();
    putData(world, [datum()]);
    expect(world.metrics).toHaveLength(1);
  });

  it.each([
    ['a timestamp more than two weeks old', { Timestamp: new Date(START - 14 * 86_400_000 - 1000) }],
    ['a timestamp more than two hours ahead', { Timestamp: new Date(START + 2 * 3_600_000 + 1000) }],
    ['a dimension value of 1025 characters', { Dimensions: [{ Name: 'ClusterName', Value: 'c'.repeat(1025) }] }],
    ['an empty dimension value', { Dimensions: [{ Name: 'ClusterName', Value: '' }] }],
    ['a dimension name of 256 characters', { Dimensions: [{ Name: 'n'.repeat(256), Value: 'c' }] }],
    ['a metric name of 256 characters', { MetricName: 'm'.repeat(256) }],
    ['a unit outside the enum', { Unit: 'Instances' }],
    ['151 values', { Value: undefined, Values: Array.from({ length: 151 }, (_, index) => index) }],
    ['counts not matching values', { Value: undefined, Values: [1, 2], Counts: [1] }],
  ])('refuses %s with InvalidParameterValue, storing nothing', (_what, overrides) => {
    const { world } = newWorld();
    const error = errorOf(() => putData(world, [datum(overrides)]));
    expect({ code: error.code, status: error.httpStatus }).toEqual({ code: 'InvalidParameterValue', status: 400 });
    expect(world.metrics).toHaveLength(0);
  });

  it('accepts the edges: two weeks ago, two hours ahead, 150 values, 1024-character dimension values', () => {
    const { world } = newWorld();
    putData(world, [
      datum({ Timestamp: new Date(START - 14 * 86_400_000 + 1000) }),
      datum({ Timestamp: new Date(START + 2 * 3_600_000 - 1000) }),
      datum({ Value: undefined, Values: Array.from({ length: 150 }, () => 1) }),
      datum({ Dimensions: [{ Name: 'ClusterName', Value: 'c'.repeat(1024) }] }),
    ]);
    expect(world.metrics).toHaveLength(4);
  });

  it('refuses more than 1000 metric data, and a request over 1 MB', () => {
    const { world } = newWorld();
    expect(errorOf(() => putData(world, Array.from({ length: 1001 }, () => datum()))).code).toBe('InvalidParameterValue');
    const big = Array.from({ length: 1000 }, (_, index) => datum({ Dimensions: Array.from({ length: 2 }, (_x, at) => ({ Name: `d${at}`, Value: `${index}`.padEnd(600, 'x') })) }));
    const error = errorOf(() => putData(world, big));
    expect({ code: error.code, status: error.httpStatus }).toEqual({ code: 'RequestEntityTooLarge', status: 413 });
    expect(world.metrics).toHaveLength(0);
  });
});
