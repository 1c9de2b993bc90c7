import { clientOptionsFrom, createClients, type ClientOptions } from '../../lib/clients';
import type { CommonConfig, Env } from '../../lib/config';
import type { AnyFunctionDefinition } from '../../lib/definition';
import { SCHEDULED_EVENT_CODES } from '../../lib/events/health';
import { FUNCTIONS, LIFECYCLE_HOOK, SCALE_IN_SWEEPER, SPOT_INTERRUPTION, type FunctionName } from '../../lib/functions';
import type { SpotConfig } from '../../lib/spot/config';
import { MemoryTelemetry } from '../../lib/telemetry';
import type { ControlPlane } from '../api';
import { VirtualClock, currentActivity } from '../clock';
import { deliveryDelays, isWriteOperation, withCallLog, withScalingActivityFaults, withFaults, withThrottling, type CallLog, type FaultyControlPlane, type ThrottledControlPlane } from '../faults';
import { startServer, type RunningServer } from '../http/server';
import { buildReport, type SimulationReport } from '../report';
import type { Scenario } from '../scenarios/load';
import { ACCOUNT, REGION, type BusEvent, type SnsRecord, type TimelineEntry } from '../world/model';
import { Random } from '../world/random';
import { World } from '../world/world';
import { ExecutionEnvironments, LambdaRuntime } from './lambda';
import { groupInstances, populateWorld } from './populate';
import { SqsEventSourceMapping } from './sqs-mapping';

/**
 * A scenario, running: the world on a virtual clock behind the HTTP endpoint (with the scenario's
 * throttling and faults in front of it), the functions built from their definitions (lib/functions.ts)
 * with SDK clients pointed at that endpoint, and the deliveries that connect them: EventBridge rules to the
 * Spot drainer, the lifecycle topic to the lifecycle drainer (at least once, with the scenario's
 * duplicates and delays), the schedule to the sweeper.
 *
 * Tests and benchmarks drive it with `runFor`/`run` and read `world`, `report()` and the
 * handlers' telemetry.
 */
export const LIFECYCLE_TOPIC = 'ecs-drain-lifecycle';
export const SIMULATION_START = Date.UTC(2026, 2, 4, 10, 0, 0);

export interface SimulationOptions {
  /** Virtual ms per real ms; unset runs as fast as possible. */
  rate?: number;
  onTimeline?: (entry: TimelineEntry) => void;
  /** Fixed port for the endpoint (0 or unset: any free port). */
  port?: number;
}

export type FunctionTelemetry = Record<FunctionName, MemoryTelemetry>;

interface InstrumentableClient {
  middlewareStack: { add(middleware: unknown, options: { step: 'initialize'; name: string }): void };
  config: { retryStrategy: () => Promise<unknown> };
  destroy(): void;
}

interface RetryStrategyV2 {
  refreshRetryTokenForRetry(token: unknown, info: unknown): Promise<unknown>;
  /** The SDK's standard strategy computes its jittered backoff here, then sleeps it with setTimeout. */
  retryBackoffStrategy?: { computeNextBackoffDelay(attempt: number): number };
  simulatorVirtualBackoff?: true;
}

/**
 * Makes the SDK's retry backoff virtual: the standard strategy's delay (its own exponential,
 * jittered computation, 100 ms base and 500 ms for throttling) is taken from it and slept on the
 * virtual clock instead of with setTimeout, so throttling buckets refill while a client backs off,
 * as they would in real time. Strategies of another shape (adaptive mode's rate limiter) keep
 * real-time delays. The strategy's jitter (Math.random) is drawn from the run's seeded generator,
 * so a run with retries repeats.
 */
function virtualizeBackoff(strategy: RetryStrategyV2, clock: VirtualClock, random: Random): void {
  const backoff = strategy.retryBackoffStrategy;
  if (strategy.simulatorVirtualBackoff || !backoff || typeof backoff.computeNextBackoffDelay !== 'function') return;
  strategy.simulatorVirtualBackoff = true;
  const compute = backoff.computeNextBackoffDelay.bind(backoff);
  // Retries of concurrent requests interleave; any delay drawn from the same distribution will do.
  const drawn: number[] = [];
  backoff.computeNextBackoffDelay = (attempt) => {
    const systemRandom = Math.random;
    Math.random = () => random.next();
    try {
      drawn.push(compute(attempt));
    } finally {
      Math.random = systemRandom;
    }
    return 0;
  };
  const refresh = strategy.refreshRetryTokenForRetry.bind(strategy);
  strategy.refreshRetryTokenForRetry = async (token, info) => {
    const next = await refresh(token, info);
    await clock.sleep(drawn.shift() ?? 0, { blocksRequest: true });
    return next;
  };
}

/** A handler's own SDK settings, pointed at the simulator's endpoint with dummy credentials. */
export function simulatorClientOptions(url: string, sdk: CommonConfig['sdk']): ClientOptions {
  return {
    ...clientOptionsFrom({ sdk }),
    endpoint: url,
    region: REGION,
    credentials: { accessKeyId: 'sim', secretAccessKey: 'sim' },
  };
}

/** A function's environment in a scenario: every cluster of the scenario, then the scenario's settings. */
export function scenarioEnv(scenario: Scenario, name: FunctionName, base: Env = {}): Env {
  return { CLUSTERS: scenario.clusters.map((cluster) => cluster.name).join(','), ...base, ...scenario.handlers.env, ...scenario.handlers[name].env };
}

export class Simulation {
  readonly telemetry = Object.fromEntries(FUNCTIONS.map((definition) => [definition.name, new MemoryTelemetry()])) as FunctionTelemetry;
  readonly lambdas: LambdaRuntime;
  readonly topicArn: string;
  private readonly deliveryRandom: Random;
  private readonly backoffRandom: Random;
  /** Chain and lease ids: a stream of their own, so deliveries do not depend on how many a handler draws. */
  private readonly idRandom: Random;
  /** EventBridge deliveries to the Spot drainer: their own stream, so SNS and id draws do not move. */
  private readonly busRandom: Random;
  private readonly clients: InstrumentableClient[] = [];
  private readonly configs = new Map<FunctionName, CommonConfig>();
  private readonly environments = new Map<FunctionName, ExecutionEnvironments>();
  private readonly realStartedAt = Date.now();
  /** The Spot drainer's EventBridge rules (serverless.yml), as event patterns. */
  private readonly spotRules: ((event: BusEvent) => boolean)[] = [
    (event) => event.source === 'aws.ec2' && event['detail-type'] === 'EC2 Spot Instance Interruption Warning',
  ];
  private server: RunningServer | undefined;
  /** Set when the scenario routes the Spot drainer's events through SQS (handlers.spotInterruption.sqs). */
  spotQueue: SqsEventSourceMapping | undefined;
  /** The lifecycle drainer's task-event queue and its mapping, when the scenario has the task rule on. */
  taskEventQueue: SqsEventSourceMapping | undefined;
  /** EventBridge deliveries of task events: a stream of their own, so the Spot draws do not move. */
  private readonly taskEventRandom: Random;

  private constructor(
    readonly scenario: Scenario,
    readonly clock: VirtualClock,
    readonly world: World,
    readonly callLog: CallLog,
    private readonly throttled: ThrottledControlPlane | undefined,
    private readonly faulty: FaultyControlPlane | undefined,
    private readonly options: SimulationOptions,
  ) {
    this.lambdas = new LambdaRuntime(clock, world);
    this.topicArn = world.createTopic(LIFECYCLE_TOPIC).arn;
    const seeded = (offset: number) => new Random((scenario.faults.seed ?? scenario.seed) + offset);
    this.deliveryRandom = seeded(7919);
    this.backoffRandom = seeded(104_729);
    this.idRandom = seeded(104_729);
    this.busRandom = seeded(86_028_121);
    this.taskEventRandom = seeded(15_485_863);
    if (options.onTimeline) world.onTimeline(options.onTimeline);
  }

  static async start(scenario: Scenario, options: SimulationOptions = {}): Promise<Simulation> {
    const clock = new VirtualClock(SIMULATION_START);
    const world = new World(clock, {
      seed: scenario.seed,
      drainingToDraining: scenario.world.drainingToDraining,
      timings: { bootMs: scenario.world.bootSeconds * 1000, shutdownMs: scenario.world.shutdownSeconds * 1000 },
      readLagMs: scenario.faults.readLagMs,
      shortPageRate: scenario.faults.shortPageRate,
      attributeSlotsFull: { rate: scenario.faults.attributeSlotsFull, seed: (scenario.faults.seed ?? scenario.seed) + 49_979_687 },
    });
    const faults = scenario.faults;
    let plane: ControlPlane = world;
    let throttled: ThrottledControlPlane | undefined;
    let faulty: FaultyControlPlane | undefined;
    if (faults.throttling) plane = throttled = withThrottling(plane, { clock });
    if (faults.errorRate > 0 || faults.throttleRate > 0 || faults.latencyMs.max > 0) {
      plane = faulty = withFaults(plane, {
        seed: faults.seed ?? scenario.seed,
        clock,
        errorRate: faults.errorRate,
        throttleRate: faults.throttleRate,
        latencyMs: faults.latencyMs,
      });
    }
    const activity = faults.autoScaling;
    if (activity.activityInProgressRate > 0 || activity.contentionRate > 0) {
      plane = withScalingActivityFaults(plane, { ...activity, seed: (faults.seed ?? scenario.seed) + 32_452_843 });
    }
    const callLog = withCallLog(plane, { clock });
    const simulation = new Simulation(scenario, clock, world, callLog, throttled, faulty, options);
    simulation.server = await startServer(callLog, { ...(options.port ? { port: options.port } : {}) });
    simulation.wireHandlers(simulation.server.url);
    simulation.populate();
    return simulation;
  }

  get url(): string {
    return this.server?.url ?? '';
  }

  get startedAt(): number {
    return SIMULATION_START;
  }

  get endsAt(): number {
    return SIMULATION_START + this.scenario.durationMinutes * 60_000;
  }

  // ---------------------------------------------------------------- handlers

  /** A function's environment: the scenario's, and the lifecycle topic. */
  private functionEnv(name: FunctionName): Env {
    return scenarioEnv(this.scenario, name, name === LIFECYCLE_HOOK ? { LIFECYCLE_TOPIC_ARN: this.topicArn } : {});
  }

  /** The configuration a deployed function was built with; undefined if the scenario disables it. */
  configOf<D extends AnyFunctionDefinition>(definition: D): ReturnType<D['loadConfig']> | undefined {
    return this.configs.get(definition.name as FunctionName) as ReturnType<D['loadConfig']> | undefined;
  }

  /** Execution environments built for a function so far (its cold starts). */
  coldStarts(name: FunctionName): number {
    return this.environments.get(name)?.coldStarts ?? 0;
  }

  /**
   * Every SDK call is attributed to the invocation that made it (for the "invalid input caused
   * no write" check) and held open on the virtual clock until answered, so time never advances
   * under a request in flight. The SDK's retry backoff is slept on the virtual clock too: throttling
   * buckets then refill during the backoff, as they would in real time.
   */
  private instrument(client: InstrumentableClient): void {
    this.clients.push(client);
    const clock = this.clock;
    const lambdas = this.lambdas;
    client.middlewareStack.add(
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
        const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
        const invocation = lambdas.invocationOf(currentActivity());
        if (invocation) {
          invocation.calls.push(operation);
          if (isWriteOperation(operation)) invocation.writes.push(operation);
        }
        const release = clock.hold();
        try {
          return await next(args);
        } finally {
          release();
        }
      },
      { step: 'initialize', name: 'simulatorAccounting' },
    );
    const original = client.config.retryStrategy;
    client.config.retryStrategy = async () => {
      const strategy = (await original()) as RetryStrategyV2;
      virtualizeBackoff(strategy, clock, this.backoffRandom);
      return strategy;
    };
  }

  /**
   * Every function the scenario enables, built from its definition with its own configuration and
   * SDK settings (only the endpoint differs), one execution environment per concurrent invocation.
   */
  private wireHandlers(url: string): void {
    const { handlers } = this.scenario;
    for (const definition of FUNCTIONS as readonly AnyFunctionDefinition[]) {
      const name = definition.name as FunctionName;
      if (!handlers[name].enabled) continue;
      const config: CommonConfig = definition.loadConfig(this.functionEnv(name));
      this.configs.set(name, config);
      const environments = new ExecutionEnvironments(() => {
        const clients = createClients(definition.clients, simulatorClientOptions(url, config.sdk));
        for (const client of Object.values(clients)) this.instrument(client as unknown as InstrumentableClient);
        return definition.build({ config, clients, telemetry: this.telemetry[name], clock: this.clock, newId: () => this.idRandom.uuid() });
      });
      this.environments.set(name, environments);
      this.lambdas.register({
        name,
        handler: environments.handler,
        timeoutMs: (handlers[name].timeoutSeconds ?? definition.timeoutSeconds) * 1000,
        maximumRetryAttempts: definition.async.maximumRetryAttempts,
        maximumEventAgeMs: definition.async.maximumEventAgeSeconds * 1000,
      });
    }

    const sqs = handlers[SPOT_INTERRUPTION].sqs;
    if (handlers[SPOT_INTERRUPTION].enabled && sqs) {
      this.spotQueue = new SqsEventSourceMapping(
        this.clock,
        {
          batchSize: sqs.batchSize,
          batchWindowMs: sqs.batchWindowSeconds * 1000,
          maximumConcurrency: sqs.maximumConcurrency,
          visibilityTimeoutMs: sqs.visibilityTimeoutSeconds * 1000,
          maxReceiveCount: sqs.maxReceiveCount,
          ...(sqs.pollers ? { pollers: sqs.pollers } : {}),
        },
        (event, done) =>
          this.lambdas.invoke(SPOT_INTERRUPTION, event, {
            onEnd: (invocation) =>
              done(invocation.outcome === 'ok' ? { outcome: 'ok', result: invocation.result } : { outcome: invocation.outcome === 'timeout' ? 'timeout' : 'error' }),
          }),
        { seed: this.scenario.seed + 65_537 },
      );
    }
    const lifecycle = handlers[LIFECYCLE_HOOK];
    if (lifecycle.enabled && lifecycle.taskEvents) {
      const queue = lifecycle.taskEventQueue;
      // serverless.yml: the task rule targets TaskEventsQueue, read by the drainer's event source mapping.
      this.taskEventQueue = new SqsEventSourceMapping(
        this.clock,
        {
          batchSize: queue.batchSize,
          batchWindowMs: queue.batchWindowSeconds * 1000,
          maximumConcurrency: queue.maximumConcurrency,
          visibilityTimeoutMs: queue.visibilityTimeoutSeconds * 1000,
          maxReceiveCount: queue.maxReceiveCount,
          ...(queue.pollers ? { pollers: queue.pollers } : {}),
        },
        (event, done) =>
          this.lambdas.invoke(LIFECYCLE_HOOK, event, {
            onEnd: (invocation) =>
              done(invocation.outcome === 'ok' ? { outcome: 'ok', result: invocation.result } : { outcome: invocation.outcome === 'timeout' ? 'timeout' : 'error' }),
          }),
        { seed: this.scenario.seed + 131_071, queueName: 'lifecycle-task-events' },
      );
    }
    const spot = this.configs.get(SPOT_INTERRUPTION) as Partial<SpotConfig> | undefined;
    const stateIn = (states: string[]) => (event: BusEvent) =>
      event.source === 'aws.ec2' && event['detail-type'] === 'EC2 Instance State-change Notification' && states.includes(String(event.detail.state));
    if (spot?.rebalanceDrain) this.spotRules.push((event) => event.source === 'aws.ec2' && event['detail-type'] === 'EC2 Instance Rebalance Recommendation');
    if (spot?.stateChangeDrain) this.spotRules.push(stateIn(['stopping', 'shutting-down']));
    if (spot?.undrainSurvivors) this.spotRules.push(stateIn(['running']));
    if (spot?.scheduledEventDrain) {
      this.spotRules.push(
        (event) =>
          event.source === 'aws.health' &&
          event['detail-type'] === 'AWS Health Event' &&
          event.detail.service === 'EC2' &&
          (SCHEDULED_EVENT_CODES as readonly string[]).includes(String(event.detail.eventTypeCode)),
      );
    }
    if (handlers[LIFECYCLE_HOOK].enabled) this.world.subscribe(this.topicArn, (record) => this.deliverSns(record));
    const sweeper = handlers[SCALE_IN_SWEEPER];
    if (sweeper.enabled) {
      const every = sweeper.everyMinutes * 60_000;
      const schedule = (at: number) => {
        this.clock.schedule(at, () => {
          this.lambdas.invoke(SCALE_IN_SWEEPER, this.scheduledEvent());
          schedule(at + every);
        });
      };
      schedule(SIMULATION_START + sweeper.firstAtMinutes * 60_000);
    }
    this.world.onBusEvent((event) => this.deliverBusEvent(event));
  }

  /**
   * EventBridge: the Spot drainer's rules and the lifecycle drainer's task rule as serverless.yml
   * declares them (source, detail-type, the states and Health event codes each rule names), each to
   * its SQS queue (the Spot drainer's straight to the function unless the scenario routes it through
   * SQS); delivery takes about half a second.
   */
  private deliverBusEvent(event: BusEvent): void {
    if (this.isLifecycleTaskEvent(event)) {
      // At least once: the scenario's EventBridge faults repeat and delay these deliveries too.
      for (const extra of deliveryDelays(this.taskEventRandom, this.scenario.faults.eventBridge)) {
        this.clock.schedule(this.clock.now() + 500 + extra, () => this.taskEventQueue?.send(JSON.stringify(event)));
      }
      return;
    }
    if (!this.spotRules.some((matches) => matches(event))) return;
    for (const extra of deliveryDelays(this.busRandom, this.scenario.faults.eventBridge)) {
      this.clock.schedule(this.clock.now() + 500 + extra, () => {
        // The rule's SQS target writes the event as the message body.
        if (this.spotQueue) this.spotQueue.send(JSON.stringify(event));
        else this.lambdas.invoke(SPOT_INTERRUPTION, event);
      });
    }
  }

  /**
   * The lifecycle drainer's task rule as serverless.yml declares it: source aws.ecs, detail-type
   * ECS Task State Change, lastStatus STOPPED, the managed clusters; only when the scenario enables it.
   */
  private isLifecycleTaskEvent(event: BusEvent): boolean {
    const lifecycle = this.scenario.handlers[LIFECYCLE_HOOK];
    if (!lifecycle.enabled || !lifecycle.taskEvents) return false;
    if (event.source !== 'aws.ecs' || event['detail-type'] !== 'ECS Task State Change' || event.detail.lastStatus !== 'STOPPED') return false;
    const clusters = this.scenario.clusters.map((cluster) => this.world.cluster(cluster.name).arn);
    return clusters.includes(String(event.detail.clusterArn));
  }

  /**
   * SNS to Lambda: at least once. From the seed, a delivery may be delayed and may arrive twice
   * (aws-behaviour.md §4). A test notification is legitimate input that must cause no write.
   */
  private deliverSns(record: SnsRecord): void {
    const isTest = record.Sns.Message.includes('"autoscaling:TEST_NOTIFICATION"');
    for (const extra of deliveryDelays(this.deliveryRandom, this.scenario.faults.sns)) {
      this.clock.schedule(this.clock.now() + 100 + extra, () => this.lambdas.invoke(LIFECYCLE_HOOK, { Records: [record] }, { invalidInput: isTest }));
    }
  }

  private scheduledEvent() {
    return {
      version: '0',
      id: this.deliveryRandom.uuid(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: ACCOUNT,
      time: new Date(this.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: REGION,
      resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/scale-in-sweeper-schedule`],
      detail: {},
    };
  }

  // ---------------------------------------------------------------- the world

  private populate(): void {
    populateWorld(this.world, this.scenario, {
      topicArn: this.topicArn,
      start: SIMULATION_START,
      invoke: (fn, event, invalid) => this.lambdas.invoke(fn, event, { invalidInput: invalid }),
    });
  }

  /** EC2 ids of a group's instances, in launch order. */
  groupInstances(groupName: string): string[] {
    return groupInstances(this.world, groupName);
  }

  // ---------------------------------------------------------------- running

  /** Runs `ms` of virtual time. */
  async runFor(ms: number): Promise<void> {
    await this.clock.runUntil(this.clock.now() + ms, this.options.rate ? { rate: this.options.rate } : {});
  }

  /** Runs to the scenario's end and returns the report. */
  async run(): Promise<SimulationReport> {
    await this.clock.runUntil(this.endsAt, this.options.rate ? { rate: this.options.rate } : {});
    return this.report();
  }

  report(): SimulationReport {
    return buildReport({
      scenario: this.scenario.name,
      seed: this.scenario.seed,
      world: this.world,
      startedAt: SIMULATION_START,
      realStartedAt: this.realStartedAt,
      calls: this.callLog.snapshot(),
      throttled: this.throttled?.throttled() ?? {},
      injected: this.faulty?.injected() ?? { serverErrors: 0, throttles: 0 },
      invocations: this.lambdas.invocations,
      invocationStats: this.lambdas.stats(),
    });
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.destroy();
    await this.server?.close();
  }
}
