import type { BusEvent } from '../../../simulator/world/model';
import { clusterWith, ecs, newWorld, tasksOf } from './helpers';

const states = (events: BusEvent[], id: string) =>
  events.filter((event) => event['detail-type'] === 'EC2 Instance State-change Notification' && event.detail['instance-id'] === id).map((event) => event.detail.state);

describe('EC2 stop and start (docs/aws-behaviour.md §1.6)', () => {
  it('keeps the container instance registered and DRAINING across stop/start; the agent reconnects on start', async () => {
    const { world, clock } = newWorld({ timings: { shutdownMs: 10_000, bootMs: 30_000 } });
    const [a, b] = clusterWith(world, 2, 2048, 4096);
    world.createService({ cluster: 'c', name: 'web', desiredCount: 2, cpu: 256, memory: 256 });
    world.placeInitialTasks();
    const events: BusEvent[] = [];
    world.onBusEvent((event) => events.push(event));
    ecs(world, 'UpdateContainerInstancesState', { cluster: 'c', containerInstances: [a!.arn], status: 'DRAINING' });
    await clock.advance(60_000);

    // DescribeInstances answers the state the lifecycle drainer reads for a disconnected agent.
    const ec2State = () =>
      (world.callSync('ec2', 'DescribeInstances', { InstanceIds: [a!.ec2InstanceId] }).Reservations as { Instances: { State: { Name: string } }[] }[])[0]!.Instances[0]!
        .State.Name;
    expect(world.stopInstance(a!.ec2InstanceId)).toBe(true);
    expect(ec2State()).toBe('stopping');
    expect(a!.agentConnected).toBe(false);
    await clock.advance(11_000);
    expect(world.ec2.get(a!.ec2InstanceId)!.state).toBe('stopped');
    expect(ec2State()).toBe('stopped');
    const stopped = ecs(world, 'DescribeContainerInstances', { cluster: 'c', containerInstances: [a!.arn] }) as { containerInstances: { status: string; agentConnected: boolean }[] };
    expect(stopped.containerInstances[0]).toMatchObject({ status: 'DRAINING', agentConnected: false });
    // A stopped instance is still listed (only INACTIVE ones are not).
    const listed = ecs(world, 'ListContainerInstances', { cluster: 'c' }) as { containerInstanceArns: string[] };
    expect(listed.containerInstanceArns).toContain(a!.arn);

    expect(world.startInstance(a!.ec2InstanceId)).toBe(true);
    await clock.advance(31_000);
    const started = ecs(world, 'DescribeContainerInstances', { cluster: 'c', containerInstances: [a!.arn] }) as { containerInstances: { status: string; agentConnected: boolean }[] };
    expect(started.containerInstances[0]).toMatchObject({ status: 'DRAINING', agentConnected: true });
    expect(ec2State()).toBe('running');
    expect(states(events, a!.ec2InstanceId)).toEqual(['stopping', 'stopped', 'pending', 'running']);
    expect(world.startInstance(a!.ec2InstanceId)).toBe(false);
    expect(b!.status).toBe('ACTIVE');
  });

  it('stops the tasks of a stopped instance (killed, replaced elsewhere by the service)', async () => {
    const { world, clock } = newWorld();
    const [a] = clusterWith(world, 2, 2048, 4096);
    world.createService({ cluster: 'c', name: 'web', desiredCount: 4, cpu: 256, memory: 256 });
    world.placeInitialTasks();
    const onA = tasksOf(world, 'web').filter((task) => task.containerInstanceArn === a!.arn);
    expect(onA.length).toBeGreaterThan(0);
    world.stopInstance(a!.ec2InstanceId);
    await clock.advance(30_000);
    expect(onA.every((task) => task.lastStatus === 'STOPPED')).toBe(true);
    expect(world.killedTasks.filter((killed) => killed.ec2InstanceId === a!.ec2InstanceId).length).toBe(onA.length);
    // Nothing is placed on an instance whose agent is disconnected.
    expect(tasksOf(world, 'web').filter((task) => task.lastStatus !== 'STOPPED' && task.containerInstanceArn === a!.arn)).toEqual([]);
  });
});

describe('AWS Health scheduled events (docs/aws-behaviour.md §1.7)', () => {
  it('announces the event with the instances in resources and affectedEntities, repeats it, and stops the instance at the window', async () => {
    const { world, clock } = newWorld();
    const [a] = clusterWith(world, 1);
    const events: BusEvent[] = [];
    world.onBusEvent((event) => events.push(event));
    const startsAt = world.now() + 3_600_000;
    world.scheduleHealthEvent({ ec2InstanceIds: [a!.ec2InstanceId], eventTypeCode: 'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED', startsAt, repeatEveryMs: 1_800_000 });
    const health = () => events.filter((event) => event.source === 'aws.health');
    expect(health()).toHaveLength(1);
    const [first] = health();
    expect(first).toMatchObject({
      'detail-type': 'AWS Health Event',
      resources: [a!.ec2InstanceId],
      detail: { service: 'EC2', eventTypeCode: 'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED', statusCode: 'upcoming', affectedEntities: [{ entityValue: a!.ec2InstanceId }] },
    });
    expect(Date.parse(String(first!.detail.startTime))).toBe(startsAt);
    await clock.advance(3_600_000 + 20_000);
    expect(health().map((event) => event.detail.statusCode)).toEqual(['upcoming', 'upcoming', 'open']);
    expect(world.ec2.get(a!.ec2InstanceId)!.state).toBe('stopped');
  });

  it('a reboot maintenance stops and starts the instance', async () => {
    const { world, clock } = newWorld({ timings: { bootMs: 10_000 } });
    const [a] = clusterWith(world, 1);
    world.scheduleHealthEvent({ ec2InstanceIds: [a!.ec2InstanceId], eventTypeCode: 'AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED', startsAt: world.now() + 1000 });
    await clock.advance(60_000);
    expect(world.ec2.get(a!.ec2InstanceId)!.state).toBe('running');
    expect(a!.agentConnected).toBe(true);
  });
});
