import type { Env } from '../../lib/config';
import { loadLifecycleConfig } from '../../lib/lifecycle/config';
import { makeLifecycleHookHandler } from '../../lib/lifecycle/handler';
import { loadSpotConfig } from '../../lib/spot/config';
import { makeSpotInterruptionHandler } from '../../lib/spot/handler';
import { loadSweeperConfig } from '../../lib/sweeper/config';
import { makeScaleInSweeperHandler } from '../../lib/sweeper/handler';
import type { FunctionName } from '../../simulator/runner/lambda';
import type { Simulation } from '../../simulator/runner/simulation';
import { Random } from '../../simulator/world/random';
import { SandboxPool } from './sandboxes';

/** Lambda timeouts as serverless.yml deploys them. */
const DEFAULT_TIMEOUT_SECONDS: Record<FunctionName, number> = { spotInterruption: 30, lifecycleHook: 900, scaleInSweeper: 300 };

/** A function's environment in the simulation: every cluster of the scenario, its topic, the scenario's settings. */
export function functionEnv(simulation: Simulation, fn: FunctionName): Env {
  const { scenario } = simulation;
  return {
    CLUSTERS: scenario.clusters.map((cluster) => cluster.name).join(','),
    ...(fn === 'lifecycleHook' ? { LIFECYCLE_TOPIC_ARN: simulation.topicArn } : {}),
    ...scenario.handlers.env,
    ...scenario.handlers[fn].env,
  };
}

/**
 * Runs every function the scenario enables in sandboxes (bench/lib/sandboxes.ts): one per
 * concurrent invocation, retry backoff on the virtual clock. Deliveries, schedules and retries
 * stay the runner's; only the code that answers an invocation changes.
 */
export function useSandboxes(simulation: Simulation, seed: number): SandboxPool[] {
  const { scenario } = simulation;
  const pools: SandboxPool[] = [];
  const ids = new Random(seed + 104_729);
  const timeout = (fn: FunctionName) => (scenario.handlers[fn].timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS[fn]) * 1000;

  if (scenario.handlers.spotInterruption.enabled) {
    const config = loadSpotConfig(functionEnv(simulation, 'spotInterruption'));
    const pool = new SandboxPool(
      simulation,
      (clients) => {
        const handler = makeSpotInterruptionHandler({ config, ecs: clients.ecs, telemetry: simulation.telemetry.spotInterruption });
        return (event) => handler(event);
      },
      config.sdk,
      seed,
    );
    pool.register('spotInterruption', timeout('spotInterruption'));
    pools.push(pool);
  }
  if (scenario.handlers.lifecycleHook.enabled) {
    const config = loadLifecycleConfig(functionEnv(simulation, 'lifecycleHook'));
    const pool = new SandboxPool(
      simulation,
      (clients) =>
        makeLifecycleHookHandler({
          config,
          clients: { ecs: clients.ecs, autoScaling: clients.autoScaling, sns: clients.sns },
          telemetry: simulation.telemetry.lifecycleHook,
          clock: simulation.clock,
          newId: () => ids.uuid(),
        }),
      config.sdk,
      seed + 1,
    );
    pool.register('lifecycleHook', timeout('lifecycleHook'));
    pools.push(pool);
  }
  if (scenario.handlers.scaleInSweeper.enabled) {
    const config = loadSweeperConfig(functionEnv(simulation, 'scaleInSweeper'));
    const pool = new SandboxPool(
      simulation,
      (clients) =>
        makeScaleInSweeperHandler({
          config,
          clients: { ecs: clients.ecs, autoScaling: clients.autoScaling, cloudWatch: clients.cloudWatch },
          telemetry: simulation.telemetry.scaleInSweeper,
          clock: simulation.clock,
        }),
      config.sdk,
      seed + 2,
    );
    pool.register('scaleInSweeper', timeout('scaleInSweeper'));
    pools.push(pool);
  }
  return pools;
}
