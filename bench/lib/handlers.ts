import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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

/** Used when serverless.yml cannot be read. */
const FALLBACK_TIMEOUT_SECONDS: Record<FunctionName, number> = { spotInterruption: 30, lifecycleHook: 900, scaleInSweeper: 300 };

/**
 * Each function's timeout as serverless.yml deploys it (a number, or a stage parameter's default),
 * so the benchmarks follow the deployment when it changes. Two fields are read with patterns: a
 * YAML parser would need a schema for the template's CloudFormation tags (!Ref, !GetAtt).
 */
export function deployedTimeoutSeconds(fn: FunctionName): number {
  let template: string;
  try {
    template = readFileSync(join(__dirname, '..', '..', 'serverless.yml'), 'utf8');
  } catch {
    return FALLBACK_TIMEOUT_SECONDS[fn];
  }
  const block = new RegExp(`\\n  ${fn}:\\n((?: {4}.*\\n|\\s*\\n)+)`).exec(template)?.[1] ?? '';
  const value = /\n {4}timeout: (.+)/.exec(`\n${block}`)?.[1]?.trim() ?? '';
  const param = /^\$\{param:([A-Za-z0-9]+)\}$/.exec(value)?.[1];
  const resolved = param ? (new RegExp(`\\n {4}${param}: '?(\\d+)'?`).exec(template)?.[1] ?? '') : value;
  const seconds = Number(resolved);
  return Number.isInteger(seconds) && seconds > 0 ? seconds : FALLBACK_TIMEOUT_SECONDS[fn];
}

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
  const timeout = (fn: FunctionName) => (scenario.handlers[fn].timeoutSeconds ?? deployedTimeoutSeconds(fn)) * 1000;

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
