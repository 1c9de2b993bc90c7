/**
 * Cost of one sweep of a 2,000-instance cluster: AWS calls by operation and planning time.
 *
 * AWS is the in-memory fake of the handler tests (aws-sdk-client-mock answering from state), so
 * the call counts are exactly what the sweeper would send to AWS, and the times are the sweeper's
 * own CPU time without network latency. Run: npm run bench:sweeper
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
import { scaleInSweeper } from '../lib/sweeper/definition';
import { planScaleIn } from '../lib/sweeper/plan';
import { takeSnapshot } from '../lib/sweeper/snapshot';
import { MemoryTelemetry } from '../lib/telemetry';
import { FakeAws } from '../test/handlers/sweeper/fake-aws';
import { median, publish, type Section } from './report';

const INSTANCES = 2000;
const NOW = Date.parse('2026-03-04T10:30:00.000Z');
const PLAN_RUNS = 25;

interface Scenario {
  name: string;
  idle: number;
  tasksPerBusyInstance: number;
  daemons: string[];
  env: Record<string, string>;
}

const scenarios: Scenario[] = [
  { name: 'all busy, 2 daemon services', idle: 0, tasksPerBusyInstance: 3, daemons: ['log-router', 'node-exporter'], env: {} },
  { name: '5% idle (daemons only)', idle: 100, tasksPerBusyInstance: 3, daemons: ['log-router', 'node-exporter'], env: {} },
  { name: '50% idle (daemons only)', idle: 1000, tasksPerBusyInstance: 3, daemons: ['log-router', 'node-exporter'], env: {} },
  { name: '5% idle, no daemon services', idle: 100, tasksPerBusyInstance: 3, daemons: [], env: {} },
  { name: '5% idle, CONSOLIDATE=true', idle: 100, tasksPerBusyInstance: 3, daemons: ['log-router', 'node-exporter'], env: { CONSOLIDATE: 'true' } },
  { name: '5% idle, DRY_RUN=true', idle: 100, tasksPerBusyInstance: 3, daemons: ['log-router', 'node-exporter'], env: { DRY_RUN: 'true' } },
];

const OPERATIONS = [
  'ListServices',
  'ListContainerInstances',
  'DescribeContainerInstances',
  'DescribeAutoScalingInstances',
  'DescribeAutoScalingGroups',
  'ListTasks',
  'DescribeTasks',
  'PutAttributes',
  'DeleteAttributes',
  'UpdateContainerInstancesState',
  'TerminateInstanceInAutoScalingGroup',
  'PutMetricData',
];

function build(fake: FakeAws, scenario: Scenario): void {
  fake.clear();
  fake.daemonServices.set('prod', scenario.daemons);
  // Four groups of 500, as a cluster spread over instance types would have.
  const perGroup = INSTANCES / 4;
  let idleLeft = scenario.idle;
  for (let group = 0; group < 4; group += 1) {
    const idleHere = Math.min(idleLeft, Math.ceil(scenario.idle / 4));
    idleLeft -= idleHere;
    fake.addInstances('prod', `asg-${group}`, idleHere, { idleSinceMinutesAgo: 90, now: NOW });
    fake.addInstances('prod', `asg-${group}`, perGroup - idleHere, { tasksPerInstance: scenario.tasksPerBusyInstance });
  }
}

async function main(): Promise<void> {
  const fake = new FakeAws();
  const callRows: Array<Array<string | number>> = [];
  const timeRows: Array<Array<string | number>> = [];
  const data: unknown[] = [];
  for (const scenario of scenarios) {
    build(fake, scenario);
    const env = { CLUSTERS: 'prod', MIN_FREE_CPU: '1024', MIN_FREE_MEMORY: '2048', ...scenario.env };
    const config = scaleInSweeper.loadConfig(env);
    const clock = { now: () => NOW, sleep: async () => undefined };
    const handler = scaleInSweeper.build({ config, clients: fake.clients(), telemetry: new MemoryTelemetry(), clock, newId: randomUUID });
    const context = { getRemainingTimeInMillis: () => scaleInSweeper.timeoutSeconds * 1000 };

    const started = performance.now();
    const result = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, context);
    const handlerMs = performance.now() - started;
    const calls = fake.callsByOperation();
    const total = Object.values(calls).reduce((sum, count) => sum + count, 0);
    callRows.push([scenario.name, ...OPERATIONS.map((operation) => calls[operation] ?? 0), total]);

    // Planning alone, on the snapshot the handler saw (rebuilt: the sweep changed the fake).
    build(fake, scenario);
    const snapshot = await takeSnapshot(fake.clients(), 'prod', config);
    const planMs: number[] = [];
    let selected = 0;
    for (let run = 0; run < PLAN_RUNS; run += 1) {
      const start = performance.now();
      selected = planScaleIn(snapshot, config, NOW).selected.length;
      planMs.push(performance.now() - start);
    }
    const cluster = result.clusters[0];
    timeRows.push([scenario.name, median(planMs), Math.max(...planMs), handlerMs, selected, cluster?.execution.terminated.length ?? 0, cluster?.execution.drained.length ?? 0]);
    data.push({ scenario: scenario.name, calls, total, planMs, handlerMs, selected, result: cluster?.execution });
  }
  const sections: Section[] = [
    {
      title: `AWS calls of one sweep, ${INSTANCES} container instances in 4 groups (3 service tasks per busy instance)`,
      columns: ['scenario', ...OPERATIONS, 'total'],
      rows: callRows,
    },
    {
      title: `Planning time (planScaleIn, median and max of ${PLAN_RUNS} runs) and whole sweep against in-memory AWS`,
      columns: ['scenario', 'plan median ms', 'plan max ms', 'sweep ms (no network)', 'selected', 'terminated', 'drained'],
      rows: timeRows,
      data,
    },
  ];
  publish('sweeper', sections);
  fake.restore();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
