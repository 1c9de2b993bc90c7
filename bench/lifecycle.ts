/**
 * Lifecycle-hook drainer: a group scales in by 10 instances whose tasks take up to 20 minutes to
 * stop. Measured in simulated time, with the handlers' default settings except the drain deadline
 * (DRAIN_TIMEOUT_SECONDS=1800, since the default 900 s is shorter than the tasks): SNS requeue
 * hops, Lambda billed seconds, heartbeats, the delay from the instance's last task STOPPED (daemon
 * tasks included: the drain waits for them, within DAEMON_GRACE_SECONDS) to
 * CompleteLifecycleAction, actions completed before expiry, and hops per invocation lifetime.
 * Each host carries an hour of history: HISTORY_TASKS stopped tasks, still listable as in AWS, so
 * every poll pays for them.
 * Run: npm run bench:lifecycle
 */
import { REQUEUE_KIND } from '../lib/events/lifecycle';
import { lifecycleHook, LIFECYCLE_HOOK } from '../lib/lifecycle/definition';
import { Simulation } from '../simulator/runner/simulation';
import { parseScenario, type ScenarioInput } from '../simulator/scenarios/load';
import { formatCalls, max, progress, sum } from './lib/common';
import { median, publish, type Section } from './report';

const GROUP_SIZE = 20;
const REMOVED = 10;
const LAMBDA_TIMEOUT_SECONDS = lifecycleHook.timeoutSeconds;
const STOP_SECONDS = [240, 480, 720, 960, 1200];
const DAEMON = 'node-exporter';
/** Stopped tasks per host over the hour before the scale-in (a short job every 30 s). */
const HISTORY_TASKS = 120;

function scenario(seed: number, faults: ScenarioInput['faults']): ScenarioInput {
  return {
    name: 'bench-lifecycle',
    seed,
    durationMinutes: 60,
    clusters: [{ name: 'batch' }],
    groups: [
      {
        name: 'batch-asg',
        cluster: 'batch',
        minSize: 2,
        maxSize: GROUP_SIZE * 2,
        desiredCapacity: GROUP_SIZE,
        instance: { cpu: 4096, memory: 16384, type: 'm5.xlarge' },
        hook: { name: 'ecs-drain-hook', heartbeatTimeoutSeconds: 300, defaultResult: 'ABANDON' },
      },
    ],
    services: [
      ...STOP_SECONDS.map((stopSeconds) => ({
        cluster: 'batch',
        name: `jobs-${stopSeconds / 60}min`,
        desiredCount: GROUP_SIZE,
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
      lifecycleHook: { env: { DRAIN_TIMEOUT_SECONDS: '1800' } },
      scaleInSweeper: { enabled: false },
    },
    ...(faults ? { faults } : {}),
    events: [{ type: 'set-desired-capacity', atSeconds: 60, group: 'batch-asg', desiredCapacity: GROUP_SIZE - REMOVED }],
  };
}

interface Result {
  label: string;
  seed: number;
  started: number;
  completedBeforeExpiry: number;
  expired: number;
  forced: number;
  hops: number;
  maxHopsByOneInvocation: number;
  lifetimes: number;
  invocations: number;
  billedSeconds: number;
  heartbeats: number;
  delaysSeconds: number[];
  drainMinutes: number[];
  pollIntervalSeconds: number;
  calls: Record<string, number>;
  realMs: number;
}

async function run(label: string, seed: number, faults: ScenarioInput['faults']): Promise<Result> {
  const simulation = await Simulation.start(parseScenario(scenario(seed, faults)));
  for (const instance of simulation.world.groups.get('batch-asg')!.instances.keys()) {
    simulation.world.rules.ecs.addStoppedHistory(instance, HISTORY_TASKS, 3_600_000);
  }
  const config = simulation.configOf(lifecycleHook)!;
  let hops = 0;
  simulation.world.subscribe(simulation.topicArn, (record) => {
    if (record.Sns.Message.includes(`"kind":"${REQUEUE_KIND}"`)) hops += 1;
  });
  try {
    const report = await simulation.run();
    const { world } = simulation;
    const actions = [...world.lifecycleActions.values()];
    const stops = world.timeline.filter((entry) => entry.kind === 'task' && entry.message === 'task STOPPED');
    const delays: number[] = [];
    const drainMinutes: number[] = [];
    let lifetimes = 0;
    let forced = 0;
    for (const action of actions) {
      if (action.state !== 'completed' || action.endedAt === undefined) continue;
      if ((action.unstoppedTasksAtEnd ?? 0) > 0) forced += 1;
      const mine = stops.filter((entry) => entry.fields?.ec2InstanceId === action.instanceId && entry.at <= action.endedAt!);
      const lastStop = max(mine.map((entry) => entry.at));
      if (mine.length > 0) delays.push((action.endedAt - lastStop) / 1000);
      const drainMs = action.endedAt - action.startedAt;
      drainMinutes.push(drainMs / 60_000);
      lifetimes += Math.ceil(drainMs / (LAMBDA_TIMEOUT_SECONDS * 1000));
    }
    const lifecycleInvocations = simulation.lambdas.invocations.filter((invocation) => invocation.fn === LIFECYCLE_HOOK);
    return {
      label,
      seed,
      started: actions.length,
      completedBeforeExpiry: actions.filter((action) => action.state === 'completed').length,
      expired: actions.filter((action) => action.state === 'expired' || action.state === 'global-timeout').length,
      forced,
      hops,
      maxHopsByOneInvocation: max(lifecycleInvocations.map((invocation) => invocation.writes.filter((op) => op === 'Publish').length)),
      lifetimes,
      invocations: lifecycleInvocations.length,
      billedSeconds: report.invocations.lifecycleHook.billedMs / 1000,
      heartbeats: sum(actions.map((action) => action.heartbeats)),
      delaysSeconds: delays,
      drainMinutes,
      pollIntervalSeconds: config.pollIntervalSeconds,
      calls: report.awsCalls.byOperation,
      realMs: report.realMs,
    };
  } finally {
    await simulation.close();
  }
}

async function main(): Promise<void> {
  const results: Result[] = [];
  const cases: Array<[string, ScenarioInput['faults']]> = [
    ['no faults', undefined],
    ['ECS throttling + 5% 5xx + 10% duplicate deliveries', { throttling: true, errorRate: 0.05, sns: { duplicateRate: 0.1, delayRate: 0, delaySeconds: { min: 1, max: 30 } } }],
  ];
  for (const [label, faults] of cases) {
    for (const seed of [1, 2]) {
      progress(`lifecycle: ${REMOVED} of ${GROUP_SIZE} instances, tasks up to ${max(STOP_SECONDS) / 60} min to stop, ${label}, seed ${seed}`);
      results.push(await run(label, seed, faults));
    }
  }
  const rows: Section['rows'] = results.map((r) => [
    r.label,
    r.seed,
    `${r.completedBeforeExpiry}/${r.started}`,
    r.expired,
    r.forced,
    median(r.drainMinutes),
    max(r.drainMinutes),
    r.hops,
    `${r.hops}/${r.lifetimes}`,
    r.maxHopsByOneInvocation,
    r.invocations,
    Math.round(r.billedSeconds),
    r.heartbeats,
    median(r.delaysSeconds),
    max(r.delaysSeconds),
    r.pollIntervalSeconds,
    formatCalls(r.calls),
  ]);
  publish('lifecycle', [
    {
      title: `Lifecycle drainer: ${REMOVED} instances scaled in (${HISTORY_TASKS} stopped tasks of the last hour on each), tasks taking ${STOP_SECONDS.map((s) => s / 60).join('/')} min to stop (defaults, DRAIN_TIMEOUT_SECONDS=1800, Lambda timeout ${LAMBDA_TIMEOUT_SECONDS} s)`,
      columns: [
        'faults',
        'seed',
        'completed before expiry',
        'expired',
        'completed with tasks running',
        'drain min median',
        'drain min max',
        'SNS hops',
        'hops / invocation lifetimes',
        'max hops by one invocation',
        'invocations',
        'billed s',
        'heartbeats',
        'last STOPPED → complete s (median)',
        '(max)',
        'poll interval s',
        'AWS calls by operation',
      ],
      rows,
      data: results,
    },
  ]);
  const late = results.filter((r) => max(r.delaysSeconds) > r.pollIntervalSeconds);
  if (late.length > 0) console.log(`FLOOR MISSED: completion later than one poll interval after the last task STOPPED (${late.map((r) => `${r.label} seed ${r.seed}`).join('; ')}).`);
  const many = results.filter((r) => r.hops > r.lifetimes || r.maxHopsByOneInvocation > 1);
  if (many.length > 0) console.log(`FLOOR MISSED: more than one SNS hop per invocation lifetime (${many.map((r) => `${r.label} seed ${r.seed}`).join('; ')}).`);
  const unfinished = results.filter((r) => r.completedBeforeExpiry < r.started);
  if (unfinished.length > 0) console.log(`FLOOR MISSED: not every lifecycle action completed before expiry (${unfinished.map((r) => `${r.label} seed ${r.seed}`).join('; ')}).`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
