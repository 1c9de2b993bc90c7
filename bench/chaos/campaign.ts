/**
 * Fault campaigns: every scenario under throttling, server errors, latency, duplicate and delayed
 * deliveries at several rates and seeds, with malformed events planted in every run, and the
 * counts that must stay at zero:
 *
 * - instances terminated while counted tasks still ran, before the drain deadline;
 * - loops that did not end (invocations still running or still being started long after every
 *   drain should have ended, lifecycle actions kept alive to the global timeout, requeue hops
 *   beyond MAX_HOPS);
 * - invalid events that caused a write;
 * - instances of a group with a launch hook that went InService before their container instance was
 *   ACTIVE and connected with every daemon it should run RUNNING.
 *
 * Used by `npm run chaos` (bench/chaos.ts, full size) and test/chaos (CI size).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REQUEUE_KIND } from '../../lib/events/lifecycle';
import { FUNCTIONS, LIFECYCLE_HOOK, lifecycleHook, SCALE_IN_SWEEPER, SPOT_INTERRUPTION, type FunctionName } from '../../lib/functions';
import { enteredBeforeReady } from '../../simulator/report';
import { LIFECYCLE_TOPIC, Simulation } from '../../simulator/runner/simulation';
import { loadScenario, parseScenario, type Scenario, type ScenarioInput } from '../../simulator/scenarios/load';

/**
 * AWS behaviour as faults (docs/aws-behaviour.md §3.1, §3.2, §4): instances whose custom attribute
 * slots are (nearly) all taken by operator labels; Auto Scaling writes refused while the group has
 * an activity in progress or a concurrent change; EventBridge deliveries repeated and late; ECS
 * reads that lag writes; list pages shorter than asked.
 */
export const AWS_BEHAVIOUR_FAULTS = ['attributes-full', 'scaling-activity', 'eventbridge-duplicate-late', 'read-lag', 'short-pages'] as const;
export const FAULTS = ['throttling', '5xx', 'latency', 'duplicate', 'delayed', ...AWS_BEHAVIOUR_FAULTS] as const;
export type Fault = (typeof FAULTS)[number] | 'none';

export interface CaseSpec {
  scenario: string;
  fault: Fault;
  /** 0–1: the probability of the fault per call or delivery (latency: r × 10 s at most per call). */
  rate: number;
  seed: number;
}

export interface CaseResult extends CaseSpec {
  lifecycleActions: { started: number; completedBeforeExpiry: number; forcedAtDeadline: number; expired: number };
  /** Must be 0. */
  terminatedWithCountedTasksBeforeDeadline: number;
  /** Must be 0. */
  loopsNotEnded: number;
  loopDetail: { inFlight: number; lateInvocations: number; globalTimeouts: number; stillActive: number; hopsBeyondCap: number };
  /** Must be 0. */
  invalidEventsWithWrites: number;
  /** Must be 0: instances a launch hook let InService before ECS could place on them. */
  inServiceBeforeReady: number;
  /** Launch lifecycle actions started, and completed with ABANDON (by a handler or the default result). */
  launches: { started: number; abandoned: number };
  /** How many planted invalid events (and test notifications) the handlers received: proves the check ran. */
  invalidEventsDelivered: number;
  tasksDisrupted: number;
  injected: {
    serverErrors: number;
    throttles: number;
    bucketThrottles: number;
    duplicateDeliveries: number;
    /** PutAttributes answered AttributeLimitExceededException. */
    attributeLimitAnswers: number;
    /** Auto Scaling writes answered ScalingActivityInProgress or ResourceContention. */
    groupBusyAnswers: number;
    /** EventBridge events the Spot drainer received more than once. */
    eventBridgeDuplicates: number;
  };
  /** Sweeper runs that failed. Must be 0 under the AWS-behaviour faults, which concern one instance each. */
  sweepFailures: number;
  handlerErrors: number;
  awsCalls: number;
  realMs: number;
}

/** Latency at rate r: uniform in [0, r × 10 s] on every call. */
export const LATENCY_MS_PER_RATE = 10_000;
/** ECS read-after-write lag at rate r: each container-instance write shows after [0, r × 20 s]. */
export const READ_LAG_MS_PER_RATE = 20_000;

const EVENTS_DIR = join(__dirname, '..', '..', 'events');
const fixture = (name: string): unknown => JSON.parse(readFileSync(join(EVENTS_DIR, name), 'utf8'));

/** Invalid input each function may meet: fixtures and shapes a misconfigured rule or topic sends. */
function invalidEvents(): Record<FunctionName, unknown[]> {
  return {
    [SPOT_INTERRUPTION]: [
      fixture('malformed-spot-missing-detail.json'),
      { source: 'aws.ec2', 'detail-type': 'EC2 Spot Instance Interruption Warning', detail: { 'instance-id': 'i-0abc; DROP', 'instance-action': 'terminate' } },
      'not an event',
    ],
    [LIFECYCLE_HOOK]: [
      fixture('lifecycle-malformed.json'),
      { Records: [{ EventSource: 'aws:sns', Sns: { Message: 'not json' } }] },
      { Records: 'none' },
      // A task state change without its task (fleet scale: the task rule's events reach this function too).
      { version: '0', id: 'planted', 'detail-type': 'ECS Task State Change', source: 'aws.ecs', account: '123456789012', time: '2026-03-04T10:00:00Z', region: 'us-east-1', detail: { lastStatus: 'STOPPED' } },
    ],
    [SCALE_IN_SWEEPER]: [{ source: 'aws.ec2', 'detail-type': 'Scheduled Event' }, [], { source: 'aws.events', 'detail-type': 'Something Else' }],
  };
}

/** The scenario with the case's faults and seed, and malformed events planted for every enabled function. */
export function caseScenario(spec: CaseSpec): Scenario {
  const base = loadScenario(spec.scenario);
  const input = structuredClone(base) as unknown as ScenarioInput & { faults: Scenario['faults']; events: unknown[] };
  // Each fault's setting at the case's rate when it is the case's fault, else off.
  const on = (fault: Fault, value: number) => (spec.fault === fault ? value : 0);
  const faults: Scenario['faults'] = {
    seed: spec.seed,
    throttling: spec.fault === 'throttling',
    errorRate: on('5xx', spec.rate),
    throttleRate: on('throttling', spec.rate),
    latencyMs: { min: 0, max: on('latency', Math.round(spec.rate * LATENCY_MS_PER_RATE)) },
    sns: { duplicateRate: on('duplicate', spec.rate), delayRate: on('delayed', spec.rate), delaySeconds: { min: 1, max: 30 } },
    readLagMs: { min: 0, max: on('read-lag', Math.round(spec.rate * READ_LAG_MS_PER_RATE)) },
    shortPageRate: on('short-pages', spec.rate),
    eventBridge: { duplicateRate: on('eventbridge-duplicate-late', spec.rate), delayRate: on('eventbridge-duplicate-late', spec.rate), delaySeconds: { min: 1, max: 60 } },
    autoScaling: { activityInProgressRate: on('scaling-activity', spec.rate), contentionRate: on('scaling-activity', spec.rate / 2) },
    attributeSlotsFull: on('attributes-full', spec.rate),
  };
  input.faults = faults;
  input.seed = base.seed + spec.seed * 1000;
  const planted = invalidEvents();
  const times = [5, Math.round(base.durationMinutes * 30)];
  for (const { name: fn } of FUNCTIONS) {
    if (!base.handlers[fn].enabled) continue;
    for (const [index, event] of planted[fn].entries()) {
      input.events.push({ type: 'invoke', atSeconds: times[index % times.length]! + index, function: fn, event, invalid: true });
    }
  }
  return parseScenario(input, `${spec.scenario} (chaos)`);
}

export async function runCase(spec: CaseSpec): Promise<CaseResult> {
  const scenario = caseScenario(spec);
  const simulation = await Simulation.start(scenario);
  const lifecycle = simulation.configOf(lifecycleHook);

  // Requeue hops per chain, seen on the lifecycle topic.
  const hops = new Map<string, number>();
  simulation.world.subscribe(simulation.topicArn, (record) => {
    try {
      const message = JSON.parse(record.Sns.Message) as { kind?: unknown; chainId?: unknown; attempt?: unknown };
      if (message.kind === REQUEUE_KIND && typeof message.chainId === 'string' && typeof message.attempt === 'number') {
        hops.set(message.chainId, Math.max(hops.get(message.chainId) ?? 0, message.attempt));
      }
    } catch {
      // Auto Scaling's own notifications are JSON too; anything else is not a hop.
    }
  });

  try {
    await simulation.run();
    // Then long enough for every drain to end by itself: the drain deadline, a heartbeat window and
    // a Lambda timeout, plus ten quiet minutes in which no drain may still be running.
    const drainMs = lifecycle ? lifecycle.drainTimeoutSeconds * 1000 : 0;
    const quietFrom = simulation.endsAt + drainMs + 2 * 900_000;
    await simulation.runFor(quietFrom - simulation.clock.now());
    await simulation.runFor(600_000);
    const report = simulation.report();
    const { world } = simulation;

    const actions = [...world.lifecycleActions.values()];
    // The drain zero-count is about termination actions; a launch action of the same instance is not its drain.
    const drains = actions.filter((action) => action.transition !== 'autoscaling:EC2_INSTANCE_LAUNCHING');
    const launches = actions.filter((action) => action.transition === 'autoscaling:EC2_INSTANCE_LAUNCHING');
    const deadlineOf = (startedAt: number) => startedAt + drainMs;
    let beforeDeadline = 0;
    let forced = 0;
    for (const termination of world.terminations) {
      // A Spot reclaim is not the drainer's doing: the group starts (and the drainer completes)
      // the lifecycle action only after the instance is already gone (aws-behaviour.md §3.2).
      if (termination.lifecycle !== 'completed' || termination.cause === 'spot-interruption') continue;
      const action = drains.find((candidate) => candidate.instanceId === termination.ec2InstanceId && candidate.state === 'completed');
      if (!action || action.endedAt === undefined || termination.at < action.endedAt) continue;
      const counted = world.killedTasks.filter(
        (task) =>
          task.ec2InstanceId === termination.ec2InstanceId &&
          task.at === termination.at &&
          (task.origin === 'service' || (task.origin === 'standalone' && lifecycle?.standaloneTasks !== 'ignore')),
      ).length;
      if (counted === 0) continue;
      if (action.endedAt < deadlineOf(action.startedAt)) beforeDeadline += 1;
      else forced += 1;
    }

    const relevant = simulation.lambdas.invocations.filter((invocation) => invocation.fn !== SCALE_IN_SWEEPER);
    const loopDetail = {
      inFlight: relevant.filter((invocation) => !invocation.outcome).length,
      lateInvocations: relevant.filter((invocation) => invocation.startedAt >= quietFrom).length,
      globalTimeouts: actions.filter((action) => action.state === 'global-timeout').length,
      stillActive: actions.filter((action) => action.state === 'active').length,
      hopsBeyondCap: lifecycle ? [...hops.values()].filter((attempt) => attempt > lifecycle.maxHops).length : 0,
    };
    // SNS deliveries beyond one per published message are the injected duplicates.
    const lifecycleFirstAttempts = relevant.filter((invocation) => invocation.fn === LIFECYCLE_HOOK && invocation.attempt === 1).length;
    const published = world.timeline.filter(
      (entry) => entry.kind === 'sns' && entry.message === 'message published' && entry.fields?.topic === LIFECYCLE_TOPIC,
    ).length;
    const plantedLifecycle = scenario.events.filter((event) => event.type === 'invoke' && event.function === LIFECYCLE_HOOK).length;
    const stats = Object.values(report.invocations);
    return {
      ...spec,
      lifecycleActions: {
        started: actions.length,
        completedBeforeExpiry: actions.filter((action) => action.state === 'completed').length,
        forcedAtDeadline: forced,
        expired: actions.filter((action) => action.state === 'expired').length,
      },
      terminatedWithCountedTasksBeforeDeadline: beforeDeadline,
      loopsNotEnded: Object.values(loopDetail).reduce((sum, value) => sum + value, 0),
      loopDetail,
      invalidEventsWithWrites: report.invalidEventsWithWrites,
      inServiceBeforeReady: world.inService.filter(enteredBeforeReady).length,
      launches: { started: launches.length, abandoned: launches.filter((action) => action.result === 'ABANDON').length },
      invalidEventsDelivered: simulation.lambdas.invocations.filter((invocation) => invocation.invalidInput).length,
      tasksDisrupted: report.tasks.disrupted,
      injected: {
        serverErrors: report.faults.serverErrors,
        throttles: report.faults.injectedThrottles,
        bucketThrottles: Object.values(report.faults.throttled).reduce((sum, value) => sum + value, 0),
        duplicateDeliveries: Math.max(0, lifecycleFirstAttempts - plantedLifecycle - published),
        attributeLimitAnswers: report.awsCalls.errorsByCode.AttributeLimitExceededException ?? 0,
        groupBusyAnswers: (report.awsCalls.errorsByCode.ScalingActivityInProgress ?? 0) + (report.awsCalls.errorsByCode.ResourceContention ?? 0),
        eventBridgeDuplicates: repeatedEvents(simulation.lambdas.invocations.filter((invocation) => invocation.fn === SPOT_INTERRUPTION && invocation.attempt === 1)),
      },
      sweepFailures: simulation.lambdas.invocations.filter((invocation) => invocation.fn === SCALE_IN_SWEEPER && !invocation.invalidInput && invocation.outcome !== undefined && invocation.outcome !== 'ok').length,
      handlerErrors: stats.reduce((sum, entry) => sum + entry.errors + entry.timeouts, 0),
      awsCalls: report.awsCalls.total,
      realMs: report.realMs,
    };
  } finally {
    await simulation.close();
  }
}

/** Deliveries of an event id beyond its first. */
function repeatedEvents(invocations: readonly { eventId?: string }[]): number {
  const ids = invocations.map((invocation) => invocation.eventId).filter((id): id is string => id !== undefined);
  return ids.length - new Set(ids).size;
}

const ONE_INSTANCE_FAULTS: readonly Fault[] = ['attributes-full', 'scaling-activity'];

export function violations(result: CaseResult): string[] {
  const problems: string[] = [];
  if (ONE_INSTANCE_FAULTS.includes(result.fault) && result.sweepFailures > 0) {
    problems.push(`${result.sweepFailures} sweep(s) failed under ${result.fault}, a fault of one instance`);
  }
  if (result.terminatedWithCountedTasksBeforeDeadline > 0) problems.push(`${result.terminatedWithCountedTasksBeforeDeadline} instance(s) terminated with counted tasks running before the deadline`);
  if (result.loopsNotEnded > 0) problems.push(`${result.loopsNotEnded} loop(s) did not end ${JSON.stringify(result.loopDetail)}`);
  if (result.invalidEventsWithWrites > 0) problems.push(`${result.invalidEventsWithWrites} invalid event(s) caused a write`);
  if (result.inServiceBeforeReady > 0) problems.push(`${result.inServiceBeforeReady} instance(s) went InService before ECS could place on them`);
  return problems;
}
