import { AwsApiError, type ApiOutput } from '../../../simulator/api';
import { VirtualClock } from '../../../simulator/clock';
import type { ContainerInstance, SnsRecord } from '../../../simulator/world/model';
import { World, type GroupSpec, type WorldOptions } from '../../../simulator/world/world';

export const START = Date.UTC(2026, 2, 4, 10, 0, 0);

export function newWorld(options: Partial<WorldOptions> = {}) {
  const clock = new VirtualClock(START);
  const world = new World(clock, { seed: 1, ...options });
  return { clock, world };
}

/** The error an operation throws (fails the test when it does not throw). */
export function errorOf(fn: () => unknown): AwsApiError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AwsApiError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

export function ecs(world: World, operation: string, input: Record<string, unknown>): ApiOutput {
  return world.callSync('ecs', operation, input);
}

export function asg(world: World, operation: string, input: Record<string, unknown>): ApiOutput {
  return world.callSync('autoscaling', operation, input);
}

/** A cluster `c` with `count` ACTIVE instances of the given size. */
export function clusterWith(world: World, count: number, cpu = 4096, memory = 8192) {
  world.createCluster({ name: 'c' });
  return Array.from({ length: count }, () => world.addInstance({ cluster: 'c', cpu, memory }));
}

export function tasksOf(world: World, service: string) {
  return [...world.clusters.get('c')!.tasks.values()].filter((task) => task.serviceName === service);
}

/**
 * A cluster `c`, an SNS topic `lifecycle` whose records are kept, and a group `g` of 2048 CPU /
 * 4096 MiB instances (sizes from `spec`). Instances boot in 60 s and shut down in 10 s unless
 * `options` says otherwise.
 */
export function groupWorld(spec: Partial<GroupSpec> = {}, options: Partial<WorldOptions> = { timings: { bootMs: 60_000, shutdownMs: 10_000 } }) {
  const { world, clock } = newWorld(options);
  world.createCluster({ name: 'c' });
  const topic = world.createTopic('lifecycle');
  const records: SnsRecord[] = [];
  world.subscribe(topic.arn, (record) => records.push(record));
  const group = world.createGroup({ name: 'g', cluster: 'c', minSize: 1, maxSize: 10, desiredCapacity: 3, instanceCpu: 2048, instanceMemory: 4096, ...spec });
  return { world, clock, topic, group, records, ids: [...group.instances.keys()] };
}

/** The instance's LifecycleState as DescribeAutoScalingInstances answers it (undefined once it left its group). */
export function lifecycleStateOf(world: World, id: string): string | undefined {
  return (asg(world, 'DescribeAutoScalingInstances', { InstanceIds: [id] }).AutoScalingInstances as { LifecycleState: string }[])[0]?.LifecycleState;
}

/** The JSON message of an SNS record. */
export const messageOf = (record: SnsRecord | undefined) => JSON.parse(record?.Sns.Message ?? '{}') as Record<string, string>;

/** What a drainer does: UpdateContainerInstancesState(DRAINING). */
export function drain(world: World, instance: ContainerInstance) {
  ecs(world, 'UpdateContainerInstancesState', { cluster: 'c', containerInstances: [instance.arn], status: 'DRAINING' });
}
