import { clusterWith, drain, ecs, newWorld, tasksOf } from './helpers';
import type { World } from '../../../simulator/world/world';
import type { ContainerInstance } from '../../../simulator/world/model';

/**
 * What AWS does that a drainer must survive (docs/aws-behaviour.md §2, §3.1): daemon tasks stopped
 * last after a delay, load-balancer deregistration delay, read-after-write lag, short and empty
 * pages with key-based tokens, stopped tasks listable for an hour.
 */
function describe1(world: World, instance: ContainerInstance) {
  const answer = ecs(world, 'DescribeContainerInstances', { cluster: 'c', containerInstances: [instance.arn] });
  return (answer.containerInstances as { status: string; attributes: { name: string; value?: string }[] }[])[0]!;
}

function listAll(world: World, operation: string, input: Record<string, unknown>, key: string) {
  const items: string[] = [];
  let pages = 0;
  let emptyPagesWithToken = 0;
  let nextToken: string | undefined;
  do {
    const page = ecs(world, operation, { cluster: 'c', ...input, ...(nextToken ? { nextToken } : {}) });
    const got = page[key] as string[];
    nextToken = page.nextToken as string | undefined;
    if (got.length === 0 && nextToken) emptyPagesWithToken += 1;
    items.push(...got);
    pages += 1;
  } while (nextToken && pages < 10_000);
  return { items, pages, emptyPagesWithToken };
}

describe('daemon tasks on a DRAINING instance (aws-behaviour.md §2)', () => {
  it('stop only after every other task there is STOPPED, and a short delay after that', async () => {
    const { world, clock } = newWorld({ timings: { daemonStopDelayMs: 7_000 } });
    const [a] = clusterWith(world, 1);
    world.createService({ cluster: 'c', name: 'agent', strategy: 'DAEMON', cpu: 64, memory: 64, stopSeconds: 5 });
    world.createService({ cluster: 'c', name: 'web', desiredCount: 2, cpu: 256, memory: 256, minimumHealthyPercent: 0, maximumPercent: 100, stopSeconds: 20 });
    world.placeInitialTasks();
    world.addInstance({ cluster: 'c', cpu: 4096, memory: 8192 });
    await clock.advance(5_000);
    const [daemon] = world.unstoppedTasksOn(a!).filter((task) => task.daemon);
    drain(world, a!);
    await clock.advance(120_000);
    const web = tasksOf(world, 'web').filter((task) => task.containerInstanceArn === a!.arn);
    expect(web.length).toBe(2);
    const lastWebStopped = Math.max(...web.map((task) => task.stoppedAt!));
    expect(daemon!.lastStatus).toBe('STOPPED');
    // Told to stop the delay after the last web task stopped (plus at most one scheduler pass), not at once.
    expect(daemon!.stoppingAt! - lastWebStopped).toBeGreaterThanOrEqual(7_000);
    expect(daemon!.stoppingAt! - lastWebStopped).toBeLessThanOrEqual(7_000 + world.timings.schedulerDelayMs);
  });
});

describe('load-balancer deregistration delay (aws-behaviour.md §2)', () => {
  it('keeps a stopping service task DEACTIVATING for the delay, then gives it its stop timeout', async () => {
    const { world, clock } = newWorld();
    const [a] = clusterWith(world, 1);
    world.createService({ cluster: 'c', name: 'web', desiredCount: 1, cpu: 256, memory: 256, stopSeconds: 30, deregistrationDelaySeconds: 300 });
    world.createService({ cluster: 'c', name: 'plain', desiredCount: 1, cpu: 256, memory: 256, stopSeconds: 30 });
    world.placeInitialTasks();
    const [web] = tasksOf(world, 'web');
    const [plain] = tasksOf(world, 'plain');
    world.stopTask(web!, 'test');
    world.stopTask(plain!, 'test');
    await clock.advance(299_000);
    expect(web!.lastStatus).toBe('DEACTIVATING');
    expect(plain!.lastStatus).toBe('STOPPED');
    await clock.advance(2_000);
    expect(web!.lastStatus).toBe('STOPPING');
    await clock.advance(29_000);
    expect(web!.lastStatus).toBe('STOPPED');
    expect(web!.stoppedAt! - web!.stoppingAt!).toBe(330_000);
    expect(a).toBeDefined();
  });
});

describe('read-after-write lag of ECS reads (aws-behaviour.md §3.1)', () => {
  it('makes each read as stale as a lag drawn from the seed for that read: old before the least lag, new after the most, either between', async () => {
    const answers: string[][] = [];
    for (const seed of [1, 1, 2]) {
      const { world, clock } = newWorld({ seed, readLagMs: { min: 2_000, max: 9_000 } });
      const [a] = clusterWith(world, 1);
      drain(world, a!);
      ecs(world, 'PutAttributes', { cluster: 'c', attributes: [{ name: 'lease', value: 'x', targetId: a!.arn }] });
      // The write itself took effect (the scheduler sees it); reads do not yet.
      expect(a!.status).toBe('DRAINING');
      const statuses = (count: number) => Array.from({ length: count }, () => describe1(world, a!).status);
      await clock.advance(1_900);
      expect(new Set(statuses(20))).toEqual(new Set(['ACTIVE']));
      expect(describe1(world, a!).attributes.some((attribute) => attribute.name === 'lease')).toBe(false);
      expect(ecs(world, 'ListContainerInstances', { cluster: 'c', status: 'DRAINING' }).containerInstanceArns).toEqual([]);
      await clock.advance(3_600);
      // Two readers at one instant may get different answers.
      const between = statuses(40);
      expect(new Set(between)).toEqual(new Set(['ACTIVE', 'DRAINING']));
      await clock.advance(3_600);
      expect(new Set(statuses(20))).toEqual(new Set(['DRAINING']));
      expect(describe1(world, a!).attributes.find((attribute) => attribute.name === 'lease')?.value).toBe('x');
      expect(ecs(world, 'ListContainerInstances', { cluster: 'c', status: 'DRAINING' }).containerInstanceArns).toEqual([a!.arn]);
      answers.push(between);
    }
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[0]).not.toEqual(answers[2]);
  });

  it('answers every read at once without the fault', () => {
    const { world } = newWorld();
    const [a] = clusterWith(world, 1);
    drain(world, a!);
    expect(describe1(world, a!).status).toBe('DRAINING');
  });
});

describe('short and empty pages, key-based tokens (aws-behaviour.md §3.1)', () => {
  it('answers pages shorter than asked, some empty with a nextToken, and following nextToken still lists everything once', () => {
    const { world } = newWorld({ shortPageRate: 0.5 });
    const instances = clusterWith(world, 30, 1024, 1024);
    const listed = listAll(world, 'ListContainerInstances', { maxResults: 5 }, 'containerInstanceArns');
    expect(listed.items).toEqual(instances.map((instance) => instance.arn));
    expect(listed.pages).toBeGreaterThan(6);
    expect(listed.emptyPagesWithToken).toBeGreaterThan(0);
    // A filtered lookup can get an empty first page although the instance exists.
    const target = instances[20]!;
    let emptyFirstPage = false;
    for (let i = 0; i < 50 && !emptyFirstPage; i += 1) {
      const page = ecs(world, 'ListContainerInstances', { cluster: 'c', filter: `ec2InstanceId == ${target.ec2InstanceId}` });
      emptyFirstPage = (page.containerInstanceArns as string[]).length === 0 && page.nextToken !== undefined;
    }
    expect(emptyFirstPage).toBe(true);
  });

  it('skips no item when one drops out of the list between two pages', async () => {
    const { world, clock } = newWorld();
    const [a] = clusterWith(world, 1);
    world.createService({ cluster: 'c', name: 'web', desiredCount: 6, cpu: 64, memory: 64, stopSeconds: 1 });
    world.placeInitialTasks();
    const arns = world.tasksOn(a!).map((task) => task.arn);
    const first = ecs(world, 'ListTasks', { cluster: 'c', containerInstance: a!.arn, maxResults: 3 });
    expect(first.taskArns).toEqual(arns.slice(0, 3));
    // The first listed task stops (desired STOPPED): it leaves the RUNNING list before page two.
    world.stopTask(world.tasksOn(a!)[0]!, 'gone');
    await clock.advance(0);
    const second = ecs(world, 'ListTasks', { cluster: 'c', containerInstance: a!.arn, maxResults: 3, nextToken: first.nextToken });
    expect(second.taskArns).toEqual(arns.slice(3, 6));
  });
});

describe('stopped tasks stay listable for about an hour (aws-behaviour.md §3.1)', () => {
  it('lists a STOPPED task under desiredStatus=STOPPED for an hour after it stopped, then no more', async () => {
    const { world, clock } = newWorld();
    const [a] = clusterWith(world, 1);
    const job = world.runTask({ cluster: 'c', ec2InstanceId: a!.ec2InstanceId, family: 'job', cpu: 64, memory: 64, runSeconds: 10 });
    await clock.advance(11_000);
    expect(job.lastStatus).toBe('STOPPED');
    const stopped = () => ecs(world, 'ListTasks', { cluster: 'c', containerInstance: a!.arn, desiredStatus: 'STOPPED' }).taskArns;
    await clock.advance(59 * 60_000);
    expect(stopped()).toEqual([job.arn]);
    await clock.advance(2 * 60_000);
    expect(stopped()).toEqual([]);
  });
});

describe('runningTasksCount includes PENDING tasks (aws-behaviour.md §2)', () => {
  it('counts a PENDING task in both runningTasksCount and pendingTasksCount', async () => {
    const { world, clock } = newWorld();
    const [a] = clusterWith(world, 1);
    world.createService({ cluster: 'c', name: 'web', desiredCount: 1, cpu: 64, memory: 64, startSeconds: 60 });
    world.placeInitialTasks();
    world.createService({ cluster: 'c', name: 'slow', desiredCount: 1, cpu: 64, memory: 64, startSeconds: 60 });
    await clock.advance(2_000);
    const answer = ecs(world, 'DescribeContainerInstances', { cluster: 'c', containerInstances: [a!.arn] });
    const instance = (answer.containerInstances as { runningTasksCount: number; pendingTasksCount: number }[])[0]!;
    expect(instance).toMatchObject({ runningTasksCount: 2, pendingTasksCount: 1 });
  });
});

describe('read-after-write lag of task listings (aws-behaviour.md §3.1)', () => {
  it('lists a task just placed only after the lag; without the fault at once', async () => {
    const { world, clock } = newWorld({ readLagMs: { min: 3_000, max: 3_000 } });
    const [a] = clusterWith(world, 1);
    const job = world.runTask({ cluster: 'c', ec2InstanceId: a!.ec2InstanceId, family: 'job', cpu: 64, memory: 64 });
    const listed = () => ecs(world, 'ListTasks', { cluster: 'c', containerInstance: a!.arn }).taskArns;
    expect(job.lastStatus).toBe('RUNNING');
    expect(listed()).toEqual([]);
    await clock.advance(3_000);
    expect(listed()).toEqual([job.arn]);
    const plain = newWorld();
    const [b] = clusterWith(plain.world, 1);
    const other = plain.world.runTask({ cluster: 'c', ec2InstanceId: b!.ec2InstanceId, family: 'job', cpu: 64, memory: 64 });
    expect(ecs(plain.world, 'ListTasks', { cluster: 'c', containerInstance: b!.arn }).taskArns).toEqual([other.arn]);
  });

  it('answers UpdateContainerInstancesState with the state it set, while later reads may lag', () => {
    const { world } = newWorld({ readLagMs: { min: 5_000, max: 5_000 } });
    const [a] = clusterWith(world, 1);
    const answer = ecs(world, 'UpdateContainerInstancesState', { cluster: 'c', containerInstances: [a!.arn], status: 'DRAINING' });
    expect((answer.containerInstances as { status: string }[])[0]!.status).toBe('DRAINING');
    expect(describe1(world, a!).status).toBe('ACTIVE');
  });
});

describe('a host with an hour of stopped tasks', () => {
  it('lists the history under desiredStatus=STOPPED in pages, and drops each task an hour after it stopped', async () => {
    const { world, clock } = newWorld();
    const [a] = clusterWith(world, 1);
    const history = world.rules.ecs.addStoppedHistory(a!.ec2InstanceId, 150, 3_600_000);
    expect(history.every((task) => task.lastStatus === 'STOPPED')).toBe(true);
    const listed = listAll(world, 'ListTasks', { containerInstance: a!.arn, desiredStatus: 'STOPPED' }, 'taskArns');
    expect(listed.items).toHaveLength(150);
    expect(listed.pages).toBe(2);
    expect(ecs(world, 'ListTasks', { cluster: 'c', containerInstance: a!.arn }).taskArns).toEqual([]);
    await clock.advance(30 * 60_000);
    expect(listAll(world, 'ListTasks', { containerInstance: a!.arn, desiredStatus: 'STOPPED' }, 'taskArns').items).toHaveLength(75);
  });
});
