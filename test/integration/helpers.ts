import { Simulation } from '../../simulator/runner/simulation';
import { loadScenario, parseScenario, type Scenario, type ScenarioInput } from '../../simulator/scenarios/load';

/** A scenario file with some fields replaced, validated again. */
export function scenario(name: string, overrides: Partial<ScenarioInput> = {}): Scenario {
  return parseScenario({ ...loadScenario(name), ...overrides });
}

export function custom(input: ScenarioInput): Scenario {
  return parseScenario(input);
}

/** Starts a simulation and closes it after the test, whatever happens. */
export async function withSimulation<T>(input: Scenario, body: (simulation: Simulation) => Promise<T>): Promise<T> {
  const simulation = await Simulation.start(input);
  try {
    return await body(simulation);
  } finally {
    await simulation.close();
  }
}

/** Non-daemon tasks of an instance, in any state. */
export function countedTasksOf(simulation: Simulation, ec2InstanceId: string) {
  const instance = simulation.world.containerInstanceOf(ec2InstanceId);
  return instance ? simulation.world.tasksOn(instance).filter((task) => !task.daemon) : [];
}

export const runningCount = (simulation: Simulation, cluster: string, service: string) =>
  [...simulation.world.clusters.get(cluster)!.tasks.values()].filter(
    (task) => task.serviceName === service && task.desiredStatus === 'RUNNING' && task.lastStatus === 'RUNNING',
  ).length;
