/**
 * Lifecycle-hook drainer, measured in simulated time with the handlers' default settings except the
 * drain deadline (DRAIN_TIMEOUT_SECONDS=1800, since the default 900 s is shorter than the tasks), and
 * with the task-event rule on (ECS Task State Change, STOPPED, to the drainer's queue and its event
 * source mapping), as serverless.yml deploys it:
 *
 * - single drains: a group of 20 scales in by 10, tasks 4–20 min to stop (the single-drain cost);
 * - fleet: a group of 400 scales in by 200 at once, tasks 4–20 min to stop, ECS's documented
 *   throttling buckets on (cluster-resource reads: burst 100, 20/s, shared by the account), with and
 *   without faults.
 *
 * Reported: actions completed before expiry, expired, completed with counted tasks still running,
 * the delay from the instance's last task STOPPED (its daemon included) to CompleteLifecycleAction,
 * ECS reads per second (peak over any one second, mean over the drain) and per minute of drain per
 * instance, throttled
 * calls, SNS hops, billed Lambda seconds, and the most lifecycle invocations running at once
 * (the concurrency the drains take from the account).
 *
 * Each host carries an hour of history: HISTORY_TASKS stopped tasks, still listable as in AWS, so
 * every poll that lists them pays for them.
 * Run: npm run bench:lifecycle (BENCH_LIFECYCLE_ONLY=single|fleet, BENCH_LIFECYCLE_FAULTS=none|faults,
 * BENCH_LIFECYCLE_FLEET_SEEDS=1,2,3, BENCH_LIFECYCLE_TRACE=1 for the busiest seconds on stderr).
 */
import { REQUEUE_KIND } from '../lib/events/lifecycle';
import { lifecycleHook, LIFECYCLE_HOOK } from '../lib/lifecycle/definition';
import { ecsThrottleCategory } from '../simulator/faults/throttling';
import { Simulation } from '../simulator/runner/simulation';
import { parseScenario, type ScenarioInput } from '../simulator/scenarios/load';
import { formatCalls, max, progress, sum } from './lib/common';
import { median, publish, type Section } from './report';

const LAMBDA_TIMEOUT_SECONDS = lifecycleHook.timeoutSeconds;
const STOP_SECONDS = [240, 480, 720, 960, 1200];
const DAEMON = 'node-exporter';
/** Stopped tasks per host over the hour before the scale-in (a short job every 30 s). */
const HISTORY_TASKS = 120;
const SCALE_IN_AT_SECONDS = 60;

interface Shape {
  name: string;
  groupSize: number;
  removed: number;
}
const SINGLE: Shape = { name: 'single', groupSize: 20, removed: 10 };
const FLEET: Shape = { name: 'fleet', groupSize: 400, removed: 200 };

function scenario(shape: Shape, seed: number, faults: ScenarioInput['faults']): ScenarioInput {
  return {
    name: `bench-lifecycle-${shape.name}`,
    seed,
    durationMinutes: 60,
    clusters: [{ name: 'batch' }],
    groups: [
      {
        name: 'batch-asg',
        cluster: 'batch',
        minSize: 2,
        maxSize: shape.groupSize * 2,
        desiredCapacity: shape.groupSize,
        instance: { cpu: 4096, memory: 16384, type: 'm5.xlarge' },
        hook: { name: 'ecs-drain-hook', heartbeatTimeoutSeconds: 300, defaultResult: 'ABANDON' },
      },
    ],
    services: [
      ...STOP_SECONDS.map((stopSeconds) => ({
        cluster: 'batch',
        name: `jobs-${stopSeconds / 60}min`,
        desiredCount: shape.groupSize,
        cpu: 256,
        memory: 1024,
        minimumHealthyPercent: 50,
        maximumPercent: 200,
        stopSeconds,
      })),
      { cluster: 'batch', name: DAEMON, strategy: 'DAEMON' as const, cpu: 128, memory: 256, stopSeconds: 10 },
    ],
    handlers: {
      spotInterruption: { enabled: false },
      lifecycleHook: { env: { DRAIN_TIMEOUT_SECONDS: '1800' }, taskEvents: true },
      scaleInSweeper: { enabled: false },
    },
    ...(faults ? { faults } : {}),
    events: [{ type: 'set-desired-capacity', atSeconds: SCALE_IN_AT_SECONDS, group: 'batch-asg', desiredCapacity: shape.groupSize - shape.removed }],
  };
}

interface Result {
  shape: string;
  label: string;
  seed: number;
  started: number;
  completedBeforeExpiry: number;
  expired: number;
  forced: number;
  completedOnEvent: number;
  hops: number;
  invocations: number;
  billedSeconds: number;
  peakConcurrency: number;
  heartbeats: number;
  delaysSeconds: number[];
  drainMinutes: number[];
  ecsReads: number;
  ecsReadsPeakPerSecond: number;
  ecsReadsMeanPerSecond: number;
  ecsReadsPerDrainMinute: number;
  throttled: number;
  pollIntervalSeconds: number;
  calls: Record<string, number>;
  realMs: number;
}

/** BENCH_LIFECYCLE_TRACE=1: the busiest seconds with their reads, and reads per minute, on stderr. */
const TRACE = process.env.BENCH_LIFECYCLE_TRACE === '1';

function trace(start: number, readsBySecond: Map<number, number>, operationsBySecond: Map<number, string[]>): void {
  const startSecond = Math.floor(start / 1000);
  const busiest = [...readsBySecond.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10);
  for (const [second, reads] of busiest) {
    const counts = new Map<string, number>();
    for (const operation of operationsBySecond.get(second) ?? []) counts.set(operation, (counts.get(operation) ?? 0) + 1);
    process.stderr.write(`  t=${second - startSecond}s reads=${reads} ${[...counts].map(([operation, n]) => `${operation} ${n}`).join(', ')}\n`);
  }
  const perMinute = new Map<number, number>();
  for (const [second, reads] of readsBySecond) perMinute.set(Math.floor((second - startSecond) / 60), (perMinute.get(Math.floor((second - startSecond) / 60)) ?? 0) + reads);
  process.stderr.write(`  reads per minute: ${[...perMinute].sort((a, b) => a[0] - b[0]).map(([minute, reads]) => `${minute}:${reads}`).join(' ')}\n`);
}

/** The most invocations of one function running at the same time. */
function peakConcurrency(intervals: { startedAt: number; endedAt?: number }[], end: number): number {
  const edges = intervals.flatMap((interval) => [
    [interval.startedAt, 1],
    [interval.endedAt ?? end, -1],
  ]) as [number, number][];
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let running = 0;
  let peak = 0;
  for (const [, delta] of edges) {
    running += delta;
    peak = Math.max(peak, running);
  }
  return peak;
}

async function run(shape: Shape, label: string, seed: number, faults: ScenarioInput['faults']): Promise<Result> {
  const simulation = await Simulation.start(parseScenario(scenario(shape, seed, faults)));
  for (const instance of simulation.world.groups.get('batch-asg')!.instances.keys()) {
    simulation.world.rules.ecs.addStoppedHistory(instance, HISTORY_TASKS, 3_600_000);
  }
  const config = simulation.configOf(lifecycleHook)!;
  let hops = 0;
  simulation.world.subscribe(simulation.topicArn, (record) => {
    if (record.Sns.Message.includes(`"kind":"${REQUEUE_KIND}"`)) hops += 1;
  });
  // Every ECS cluster-resource read that reached the endpoint (throttled ones included), by second.
  const readsBySecond = new Map<number, number>();
  const operationsBySecond = new Map<number, string[]>();
  let ecsReads = 0;
  let throttled = 0;
  simulation.callLog.onCall(({ service, operation, outcome, at }) => {
    if (service !== 'ecs' || ecsThrottleCategory(operation) !== 'clusterResourceRead' || at === undefined) return;
    ecsReads += 1;
    if (outcome === 'ThrottlingException') throttled += 1;
    const second = Math.floor(at / 1000);
    readsBySecond.set(second, (readsBySecond.get(second) ?? 0) + 1);
    if (TRACE) operationsBySecond.set(second, [...(operationsBySecond.get(second) ?? []), operation]);
  });
  try {
    const report = await simulation.run();
    const { world } = simulation;
    const actions = [...world.lifecycleActions.values()];
    const stops = world.timeline.filter((entry) => entry.kind === 'task' && entry.message === 'task STOPPED');
    const delays: number[] = [];
    const drainMinutes: number[] = [];
    let forced = 0;
    for (const action of actions) {
      if (action.state !== 'completed' || action.endedAt === undefined) continue;
      if ((action.unstoppedTasksAtEnd ?? 0) > 0) forced += 1;
      const mine = stops.filter((entry) => entry.fields?.ec2InstanceId === action.instanceId && entry.at <= action.endedAt!);
      const lastStop = max(mine.map((entry) => entry.at));
      if (mine.length > 0) delays.push((action.endedAt - lastStop) / 1000);
      drainMinutes.push((action.endedAt - action.startedAt) / 60_000);
    }
    const lifecycleInvocations = simulation.lambdas.invocations.filter((invocation) => invocation.fn === LIFECYCLE_HOOK);
    const lastEnd = max(actions.map((action) => action.endedAt ?? simulation.endsAt));
    const drainSeconds = Math.max(1, (lastEnd - (simulation.startedAt + SCALE_IN_AT_SECONDS * 1000)) / 1000);
    const completedOnEvent = simulation.telemetry.lifecycleHook.metricTotal('LifecycleCompleted', { reason: 'drained-on-event' });
    if (TRACE) trace(simulation.startedAt, readsBySecond, operationsBySecond);
    return {
      shape: `${shape.removed} of ${shape.groupSize}`,
      label,
      seed,
      started: actions.length,
      completedBeforeExpiry: actions.filter((action) => action.state === 'completed').length,
      expired: actions.filter((action) => action.state === 'expired' || action.state === 'global-timeout').length,
      forced,
      completedOnEvent,
      hops,
      invocations: lifecycleInvocations.length,
      billedSeconds: report.invocations.lifecycleHook.billedMs / 1000,
      peakConcurrency: peakConcurrency(lifecycleInvocations, simulation.clock.now()),
      heartbeats: sum(actions.map((action) => action.heartbeats)),
      delaysSeconds: delays,
      drainMinutes,
      ecsReads,
      ecsReadsPeakPerSecond: max([...readsBySecond.values()]),
      ecsReadsMeanPerSecond: Math.round((ecsReads / drainSeconds) * 100) / 100,
      ecsReadsPerDrainMinute: Math.round((ecsReads / Math.max(1e-9, sum(drainMinutes))) * 100) / 100,
      throttled,
      pollIntervalSeconds: config.pollIntervalSeconds,
      calls: report.awsCalls.byOperation,
      realMs: report.realMs,
    };
  } finally {
    await simulation.close();
  }
}

const FAULTS: ScenarioInput['faults'] = { throttling: true, errorRate: 0.05, sns: { duplicateRate: 0.1, delayRate: 0, delaySeconds: { min: 1, max: 30 } } };

async function main(): Promise<void> {
  const fleetSeeds = (process.env.BENCH_LIFECYCLE_FLEET_SEEDS ?? '1').split(',').map(Number);
  const cases: Array<[Shape, string, ScenarioInput['faults'], number[]]> = [
    [SINGLE, 'no faults', undefined, [1, 2]],
    [SINGLE, 'ECS throttling + 5% 5xx + 10% duplicate deliveries', FAULTS, [1, 2]],
    [FLEET, 'ECS throttling', { throttling: true }, fleetSeeds],
    [FLEET, 'ECS throttling + 5% 5xx + 10% duplicate deliveries', FAULTS, fleetSeeds],
  ];
  const only = process.env.BENCH_LIFECYCLE_ONLY;
  // BENCH_LIFECYCLE_FAULTS=none or =faults: only the cases without, or with, injected faults.
  const faultCases = process.env.BENCH_LIFECYCLE_FAULTS;
  const results: Result[] = [];
  const selected = cases
    .filter(([shape]) => only === undefined || shape.name === only)
    .filter(([, , faults]) => faultCases === undefined || (faultCases === 'faults') === (faults !== undefined && faults.errorRate !== undefined));
  for (const [shape, label, faults, seeds] of selected) {
    for (const seed of seeds) {
      progress(`lifecycle: ${shape.removed} of ${shape.groupSize} instances, tasks up to ${max(STOP_SECONDS) / 60} min to stop, ${label}, seed ${seed}`);
      results.push(await run(shape, label, seed, faults));
    }
  }
  const rows: Section['rows'] = results.map((r) => [
    r.shape,
    r.label,
    r.seed,
    `${r.completedBeforeExpiry}/${r.started}`,
    r.expired,
    r.forced,
    r.completedOnEvent,
    median(r.delaysSeconds),
    max(r.delaysSeconds),
    r.ecsReadsPeakPerSecond,
    r.ecsReadsMeanPerSecond,
    r.ecsReadsPerDrainMinute,
    r.throttled,
    median(r.drainMinutes),
    r.hops,
    r.invocations,
    Math.round(r.billedSeconds),
    r.peakConcurrency,
    r.heartbeats,
    r.pollIntervalSeconds,
    formatCalls(r.calls),
  ]);
  publish('lifecycle', [
    {
      title: `Lifecycle drainer: scale-ins with tasks taking ${STOP_SECONDS.map((s) => s / 60).join('/')} min to stop, ${HISTORY_TASKS} stopped tasks of the last hour on each host (defaults, task-event rule on, DRAIN_TIMEOUT_SECONDS=1800, Lambda timeout ${LAMBDA_TIMEOUT_SECONDS} s)`,
      columns: [
        'instances scaled in',
        'faults',
        'seed',
        'completed before expiry',
        'expired',
        'completed with counted tasks running',
        'completed on a task event',
        'last STOPPED → complete s (median)',
        '(max)',
        'ECS reads/s peak',
        'ECS reads/s mean',
        'ECS reads per drain-minute',
        'throttled reads',
        'drain min median',
        'SNS hops',
        'invocations',
        'billed s',
        'peak concurrency',
        'heartbeats',
        'poll interval s',
        'AWS calls by operation',
      ],
      rows,
      data: results,
    },
  ]);
  const misses: string[] = [];
  for (const r of results) {
    const name = `${r.shape}, ${r.label}, seed ${r.seed}`;
    if (r.expired > 0 || r.completedBeforeExpiry < r.started) misses.push(`${name}: ${r.expired} expired, ${r.started - r.completedBeforeExpiry} not completed`);
    if (r.forced > 0) misses.push(`${name}: ${r.forced} completed with counted tasks running`);
    if (median(r.delaysSeconds) > 5) misses.push(`${name}: completion median ${median(r.delaysSeconds)} s after the last counted task STOPPED (floor 5 s)`);
    if (r.shape === `${FLEET.removed} of ${FLEET.groupSize}` && r.ecsReadsPeakPerSecond > 10) misses.push(`${name}: peak ${r.ecsReadsPeakPerSecond} ECS reads/s (floor 10)`);
    if (r.shape === `${SINGLE.removed} of ${SINGLE.groupSize}` && r.ecsReadsPerDrainMinute > 8) misses.push(`${name}: ${r.ecsReadsPerDrainMinute} ECS reads per drain-minute (floor 8)`);
    if (r.shape === `${SINGLE.removed} of ${SINGLE.groupSize}` && max(r.delaysSeconds) > 5) misses.push(`${name}: completion up to ${max(r.delaysSeconds)} s after the last task STOPPED (floor 5 s)`);
  }
  for (const miss of misses) console.log(`FLOOR MISSED: ${miss}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
