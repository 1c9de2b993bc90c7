import { AwsApiError, type ApiOutput } from '../../../simulator/api';
import { VirtualClock } from '../../../simulator/clock';
import { World, type WorldOptions } from '../../../simulator/world/world';

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
