import { clusterWith, drain, newWorld, tasksOf } from './helpers';
import type { World } from '../../../simulator/world/world';

const running = (world: World, service: string) => tasksOf(world, service).filter((task) => task.lastStatus === 'RUNNING' && task.desiredStatus === 'RUNNING');

describe('service scheduler: draining within minimumHealthyPercent and maximumPercent (aws-behaviour.md §2)', () => {
  it('min 100 / max 200: starts every replacement first and stops an old task only once replacements are RUNNING', async () => {
    const { world, clock } = newWorld();
    const [a, b] = clusterWith(world, 2, 2048, 4096);
    world.createService({ cluster: 'c', name: 'web', desiredCount: 4, cpu: 256, memory: 256, minimumHealthyPercent: 100, maximumPercent: 200, startSeconds: 10, stopSeconds: 30 });
    world.placeInitialTasks();
    const onA = tasksOf(world, 'web').filter((task) => task.containerInstanceArn === a!.arn);
    expect(onA.length).toBe(2);
    drain(world, a!);
    let minRunning = Infinity;
    for (let second = 0; second < 90; second += 1) {
      await clock.advance(1000);
      minRunning = Math.min(minRunning, running(world, 'web').length);
    }
    // Never below 100 % of desired: the old tasks kept running until the new ones were RUNNING.
    expect(minRunning).toBe(4);
    expect(onA.every((task) => task.lastStatus === 'STOPPED')).toBe(true);
    expect(running(world, 'web').every((task) => task.containerInstanceArn === b!.arn)).toBe(true);
  });

  it('min 50 / max 100: stops half of the tasks first, then starts their replacements', async () => {
    const { world, clock } = newWorld();
    const [a] = clusterWith(world, 1, 2048, 4096);
    world.createService({ cluster: 'c', name: 'web', desiredCount: 4, cpu: 256, memory: 256, minimumHealthyPercent: 50, maximumPercent: 100, startSeconds: 10, stopSeconds: 30 });
    world.placeInitialTasks();
    world.addInstance({ cluster: 'c', cpu: 2048, memory: 4096 });
    drain(world, a!);
    await clock.advance(2_000);
    const stopping = tasksOf(world, 'web').filter((task) => task.desiredStatus === 'STOPPED');
    expect(stopping).toHaveLength(2);
    expect(running(world, 'web')).toHaveLength(2);
    await clock.advance(120_000);
    expect(running(world, 'web')).toHaveLength(4);
    expect(running(world, 'web').every((task) => task.containerInstanceArn !== a!.arn)).toBe(true);
  });

  it('min 100 / max 100: draining never completes', async () => {
    const { world, clock } = newWorld();
    const [a] = clusterWith(world, 1);
    world.createService({ cluster: 'c', name: 'web', desiredCount: 2, cpu: 256, memory: 256, minimumHealthyPercent: 100, maximumPercent: 100 });
    world.placeInitialTasks();
    world.addInstance({ cluster: 'c', cpu: 4096, memory: 8192 });
    drain(world, a!);
    await clock.advance(3_600_000);
    expect(world.unstoppedTasksOn(a!)).toHaveLength(2);
  });

  it('replaces only within free capacity and never places on a DRAINING instance', async () => {
    const { world, clock } = newWorld();
    const [a] = clusterWith(world, 1, 1024, 4096);
    world.createService({ cluster: 'c', name: 'web', desiredCount: 4, cpu: 256, memory: 256, minimumHealthyPercent: 100, maximumPercent: 200 });
    world.placeInitialTasks();
    // Room for one replacement only.
    const small = world.addInstance({ cluster: 'c', cpu: 256, memory: 4096 });
    drain(world, a!);
    await clock.advance(600_000);
    expect(tasksOf(world, 'web').filter((task) => task.containerInstanceArn === small.arn && task.desiredStatus === 'RUNNING')).toHaveLength(1);
    // One replacement RUNNING lets exactly one old task stop at min 100 %.
    expect(world.unstoppedTasksOn(a!).filter((task) => task.serviceName === 'web')).toHaveLength(3);
    expect(tasksOf(world, 'web').filter((task) => task.createdAt > a!.registeredAt && task.containerInstanceArn === a!.arn)).toHaveLength(0);
  });

  it('leaves standalone tasks alone and stops daemon tasks last, once nothing else runs on the instance', async () => {
    const { world, clock } = newWorld();
    const [a] = clusterWith(world, 1);
    const job = world.runTask({ cluster: 'c', ec2InstanceId: a!.ec2InstanceId, family: 'job', cpu: 256, memory: 256 });
    world.createService({ cluster: 'c', name: 'agent', strategy: 'DAEMON', cpu: 64, memory: 64, stopSeconds: 5 });
    world.createService({ cluster: 'c', name: 'web', desiredCount: 2, cpu: 256, memory: 256, minimumHealthyPercent: 0, maximumPercent: 100, stopSeconds: 30 });
    world.placeInitialTasks();
    world.addInstance({ cluster: 'c', cpu: 4096, memory: 8192 });
    await clock.advance(5_000);
    const [daemon] = world.unstoppedTasksOn(a!).filter((task) => task.daemon);
    expect(daemon).toBeDefined();
    drain(world, a!);
    await clock.advance(120_000);
    // Web tasks moved; the standalone task runs on, so the daemon keeps running too.
    expect(world.unstoppedTasksOn(a!).map((task) => task.group).sort()).toEqual(['family:job', 'service:agent']);
    expect(daemon!.desiredStatus).toBe('RUNNING');
    world.stopTask(job, 'done');
    await clock.advance(60_000);
    expect(daemon!.lastStatus).toBe('STOPPED');
    expect(daemon!.stoppingAt).toBeGreaterThanOrEqual(job.stoppedAt!);
    // The daemon service never places a task on the DRAINING instance again.
    expect(tasksOf(world, 'agent').filter((task) => task.containerInstanceArn === a!.arn && task.desiredStatus === 'RUNNING')).toHaveLength(0);
  });

  it('replaces tasks of an older revision on a deployment within the same limits', async () => {
    const { world, clock } = newWorld();
    clusterWith(world, 2);
    world.createService({ cluster: 'c', name: 'web', desiredCount: 3, cpu: 256, memory: 256, minimumHealthyPercent: 100, maximumPercent: 200 });
    world.placeInitialTasks();
    world.deployService('c', 'web');
    let minRunning = Infinity;
    for (let second = 0; second < 120; second += 1) {
      await clock.advance(1000);
      minRunning = Math.min(minRunning, running(world, 'web').length);
    }
    expect(minRunning).toBe(3);
    expect(running(world, 'web').map((task) => task.revision)).toEqual([2, 2, 2]);
  });
});
