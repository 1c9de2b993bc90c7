/**
 * Cost of one sweep of a 2,000-instance cluster: AWS calls by operation and planning time.
 *
 * AWS is the simulator's world answered in process (simulator/inprocess: the SDK clients' requests
 * go through the HTTP endpoint's own decoding and encoding, with no socket), so the call counts are
 * exactly what the sweeper would send to AWS, and the times are the sweeper's own CPU time without
 * network latency. Run: npm run bench:sweeper
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
import { scaleInSweeper } from '../lib/sweeper/definition';
import { planScaleIn } from '../lib/sweeper/plan';
import { takeSnapshot } from '../lib/sweeper/snapshot';
import { MemoryTelemetry } from '../lib/telemetry';
import { VirtualClock } from '../simulator/clock';
import { InProcessAws } from '../simulator/inprocess';
import { World } from '../simulator/world/world';
import { runMain } from './lib/common';
import { median, publish } from './report';

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

const DAEMONS = ['log-router', 'node-exporter'];
const scenarios: Scenario[] = [
  { name: 'all busy, 2 daemon services', idle: 0, tasksPerBusyInstance: 3, daemons: DAEMONS, env: {} },
  { name: '5% idle (daemons only)', idle: 100, tasksPerBusyInstance: 3, daemons: DAEMONS, env: {} },
  { name: '50% idle (daemons only)', idle: 1000, tasksPerBusyInstance: 3, daemons: DAEMONS, env: {} },
  { name: '5% idle, no daemon services', idle: 100, tasksPerBusyInstance: 3, daemons: [], env: {} },
  { name: '5% idle, CONSOLIDATE=true', idle: 100, tasksPerBusyInstance: 3, daemons: DAEMONS, env: { CONSOLIDATE: 'true' } },
  { name: '5% idle, DRY_RUN=true', idle: 100, tasksPerBusyInstance: 3, daemons: DAEMONS, env: { DRY_RUN: 'true' } },
];

const OPERATIONS = [
  ...['ListServices', 'ListContainerInstances', 'DescribeContainerInstances', 'DescribeAutoScalingInstances', 'DescribeAutoScalingGroups', 'DescribeLifecycleHooks'],
  ...['ListTasks', 'DescribeTasks', 'PutAttributes', 'DeleteAttributes', 'UpdateContainerInstancesState', 'TerminateInstanceInAutoScalingGroup', 'PutMetricData'],
];

const IDLE_SINCE = 'ecs-ec2-keeper.idle-since';

/**
 * Four groups of 500, as a cluster spread over instance types would have: every instance runs one
 * task of each daemon service (64 CPU / 128 MiB); busy ones also run service tasks of 256 / 512.
 * Idle instances have been idle for 90 minutes (their idle-since attribute says so).
 */
function build(scenario: Scenario): InProcessAws {
  const world = new World(new VirtualClock(NOW), { seed: 1 });
  world.createCluster({ name: 'prod' });
  for (const daemon of scenario.daemons) world.createService({ cluster: 'prod', name: daemon, strategy: 'DAEMON', cpu: 64, memory: 128 });
  const perGroup = INSTANCES / 4;
  let idleLeft = scenario.idle;
  const busy: string[] = [];
  for (let group = 0; group < 4; group += 1) {
    const idleHere = Math.min(idleLeft, Math.ceil(scenario.idle / 4));
    idleLeft -= idleHere;
    const name = `asg-${group}`;
    world.createGroup({ name, cluster: 'prod', minSize: 0, maxSize: 10_000, desiredCapacity: perGroup, instanceCpu: 2048, instanceMemory: 4096, ageSeconds: 3 * 86_400 });
    [...world.groups.get(name)!.instances.keys()].forEach((ec2InstanceId, index) => {
      if (index < idleHere) world.containerInstanceOf(ec2InstanceId)!.attributes.set(IDLE_SINCE, new Date(NOW - 90 * 60_000).toISOString());
      else busy.push(ec2InstanceId);
    });
  }
  world.placeInitialTasks();
  // The service scheduler spreads the service's tasks evenly over the instances it may place on:
  // with the idle instances' agents briefly disconnected, that is the busy ones only.
  const idle = [...world.clusters.get('prod')!.instances.values()].filter((instance) => !busy.includes(instance.ec2InstanceId));
  for (const instance of idle) instance.agentConnected = false;
  world.createService({ cluster: 'prod', name: 'web', desiredCount: busy.length * scenario.tasksPerBusyInstance, cpu: 256, memory: 512 });
  world.placeInitialTasks();
  for (const instance of idle) instance.agentConnected = true;
  return new InProcessAws(world);
}

async function main(): Promise<void> {
  const callRows: Array<Array<string | number>> = [];
  const timeRows: Array<Array<string | number>> = [];
  const data: unknown[] = [];
  for (const scenario of scenarios) {
    let aws = build(scenario);
    const env = { CLUSTERS: 'prod', MIN_FREE_CPU: '1024', MIN_FREE_MEMORY: '2048', ...scenario.env };
    const config = scaleInSweeper.loadConfig(env);
    const clock = { now: () => NOW, sleep: async () => undefined };
    const handler = scaleInSweeper.build({ config, clients: aws.clients(), telemetry: new MemoryTelemetry(), clock, newId: randomUUID });
    const context = { getRemainingTimeInMillis: () => scaleInSweeper.timeoutSeconds * 1000 };

    const started = performance.now();
    const result = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, context);
    const handlerMs = performance.now() - started;
    const calls = aws.countByOperation();
    const total = Object.values(calls).reduce((sum, count) => sum + count, 0);
    callRows.push([scenario.name, ...OPERATIONS.map((operation) => calls[operation] ?? 0), total]);

    // Planning alone, on the snapshot the handler saw (rebuilt: the sweep changed the fake).
    aws = build(scenario);
    const snapshot = await takeSnapshot(aws.clients(), 'prod', config);
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
  publish('sweeper', [
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
  ]);
}

runMain(main);
