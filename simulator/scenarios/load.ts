import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { HEALTH_SCHEDULED_CODES } from '../world/health';

/**
 * Scenarios are data: the clusters, groups, services and instances of a world, the handlers'
 * settings (their environment variables), the faults, the events over time and how long to run.
 * They are validated here, once, with every problem reported at once.
 */
const positive = z.number().int().positive();
const nonNegative = z.number().int().min(0);

const hookSchema = z.object({
  name: z.string().min(1).default('ecs-drain-hook'),
  heartbeatTimeoutSeconds: z.number().int().min(30).max(7200).default(300),
  defaultResult: z.enum(['CONTINUE', 'ABANDON']).default('ABANDON'),
  metadata: z.string().max(4000).optional(),
});

/** A launch hook (autoscaling:EC2_INSTANCE_LAUNCHING): new instances wait in Pending:Wait until it is completed. */
const launchHookSchema = z.object({
  name: z.string().min(1).default('ecs-launch-hook'),
  heartbeatTimeoutSeconds: z.number().int().min(30).max(7200).default(300),
  defaultResult: z.enum(['CONTINUE', 'ABANDON']).default('CONTINUE'),
});

const groupSchema = z.object({
  name: z.string().min(1),
  cluster: z.string().min(1),
  minSize: nonNegative,
  maxSize: nonNegative,
  desiredCapacity: nonNegative,
  instance: z.object({ cpu: positive, memory: positive, type: z.string().default('m5.large') }),
  spot: z.boolean().default(false),
  /** Minutes since the initial instances registered (an old instance has been idle longer). */
  ageMinutes: nonNegative.default(120),
  /** Fixed ids for the first instances (e.g. the id of a fixture event). */
  instanceIds: z.array(z.string().regex(/^i-[0-9a-f]{8}([0-9a-f]{9})?$/)).default([]),
  hook: hookSchema.optional(),
  launchHook: launchHookSchema.optional(),
  /** Availability Zones of the group: instances spread evenly over them (simulator/world/zones.ts). */
  zones: z.array(z.string().regex(/^[a-z]{2}-[a-z]+-\d[a-z]$/)).min(1).max(6).optional(),
  /** AZRebalance (on by default in AWS, off by default here so older scenarios keep their figures). */
  azRebalance: z.boolean().default(false),
  /** Weighted instance types in priority order: min/desired/max are then capacity units. */
  mixedInstances: z
    .array(z.object({ type: z.string().min(1), cpu: positive, memory: positive, weight: z.number().int().min(1).max(999) }))
    .min(1)
    .optional(),
  /**
   * An ECS capacity provider bound to the group and associated with the group's cluster
   * (simulator/world/capacity-providers.ts); with managed draining, ECS drains on termination itself.
   */
  capacityProvider: z
    .object({
      name: z.string().regex(/^[A-Za-z0-9_-]{1,255}$/),
      managedDraining: z.enum(['ENABLED', 'DISABLED']).default('ENABLED'),
      managedScaling: z.enum(['ENABLED', 'DISABLED']).default('DISABLED'),
      managedTerminationProtection: z.enum(['ENABLED', 'DISABLED']).default('DISABLED'),
    })
    .optional(),
  /** Instance lifecycle policy: `retain` keeps an instance whose termination action was abandoned (simulator/world/retention.ts). */
  terminateHookAbandon: z.enum(['retain', 'terminate']).optional(),
  /** A scale-out-only step policy on the cluster's reservation (simulator/world/step-scaling.ts). */
  stepScaling: z
    .object({
      thresholdPercent: z.number().min(1).max(100).optional(),
      minFreeCpu: nonNegative.optional(),
      minFreeMemory: nonNegative.optional(),
      stepUnits: positive,
      periodSeconds: positive.default(60),
      warmupSeconds: nonNegative.default(300),
    })
    .optional(),
});

const serviceSchema = z.object({
  cluster: z.string().min(1),
  name: z.string().min(1),
  strategy: z.enum(['REPLICA', 'DAEMON']).default('REPLICA'),
  desiredCount: nonNegative.default(1),
  minimumHealthyPercent: z.number().int().min(0).max(100).default(100),
  maximumPercent: z.number().int().min(100).max(200).default(200),
  cpu: positive,
  memory: positive,
  stopSeconds: nonNegative.default(30),
  startSeconds: nonNegative.default(5),
  /**
   * The load balancer's deregistration delay (AWS's default target group setting is 300 s): tasks
   * told to stop wait it out before their stop timeout. Unset: no load balancer, a brief DEACTIVATING.
   */
  deregistrationDelaySeconds: z.number().int().min(0).max(3600).optional(),
  /** `memberOf` expressions (cluster query language): the service runs only on the instances they select. */
  placementConstraints: z.array(z.object({ type: z.literal('memberOf'), expression: z.string().min(1).max(2000) })).max(10).optional(),
});

const standaloneSchema = z.object({
  cluster: z.string().min(1),
  group: z.string().min(1),
  /** Which instance of the group (in launch order). */
  index: nonNegative.default(0),
  family: z.string().min(1),
  cpu: positive,
  memory: positive,
  stopSeconds: nonNegative.default(30),
  /** The task ends by itself after this long (a batch job); unset: it runs until stopped. */
  runSeconds: positive.optional(),
});

/** A service whose desired count follows a day curve (simulator/world/diurnal.ts). */
const diurnalSchema = z.object({
  cluster: z.string().min(1),
  service: z.string().min(1),
  night: nonNegative,
  peak: nonNegative,
  peakHour: z.number().min(0).max(24),
  stepMinutes: positive.default(15),
});

/** An instance outside any group (launched by hand or by another tool), registered with its cluster. */
const instanceSchema = z.object({
  cluster: z.string().min(1),
  id: z.string().regex(/^i-[0-9a-f]{8}([0-9a-f]{9})?$/),
  cpu: positive,
  memory: positive,
  type: z.string().default('m5.large'),
  spot: z.boolean().default(false),
});

const EC2_ID = z.string().regex(/^i-[0-9a-f]{8}([0-9a-f]{9})?$/);

const handlerSchema = z.object({
  enabled: z.boolean().default(true),
  env: z.record(z.string(), z.string()).default({}),
  timeoutSeconds: z.number().int().min(1).max(900).optional(),
});

/**
 * Warnings through an SQS queue and an event source mapping (simulator/runner/sqs-mapping.ts)
 * instead of straight from EventBridge; the settings mirror the mapping and queue in serverless.yml.
 */
const sqsDeliverySchema = z.object({
  batchSize: z.number().int().min(1).max(10_000).default(1000),
  batchWindowSeconds: z.number().min(0).max(300).default(1),
  maximumConcurrency: z.number().int().min(2).max(1000).default(2),
  visibilityTimeoutSeconds: z.number().int().min(0).default(540),
  maxReceiveCount: z.number().int().min(1).default(5),
  pollers: z.number().int().min(1).optional(),
});

/**
 * The lifecycle drainer's task-event queue and mapping, as serverless.yml deploys them: batches of
 * up to 1,000 events gathered for at most 1 s, two at once, the queue's visibility timeout the
 * function's timeout, three receives before the dead-letter queue.
 */
const TASK_EVENT_QUEUE = { batchSize: 1000, batchWindowSeconds: 1, maximumConcurrency: 2, visibilityTimeoutSeconds: 900, maxReceiveCount: 3 };
const taskEventQueueSchema = sqsDeliverySchema.extend({
  visibilityTimeoutSeconds: z.number().int().min(0).default(TASK_EVENT_QUEUE.visibilityTimeoutSeconds),
  maxReceiveCount: z.number().int().min(1).default(TASK_EVENT_QUEUE.maxReceiveCount),
});

const eventSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('spot-interruption'),
    atSeconds: nonNegative,
    group: z.string(),
    count: positive.default(1),
    /** Emit a rebalance recommendation this many seconds before the warning. */
    rebalanceLeadSeconds: positive.optional(),
  }),
  z.object({ type: z.literal('set-desired-capacity'), atSeconds: nonNegative, group: z.string(), desiredCapacity: nonNegative }),
  z.object({
    type: z.literal('terminate-instance'),
    atSeconds: nonNegative,
    group: z.string(),
    /** Which instance of the group, in launch order. */
    index: nonNegative,
    shouldDecrementDesiredCapacity: z.boolean().default(true),
  }),
  z.object({ type: z.literal('deploy'), atSeconds: nonNegative, cluster: z.string(), service: z.string() }),
  /** StartInstanceRefresh: every instance of the group replaced in batches (simulator/world/instance-refresh.ts). */
  z.object({
    type: z.literal('instance-refresh'),
    atSeconds: nonNegative,
    group: z.string(),
    minHealthyPercentage: z.number().int().min(0).max(100).default(90),
    maxHealthyPercentage: z.number().int().min(100).max(200).default(100),
    instanceWarmupSeconds: nonNegative.default(0),
  }),
  /** EC2 StopInstances, then StartInstances after `stoppedSeconds` (simulator/world/ec2-power.ts). */
  z.object({ type: z.literal('stop-start'), atSeconds: nonNegative, ec2InstanceId: EC2_ID, stoppedSeconds: positive }),
  /**
   * An AWS Health scheduled event for one instance (a group's, by index, or a named one), its
   * window `windowInMinutes` later, repeated every `repeatEveryMinutes` (simulator/world/health.ts).
   */
  z.object({
    type: z.literal('health-event'),
    atSeconds: nonNegative,
    eventTypeCode: z.enum(HEALTH_SCHEDULED_CODES),
    group: z.string().optional(),
    index: nonNegative.default(0),
    ec2InstanceId: EC2_ID.optional(),
    windowInMinutes: positive,
    repeatEveryMinutes: nonNegative.default(0),
  }),
  z.object({
    type: z.literal('invoke'),
    atSeconds: nonNegative,
    function: z.enum(['spotInterruption', 'lifecycleHook', 'scaleInSweeper']),
    /** The raw event; marked invalid so the report can check that it caused no write. */
    event: z.unknown(),
    invalid: z.boolean().default(true),
  }),
]);

const deliverySchema = z.object({
  duplicateRate: z.number().min(0).max(1).default(0),
  delayRate: z.number().min(0).max(1).default(0),
  delaySeconds: z.object({ min: nonNegative, max: nonNegative }).default({ min: 1, max: 30 }),
});

const faultSchema = z.object({
  seed: z.number().int().optional(),
  /** ECS token buckets at the documented rates, and an Auto Scaling bucket. */
  throttling: z.boolean().default(false),
  errorRate: z.number().min(0).max(1).default(0),
  throttleRate: z.number().min(0).max(1).default(0),
  latencyMs: z.object({ min: nonNegative, max: nonNegative }).default({ min: 0, max: 0 }),
  sns: z
    .object({
      duplicateRate: z.number().min(0).max(1).default(0),
      delayRate: z.number().min(0).max(1).default(0),
      delaySeconds: z.object({ min: nonNegative, max: nonNegative }).default({ min: 1, max: 30 }),
    })
    .default({ duplicateRate: 0, delayRate: 0, delaySeconds: { min: 1, max: 30 } }),
  /** ECS read-after-write lag: a container instance's new status or attributes show in reads after this long. */
  readLagMs: z.object({ min: nonNegative, max: nonNegative }).default({ min: 0, max: 0 }),
  /** Probability that an ECS list answer is shorter than asked (even empty) with a nextToken. */
  shortPageRate: z.number().min(0).max(1).default(0),
  /** EventBridge to the Spot drainer: duplicated and late deliveries (simulator/faults/delivery.ts). */
  eventBridge: deliverySchema.default({ duplicateRate: 0, delayRate: 0, delaySeconds: { min: 1, max: 30 } }),
  /** Auto Scaling writes refused with ScalingActivityInProgress / ResourceContention at these rates. */
  autoScaling: z
    .object({ activityInProgressRate: z.number().min(0).max(1).default(0), contentionRate: z.number().min(0).max(1).default(0) })
    .default({ activityInProgressRate: 0, contentionRate: 0 }),
  /** The share of container instances that register with 8–10 custom attributes of their own. */
  attributeSlotsFull: z.number().min(0).max(1).default(0),
});

export const scenarioSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().default(''),
    seed: z.number().int().default(1),
    durationMinutes: z.number().positive().max(48 * 60),
    world: z
      .object({
        drainingToDraining: z.enum(['succeed', 'failure']).default('succeed'),
        bootSeconds: nonNegative.default(60),
        shutdownSeconds: nonNegative.default(10),
      })
      .default({ drainingToDraining: 'succeed', bootSeconds: 60, shutdownSeconds: 10 }),
    clusters: z.array(z.object({ name: z.string().regex(/^[A-Za-z0-9_-]{1,255}$/) })).min(1),
    /** Extra SNS topics (an operators' topic for OPS_TOPIC_ARN): arn:aws:sns:us-east-1:123456789012:<name>. */
    topics: z.array(z.string().regex(/^[A-Za-z0-9_-]{1,256}$/)).default([]),
    groups: z.array(groupSchema).default([]),
    instances: z.array(instanceSchema).default([]),
    services: z.array(serviceSchema).default([]),
    standaloneTasks: z.array(standaloneSchema).default([]),
    diurnal: z.array(diurnalSchema).default([]),
    handlers: z
      .object({
        spotInterruption: handlerSchema.extend({ sqs: sqsDeliverySchema.optional() }).default({ enabled: true, env: {} }),
        lifecycleHook: handlerSchema
          // The EventBridge rule that sends ECS task STOPPED events of the scenario's clusters to the
          // drainer's queue (simulator/runner/sqs-mapping.ts), and that queue's mapping.
          .extend({ taskEvents: z.boolean().default(false), taskEventQueue: taskEventQueueSchema.default(TASK_EVENT_QUEUE) })
          .default({ enabled: true, env: {}, taskEvents: false, taskEventQueue: TASK_EVENT_QUEUE }),
        scaleInSweeper: handlerSchema
          .extend({ everyMinutes: positive.default(30), firstAtMinutes: nonNegative.default(5) })
          .default({ enabled: false, env: {}, everyMinutes: 30, firstAtMinutes: 5 }),
        /** Environment shared by every function (CLUSTERS defaults to every cluster of the scenario). */
        env: z.record(z.string(), z.string()).default({}),
      })
      .default({
        spotInterruption: { enabled: true, env: {} },
        lifecycleHook: { enabled: true, env: {}, taskEvents: false, taskEventQueue: TASK_EVENT_QUEUE },
        scaleInSweeper: { enabled: false, env: {}, everyMinutes: 30, firstAtMinutes: 5 },
        env: {},
      }),
    faults: faultSchema.default({
      throttling: false,
      errorRate: 0,
      throttleRate: 0,
      latencyMs: { min: 0, max: 0 },
      sns: { duplicateRate: 0, delayRate: 0, delaySeconds: { min: 1, max: 30 } },
      readLagMs: { min: 0, max: 0 },
      shortPageRate: 0,
      eventBridge: { duplicateRate: 0, delayRate: 0, delaySeconds: { min: 1, max: 30 } },
      autoScaling: { activityInProgressRate: 0, contentionRate: 0 },
      attributeSlotsFull: 0,
    }),
    events: z.array(eventSchema).default([]),
  })
  .superRefine((scenario, ctx) => {
    const clusters = new Set(scenario.clusters.map((cluster) => cluster.name));
    const groups = new Set(scenario.groups.map((group) => group.name));
    const services = new Set(scenario.services.map((service) => `${service.cluster}/${service.name}`));
    scenario.groups.forEach((group, index) => {
      if (!clusters.has(group.cluster)) ctx.addIssue({ code: 'custom', path: ['groups', index, 'cluster'], message: `unknown cluster ${group.cluster}` });
      if (!(group.minSize <= group.desiredCapacity && group.desiredCapacity <= group.maxSize)) {
        ctx.addIssue({ code: 'custom', path: ['groups', index], message: 'needs minSize <= desiredCapacity <= maxSize' });
      }
    });
    scenario.services.forEach((service, index) => {
      if (!clusters.has(service.cluster)) ctx.addIssue({ code: 'custom', path: ['services', index, 'cluster'], message: `unknown cluster ${service.cluster}` });
    });
    scenario.diurnal.forEach((load, index) => {
      if (!services.has(`${load.cluster}/${load.service}`)) ctx.addIssue({ code: 'custom', path: ['diurnal', index, 'service'], message: `unknown service ${load.service}` });
    });
    scenario.standaloneTasks.forEach((task, index) => {
      if (!groups.has(task.group)) ctx.addIssue({ code: 'custom', path: ['standaloneTasks', index, 'group'], message: `unknown group ${task.group}` });
    });
    scenario.events.forEach((event, index) => {
      if ('group' in event && event.group !== undefined && !groups.has(event.group)) {
        ctx.addIssue({ code: 'custom', path: ['events', index, 'group'], message: `unknown group ${event.group}` });
      }
      if (event.type === 'health-event' && (event.group === undefined) === (event.ec2InstanceId === undefined)) {
        ctx.addIssue({ code: 'custom', path: ['events', index], message: 'names either a group (and index) or an ec2InstanceId' });
      }
      if (event.type === 'instance-refresh' && event.maxHealthyPercentage - event.minHealthyPercentage > 100) {
        ctx.addIssue({ code: 'custom', path: ['events', index], message: 'maxHealthyPercentage may be at most 100 above minHealthyPercentage' });
      }
      if (event.type === 'deploy' && !services.has(`${event.cluster}/${event.service}`)) {
        ctx.addIssue({ code: 'custom', path: ['events', index, 'service'], message: `unknown service ${event.service}` });
      }
    });
  });

export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
export type ScenarioEvent = Scenario['events'][number];

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

export const SCENARIO_DIR = __dirname;
export const DEFAULT_SCENARIO = 'tour';

/** Validates a scenario object (from a file, a test or a benchmark). */
export function parseScenario(input: unknown, source = 'scenario'): Scenario {
  const result = scenarioSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new ScenarioError(`${source} is invalid: ${problems.join('; ')}`);
}

export function scenarioNames(): string[] {
  return readdirSync(SCENARIO_DIR)
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length))
    .sort();
}

/** Loads `simulator/scenarios/<name>.json`. */
export function loadScenario(name: string): Scenario {
  if (!/^[a-z0-9-]+$/.test(name) || !scenarioNames().includes(name)) {
    throw new ScenarioError(`unknown scenario "${name}"; available: ${scenarioNames().join(', ')}`);
  }
  const file = join(SCENARIO_DIR, `${name}.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ScenarioError(`${name}.json is not valid JSON: ${(error as Error).message}`);
  }
  return parseScenario(raw, `${name}.json`);
}
