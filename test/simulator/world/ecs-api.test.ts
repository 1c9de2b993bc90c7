import { asg, clusterWith, ecs, errorOf, newWorld, tasksOf } from './helpers';

describe('simulated ECS: paging and batch limits', () => {
  it('pages ListContainerInstances by maxResults and nextToken, and rejects sizes outside 1-100', () => {
    const { world } = newWorld();
    const instances = clusterWith(world, 7);
    const seen: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = ecs(world, 'ListContainerInstances', { cluster: 'c', maxResults: 3, ...(nextToken ? { nextToken } : {}) });
      seen.push(...(page.containerInstanceArns as string[]));
      nextToken = page.nextToken as string | undefined;
      pages += 1;
    } while (nextToken);
    expect(pages).toBe(3);
    expect(seen).toEqual(instances.map((instance) => instance.arn));
    expect(errorOf(() => ecs(world, 'ListContainerInstances', { cluster: 'c', maxResults: 0 })).code).toBe('InvalidParameterException');
    expect(errorOf(() => ecs(world, 'ListContainerInstances', { cluster: 'c', maxResults: 101 })).code).toBe('InvalidParameterException');
    expect(errorOf(() => ecs(world, 'ListContainerInstances', { cluster: 'c', nextToken: 'forged' })).code).toBe('InvalidParameterException');
  });

  it('answers ClusterNotFoundException for an unknown cluster, by name or ARN', () => {
    const { world } = newWorld();
    clusterWith(world, 1);
    for (const cluster of ['nope', 'arn:aws:ecs:us-east-1:123456789012:cluster/nope']) {
      const error = errorOf(() => ecs(world, 'ListContainerInstances', { cluster }));
      expect([error.code, error.message, error.httpStatus]).toEqual(['ClusterNotFoundException', 'Cluster not found.', 400]);
    }
    expect(ecs(world, 'ListContainerInstances', { cluster: 'arn:aws:ecs:us-east-1:123456789012:cluster/c' }).containerInstanceArns).toHaveLength(1);
  });

  it('describes at most 100 container instances and reports unknown ones as MISSING failures', () => {
    const { world } = newWorld();
    const [instance] = clusterWith(world, 1);
    const unknown = 'arn:aws:ecs:us-east-1:123456789012:container-instance/c/0000';
    const out = ecs(world, 'DescribeContainerInstances', { cluster: 'c', containerInstances: [instance!.arn, unknown] });
    expect((out.containerInstances as { ec2InstanceId: string }[]).map((i) => i.ec2InstanceId)).toEqual([instance!.ec2InstanceId]);
    expect(out.failures).toEqual([{ arn: unknown, reason: 'MISSING' }]);
    const tooMany = Array.from({ length: 101 }, (_, index) => `id-${index}`);
    expect(errorOf(() => ecs(world, 'DescribeContainerInstances', { cluster: 'c', containerInstances: tooMany })).code).toBe(
      'InvalidParameterException',
    );
  });

  it('updates at most 10 instances per call, only to ACTIVE or DRAINING, with failures for unknown and INACTIVE ones', () => {
    const { world } = newWorld();
    const [first, second] = clusterWith(world, 2);
    world.shutDown(second!.ec2InstanceId, 'scenario');
    const out = ecs(world, 'UpdateContainerInstancesState', {
      cluster: 'c',
      containerInstances: [first!.arn, second!.arn, 'missing-id'],
      status: 'DRAINING',
    });
    expect((out.containerInstances as { status: string }[]).map((i) => i.status)).toEqual(['DRAINING']);
    expect((out.failures as { reason: string }[]).map((f) => f.reason)).toEqual(['INACTIVE', 'MISSING']);
    expect(errorOf(() => ecs(world, 'UpdateContainerInstancesState', { cluster: 'c', containerInstances: [first!.arn], status: 'INACTIVE' })).code).toBe(
      'InvalidParameterException',
    );
    const eleven = Array.from({ length: 11 }, () => first!.arn);
    expect(errorOf(() => ecs(world, 'UpdateContainerInstancesState', { cluster: 'c', containerInstances: eleven, status: 'DRAINING' })).code).toBe(
      'InvalidParameterException',
    );
  });

  it.each([
    ['succeed', 'DRAINING', []],
    ['failure', undefined, ['DRAINING']],
  ] as const)('DRAINING -> DRAINING with drainingToDraining=%s', (mode, returned, reasons) => {
    const { world } = newWorld({ drainingToDraining: mode });
    const [instance] = clusterWith(world, 1);
    ecs(world, 'UpdateContainerInstancesState', { cluster: 'c', containerInstances: [instance!.arn], status: 'DRAINING' });
    const again = ecs(world, 'UpdateContainerInstancesState', { cluster: 'c', containerInstances: [instance!.arn], status: 'DRAINING' });
    expect((again.containerInstances as { status: string }[])[0]?.status).toBe(returned);
    expect((again.failures as { reason: string }[]).map((f) => f.reason)).toEqual(reasons);
    expect(instance!.status).toBe('DRAINING');
    expect(world.drains).toHaveLength(1);
  });

  it('lists and describes INACTIVE instances as ECS does: never listed, still describable', () => {
    const { world } = newWorld();
    const [gone] = clusterWith(world, 2);
    world.shutDown(gone!.ec2InstanceId, 'scenario');
    const listed = ecs(world, 'ListContainerInstances', { cluster: 'c' }).containerInstanceArns as string[];
    expect(listed).not.toContain(gone!.arn);
    const described = ecs(world, 'DescribeContainerInstances', { cluster: 'c', containerInstances: [gone!.arn] });
    expect((described.containerInstances as { status: string }[])[0]?.status).toBe('INACTIVE');
  });
});

describe('simulated ECS: the cluster query language filter', () => {
  it('filters by ec2InstanceId (==, in), agentConnected and runningTasksCount, and rejects what it does not support', () => {
    const { world } = newWorld();
    const [a, b, c] = clusterWith(world, 3);
    world.runTask({ cluster: 'c', ec2InstanceId: a!.ec2InstanceId, family: 'job', cpu: 256, memory: 256 });
    const ids = (filter: string) =>
      (ecs(world, 'ListContainerInstances', { cluster: 'c', filter }).containerInstanceArns as string[]).map(
        (arn) => [a, b, c].find((instance) => instance!.arn === arn)!.ec2InstanceId,
      );
    expect(ids(`ec2InstanceId == ${b!.ec2InstanceId}`)).toEqual([b!.ec2InstanceId]);
    expect(ids(`ec2InstanceId==${b!.ec2InstanceId}`)).toEqual([b!.ec2InstanceId]);
    expect(ids(`ec2InstanceId in ['${a!.ec2InstanceId}', '${c!.ec2InstanceId}']`)).toEqual([a!.ec2InstanceId, c!.ec2InstanceId]);
    expect(ids('runningTasksCount > 0')).toEqual([a!.ec2InstanceId]);
    expect(ids('runningTasksCount == 0 and agentConnected == true')).toEqual([b!.ec2InstanceId, c!.ec2InstanceId]);
    expect(ids(`not (ec2InstanceId == ${a!.ec2InstanceId}) || runningTasksCount >= 1`)).toHaveLength(3);
    for (const unsupported of ['ec2InstanceId =~ i-.*', 'task:group == service:web', 'registeredAt > 2026-01-01', 'ec2InstanceId ==', '(agentConnected == true']) {
      expect(errorOf(() => ecs(world, 'ListContainerInstances', { cluster: 'c', filter: unsupported })).code).toBe('InvalidParameterException');
    }
  });
});

describe('simulated ECS: tasks', () => {
  it('counts runningTasksCount by desiredStatus RUNNING: a task told to stop no longer counts while it shuts down', async () => {
    const { world, clock } = newWorld();
    const [instance] = clusterWith(world, 1);
    const task = world.runTask({ cluster: 'c', ec2InstanceId: instance!.ec2InstanceId, family: 'job', cpu: 256, memory: 256, stopSeconds: 60 });
    const count = () => (ecs(world, 'DescribeContainerInstances', { cluster: 'c', containerInstances: [instance!.arn] }).containerInstances as { runningTasksCount: number; remainingResources: { name: string; integerValue: number }[] }[])[0]!;
    expect(count().runningTasksCount).toBe(1);
    ecs(world, 'StopTask', { cluster: 'c', task: task.arn });
    await clock.advance(10_000);
    expect(task.lastStatus).toBe('STOPPING');
    expect(count().runningTasksCount).toBe(0);
    // It still holds its resources until STOPPED.
    expect(count().remainingResources.find((r) => r.name === 'CPU')?.integerValue).toBe(4096 - 256);
    await clock.advance(60_000);
    expect(task.lastStatus).toBe('STOPPED');
    expect(count().remainingResources.find((r) => r.name === 'CPU')?.integerValue).toBe(4096);
  });

  it('lists tasks by desiredStatus (RUNNING by default, PENDING never matches), pages them, and enforces the startedBy-only rule', async () => {
    const { world, clock } = newWorld();
    const [instance] = clusterWith(world, 1, 16384, 65536);
    world.createService({ cluster: 'c', name: 'web', desiredCount: 5, cpu: 256, memory: 256 });
    world.placeInitialTasks();
    const [victim] = tasksOf(world, 'web');
    world.stopTask(victim!, 'test');
    await clock.advance(1);
    const list = (input: Record<string, unknown>) => ecs(world, 'ListTasks', { cluster: 'c', ...input });
    const running = list({ containerInstance: instance!.arn }).taskArns as string[];
    expect(running).toHaveLength(4);
    expect(list({ containerInstance: instance!.arn, desiredStatus: 'STOPPED' }).taskArns).toEqual([victim!.arn]);
    expect(list({ desiredStatus: 'PENDING' }).taskArns).toEqual([]);
    expect(list({ serviceName: 'web', maxResults: 3 }).nextToken).toBeDefined();
    // desiredStatus still defaults to RUNNING: the stopped task is not among them.
    expect(list({ startedBy: victim!.startedBy }).taskArns).toHaveLength(4);
    expect(errorOf(() => list({ startedBy: victim!.startedBy, serviceName: 'web' })).code).toBe('InvalidParameterException');
  });

  it('describes tasks with group, startedBy and stop times, at most 100 per call, unknown ones MISSING', async () => {
    const { world, clock } = newWorld();
    clusterWith(world, 1);
    world.createService({ cluster: 'c', name: 'web', desiredCount: 1, cpu: 256, memory: 256, stopSeconds: 30 });
    world.placeInitialTasks();
    const [task] = tasksOf(world, 'web');
    world.stopTask(task!, 'test');
    await clock.advance(31_000);
    const out = ecs(world, 'DescribeTasks', { cluster: 'c', tasks: [task!.arn, 'feedbeef'] });
    const described = (out.tasks as Record<string, unknown>[])[0]!;
    expect(described).toMatchObject({ group: 'service:web', lastStatus: 'STOPPED', desiredStatus: 'STOPPED', cpu: '256', memory: '256' });
    expect(described.startedBy).toMatch(/^ecs-svc\/\d+$/);
    expect((described.stoppedAt as Date).getTime() - (described.stoppingAt as Date).getTime()).toBe(30_000);
    expect(out.failures).toEqual([{ arn: 'feedbeef', reason: 'MISSING' }]);
    expect(errorOf(() => ecs(world, 'DescribeTasks', { cluster: 'c', tasks: Array.from({ length: 101 }, () => task!.arn) })).code).toBe(
      'InvalidParameterException',
    );
    expect(errorOf(() => ecs(world, 'StopTask', { cluster: 'c', task: 'feedbeef' })).message).toBe('The referenced task was not found.');
  });

  it('describes at most 10 services and filters ListServices by scheduling strategy', () => {
    const { world } = newWorld();
    clusterWith(world, 1);
    world.createService({ cluster: 'c', name: 'web', cpu: 256, memory: 256 });
    world.createService({ cluster: 'c', name: 'agent', strategy: 'DAEMON', cpu: 64, memory: 64 });
    const daemons = ecs(world, 'ListServices', { cluster: 'c', schedulingStrategy: 'DAEMON' }).serviceArns as string[];
    expect(daemons.map((arn) => arn.split('/').pop())).toEqual(['agent']);
    const out = ecs(world, 'DescribeServices', { cluster: 'c', services: ['web', 'ghost'] });
    expect((out.services as { serviceName: string; schedulingStrategy: string }[]).map((s) => [s.serviceName, s.schedulingStrategy])).toEqual([['web', 'REPLICA']]);
    expect((out.failures as { reason: string }[])[0]?.reason).toBe('MISSING');
    expect(errorOf(() => ecs(world, 'DescribeServices', { cluster: 'c', services: Array.from({ length: 11 }, () => 'web') })).code).toBe(
      'InvalidParameterException',
    );
  });
});

describe('simulated ECS: attributes', () => {
  it('puts, lists (by name and value) and deletes container-instance attributes; unknown targets are TargetNotFoundException', () => {
    const { world } = newWorld();
    const [a, b] = clusterWith(world, 2);
    ecs(world, 'PutAttributes', {
      cluster: 'c',
      attributes: [
        { name: 'keeper.idle-since', value: '2026-03-04T10:00:00Z', targetType: 'container-instance', targetId: a!.arn },
        { name: 'keeper.idle-since', value: '2026-03-04T11:00:00Z', targetId: b!.arn.split('/').pop() },
      ],
    });
    const listed = ecs(world, 'ListAttributes', { cluster: 'c', targetType: 'container-instance', attributeName: 'keeper.idle-since' });
    expect((listed.attributes as { targetId: string }[]).map((attribute) => attribute.targetId)).toEqual([a!.arn, b!.arn]);
    const byValue = ecs(world, 'ListAttributes', {
      cluster: 'c',
      targetType: 'container-instance',
      attributeName: 'keeper.idle-since',
      attributeValue: '2026-03-04T11:00:00Z',
    });
    expect(byValue.attributes).toHaveLength(1);
    ecs(world, 'DeleteAttributes', { cluster: 'c', attributes: [{ name: 'keeper.idle-since', targetId: a!.arn }] });
    expect(a!.attributes.has('keeper.idle-since')).toBe(false);
    expect(errorOf(() => ecs(world, 'PutAttributes', { cluster: 'c', attributes: [{ name: 'x', value: 'y', targetId: 'nope' }] })).code).toBe(
      'TargetNotFoundException',
    );
    expect(errorOf(() => ecs(world, 'ListAttributes', { cluster: 'c' })).code).toBe('InvalidParameterException');
  });
});

describe('unknown operations', () => {
  it('are refused the way each protocol refuses them', () => {
    const { world } = newWorld();
    expect(errorOf(() => ecs(world, 'CreateCluster', {})).code).toBe('UnknownOperationException');
    expect(errorOf(() => asg(world, 'DeleteAutoScalingGroup', {})).code).toBe('InvalidAction');
  });
});
