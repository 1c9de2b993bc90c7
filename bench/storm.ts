/**
 * Spot storms: simultaneous interruption warnings on a large cluster, with ECS's documented
 * token-bucket throttling in front of the simulator (simulator/faults/throttling.ts). Two
 * deliveries: EventBridge straight to the function (each warning its own invocation, Lambda runs
 * them concurrently), and EventBridge → SQS → the event source mapping serverless.yml deploys
 * (batches, a batching window, bounded concurrency; simulator/runner/sqs-mapping.ts). The SDK's
 * retries back off on the virtual clock, so the buckets refill as they would in real time.
 * Measured: simulated time from each warning until the instance is DRAINING, drains that failed,
 * throttles, ECS calls per warning, calls by operation, what happened to the tasks when the
 * instances were reclaimed, and when the group's replacement instances first ran a task, relative
 * to the reclaim (with SPOT_EARLY_REPLACEMENT on and off).
 * Run: npm run bench:storm (BENCH_STORM_INSTANCES and BENCH_STORM_INTERRUPTIONS run one size of
 * your own with both deliveries; BENCH_STORM_SEEDS=1,2,3 picks the seeds)
 */
import { spotInterruption, SPOT_INTERRUPTION } from '../lib/spot/definition';
import { Simulation } from '../simulator/runner/simulation';
import { parseScenario, type ScenarioInput } from '../simulator/scenarios/load';
import { formatCalls, max, progress, runMain, sum } from './lib/common';
import { median, percentile, publish, tabulate } from './report';

const SEEDS = (process.env.BENCH_STORM_SEEDS ?? '1,2,3').split(',').map(Number);
const WARNING_AT_SECONDS = 60;
/** The floor: every interrupted instance DRAINING within this many simulated seconds of its warning. */
const FLOOR_SECONDS = 30;

/** How warnings reach the function: straight from EventBridge, or through the SQS queue and its mapping. */
export type Delivery = { kind: 'direct' } | { kind: 'sqs'; batchSize: number; batchWindowSeconds: number; maximumConcurrency: number };

/** The queue and mapping as serverless.yml deploys them (spotInterruption's sqs event). */
export const DEPLOYED_SQS: Delivery = { kind: 'sqs', batchSize: 1000, batchWindowSeconds: 1, maximumConcurrency: 2 };

export interface StormSize {
  instances: number;
  interrupted: number;
}

/** Per-call latency in simulated ms (none by default: every ECS call answers at once). */
export type CallLatency = { min: number; max: number } | undefined;

export function stormScenario(seed: number, { env, size, delivery, latencyMs }: StormCase): ScenarioInput {
  const { instances, interrupted } = size;
  return {
    name: 'bench-spot-storm',
    seed,
    durationMinutes: 6,
    clusters: [{ name: 'prod-ecs' }],
    groups: [
      {
        name: 'prod-ecs-spot',
        cluster: 'prod-ecs',
        minSize: instances / 2,
        maxSize: instances * 2,
        desiredCapacity: instances,
        instance: { cpu: 4096, memory: 16384, type: 'm5.xlarge' },
        spot: true,
      },
    ],
    services: [
      { cluster: 'prod-ecs', name: 'web', desiredCount: instances, cpu: 1024, memory: 2048, minimumHealthyPercent: 100, maximumPercent: 200, stopSeconds: 30 },
      { cluster: 'prod-ecs', name: 'worker', desiredCount: instances, cpu: 1024, memory: 2048, minimumHealthyPercent: 50, maximumPercent: 200, stopSeconds: 60 },
      { cluster: 'prod-ecs', name: 'log-agent', strategy: 'DAEMON', cpu: 128, memory: 256, stopSeconds: 5 },
    ],
    handlers: {
      spotInterruption: {
        env,
        ...(delivery.kind === 'sqs' ? { sqs: { batchSize: delivery.batchSize, batchWindowSeconds: delivery.batchWindowSeconds, maximumConcurrency: delivery.maximumConcurrency } } : {}),
      },
      lifecycleHook: { enabled: false },
      scaleInSweeper: { enabled: false },
    },
    faults: { seed, throttling: true, ...(latencyMs ? { latencyMs } : {}) },
    events: [{ type: 'spot-interruption', atSeconds: WARNING_AT_SECONDS, group: 'prod-ecs-spot', count: interrupted }],
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
  /** Every ECS call of the run (the Spot drainer is the only caller), over the warnings. */
  ecsCallsPerWarning: number;
  /** SQS deliveries: batches handed to the function, and messages left in the dead-letter queue. */
  batches: number;
  deadLetters: number;
  coldStarts: number;
  /** Instances the group launched after the warnings (replacements). */
  replacements: number;
  /**
   * For each replacement, seconds from the reclaim of the interrupted instances to its first task
   * RUNNING (negative: before the reclaim); replacements that never ran a task are left out.
   */
  replacementRunningVsReclaim: number[];
  realMs: number;
}

export async function runStorm(seed: number, storm: StormCase): Promise<StormResult> {
  const scenario = parseScenario(stormScenario(seed, storm));
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
    const reclaims = simulation.world.terminations.filter((termination) => termination.cause === 'spot-interruption').map((termination) => termination.at);
    const reclaimAt = reclaims.length > 0 ? Math.min(...reclaims) : Number.NaN;
    const firstWarning = warnings.size > 0 ? Math.min(...warnings.values()) : Number.POSITIVE_INFINITY;
    const replacementIds = [...simulation.world.ec2.values()].filter((ec2) => ec2.launchedAt >= firstWarning).map((ec2) => ec2.id);
    const replacementRunningVsReclaim: number[] = [];
    for (const id of replacementIds) {
      const instance = simulation.world.containerInstanceOf(id);
      const started = instance ? simulation.world.tasksOn(instance).map((task) => task.startedAt).filter((at): at is number => at !== undefined) : [];
      if (started.length > 0 && !Number.isNaN(reclaimAt)) replacementRunningVsReclaim.push((Math.min(...started) - reclaimAt) / 1000);
    }
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
      ecsCallsPerWarning: warnings.size === 0 ? 0 : ecsCalls(report.awsCalls.byOperation) / warnings.size,
      batches: simulation.spotQueue?.batches.length ?? 0,
      deadLetters: simulation.spotQueue?.deadLetters.length ?? 0,
      // One execution environment per concurrent invocation, as Lambda runs them (simulator/runner/lambda.ts).
      coldStarts: simulation.coldStarts(SPOT_INTERRUPTION),
      replacements: replacementIds.length,
      replacementRunningVsReclaim,
      realMs: report.realMs,
    };
  } finally {
    await simulation.close();
  }
}

function ecsCalls(calls: Record<string, number>): number {
  return sum(Object.entries(calls).filter(([operation]) => operation.startsWith('ecs:')).map(([, count]) => count));
}

function describeDelivery(delivery: Delivery): string {
  return delivery.kind === 'direct'
    ? 'EventBridge → function'
    : `SQS, batch ${delivery.batchSize}, window ${delivery.batchWindowSeconds} s, max concurrency ${delivery.maximumConcurrency}`;
}

interface StormCase {
  label: string;
  /** Simulated latency of every AWS call: concurrent batches then overlap, as in separate execution environments. */
  latencyMs?: CallLatency;
  size: StormSize;
  delivery: Delivery;
  env: Record<string, string>;
}

/** The defaults, the SDK's own retries with fewer or more attempts, and the fleet cases through SQS. */
function cases(): StormCase[] {
  const defaults = `defaults (AWS_MAX_ATTEMPTS=${spotInterruption.loadConfig({}).sdk.maxAttempts})`;
  if (process.env.BENCH_STORM_INSTANCES || process.env.BENCH_STORM_INTERRUPTIONS) {
    const size = { instances: Number(process.env.BENCH_STORM_INSTANCES ?? 1000), interrupted: Number(process.env.BENCH_STORM_INTERRUPTIONS ?? 200) };
    return [
      { label: defaults, size, delivery: { kind: 'direct' }, env: {} },
      { label: defaults, size, delivery: DEPLOYED_SQS, env: {} },
    ];
  }
  const small = { instances: 1000, interrupted: 200 };
  const fleet = { instances: 2000, interrupted: 1000 };
  const single = { instances: 1000, interrupted: 1 };
  return [
    { label: defaults, size: small, delivery: { kind: 'direct' }, env: {} },
    { label: "AWS_MAX_ATTEMPTS=4, the SDK's own backoff", size: small, delivery: { kind: 'direct' }, env: { AWS_MAX_ATTEMPTS: '4', AWS_RETRY_MAX_DELAY_MS: '20000' } },
    { label: "AWS_MAX_ATTEMPTS=10, the SDK's own backoff", size: small, delivery: { kind: 'direct' }, env: { AWS_MAX_ATTEMPTS: '10', AWS_RETRY_MAX_DELAY_MS: '20000' } },
    { label: defaults, size: small, delivery: DEPLOYED_SQS, env: {} },
    { label: defaults, size: fleet, delivery: { kind: 'direct' }, env: {} },
    { label: defaults, size: fleet, delivery: DEPLOYED_SQS, env: {} },
    { label: `${defaults}, calls take 20–80 ms`, size: small, delivery: DEPLOYED_SQS, env: {}, latencyMs: { min: 20, max: 80 } },
    { label: `${defaults}, calls take 20–80 ms`, size: fleet, delivery: DEPLOYED_SQS, env: {}, latencyMs: { min: 20, max: 80 } },
    { label: defaults, size: single, delivery: { kind: 'direct' }, env: {} },
    { label: defaults, size: single, delivery: DEPLOYED_SQS, env: {} },
    // Early replacement: the group launches replacements at the warning instead of after the reclaim.
    { label: 'SPOT_EARLY_REPLACEMENT=true', size: small, delivery: DEPLOYED_SQS, env: { SPOT_EARLY_REPLACEMENT: 'true' } },
  ];
}

async function main(): Promise<void> {
  const results: Array<StormResult & { settings: string; delivery: string; instances: number }> = [];
  for (const storm of cases()) {
    for (const seed of SEEDS) {
      progress(`storm: ${storm.size.interrupted} interruptions on ${storm.size.instances} instances, ${describeDelivery(storm.delivery)}, ${storm.label}, seed ${seed}`);
      results.push({
        settings: storm.label,
        delivery: describeDelivery(storm.delivery),
        instances: storm.size.instances,
        ...(await runStorm(seed, storm)),
      });
    }
  }
  const some = (values: number[], pick: (values: number[]) => number) => (values.length > 0 ? pick(values) : '-');
  publish('storm', [
    {
      title: "Spot storms: simultaneous warnings on one cluster under ECS's documented throttling",
      ...tabulate(results, [
        ['delivery', (r) => r.delivery],
        ['settings', (r) => r.settings],
        ['instances', (r) => r.instances],
        ['seed', (r) => r.seed],
        ['interrupted', (r) => r.interrupted],
        [`DRAINING within ${FLOOR_SECONDS} s`, (r) => `${r.drainedInTime}/${r.interrupted}`],
        ['drains failed or late', (r) => r.neverDrained + r.drainedAfterFloor],
        ['s to DRAINING median', (r) => median(r.secondsToDraining)],
        ['p95', (r) => percentile(r.secondsToDraining, 95)],
        ['max', (r) => max(r.secondsToDraining)],
        ['ECS calls per warning', (r) => r.ecsCallsPerWarning.toFixed(2)],
        ['invocations', (r) => r.invocations],
        ['SQS batches', (r) => r.batches],
        ['sandboxes', (r) => r.coldStarts],
        ['invocation errors', (r) => r.invocationErrors],
        ['dead-lettered', (r) => r.deadLetters],
        ['throttled calls', (r) => r.throttledTotal],
        ['calls by operation', (r) => formatCalls(r.calls)],
        ['service tasks killed at reclaim', (r) => r.servicesTasksKilled],
        ['tasks disrupted', (r) => r.disrupted],
        ['replacements launched', (r) => r.replacements],
        ['replacement first task RUNNING, s after reclaim (median)', (r) => some(r.replacementRunningVsReclaim, median)],
        ['max', (r) => some(r.replacementRunningVsReclaim, max)],
        ['real s', (r) => (r.realMs / 1000).toFixed(1)],
      ]),
      data: results,
    },
  ]);
  // The floors are for the deployed path (SQS) with the defaults; the other rows are comparisons.
  for (const result of results) {
    if (result.delivery !== describeDelivery(DEPLOYED_SQS) || !result.settings.startsWith(cases()[0]?.label ?? '-')) continue;
    const misses: string[] = [];
    const worst = max(result.secondsToDraining);
    if (result.neverDrained > 0) misses.push(`${result.neverDrained} never DRAINING`);
    if (result.interrupted >= 1000) {
      if (worst > 15) misses.push(`max ${worst.toFixed(1)} s > 15 s`);
      if (median(result.secondsToDraining) >= 5) misses.push(`median ${median(result.secondsToDraining)} s >= 5 s`);
      if (result.ecsCallsPerWarning > 0.3) misses.push(`${result.ecsCallsPerWarning.toFixed(2)} ECS calls per warning > 0.3`);
    } else if (result.interrupted > 1 && worst >= 10) misses.push(`max ${worst.toFixed(1)} s >= 10 s`);
    else if (result.interrupted === 1 && result.ecsCallsPerWarning > 3) misses.push(`${result.ecsCallsPerWarning} ECS calls > 3`);
    if (misses.length > 0) console.log(`FLOOR MISSED: ${result.interrupted} on ${result.instances}, seed ${result.seed}: ${misses.join('; ')}.`);
  }
}

if (require.main === module) runMain(main);
