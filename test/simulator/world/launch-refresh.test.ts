import { daemonsNotRunningOn } from '../../../simulator/world/ecs';
import type { World } from '../../../simulator/world/world';
import { asg, ecs, errorOf, groupWorld, lifecycleStateOf, messageOf, newWorld } from './helpers';

const LAUNCHING = 'autoscaling:EC2_INSTANCE_LAUNCHING';
const TERMINATING = 'autoscaling:EC2_INSTANCE_TERMINATING';

/**
 * A group `g` of cluster `c` with a daemon service `agent`, a replica service `web`, and the hooks
 * asked for, created through PutLifecycleHook as an operator would.
 */
function launchWorld(options: { desired?: number; launch?: { heartbeat?: number; defaultResult?: 'CONTINUE' | 'ABANDON' } | false; terminate?: boolean } = {}) {
  const { world, clock, topic, group, records, ids: initial } = groupWorld({ desiredCapacity: options.desired ?? 2 });
  world.createService({ cluster: 'c', name: 'agent', strategy: 'DAEMON', cpu: 128, memory: 256, startSeconds: 5 });
  world.createService({ cluster: 'c', name: 'web', desiredCount: 2, cpu: 512, memory: 1024, stopSeconds: 20 });
  world.placeInitialTasks();
  const put = (name: string, transition: string, heartbeat: number, defaultResult: string) =>
    asg(world, 'PutLifecycleHook', {
      AutoScalingGroupName: 'g',
      LifecycleHookName: name,
      LifecycleTransition: transition,
      NotificationTargetARN: topic.arn,
      RoleARN: 'arn:aws:iam::123456789012:role/notify',
      HeartbeatTimeout: heartbeat,
      DefaultResult: defaultResult,
    });
  if (options.launch !== false) put('launch', LAUNCHING, options.launch?.heartbeat ?? 300, options.launch?.defaultResult ?? 'ABANDON');
  if (options.terminate) put('drain', TERMINATING, 300, 'CONTINUE');
  const state = (id: string) => lifecycleStateOf(world, id) ?? 'gone';
  const launched = () => [...group.instances.keys()].filter((id) => !initial.includes(id));
  const launchNotifications = () => records.filter((record) => messageOf(record).LifecycleTransition === LAUNCHING);
  return { world, clock, group, records, initial, state, launched, launchNotifications };
}

const complete = (world: World, hook: string, token: string, result: 'CONTINUE' | 'ABANDON') =>
  asg(world, 'CompleteLifecycleAction', { AutoScalingGroupName: 'g', LifecycleHookName: hook, LifecycleActionToken: token, LifecycleActionResult: result });

describe('Auto Scaling launch lifecycle hooks (aws-behaviour.md §1.4, §3.2)', () => {
  it('holds a new instance in Pending:Wait while it boots and registers, with the launch notification of the exact shape', async () => {
    const { world, clock, state, launched, launchNotifications } = launchWorld();
    asg(world, 'SetDesiredCapacity', { AutoScalingGroupName: 'g', DesiredCapacity: 3 });
    await clock.advance(2_000);
    const [id] = launched();
    expect(state(id!)).toBe('Pending:Wait');
    const [notification] = launchNotifications();
    expect(notification!.Sns.Subject).toBe(`Auto Scaling:  Lifecycle action 'LAUNCHING' for instance ${id} in progress.`);
    expect(Object.keys(messageOf(notification))).toEqual([
      'Origin', 'LifecycleHookName', 'Destination', 'AccountId', 'RequestId', 'LifecycleTransition', 'AutoScalingGroupName', 'Service', 'Time', 'EC2InstanceId', 'LifecycleActionToken',
    ]);
    expect(messageOf(notification)).toMatchObject({ Origin: 'EC2', Destination: 'AutoScalingGroup', LifecycleHookName: 'launch', EC2InstanceId: id, AutoScalingGroupName: 'g' });
    expect(world.containerInstanceOf(id!)).toBeUndefined();

    // Booted (60 s): the agent registers and ECS places the daemon task (RUNNING 5 s later) while Auto Scaling still holds it.
    await clock.advance(70_000);
    expect(state(id!)).toBe('Pending:Wait');
    const instance = world.containerInstanceOf(id!)!;
    expect([instance.status, instance.agentConnected]).toEqual(['ACTIVE', true]);
    expect(daemonsNotRunningOn(world, instance)).toEqual([]);
    expect(world.tasksOn(instance).filter((task) => task.daemon).map((task) => task.lastStatus)).toEqual(['RUNNING']);

    complete(world, 'launch', messageOf(notification).LifecycleActionToken!, 'CONTINUE');
    expect(state(id!)).toBe('Pending:Proceed');
    await clock.advance(1_000);
    expect(state(id!)).toBe('InService');
    expect(world.inService.at(-1)).toMatchObject({ ec2InstanceId: id, launchHooks: 1, containerInstance: 'ACTIVE', daemonsNotRunning: [] });
    // The action is over: a second completion is refused as for a termination.
    expect(errorOf(() => complete(world, 'launch', messageOf(notification).LifecycleActionToken!, 'CONTINUE')).message).toMatch(/^No active Lifecycle Action found with token/);
  });

  it('applies the default result at the heartbeat timeout: CONTINUE puts the instance InService, whatever ECS knows of it', async () => {
    const { world, clock, state, launched } = launchWorld({ launch: { heartbeat: 30, defaultResult: 'CONTINUE' } });
    asg(world, 'SetDesiredCapacity', { AutoScalingGroupName: 'g', DesiredCapacity: 3 });
    await clock.advance(29_000);
    const [id] = launched();
    expect(state(id!)).toBe('Pending:Wait');
    await clock.advance(3_000);
    expect(state(id!)).toBe('InService');
    // It went InService 30 s after launch, before its agent registered (boot takes 60 s).
    expect(world.inService.at(-1)).toMatchObject({ ec2InstanceId: id, launchHooks: 1, containerInstance: 'none' });
  });

  it('a heartbeat restarts the window; ABANDON terminates the instance, kills what ECS placed on it, and the group launches a replacement', async () => {
    const { world, clock, state, launched, launchNotifications } = launchWorld({ launch: { heartbeat: 60, defaultResult: 'ABANDON' } });
    asg(world, 'SetDesiredCapacity', { AutoScalingGroupName: 'g', DesiredCapacity: 3 });
    await clock.advance(50_000);
    const [id] = launched();
    const token = messageOf(launchNotifications()[0]).LifecycleActionToken!;
    asg(world, 'RecordLifecycleActionHeartbeat', { AutoScalingGroupName: 'g', LifecycleHookName: 'launch', LifecycleActionToken: token });
    await clock.advance(50_000);
    expect(state(id!)).toBe('Pending:Wait');
    expect(world.lifecycleActions.get(token)).toMatchObject({ state: 'active', heartbeats: 1 });
    // Registered meanwhile: ECS placed the daemon task there.
    expect(world.tasksOn(world.containerInstanceOf(id!)!).length).toBeGreaterThan(0);
    complete(world, 'launch', token, 'ABANDON');
    expect(world.ec2.get(id!)?.state).toBe('shutting-down');
    expect(world.terminations.at(-1)).toMatchObject({ ec2InstanceId: id, cause: 'launch-abandoned' });
    expect(world.killedTasks.filter((task) => task.ec2InstanceId === id).map((task) => task.origin)).toContain('daemon');
    await clock.advance(12_000);
    expect(state(id!)).toBe('gone');
    const replacement = launched().find((candidate) => candidate !== id);
    expect(replacement).toBeDefined();
    expect(state(replacement!)).toBe('Pending:Wait');
    expect(launchNotifications()).toHaveLength(2);
    // Never InService: no entry for the abandoned instance.
    expect(world.inService.map((entry) => entry.ec2InstanceId)).not.toContain(id);
  });

  it('leaves a group without a launch hook as it was: InService at boot, recorded as never held', async () => {
    const { world, clock, state, launched, launchNotifications } = launchWorld({ launch: false });
    asg(world, 'SetDesiredCapacity', { AutoScalingGroupName: 'g', DesiredCapacity: 3 });
    await clock.advance(2_000);
    const [id] = launched();
    expect(state(id!)).toBe('Pending');
    await clock.advance(60_000);
    expect(state(id!)).toBe('InService');
    expect(launchNotifications()).toEqual([]);
    // The agent registers as it enters InService: the daemon task is not placed yet.
    expect(world.inService.at(-1)).toMatchObject({ ec2InstanceId: id, launchHooks: 0, containerInstance: 'ACTIVE', daemonsNotRunning: ['agent'] });
  });

  it('refuses a hook with an unknown transition', () => {
    const { world } = launchWorld({ launch: false });
    expect(errorOf(() => asg(world, 'PutLifecycleHook', { AutoScalingGroupName: 'g', LifecycleHookName: 'x', LifecycleTransition: 'autoscaling:EC2_INSTANCE_STOPPING' })).code).toBe(
      'ValidationError',
    );
  });
});

describe('daemon placement constraints (memberOf)', () => {
  it('places a constrained daemon only on the instances its expression selects, and DescribeServices shows the constraint', async () => {
    const { world, clock } = newWorld();
    world.createCluster({ name: 'c' });
    const gpu = world.addInstance({ cluster: 'c', cpu: 4096, memory: 8192, instanceType: 'g4dn.xlarge' });
    const plain = world.addInstance({ cluster: 'c', cpu: 4096, memory: 8192, instanceType: 'm5.large' });
    const expression = 'attribute:ecs.instance-type == g4dn.xlarge';
    world.createService({ cluster: 'c', name: 'gpu-exporter', strategy: 'DAEMON', cpu: 64, memory: 64, placementConstraints: [{ type: 'memberOf', expression }] });
    world.createService({ cluster: 'c', name: 'logs', strategy: 'DAEMON', cpu: 64, memory: 64 });
    await clock.advance(10_000);
    const daemons = (instance: typeof gpu) => world.tasksOn(instance).map((task) => task.serviceName).sort();
    expect(daemons(gpu)).toEqual(['gpu-exporter', 'logs']);
    expect(daemons(plain)).toEqual(['logs']);
    expect(daemonsNotRunningOn(world, plain)).toEqual([]);
    const described = ecs(world, 'DescribeServices', { cluster: 'c', services: ['gpu-exporter'] }).services as { placementConstraints: unknown; desiredCount: number }[];
    expect(described[0]).toMatchObject({ placementConstraints: [{ type: 'memberOf', expression }], desiredCount: 1 });
    // ECS evaluates the same expression in a ListContainerInstances filter.
    expect(ecs(world, 'ListContainerInstances', { cluster: 'c', filter: `ec2InstanceId == ${plain.ec2InstanceId} and (${expression})` }).containerInstanceArns).toEqual([]);
    expect(() => world.createService({ cluster: 'c', name: 'bad', strategy: 'DAEMON', cpu: 1, memory: 1, placementConstraints: [{ type: 'memberOf', expression: 'attribute:x =~ y' }] })).toThrow();
  });
});

/**
 * A hand-written operator for the hooks: completes a launch once the instance's container instance
 * is ACTIVE with its daemons RUNNING, and drains a terminating one and completes once only daemon
 * tasks are left (both checked every 5 s).
 */
function completeHooks(world: World, clock: ReturnType<typeof newWorld>['clock']) {
  for (const topic of world.topics.values()) {
    world.subscribe(topic.arn, (record) => {
      const body = messageOf(record);
      if (body.LifecycleTransition === TERMINATING) {
        const instance = world.containerInstanceOf(body.EC2InstanceId!)!;
        world.setContainerInstanceStatus(instance, 'DRAINING');
        const drained = () => {
          if (world.unstoppedTasksOn(instance).every((task) => task.daemon)) complete(world, body.LifecycleHookName!, body.LifecycleActionToken!, 'CONTINUE');
          else clock.schedule(clock.now() + 5_000, drained);
        };
        clock.schedule(clock.now() + 5_000, drained);
      }
      if (body.LifecycleTransition !== LAUNCHING) return;
      const check = () => {
        const instance = world.containerInstanceOf(body.EC2InstanceId!);
        if (instance?.status === 'ACTIVE' && daemonsNotRunningOn(world, instance).length === 0) complete(world, 'launch', body.LifecycleActionToken!, 'CONTINUE');
        else clock.schedule(clock.now() + 5_000, check);
      };
      check();
    });
  }
}

describe('instance refresh (aws-behaviour.md §3.2)', () => {
  it('launches first with MaxHealthyPercentage 150: old instances go only once replacements are InService and warmed up, within both bounds', async () => {
    const { world, clock, group, initial } = launchWorld({ desired: 4, terminate: true });
    completeHooks(world, clock);
    const refresh = world.startInstanceRefresh({ groupName: 'g', minHealthyPercentage: 100, maxHealthyPercentage: 150, instanceWarmupSeconds: 30 });
    let maxLive = 0;
    let minHealthy = Infinity;
    const warm = (id: string) => {
      const member = group.instances.get(id)!;
      return member.lifecycleState === 'InService' && (member.inServiceAt === undefined || clock.now() - member.inServiceAt >= 30_000);
    };
    for (let second = 0; second < 1800 && refresh.status === 'InProgress'; second += 5) {
      await clock.advance(5_000);
      const members = [...group.instances.values()];
      maxLive = Math.max(maxLive, members.filter((m) => m.lifecycleState === 'InService' || m.lifecycleState.startsWith('Pending')).length);
      minHealthy = Math.min(minHealthy, members.filter((m) => warm(m.id)).length);
    }
    expect(refresh).toMatchObject({ status: 'Successful', replaced: 4 });
    expect(maxLive).toBe(6);
    expect(minHealthy).toBeGreaterThanOrEqual(4);
    expect([...group.instances.keys()].some((id) => initial.includes(id))).toBe(false);
    expect(world.terminations.filter((t) => t.cause === 'instance-refresh').map((t) => t.lifecycle)).toEqual(['completed', 'completed', 'completed', 'completed']);
    // Every replacement was held by the launch hook until its daemon ran, then went InService.
    const entries = world.inService.filter((entry) => entry.groupName === 'g');
    expect(entries).toHaveLength(4);
    expect(entries.every((entry) => entry.containerInstance === 'ACTIVE' && entry.daemonsNotRunning.length === 0)).toBe(true);
    expect(world.killedTasks.filter((task) => task.origin === 'service')).toEqual([]);
  });

  it('terminates first with the defaults (90 / 100): one instance at a time in a group of four', async () => {
    const { world, clock, group } = launchWorld({ desired: 4, terminate: true });
    completeHooks(world, clock);
    const refresh = world.startInstanceRefresh({ groupName: 'g' });
    let maxLive = 0;
    let maxTerminating = 0;
    for (let second = 0; second < 3600 && refresh.status === 'InProgress'; second += 5) {
      await clock.advance(5_000);
      const members = [...group.instances.values()];
      maxLive = Math.max(maxLive, members.filter((m) => m.lifecycleState === 'InService' || m.lifecycleState.startsWith('Pending')).length);
      maxTerminating = Math.max(maxTerminating, members.filter((m) => m.lifecycleState.startsWith('Terminating')).length);
    }
    expect(refresh).toMatchObject({ status: 'Successful', replaced: 4 });
    expect(maxLive).toBe(4);
    expect(maxTerminating).toBe(1);
  });

  it('refuses bounds AWS refuses, and a second refresh while one runs', () => {
    const { world } = launchWorld({ desired: 2 });
    expect(errorOf(() => world.startInstanceRefresh({ groupName: 'g', minHealthyPercentage: 50, maxHealthyPercentage: 200 })).code).toBe('ValidationError');
    expect(errorOf(() => world.startInstanceRefresh({ groupName: 'g', maxHealthyPercentage: 90 })).code).toBe('ValidationError');
    world.startInstanceRefresh({ groupName: 'g' });
    expect(errorOf(() => world.startInstanceRefresh({ groupName: 'g' })).code).toBe('InstanceRefreshInProgress');
  });
});
