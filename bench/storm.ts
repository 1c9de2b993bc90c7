/**
 * Spot storm: 200 simultaneous interruption warnings on a 1,000-instance cluster, with ECS's
 * documented token-bucket throttling in front of the simulator (simulator/faults/throttling.ts).
 * EventBridge delivers each warning to its own invocation and Lambda runs them concurrently; the
 * SDK's retries back off on the virtual clock, so the buckets refill as they would in real time.
 * Measured: simulated time from each warning until the instance is DRAINING, drains that failed,
 * throttles, calls by operation and what happened to the tasks when the instances were reclaimed.
 * Run: npm run bench:storm
 */
import { spotInterruption, SPOT_INTERRUPTION } from '../lib/spot/definition';
import { Simulation } from '../simulator/runner/simulation';
import { parseScenario, type ScenarioInput } from '../simulator/scenarios/load';
import { formatCalls, max, progress, sum } from './lib/common';
import { median, percentile, publish, type Section } from './report';

const INSTANCES = Number(process.env.BENCH_STORM_INSTANCES ?? 1000);
const INTERRUPTED = Number(process.env.BENCH_STORM_INTERRUPTIONS ?? 200);
const SEEDS = (process.env.BENCH_STORM_SEEDS ?? '1,2,3').split(',').map(Number);
const WARNING_AT_SECONDS = 60;
/** The floor: every interrupted instance DRAINING within this many simulated seconds of its warning. */
const FLOOR_SECONDS = 30;

export function stormScenario(seed: number, env: Record<string, string> = {}): ScenarioInput {
  return {
    name: 'bench-spot-storm',
    seed,
    durationMinutes: 6,
    clusters: [{ name: 'prod-ecs' }],
    groups: [
      {
        name: 'prod-ecs-spot',
        cluster: 'prod-ecs',
        minSize: INSTANCES / 2,
        maxSize: INSTANCES * 2,
        desiredCapacity: INSTANCES,
        instance: { cpu: 4096, memory: 16384, type: 'm5.xlarge' },
        spot: true,
      },
    ],
    services: [
      { cluster: 'prod-ecs', name: 'web', desiredCount: INSTANCES, cpu: 1024, memory: 2048, minimumHealthyPercent: 100, maximumPercent: 200, stopSeconds: 30 },
      { cluster: 'prod-ecs', name: 'worker', desiredCount: INSTANCES, cpu: 1024, memory: 2048, minimumHealthyPercent: 50, maximumPercent: 200, stopSeconds: 60 },
      { cluster: 'prod-ecs', name: 'log-agent', strategy: 'DAEMON', cpu: 128, memory: 256, stopSeconds: 5 },
    ],
    handlers: {
      spotInterruption: { env },
      lifecycleHook: { enabled: false },
      scaleInSweeper: { enabled: false },
    },
    faults: { seed, throttling: true },
    events: [{ type: 'spot-interruption', atSeconds: WARNING_AT_SECONDS, group: 'prod-ecs-spot', count: INTERRUPTED }],
  };
}

export interface StormResult {
  seed: number;
  interrupted: number;
  drainedInTime: number;
  neverDrained: number;
  drainedAfterFloor: number;
  secondsToDraining: number[];
  invocations: number;
  invocationErrors: number;
  retries: number;
  throttled: Record<string, number>;
  throttledTotal: number;
  calls: Record<string, number>;
  servicesTasksKilled: number;
  disrupted: number;
  coldStarts: number;
  realMs: number;
}

export async function runStorm(seed: number, env: Record<string, string> = {}): Promise<StormResult> {
  const scenario = parseScenario(stormScenario(seed, env));
  const simulation = await Simulation.start(scenario);
  const warnings = new Map<string, number>();
  simulation.world.onBusEvent((event) => {
    if (event['detail-type'] !== 'EC2 Spot Instance Interruption Warning') return;
    const id = event.detail['instance-id'];
    if (typeof id === 'string' && !warnings.has(id)) warnings.set(id, simulation.clock.now());
  });
  try {
    const report = await simulation.run();
    const drainedAt = new Map<string, number>();
    for (const drain of simulation.world.drains) if (!drainedAt.has(drain.ec2InstanceId)) drainedAt.set(drain.ec2InstanceId, drain.at);
    const seconds: number[] = [];
    let never = 0;
    for (const [id, warnedAt] of warnings) {
      const at = drainedAt.get(id);
      if (at === undefined) never += 1;
      else seconds.push((at - warnedAt) / 1000);
    }
    const throttledTotal = sum(Object.values(report.faults.throttled));
    return {
      seed,
      interrupted: warnings.size,
      drainedInTime: seconds.filter((value) => value <= FLOOR_SECONDS).length,
      neverDrained: never,
      drainedAfterFloor: seconds.filter((value) => value > FLOOR_SECONDS).length,
      secondsToDraining: seconds,
      invocations: report.invocations.spotInterruption.invocations,
      invocationErrors: report.invocations.spotInterruption.errors + report.invocations.spotInterruption.timeouts,
      retries: report.invocations.spotInterruption.retries,
      throttled: report.faults.throttled,
      throttledTotal,
      calls: report.awsCalls.byOperation,
      servicesTasksKilled: report.tasks.killedByOrigin.service,
      disrupted: report.tasks.disrupted,
      // One execution environment per concurrent invocation, as Lambda runs them (simulator/runner/lambda.ts).
      coldStarts: simulation.coldStarts(SPOT_INTERRUPTION),
      realMs: report.realMs,
    };
  } finally {
    await simulation.close();
  }
}

/** The defaults, and the SDK's own retries with fewer or more attempts. */
const SETTINGS: Array<{ label: string; env: Record<string, string> }> = [
  { label: `defaults (AWS_MAX_ATTEMPTS=${spotInterruption.loadConfig({}).sdk.maxAttempts})`, env: {} },
  { label: "AWS_MAX_ATTEMPTS=4, the SDK's own backoff", env: { AWS_MAX_ATTEMPTS: '4', AWS_RETRY_MAX_DELAY_MS: '20000' } },
  { label: "AWS_MAX_ATTEMPTS=10, the SDK's own backoff", env: { AWS_MAX_ATTEMPTS: '10', AWS_RETRY_MAX_DELAY_MS: '20000' } },
];

async function main(): Promise<void> {
  const results: Array<StormResult & { settings: string }> = [];
  for (const settings of SETTINGS) {
    for (const seed of SEEDS) {
      progress(`storm: ${INTERRUPTED} interruptions on ${INSTANCES} instances, ${settings.label}, seed ${seed}`);
      results.push({ settings: settings.label, ...(await runStorm(seed, settings.env)) });
    }
  }
  const rows: Section['rows'] = results.map((result) => [
    result.settings,
    result.seed,
    result.interrupted,
    `${result.drainedInTime}/${result.interrupted}`,
    result.neverDrained + result.drainedAfterFloor,
    median(result.secondsToDraining),
    percentile(result.secondsToDraining, 95),
    max(result.secondsToDraining),
    result.invocations,
    result.coldStarts,
    result.invocationErrors,
    result.throttledTotal,
    formatCalls(result.calls),
    result.servicesTasksKilled,
    result.disrupted,
    (result.realMs / 1000).toFixed(1),
  ]);
  publish('storm', [
    {
      title: `Spot storm: ${INTERRUPTED} simultaneous warnings on a ${INSTANCES}-instance cluster under ECS's documented throttling`,
      columns: [
        'settings',
        'seed',
        'interrupted',
        `DRAINING within ${FLOOR_SECONDS} s`,
        'drains failed or late',
        's to DRAINING median',
        'p95',
        'max',
        'invocations',
        'sandboxes',
        'invocation errors',
        'throttled calls',
        'calls by operation',
        'service tasks killed at reclaim',
        'tasks disrupted',
        'real s',
      ],
      rows,
      data: results,
    },
  ]);
  // The floor is for the defaults; the other rows show what the retry settings change.
  for (const [index, settings] of SETTINGS.entries()) {
    const missed = results.filter((result) => result.settings === settings.label && result.neverDrained + result.drainedAfterFloor > 0);
    if (missed.length === 0) continue;
    const what = `not every interrupted instance was DRAINING within ${FLOOR_SECONDS} simulated seconds (seeds ${missed.map((result) => result.seed).join(', ')})`;
    console.log(index === 0 ? `FLOOR MISSED with the defaults: ${what}.` : `For comparison, ${settings.label}: ${what}.`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
