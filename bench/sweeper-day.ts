/**
 * A day of diurnal load under the scale-in sweeper: the scenario simulator/scenarios/diurnal-zones.json
 * (one group over three Availability Zones, weighted mixed instances, AZRebalance on, no
 * termination hook; services following a day curve; a step policy adding capacity) on an
 * accelerated virtual clock, with the sweeper run every 10 minutes against the world in process.
 *
 * Rows:
 * - "zone- and weight-blind (baseline)": today's settings (raw reserve) with the planner fed a view
 *   without zones and weights. The planner has no setting that turns zone balance or weights off,
 *   so this row removes, in the benchmark only, the Availability Zone and WeightedCapacity from the
 *   Auto Scaling answers and the `ecs.availability-zone` attribute from the ECS answers the sweeper
 *   reads: the planner then plans as the first-generation sweeper did (instances as single units,
 *   no zones).
 * - "v2 defaults": the same settings, the sweeper seeing what AWS returns.
 * - "v2 + task-shaped reserve": the same, with RESERVE_TASKS=2x1024/2048 (two api-sized tasks per zone).
 *
 * Columns: AZRebalance terminations whose imbalance a sweeper termination left (and all of them),
 * terminations Auto Scaling refused, non-daemon tasks killed with their instance (no drain),
 * instance-hours and capacity-unit-hours (cost: an m5.xlarge counts 2 units and costs twice an
 * m5.large), and the ratio to an oracle that knows the load: at every minute the fewest capacity
 * units whose CPU and memory, less the daemon's share, hold the tasks of that minute plus the
 * reserve (the raw one, or the task-shaped one times the zones when larger), ignoring zones, boot
 * time and bin-packing (a lower bound). Run: npm run bench:sweeper-day (SWEEPER_DAY_TRACE=1 also
 * prints the cluster every half hour and the activity before every AZRebalance, on stderr).
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
  { name: 'zone- and weight-blind (baseline)', blind: true, env: {} },
  { name: 'v2 defaults', blind: false, env: {} },
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

/** The oracle's capacity units at one time: the tasks of the load curve plus the reserve, as a fluid. */
function oracleUnits(scenario: Scenario, at: number, reserve: { cpu: number; memory: number }): { units: number; instances: number } {
  const group = scenario.groups[0]!;
  const types = group.mixedInstances ?? [{ type: group.instance.type, cpu: group.instance.cpu, memory: group.instance.memory, weight: 1 }];
  const daemons = scenario.services.filter((service) => service.strategy === 'DAEMON');
  const daemonCpu = daemons.reduce((sum, service) => sum + service.cpu, 0);
  const daemonMemory = daemons.reduce((sum, service) => sum + service.memory, 0);
  let cpu = reserve.cpu;
  let memory = reserve.memory;
  for (const service of scenario.services) {
    if (service.strategy === 'DAEMON') continue;
    const load = scenario.diurnal.find((entry) => entry.service === service.name);
    const step = (load?.stepMinutes ?? 15) * MINUTE;
    const count = load ? diurnalCount(load, SIMULATION_START + Math.floor((at - SIMULATION_START) / step) * step) : service.desiredCount;
    cpu += count * service.cpu;
    memory += count * service.memory;
  }
  // Per capacity unit, the most any type offers once its daemon tasks are placed: a lower bound.
  const cpuPerUnit = Math.max(...types.map((type) => (type.cpu - daemonCpu) / type.weight));
  const memoryPerUnit = Math.max(...types.map((type) => (type.memory - daemonMemory) / type.weight));
  const units = Math.max(group.minSize, Math.ceil(Math.max(cpu / cpuPerUnit, memory / memoryPerUnit)));
  const heaviest = Math.max(...types.map((type) => type.weight));
  return { units, instances: Math.ceil(units / heaviest) };
}

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
  // (whichever is larger, a lower bound for keeping both).
  const zones = scenario.groups[0]!.zones?.length ?? 1;
  const tasksCpu = zones * (config.reserveTasks ?? []).reduce((sum, entry) => sum + entry.count * entry.cpu, 0);
  const tasksMemory = zones * (config.reserveTasks ?? []).reduce((sum, entry) => sum + entry.count * entry.memory, 0);
  const reserve = { cpu: Math.max(config.minFreeCpu, tasksCpu), memory: Math.max(config.minFreeMemory, tasksMemory) };

  const end = SIMULATION_START + scenario.durationMinutes * MINUTE;
  const every = sweeperSettings.everyMinutes * MINUTE;
  let nextSweep = SIMULATION_START + sweeperSettings.firstAtMinutes * MINUTE;
  let instanceMinutes = 0;
  let unitMinutes = 0;
  let oracleInstanceMinutes = 0;
  let oracleUnitMinutes = 0;
  let sweeps = 0;
  const group = world.groups.get(scenario.groups[0]!.name)!;
  for (let at = SIMULATION_START; at < end; at += MINUTE) {
    await clock.runUntil(at);
    if (at >= nextSweep) {
      // Tracked as an activity, so virtual time stands still while the sweeper works (it moves only
      // while the sweeper sleeps).
      const sweep = clock.track(() => handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, context));
      await clock.runWhile(sweep.done);
      nextSweep += every;
      sweeps += 1;
    }
    // Billed: every EC2 instance of the group launching, running or shutting down this minute.
    for (const ec2 of world.ec2.values()) {
      if (ec2.groupName !== group.name || ec2.state === 'terminated') continue;
      instanceMinutes += 1;
      const type = group.mixedInstances?.find((override) => override.type === ec2.instanceType);
      unitMinutes += type?.weight ?? 1;
    }
    const oracle = oracleUnits(scenario, at, reserve);
    if (process.env.SWEEPER_DAY_TRACE && (at - SIMULATION_START) % (30 * MINUTE) === 0) {
      const instances = [...world.clusters.get('prod')!.instances.values()].filter((instance) => instance.status === 'ACTIVE');
      const used = instances.map((instance) => world.usage(instance));
      const freeCpu = instances.reduce((sum, instance, index) => sum + instance.registeredCpu - used[index]!.cpu, 0);
      const idle = used.filter((usage) => usage.running + usage.pending <= 1).length;
      progress(`${new Date(at).toISOString().slice(11, 16)} clock ${new Date(clock.now()).toISOString().slice(5, 16)} desired ${group.desiredCapacity} oracle ${oracle.units} active ${instances.length} idle ${idle} freeCpu ${freeCpu} ${[...world.clusters.get('prod')!.services.values()].map((service) => `${service.name}=${service.desiredCount}/${[...world.clusters.get('prod')!.tasks.values()].filter((task) => task.serviceName === service.name && task.desiredStatus === 'RUNNING').length}`).join(' ')} drains ${world.drains.length}`);
    }
    oracleUnitMinutes += oracle.units;
    oracleInstanceMinutes += oracle.instances;
  }
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
        'unit-hours / oracle',
        'instance-hours / oracle',
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
        outcome.instanceHours / outcome.oracleInstanceHours,
      ]),
      data: outcomes,
    },
    {
      title: 'Activity and the oracle (fewest capacity units holding the load plus the row\'s reserve each minute, all m5.xlarge for instance-hours)',
      columns: ['sweeper', 'sweeps', 'drains', 'terminated by the sweeper', 'scale-outs', 'oracle unit-hours', 'oracle instance-hours', 'wall s'],
      rows: outcomes.map((outcome) => [
        outcome.row,
        outcome.sweeps,
        outcome.drains,
        outcome.terminatedBySweeper,
        outcome.scaleOuts,
        outcome.oracleUnitHours,
        outcome.oracleInstanceHours,
        outcome.wallMs / 1000,
      ]),
    },
  ];
  publish('sweeper-day', sections);
  const v2 = outcomes.filter((outcome) => !outcome.row.includes('baseline'));
  for (const outcome of v2) {
    const missed: string[] = [];
    if (outcome.rebalancesBySweeper > 0) missed.push('AZRebalance terminations caused by the sweeper > 0');
    if (outcome.refused > 0) missed.push('refused terminations > 0');
    if (outcome.killed > 0) missed.push('tasks killed without drain > 0');
    if (outcome.unitHours > outcome.oracleUnitHours * 1.05) missed.push(`cost ${((outcome.unitHours / outcome.oracleUnitHours - 1) * 100).toFixed(1)}% above the oracle (floor 5%)`);
    console.log(`${outcome.row}: ${missed.length === 0 ? 'every floor met' : `missed: ${missed.join('; ')}`}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
