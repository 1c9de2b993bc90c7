import { parseEcsTaskEvent } from '../../../lib/events/ecs';
import type { BusEvent } from '../../../simulator/world/model';
import { clusterWith, ecs, newWorld, tasksOf } from './helpers';

/**
 * ECS sends "ECS Task State Change" to EventBridge on each change of a task's status, with a
 * growing detail.version (docs/aws-behaviour.md §1.10,
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html).
 */
describe('world: ECS task state-change events on the bus', () => {
  it('a drained task emits its stop signal and its STOPPED state, versions growing, parseable by the drainer', async () => {
    const { world, clock } = newWorld();
    const [a] = clusterWith(world, 2, 2048, 4096);
    world.createService({ cluster: 'c', name: 'web', desiredCount: 2, cpu: 256, memory: 256, minimumHealthyPercent: 0, maximumPercent: 100, stopSeconds: 30 });
    world.placeInitialTasks();
    const events: BusEvent[] = [];
    world.onBusEvent((event) => events.push(event));
    const onA = tasksOf(world, 'web').filter((task) => task.containerInstanceArn === a!.arn);
    expect(onA.length).toBeGreaterThan(0);
    ecs(world, 'UpdateContainerInstancesState', { cluster: 'c', containerInstances: [a!.arn], status: 'DRAINING' });
    await clock.advance(60_000);

    const taskEvents = events.filter((event) => event.source === 'aws.ecs' && event['detail-type'] === 'ECS Task State Change');
    for (const task of onA) {
      const mine = taskEvents.filter((event) => event.detail.taskArn === task.arn);
      expect(mine.map((event) => event.detail.lastStatus)).toEqual(['DEACTIVATING', 'STOPPED']);
      const [signal, stopped] = mine.map((event) => event.detail.version as number);
      expect(stopped!).toBeGreaterThan(signal!);
      expect(stopped).toBe(task.version);
      expect(mine[1]!.detail).toMatchObject({ containerInstanceArn: a!.arn, desiredStatus: 'STOPPED', clusterArn: world.clusters.get('c')!.arn });
      expect(mine[1]!.resources).toEqual([task.arn]);
      const parsed = parseEcsTaskEvent(mine[1], { clusters: ['c'] });
      expect(parsed).toMatchObject({ outcome: 'signal', signal: { taskArn: task.arn, containerInstanceArn: a!.arn, version: task.version } });
    }
    // Event ids are distinct (EventBridge gives every event its own id).
    expect(new Set(taskEvents.map((event) => event.id)).size).toBe(taskEvents.length);
  });

  it('emitting task events draws nothing from the seeded random source (other runs stay as they were)', async () => {
    const run = async (listen: boolean) => {
      const { world, clock } = newWorld();
      const [a] = clusterWith(world, 2, 2048, 4096);
      world.createService({ cluster: 'c', name: 'web', desiredCount: 3, cpu: 256, memory: 256, stopSeconds: 5 });
      world.placeInitialTasks();
      if (listen) world.onBusEvent(() => undefined);
      ecs(world, 'UpdateContainerInstancesState', { cluster: 'c', containerInstances: [a!.arn], status: 'DRAINING' });
      await clock.advance(120_000);
      return [...world.clusters.get('c')!.tasks.keys()];
    };
    expect(await run(true)).toEqual(await run(false));
  });
});
