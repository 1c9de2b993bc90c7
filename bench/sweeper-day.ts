/**
 * A day of diurnal load under the scale-in sweeper: the scenario simulator/scenarios/diurnal-zones.json
 * (one group over three Availability Zones, weighted mixed instances, AZRebalance on, no
 * termination hook; services following a day curve; a step policy adding capacity) on an
 * accelerated virtual clock, with the sweeper run every 10 minutes against the world in process.
 *
 * Rows:
 * - "zone- and weight-blind, no drain wait (baseline)": the same settings (raw reserve) with the
 *   planner fed a view without zones and weights, and no finishing of drains within the run
 *   (DRAIN_WAIT_SECONDS=0), as the first-generation sweeper ran. The planner has no setting that turns zone balance or weights
 *   off, so this row removes, in the benchmark only, the Availability Zone and WeightedCapacity from
 *   the Auto Scaling answers and the `ecs.availability-zone` attribute from the ECS answers the
 *   sweeper reads: the planner then plans as the first-generation sweeper did (instances as single
 *   units, no zones).
 * - "v2 defaults": the same settings, the sweeper seeing what AWS returns.
 * - "v2, DRAIN_WAIT_SECONDS=0": the same, drained instances left to the next run (the cost of that).
 * - "v2 + task-shaped reserve": the same, with RESERVE_TASKS=2x1024/2048 (two api-sized tasks per zone).
 *
 * Cost is capacity-unit-hours (an m5.xlarge counts 2 units and costs twice an m5.large): every EC2
 * instance of the group launching, running or shutting down, sampled every minute of virtual time
 * (also while the sweeper runs). The oracle knows the load (bench/lib/oracle.ts): each minute, the
 * fewest capacity units that hold that minute's tasks and keep the row's reserve, ignoring zones,
 * boot and drain time. Two of them: whole tasks on whole instances (the exact minimum, the floor's
 * reference) and the tasks as a fluid (a looser bound, kept for comparison). The gap to the exact
 * minimum is broken down minute by minute by what the group's instances were doing: launching,
 * DRAINING, shutting down, idle and waiting out MIN_IDLE_MINUTES, idle and kept (reserve, zone
 * balance, group minimum), and busy instances above the minimum (tasks spread over more instances
 * than the minimum needs, and scale-out overshoot; below zero while the cluster is short of it).
 * Run: npm run bench:sweeper-day (SWEEPER_DAY_TRACE=1 also prints the cluster every half hour and
 * the activity before every AZRebalance, on stderr).
 */
import { performance } from 'node:perf_hooks';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
import { scaleInSweeper } from '../lib/sweeper/definition';
import { MemoryTelemetry } from '../lib/telemetry';
import { VirtualClock } from '../simulator/clock';
import { InProcessAws } from '../simulator/inprocess';
import { populateWorld } from '../simulator/runner/populate';
import { SIMULATION_START } from '../simulator/runner/simulation';
import { loadScenario, type Scenario } from '../simulator/scenarios/load';
import { diurnalCount } from '../simulator/world/diurnal';
import { World } from '../simulator/world/world';
import { progress } from './lib/common';
import { exactMinimum, fluidMinimum, type OracleInput, type OracleResult } from './lib/oracle';
import { publish, type Section } from './report';

const SCENARIO = 'diurnal-zones';
const MINUTE = 60_000;
const DAY_MINUTES = 24 * 60;

interface Row {
  name: string;
  blind: boolean;
  env: Record<string, string>;
}

const ROWS: Row[] = [
  { name: 'zone- and weight-blind, no drain wait (baseline)', blind: true, env: { DRAIN_WAIT_SECONDS: '0' } },
  { name: 'v2 defaults', blind: false, env: {} },
  { name: 'v2, DRAIN_WAIT_SECONDS=0', blind: false, env: { DRAIN_WAIT_SECONDS: '0' } },
  { name: 'v2 + task-shaped reserve', blind: false, env: { RESERVE_TASKS: '2x1024/2048' } },
];

interface Middleware {
  middlewareStack: { add(middleware: unknown, options: { step: 'initialize'; name: string }): void };
}

/** Benchmark only: hides zones and weights from the sweeper's reads (the baseline row). */
function blindfold(client: Middleware): void {
  client.middlewareStack.add(
    (next: (args: unknown) => Promise<{ output: Record<string, unknown> }>) => async (args: unknown) => {
      const result = await next(args);
      const output = result.output as {
        AutoScalingInstances?: Array<Record<string, unknown>>;
        AutoScalingGroups?: Array<{ Instances?: Array<Record<string, unknown>> }>;
        containerInstances?: Array<{ attributes?: Array<{ name: string }> }>;
      };
      const strip = (instance: Record<string, unknown>) => {
        delete instance.AvailabilityZone;
        delete instance.WeightedCapacity;
      };
      output.AutoScalingInstances?.forEach(strip);
      output.AutoScalingGroups?.forEach((group) => group.Instances?.forEach(strip));
      for (const instance of output.containerInstances ?? []) {
        if (instance.attributes) instance.attributes = instance.attributes.filter((attribute) => attribute.name !== 'ecs.availability-zone');
      }
      return result;
    },
    { step: 'initialize', name: 'benchZoneAndWeightBlind' },
  );
}

/** The oracle's question at one time: that minute's tasks of the load curve, the group's types and the row's reserve. */
function oracleInput(scenario: Scenario, at: number, reserve: { cpu: number; memory: number }, reserveTasks: OracleInput['tasks']): OracleInput {
  const group = scenario.groups[0]!;
  const types = group.mixedInstances ?? [{ type: group.instance.type, cpu: group.instance.cpu, memory: group.instance.memory, weight: 1 }];
  const daemons = scenario.services.filter((service) => service.strategy === 'DAEMON');
  const daemonCpu = daemons.reduce((sum, service) => sum + service.cpu, 0);
  const daemonMemory = daemons.reduce((sum, service) => sum + service.memory, 0);
  const tasks = scenario.services
    .filter((service) => service.strategy !== 'DAEMON')
    .map((service) => {
      const load = scenario.diurnal.find((entry) => entry.service === service.name);
      const step = (load?.stepMinutes ?? 15) * MINUTE;
      const count = load ? diurnalCount(load, SIMULATION_START + Math.floor((at - SIMULATION_START) / step) * step) : service.desiredCount;
      return { cpu: service.cpu, memory: service.memory, count };
    });
  return {
    // Every instance runs one task of each daemon service first.
    types: types.map((type) => ({ cpu: type.cpu - daemonCpu, memory: type.memory - daemonMemory, weight: type.weight })),
    tasks,
    reserve,
    reserveTasks,
    minUnits: group.minSize,
  };
}

/** What the group's capacity units were doing in one minute (see the header). */
interface Breakdown {
  launching: number;
  draining: number;
  shuttingDown: number;
  idleWaiting: number;
  idleKept: number;
  busy: number;
}

const emptyBreakdown = (): Breakdown => ({ launching: 0, draining: 0, shuttingDown: 0, idleWaiting: 0, idleKept: 0, busy: 0 });

interface Outcome {
  row: string;
  rebalancesBySweeper: number;
  rebalances: number;
  refused: number;
  killed: number;
  instanceHours: number;
  unitHours: number;
  oracleInstanceHours: number;
  oracleUnitHours: number;
  fluidInstanceHours: number;
  fluidUnitHours: number;
  /** Unit-hours by what the instances were doing; `busy` minus the exact oracle is "busy above the minimum". */
  unitHoursBy: Breakdown;
  sweeps: number;
  drains: number;
  terminatedBySweeper: number;
  scaleOuts: number;
  wallMs: number;
}

async function runDay(row: Row): Promise<Outcome> {
  const started = performance.now();
  // The scenario file runs one hour (so the fault campaign can run it); the benchmark runs the day.
  const scenario = { ...loadScenario(SCENARIO), durationMinutes: DAY_MINUTES };
  const clock = new VirtualClock(SIMULATION_START);
  const world = new World(clock, { seed: scenario.seed, timings: { bootMs: scenario.world.bootSeconds * 1000, shutdownMs: scenario.world.shutdownSeconds * 1000 } });
  const topic = world.createTopic('unused-lifecycle-topic');
  populateWorld(world, scenario, { topicArn: topic.arn, start: SIMULATION_START });
  const aws = new InProcessAws(world);
  const clients = aws.clients();
  if (row.blind) {
    blindfold(clients.autoScaling as unknown as Middleware);
    blindfold(clients.ecs as unknown as Middleware);
  }
  const sweeperSettings = scenario.handlers.scaleInSweeper;
  const env = { CLUSTERS: scenario.clusters.map((cluster) => cluster.name).join(','), ...scenario.handlers.env, ...sweeperSettings.env, ...row.env };
  const config = scaleInSweeper.loadConfig(env);
  const handler = scaleInSweeper.build({ config, clients, telemetry: new MemoryTelemetry(), clock, newId: () => world.random.uuid() });
  const context = { getRemainingTimeInMillis: () => scaleInSweeper.timeoutSeconds * 1000 };
  // The oracle keeps the reserve the row keeps: the raw one, and the task-shaped one in every zone
  // (zones ignored: the reserve tasks of every zone are placed anywhere, a lower bound for keeping both).
  const zones = scenario.groups[0]!.zones?.length ?? 1;
  const reserveTasks = (config.reserveTasks ?? []).map((entry) => ({ cpu: entry.cpu, memory: entry.memory, count: entry.count * zones }));
  const reserve = { cpu: config.minFreeCpu, memory: config.minFreeMemory };
  const oracleCache = new Map<string, { exact: OracleResult; fluid: OracleResult }>();
  const oracle = (at: number) => {
    const input = oracleInput(scenario, at, reserve, reserveTasks);
    const key = input.tasks.map((task) => task.count).join(',');
    let known = oracleCache.get(key);
    if (!known) oracleCache.set(key, (known = { exact: exactMinimum(input), fluid: fluidMinimum(input) }));
    return known;
  };

  const end = SIMULATION_START + scenario.durationMinutes * MINUTE;
  const every = sweeperSettings.everyMinutes * MINUTE;
  let nextSweep = SIMULATION_START + sweeperSettings.firstAtMinutes * MINUTE;
  let instanceMinutes = 0;
  let unitMinutes = 0;
  let oracleInstanceMinutes = 0;
  let oracleUnitMinutes = 0;
  let fluidInstanceMinutes = 0;
  let fluidUnitMinutes = 0;
  const by = emptyBreakdown();
  let sweeps = 0;
  const group = world.groups.get(scenario.groups[0]!.name)!;
  const cluster = world.clusters.get(scenario.groups[0]!.cluster)!;
  const weightOf = (type: string) => group.mixedInstances?.find((override) => override.type === type)?.weight ?? 1;

  /**
   * One minute of the bill, sampled on the world's clock (so also while a sweep waits for its
   * drains): every EC2 instance of the group launching, running or shutting down, by what it does.
   */
  const sample = (at: number) => {
    const containers = new Map([...cluster.instances.values()].filter((instance) => instance.status !== 'INACTIVE').map((instance) => [instance.ec2InstanceId, instance]));
    for (const ec2 of world.ec2.values()) {
      if (ec2.groupName !== group.name || ec2.state === 'terminated') continue;
      const units = weightOf(ec2.instanceType);
      instanceMinutes += 1;
      unitMinutes += units;
      const member = group.instances.get(ec2.id);
      const container = containers.get(ec2.id);
      if (ec2.state === 'shutting-down' || member?.lifecycleState.startsWith('Terminating')) by.shuttingDown += units;
      else if (ec2.state === 'pending' || member?.lifecycleState === 'Pending' || !container || container.status === 'REGISTERING') by.launching += units;
      else if (container.status === 'DRAINING') by.draining += units;
      else if (container.status !== 'ACTIVE') by.shuttingDown += units;
      else if (world.unstoppedTasksOn(container).some((task) => !task.daemon && task.desiredStatus === 'RUNNING')) by.busy += units;
      else {
        const since = Date.parse(container.attributes.get('ecs-ec2-keeper.idle-since') ?? '');
        if (Number.isFinite(since) && at - since >= config.minIdleMinutes * MINUTE) by.idleKept += units;
        else by.idleWaiting += units;
      }
    }
    const { exact, fluid } = oracle(at);
    oracleUnitMinutes += exact.units;
    oracleInstanceMinutes += exact.instances;
    fluidUnitMinutes += fluid.units;
    fluidInstanceMinutes += fluid.instances;
    if (process.env.SWEEPER_DAY_TRACE && (at - SIMULATION_START) % (30 * MINUTE) === 0) {
      const instances = [...cluster.instances.values()].filter((instance) => instance.status === 'ACTIVE');
      const used = instances.map((instance) => world.usage(instance));
      const freeCpu = instances.reduce((sum, instance, index) => sum + instance.registeredCpu - used[index]!.cpu, 0);
      const idle = used.filter((usage) => usage.running + usage.pending <= 1).length;
      progress(`${new Date(at).toISOString().slice(11, 16)} desired ${group.desiredCapacity} oracle ${exact.units} (fluid ${fluid.units}) active ${instances.length} idle ${idle} freeCpu ${freeCpu} ${[...cluster.services.values()].map((service) => `${service.name}=${service.desiredCount}/${[...cluster.tasks.values()].filter((task) => task.serviceName === service.name && task.desiredStatus === 'RUNNING').length}`).join(' ')} drains ${world.drains.length}`);
    }
  };
  for (let at = SIMULATION_START; at < end; at += MINUTE) {
    const minute = at;
    clock.schedule(minute, () => sample(minute));
  }

  for (let at = SIMULATION_START; at < end; at += MINUTE) {
    await clock.runUntil(at);
    if (at >= nextSweep && clock.now() < end) {
      // Tracked as an activity, so virtual time stands still while the sweeper works (it moves only
      // while the sweeper sleeps, waiting for its drains).
      const sweep = clock.track(() => handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, context));
      await clock.runWhile(sweep.done);
      nextSweep += every;
      sweeps += 1;
    }
  }
  await clock.runUntil(end);
  if (process.env.SWEEPER_DAY_TRACE) {
    for (const entry of world.azRebalances) {
      progress(`rebalance ${JSON.stringify(entry)}`);
      for (const line of world.timeline.filter((item) => item.at > entry.at - 40 * MINUTE && item.at <= entry.at && (item.kind === 'group' || item.kind === 'drain'))) {
        const ec2 = world.ec2.get(String(line.fields?.ec2InstanceId ?? ''));
        progress(`  ${new Date(line.at).toISOString().slice(11, 19)} ${line.message} ${ec2?.az ?? ''} ${ec2?.instanceType ?? ''} ${JSON.stringify(line.fields)}`);
      }
    }
  }
  const sweeperTerminations = world.terminations.filter((termination) => termination.cause === 'terminate-api').length;
  return {
    row: row.name,
    rebalancesBySweeper: world.azRebalances.filter((entry) => entry.causedBy === 'terminate-api' && entry.terminatedId !== undefined).length,
    rebalances: world.azRebalances.filter((entry) => entry.terminatedId !== undefined).length,
    refused: world.refusedTerminations.length,
    killed: world.killedTasks.filter((task) => task.origin !== 'daemon').length,
    instanceHours: instanceMinutes / 60,
    unitHours: unitMinutes / 60,
    oracleInstanceHours: oracleInstanceMinutes / 60,
    oracleUnitHours: oracleUnitMinutes / 60,
    fluidInstanceHours: fluidInstanceMinutes / 60,
    fluidUnitHours: fluidUnitMinutes / 60,
    unitHoursBy: Object.fromEntries(Object.entries(by).map(([name, minutes]) => [name, minutes / 60])) as unknown as Breakdown,
    sweeps,
    drains: world.drains.length,
    terminatedBySweeper: sweeperTerminations,
    scaleOuts: world.timeline.filter((entry) => entry.message === 'desired capacity set' && Number(entry.fields?.to) > Number(entry.fields?.from)).length,
    wallMs: performance.now() - started,
  };
}

async function main(): Promise<void> {
  const outcomes: Outcome[] = [];
  for (const row of ROWS) {
    progress(`sweeper-day: ${row.name}`);
    outcomes.push(await runDay(row));
  }
  const sections: Section[] = [
    {
      title: `A day of diurnal load, 3 zones, weighted mixed instances, AZRebalance on (scenario ${SCENARIO}, sweeper every 10 min)`,
      columns: [
        'sweeper',
        'AZRebalance terminations caused by the sweeper',
        'AZRebalance terminations (all)',
        'refused terminations',
        'tasks killed without drain',
        'instance-hours',
        'capacity-unit-hours',
        'unit-hours / oracle (whole tasks)',
        'unit-hours / fluid oracle',
        'instance-hours / oracle (whole tasks)',
      ],
      rows: outcomes.map((outcome) => [
        outcome.row,
        outcome.rebalancesBySweeper,
        outcome.rebalances,
        outcome.refused,
        outcome.killed,
        outcome.instanceHours,
        outcome.unitHours,
        outcome.unitHours / outcome.oracleUnitHours,
        outcome.unitHours / outcome.fluidUnitHours,
        outcome.instanceHours / outcome.oracleInstanceHours,
      ]),
      data: outcomes,
    },
    {
      title: 'Where the unit-hours above the oracle (whole tasks) go: what the instances were doing, minute by minute',
      columns: [
        'sweeper',
        'oracle, whole tasks',
        'oracle, fluid',
        'above the oracle',
        'launching',
        'DRAINING',
        'shutting down',
        'idle, waiting out MIN_IDLE_MINUTES',
        'idle, kept (reserve, zones, minimum)',
        'busy, above the minimum',
      ],
      rows: outcomes.map((outcome) => [
        outcome.row,
        outcome.oracleUnitHours,
        outcome.fluidUnitHours,
        outcome.unitHours - outcome.oracleUnitHours,
        outcome.unitHoursBy.launching,
        outcome.unitHoursBy.draining,
        outcome.unitHoursBy.shuttingDown,
        outcome.unitHoursBy.idleWaiting,
        outcome.unitHoursBy.idleKept,
        outcome.unitHoursBy.busy - outcome.oracleUnitHours,
      ]),
    },
    {
      title: 'Activity',
      columns: ['sweeper', 'sweeps', 'drains', 'terminated by the sweeper', 'scale-outs', 'oracle instance-hours (whole tasks)', 'wall s'],
      rows: outcomes.map((outcome) => [
        outcome.row,
        outcome.sweeps,
        outcome.drains,
        outcome.terminatedBySweeper,
        outcome.scaleOuts,
        outcome.oracleInstanceHours,
        outcome.wallMs / 1000,
      ]),
    },
  ];
  publish('sweeper-day', sections);
  const v2 = outcomes.filter((outcome) => !outcome.row.includes('baseline'));
  for (const outcome of v2) {
    const missed: string[] = [];
    const above = (reference: number) => `${((outcome.unitHours / reference - 1) * 100).toFixed(1)}%`;
    if (outcome.rebalancesBySweeper > 0) missed.push('AZRebalance terminations caused by the sweeper > 0');
    if (outcome.refused > 0) missed.push('refused terminations > 0');
    if (outcome.killed > 0) missed.push('tasks killed without drain > 0');
    if (outcome.unitHours > outcome.oracleUnitHours * 1.05) missed.push(`cost ${above(outcome.oracleUnitHours)} above the oracle (floor 5%)`);
    console.log(
      `${outcome.row}: ${missed.length === 0 ? 'every floor met' : `missed: ${missed.join('; ')}`} (cost ${above(outcome.oracleUnitHours)} above the oracle with whole tasks, ${above(outcome.fluidUnitHours)} above the fluid one)`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
