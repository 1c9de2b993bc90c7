/**
 * Scale-in sweeper at 100, 1,000 and 5,000 container instances, through the simulator's HTTP
 * endpoint: AWS calls by operation for the first sweep (which records when instances became idle)
 * and for a sweep 31 minutes later (which removes idle instances), planning time (planScaleIn on
 * the snapshot, median of repeated runs) and memory (heap retained by the snapshot, heap growth
 * while planning, and the process's peak RSS, which includes the simulator itself).
 * Run: npm run bench:sweeper-scale
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { randomUUID } from 'node:crypto';
import { createClients } from '../lib/clients';
import { scaleInSweeper } from '../lib/sweeper/definition';
import { planScaleIn } from '../lib/sweeper/plan';
import { takeSnapshot } from '../lib/sweeper/snapshot';
import { MemoryTelemetry } from '../lib/telemetry';
import { Simulation, simulatorClientOptions } from '../simulator/runner/simulation';
import { parseScenario, type ScenarioInput } from '../simulator/scenarios/load';
import { callsBetween, formatCalls, progress, runMain, sum, total } from './lib/common';
import { median, publish, type Section } from './report';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const SIZES = (process.env.BENCH_SWEEPER_SIZES ?? '100,1000,5000').split(',').map(Number);
const PLAN_RUNS = 15;
const GROUP_SIZE = 500;
/** One instance in ten runs only daemon tasks: idle capacity for the sweeper to find. */
const IDLE_SHARE = 0.1;

function scenario(instances: number): ScenarioInput {
  const sizes = Array.from({ length: Math.ceil(instances / GROUP_SIZE) }, (_, index) => Math.min(GROUP_SIZE, instances - index * GROUP_SIZE));
  const busy = sum(sizes.map((size) => size - Math.round(size * IDLE_SHARE)));
  return {
    name: `bench-sweeper-${instances}`,
    seed: 1,
    durationMinutes: 60,
    clusters: [{ name: 'prod' }],
    groups: sizes.map((size, index) => ({
      name: `prod-asg-${index}`,
      cluster: 'prod',
      minSize: 1,
      maxSize: size * 2,
      desiredCapacity: size - Math.round(size * IDLE_SHARE),
      instance: { cpu: 4096, memory: 16384, type: 'm5.xlarge' },
      ageMinutes: 600,
    })),
    // The groups then grow by a tenth: the new instances join after the services are placed, and stay idle.
    events: sizes.map((size, index) => ({ type: 'set-desired-capacity' as const, atSeconds: 10, group: `prod-asg-${index}`, desiredCapacity: size })),
    services: [
      // Three tasks fill most of an instance's CPU, so the busy ones stay busy.
      { cluster: 'prod', name: 'api', desiredCount: busy, cpu: 1024, memory: 4096, minimumHealthyPercent: 100, maximumPercent: 200 },
      { cluster: 'prod', name: 'worker', desiredCount: busy, cpu: 1024, memory: 4096, minimumHealthyPercent: 100, maximumPercent: 200 },
      { cluster: 'prod', name: 'cron', desiredCount: busy, cpu: 1024, memory: 4096, minimumHealthyPercent: 100, maximumPercent: 200 },
      { cluster: 'prod', name: 'log-router', strategy: 'DAEMON', cpu: 128, memory: 256 },
    ],
    handlers: { spotInterruption: { enabled: false }, lifecycleHook: { enabled: false }, scaleInSweeper: { enabled: false } },
  };
}

interface SizeResult {
  instances: number;
  idle: number;
  setupMs: number;
  first: { calls: Record<string, number>; ms: number; selected: number };
  later: { calls: Record<string, number>; ms: number; selected: number; terminated: number };
  planMs: number[];
  snapshotHeapMiB: number;
  planHeapGrowthMiB: number;
  maxRssMiB: number;
}

const MiB = 1024 * 1024;

async function measure(instances: number): Promise<SizeResult> {
  const setupStart = performance.now();
  const simulation = await Simulation.start(parseScenario(scenario(instances)));
  await simulation.runFor(150_000); // tasks RUNNING, the added instances registered
  const setupMs = performance.now() - setupStart;
  // A task-shaped reserve in every zone, so planning time includes the placement it needs.
  const config = scaleInSweeper.loadConfig({ CLUSTERS: 'prod', RESERVE_TASKS: process.env.BENCH_SWEEPER_RESERVE ?? '2x1024/4096,1x2048/8192' });
  const clients = createClients(scaleInSweeper.clients, simulatorClientOptions(simulation.url, config.sdk));
  // The world runs on while the sweeper waits for its drains (DRAIN_WAIT_SECONDS): ECS stops the
  // drained instances' daemon tasks, and the sweep terminates them as it would in AWS.
  const clock = { now: () => simulation.clock.now(), sleep: (ms: number) => simulation.runFor(ms) };
  const handler = scaleInSweeper.build({ config, clients, telemetry: new MemoryTelemetry(), clock, newId: randomUUID });
  const context = { getRemainingTimeInMillis: () => scaleInSweeper.timeoutSeconds * 1000 };
  try {
    const sweep = async () => {
      const before = simulation.callLog.snapshot();
      const started = performance.now();
      const result = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, context);
      const ms = performance.now() - started;
      const cluster = result.clusters[0];
      return {
        calls: callsBetween(before, simulation.callLog.snapshot()),
        ms,
        selected: cluster?.selected.length ?? 0,
        terminated: cluster?.execution.terminated.length ?? 0,
        idle: cluster?.idleInstances ?? 0,
      };
    };
    const first = await sweep();
    await simulation.runFor(31 * 60_000);
    const later = await sweep();

    gc();
    const baseHeap = process.memoryUsage().heapUsed;
    const snapshot = await takeSnapshot(clients, 'prod', config);
    gc();
    const snapshotHeap = process.memoryUsage().heapUsed - baseHeap;
    const planMs: number[] = [];
    let growth = 0;
    const plans: unknown[] = [];
    for (let run = 0; run < PLAN_RUNS; run += 1) {
      gc();
      const heapBefore = process.memoryUsage().heapUsed;
      const start = performance.now();
      // Kept in `plans`, so the growth below is what planning allocated and still held at its end.
      plans.push(planScaleIn(snapshot, config, simulation.clock.now()));
      planMs.push(performance.now() - start);
      growth = Math.max(growth, process.memoryUsage().heapUsed - heapBefore);
      plans.length = 0;
    }
    return {
      instances,
      idle: first.idle,
      setupMs,
      first: { calls: first.calls, ms: first.ms, selected: first.selected },
      later: { calls: later.calls, ms: later.ms, selected: later.selected, terminated: later.terminated },
      planMs,
      snapshotHeapMiB: snapshotHeap / MiB,
      planHeapGrowthMiB: growth / MiB,
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    for (const client of Object.values(clients)) (client as { destroy(): void }).destroy();
    await simulation.close();
  }
}

async function main(): Promise<void> {
  const results: SizeResult[] = [];
  for (const size of SIZES) {
    progress(`sweeper: ${size} container instances`);
    results.push(await measure(size));
  }
  const callRows: Section['rows'] = results.flatMap((r) => [
    [r.instances, 'first (records idle-since)', r.first.selected, total(r.first.calls), (total(r.first.calls) / r.instances) * 100, formatCalls(r.first.calls), r.first.ms],
    [r.instances, '31 min later (removes)', r.later.terminated, total(r.later.calls), (total(r.later.calls) / r.instances) * 100, formatCalls(r.later.calls), r.later.ms],
  ]);
  const planRows: Section['rows'] = results.map((r) => [
    r.instances,
    r.idle,
    median(r.planMs),
    Math.max(...r.planMs),
    r.snapshotHeapMiB,
    r.planHeapGrowthMiB,
    Math.round(r.maxRssMiB),
  ]);
  publish('sweeper-scale', [
    {
      title: 'Sweeper: AWS calls of one sweep over HTTP to the simulator (default settings, 10% of instances idle, 3 service tasks per busy instance)',
      columns: ['instances', 'sweep', 'selected / terminated', 'calls', 'calls per 100 instances', 'calls by operation', 'sweep ms (local HTTP)'],
      rows: callRows,
    },
    {
      title: `Sweeper: planning time (planScaleIn, median and max of ${PLAN_RUNS}) and memory`,
      columns: ['instances', 'idle', 'plan ms median', 'plan ms max', 'snapshot heap MiB', 'planning heap growth MiB', 'process peak RSS MiB (incl. simulator)'],
      rows: planRows,
      data: results,
    },
  ]);
  const slow = results.find((r) => r.instances >= 5000 && median(r.planMs) >= 1000);
  if (slow) console.log(`FLOOR MISSED: planning ${slow.instances} instances took ${median(slow.planMs).toFixed(0)} ms (floor: under 1 s).`);
}

runMain(main);
