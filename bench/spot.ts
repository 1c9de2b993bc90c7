/**
 * Spot drainer, one warning at a time: AWS calls by operation and handler time per event, through
 * the simulator's HTTP endpoint (real SDK serialization, a real socket on 127.0.0.1), for one
 * cluster, ten clusters (listed in CLUSTERS, and discovered with CLUSTERS unset) and a
 * 1,000-instance cluster. The handler is built from its definition with the default settings.
 * Run: npm run bench:spot
 */
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { createClients } from '../lib/clients';
import { spotInterruption } from '../lib/spot/definition';
import { MemoryTelemetry } from '../lib/telemetry';
import { Simulation, simulatorClientOptions } from '../simulator/runner/simulation';
import { parseScenario } from '../simulator/scenarios/load';
import { callsBetween, formatCalls, max, progress, runMain, spotWarning, total } from './lib/common';
import { median, percentile, publish, type Section } from './report';

interface Case {
  name: string;
  clusters: number;
  instancesPerCluster: number;
  /** CLUSTERS as deployed; unset means every cluster of the account (ListClusters). */
  listClusters: boolean;
  /** Warnings sent, each for a different instance. */
  events: number;
  /** The same warnings again (EventBridge delivers at least once): the instance is already DRAINING. */
  repeat: boolean;
}

const CASES: Case[] = [
  { name: '1 cluster, 50 instances', clusters: 1, instancesPerCluster: 50, listClusters: true, events: 50, repeat: true },
  { name: '10 clusters (CLUSTERS set), 20 instances each', clusters: 10, instancesPerCluster: 20, listClusters: true, events: 200, repeat: false },
  { name: '10 clusters (CLUSTERS unset), 20 instances each', clusters: 10, instancesPerCluster: 20, listClusters: false, events: 200, repeat: false },
  { name: '1 cluster, 1,000 instances', clusters: 1, instancesPerCluster: 1000, listClusters: true, events: 200, repeat: false },
];

interface Sample {
  calls: Record<string, number>;
  ms: number;
  outcome: string;
}

function scenarioFor(spec: Case) {
  const clusters = Array.from({ length: spec.clusters }, (_, index) => ({ name: `prod-${String(index + 1).padStart(2, '0')}` }));
  return parseScenario({
    name: `bench-spot-${spec.clusters}x${spec.instancesPerCluster}`,
    seed: 1,
    durationMinutes: 10,
    clusters,
    groups: clusters.map((cluster) => ({
      name: `${cluster.name}-spot`,
      cluster: cluster.name,
      minSize: 0,
      maxSize: spec.instancesPerCluster * 2,
      desiredCapacity: spec.instancesPerCluster,
      instance: { cpu: 4096, memory: 16384, type: 'm5.xlarge' },
      spot: true,
    })),
    // The benchmark builds its own handler below; the simulation's are off.
    handlers: { spotInterruption: { enabled: false }, lifecycleHook: { enabled: false }, scaleInSweeper: { enabled: false } },
  });
}

async function runCase(spec: Case): Promise<{ first: Sample[]; again: Sample[] }> {
  const scenario = scenarioFor(spec);
  const simulation = await Simulation.start(scenario);
  try {
    const env: Record<string, string> = spec.listClusters ? { CLUSTERS: scenario.clusters.map((cluster) => cluster.name).join(',') } : {};
    const config = spotInterruption.loadConfig(env);
    const clients = createClients(spotInterruption.clients, simulatorClientOptions(simulation.url, config.sdk));
    const handler = spotInterruption.build({ config, clients, telemetry: new MemoryTelemetry(), clock: simulation.clock, newId: randomUUID });
    const context = { getRemainingTimeInMillis: () => spotInterruption.timeoutSeconds * 1000 };
    // Interrupted instances spread over every cluster, in a fixed order.
    const instances = scenario.groups.flatMap((group) => simulation.groupInstances(group.name));
    const step = Math.max(1, Math.floor(instances.length / spec.events));
    const chosen = Array.from({ length: spec.events }, (_, index) => instances[(index * step) % instances.length]!);

    const send = async (ec2InstanceId: string, index: number): Promise<Sample> => {
      const before = simulation.callLog.snapshot();
      const started = performance.now();
      const result = await handler(spotWarning(ec2InstanceId, simulation.clock.now(), `bench-${index}`), context);
      const ms = performance.now() - started;
      return { calls: callsBetween(before, simulation.callLog.snapshot()), ms, outcome: result.outcome };
    };
    // Two warm-up events on a spare instance: connection set-up and JIT, as a warm Lambda has them.
    const spare = instances.find((id) => !chosen.includes(id));
    if (spare) {
      await send(spare, -1);
      await send(spare, -2);
    }
    const first: Sample[] = [];
    for (const [index, id] of chosen.entries()) first.push(await send(id, index));
    const again: Sample[] = [];
    if (spec.repeat) for (const [index, id] of chosen.entries()) again.push(await send(id, 10_000 + index));
    clients.ecs.destroy();
    return { first, again };
  } finally {
    await simulation.close();
  }
}

function row(name: string, samples: Sample[]): Array<string | number> {
  const totals = samples.map((sample) => total(sample.calls));
  const byOperation: Record<string, number> = {};
  for (const sample of samples) for (const [operation, count] of Object.entries(sample.calls)) byOperation[operation] = (byOperation[operation] ?? 0) + count;
  const perEvent = Object.fromEntries(Object.entries(byOperation).map(([operation, count]) => [operation, Math.round((count / samples.length) * 100) / 100]));
  const outcomes: Record<string, number> = {};
  for (const sample of samples) outcomes[sample.outcome] = (outcomes[sample.outcome] ?? 0) + 1;
  const ms = samples.map((sample) => sample.ms);
  return [
    name,
    samples.length,
    Object.entries(outcomes).map(([outcome, count]) => `${outcome} ${count}`).join(', '),
    median(totals),
    percentile(totals, 95),
    max(totals),
    formatCalls(perEvent),
    median(ms),
    percentile(ms, 95),
  ];
}

async function main(): Promise<void> {
  const rows: Section['rows'] = [];
  const data: unknown[] = [];
  for (const spec of CASES) {
    progress(`spot: ${spec.name}, ${spec.events} warnings`);
    const { first, again } = await runCase(spec);
    rows.push(row(spec.name, first));
    data.push({ case: spec, samples: first });
    if (again.length > 0) {
      rows.push(row(`${spec.name}: same warnings again (already DRAINING)`, again));
      data.push({ case: { ...spec, name: `${spec.name} (repeat)` }, samples: again });
    }
  }
  publish('spot', [
    {
      title: 'Spot drainer: AWS calls and handler time per warning, over HTTP to the simulator (default settings)',
      columns: ['case', 'events', 'outcomes', 'calls median', 'calls p95', 'calls max', 'calls per event by operation (mean)', 'ms median', 'ms p95'],
      rows,
      data,
    },
  ]);
}

runMain(main);
