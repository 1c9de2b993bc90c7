/**
 * The metric catalogue: every metric the three functions emit, with its unit, its exact dimension
 * names and the channel it travels on. `Telemetry.count` is typed from it (a wrong name or a wrong
 * set of dimensions does not compile), the stack's alarms and dashboard are built from it
 * (deploy/alarms.cjs), and the README's metric tables are generated from it (`npm run docs:metrics`).
 *
 * Two channels, on purpose:
 * - `emf`: events (a drain, a completion, a failure) are written as CloudWatch embedded metric format
 *   log lines. No API call on the path of a drain (the Spot drainer has two minutes), no permission,
 *   nothing to retry. https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 * - `put-metric-data`: the sweeper's capacity gauges, one datapoint per cluster and sweep, published
 *   with PutMetricData so that a failed publish is seen (the sweep fails, `SweepFailed` counts it, the
 *   event reaches the failed-events queue) instead of being lost with a log line; the simulator's
 *   world stores them, so tests and benchmarks read them back.
 *
 * Both channels write into METRICS_NAMESPACE (by default `EcsEc2Keeper/<stage>`, so two stages in one
 * account never share a series) and use the same dimension names. Powertools' default `service`
 * dimension is not emitted: the dimension sets below are all there is.
 */

export const FUNCTION_NAMES = ['spotInterruption', 'lifecycleHook', 'scaleInSweeper'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

export type MetricUnit = 'Count' | 'None';
export type MetricChannel = 'emf' | 'put-metric-data';

export interface MetricSpec {
  readonly unit: MetricUnit;
  /** The dimension names of every datapoint, exactly (no more, no fewer). */
  readonly dimensions: readonly string[];
  readonly channel: MetricChannel;
  readonly functions: readonly FunctionName[];
  /** When the metric is emitted; the README's "when" column. */
  readonly description: string;
  /**
   * The stack alarms on this metric's suite-wide series: the metric is then emitted a second time
   * with no dimension (one extra EMF dimension set on the same line), because an alarm names one
   * exact dimension set and per-cluster sets are not known when the stack is packaged.
   */
  readonly alarm?: { readonly threshold: number; readonly periodSeconds: number; readonly why: string };
}

const ALL = FUNCTION_NAMES;
const SPOT = ['spotInterruption'] as const;
const LIFECYCLE = ['lifecycleHook'] as const;
const SWEEPER = ['scaleInSweeper'] as const;
const DRAINERS = ['spotInterruption', 'lifecycleHook'] as const;

export const METRICS = {
  // Input, all functions
  InvalidEvent: {
    unit: 'Count',
    dimensions: ['function', 'reason'],
    channel: 'emf',
    functions: ALL,
    description: 'an event the function cannot read (logged as `invalid event`); acknowledged, never retried',
    alarm: { threshold: 5, periodSeconds: 300, why: 'a spike of unreadable events: a misrouted rule or a changed event shape' },
  },
  EventIgnored: {
    unit: 'Count',
    dimensions: ['kind', 'reason'],
    channel: 'emf',
    functions: DRAINERS,
    description: 'a well-formed event the function does not act on (its `kind` names the event)',
  },
  // Draining
  InstanceUndrained: {
    unit: 'Count',
    dimensions: ['kind', 'cluster'],
    channel: 'emf',
    functions: SPOT,
    description: 'a drain the Spot drainer started was undone: the instance runs again (`running`) or outlived the rebalance grace',
  },
  InstanceReplacementRequested: {
    unit: 'Count',
    dimensions: ['kind', 'cluster'],
    channel: 'emf',
    functions: SPOT,
    description: 'a scheduled EC2 event: the instance is terminated through its group without decrementing, so the group replaces it',
  },
  GraceCheckFailed: {
    unit: 'Count',
    dimensions: ['cluster'],
    channel: 'emf',
    functions: SPOT,
    description: 'the periodic check for rebalance drains past UNDRAIN_GRACE_MINUTES could not read a cluster',
  },
  EarlyReplacementRequested: {
    unit: 'Count',
    dimensions: ['group'],
    channel: 'emf',
    functions: SPOT,
    description: 'early Spot replacement: instances detached from their group without decrementing, so it launches replacements now',
  },
  EarlyReplacementSkipped: {
    unit: 'Count',
    dimensions: ['reason'],
    channel: 'emf',
    functions: SPOT,
    description: 'early Spot replacement was not asked for (not in a group, group not managed, detach refused, …)',
  },
  DrainRecordSkipped: {
    unit: 'Count',
    dimensions: ['cluster', 'reason'],
    channel: 'emf',
    functions: SPOT,
    description: 'the drain happened but its record attribute could not be written (attribute slots full)',
  },
  InstanceDrained: {
    unit: 'Count',
    dimensions: ['kind', 'cluster'],
    channel: 'emf',
    functions: DRAINERS,
    description: 'DRAINING was set (`kind` is the Spot event kind or `lifecycle-hook`)',
  },
  DrainSkipped: {
    unit: 'Count',
    dimensions: ['kind', 'cluster', 'reason'],
    channel: 'emf',
    functions: SPOT,
    description: 'a Spot event needed no drain (not a container instance, already draining, deregistered, dry run)',
  },
  DrainFailed: {
    unit: 'Count',
    dimensions: ['kind', 'errorClass'],
    channel: 'emf',
    functions: SPOT,
    description: 'a Spot drain failed and was handed to Lambda\'s retry',
    alarm: { threshold: 1, periodSeconds: 300, why: 'an interrupted instance may be reclaimed with its tasks still on it' },
  },
  ClusterNotFound: {
    unit: 'Count',
    dimensions: ['cluster'],
    channel: 'emf',
    functions: ALL,
    description: 'a configured cluster does not exist',
  },
  LookupMismatch: {
    unit: 'Count',
    dimensions: ['cluster'],
    channel: 'emf',
    functions: DRAINERS,
    description: 'ECS answered a container-instance lookup with an instance of another EC2 id',
  },
  // Lifecycle-hook drainer
  LifecycleCompleted: {
    unit: 'Count',
    dimensions: ['cluster', 'result', 'reason'],
    channel: 'emf',
    functions: LIFECYCLE,
    description: 'the lifecycle action was completed',
  },
  LifecycleDeadline: {
    unit: 'Count',
    dimensions: ['cluster', 'reason'],
    channel: 'emf',
    functions: LIFECYCLE,
    description: 'a drain was cut short (`reason` `deadline` or `hop-cap`)',
    alarm: { threshold: 1, periodSeconds: 300, why: 'an instance was terminated before its tasks had moved' },
  },
  LaunchCompleted: {
    unit: 'Count',
    dimensions: ['cluster', 'result', 'reason'],
    channel: 'emf',
    functions: LIFECYCLE,
    description: 'a launch lifecycle action was completed (`reason` `ready`, `deadline` or `hop-cap`)',
  },
  LaunchAbandoned: {
    unit: 'Count',
    dimensions: ['cluster', 'reason'],
    channel: 'emf',
    functions: LIFECYCLE,
    description: 'a launching instance never became ready for ECS and was abandoned (`reason` `deadline` or `hop-cap`); Auto Scaling replaces it',
    alarm: { threshold: 1, periodSeconds: 300, why: 'new instances do not join their cluster or run their daemons' },
  },
  LifecycleRequeued: {
    unit: 'Count',
    dimensions: ['cluster'],
    channel: 'emf',
    functions: LIFECYCLE,
    description: 'a requeue message was published',
  },
  TaskEvent: {
    unit: 'Count',
    dimensions: ['outcome', 'reason'],
    channel: 'emf',
    functions: LIFECYCLE,
    description: 'an ECS task STOPPED event handled by the lifecycle drainer (completed, ignored with the reason, dry-run, failed)',
  },
  LifecycleEnded: {
    unit: 'Count',
    dimensions: ['cluster', 'reason'],
    channel: 'emf',
    functions: LIFECYCLE,
    description: 'a chain ended without completing (`action-over`, `superseded`, …)',
  },
  LifecycleDryRun: {
    unit: 'Count',
    dimensions: ['cluster', 'step'],
    channel: 'emf',
    functions: LIFECYCLE,
    description: 'a dry run stopped before the step it names',
  },
  HeartbeatRecorded: {
    unit: 'Count',
    dimensions: ['cluster'],
    channel: 'emf',
    functions: LIFECYCLE,
    description: 'a lifecycle heartbeat was sent',
  },
  StandaloneTasksStopped: {
    unit: 'Count',
    dimensions: ['cluster'],
    channel: 'emf',
    functions: LIFECYCLE,
    description: '`StopTask` calls for standalone tasks (value: tasks)',
  },
  PollFailed: {
    unit: 'Count',
    dimensions: ['cluster', 'errorClass'],
    channel: 'emf',
    functions: LIFECYCLE,
    description: 'a poll of the drain failed (the round goes on)',
  },
  LifecycleFailed: {
    unit: 'Count',
    dimensions: ['cluster', 'errorClass'],
    channel: 'emf',
    functions: LIFECYCLE,
    description: 'a round gave up and threw (Lambda retries, then the failed-events queue)',
    alarm: { threshold: 1, periodSeconds: 300, why: 'a drain is stuck on an error a retry may not fix' },
  },
  LeaseUnavailable: {
    unit: 'Count',
    dimensions: ['cluster'],
    channel: 'emf',
    functions: LIFECYCLE,
    description: 'the lease attribute could not be written (the drain goes on without it)',
  },
  OpsNoticeFailed: {
    unit: 'Count',
    dimensions: ['cluster'],
    channel: 'emf',
    functions: ['lifecycleHook', 'scaleInSweeper'],
    description: 'a notification to OPS_TOPIC_ARN could not be published',
  },
  InstanceRetained: {
    unit: 'Count',
    dimensions: ['cluster'],
    channel: 'emf',
    functions: LIFECYCLE,
    description: 'a drain ended with the instance kept in `Terminating:Retained` by its group\'s instance lifecycle policy: running, DRAINING, until an operator terminates it',
  },
  CapacityProviderReadFailed: {
    unit: 'Count',
    dimensions: ['function', 'errorClass'],
    channel: 'emf',
    functions: ['lifecycleHook', 'scaleInSweeper'],
    description: 'a cluster\'s capacity providers could not be read: the drainer drains as without managed draining, the sweeper falls back to the `AmazonECSManaged` tag',
  },
  // Scale-in sweeper, events
  SweepFailed: {
    unit: 'Count',
    dimensions: ['cluster', 'errorClass'],
    channel: 'emf',
    functions: SWEEPER,
    description: 'a cluster\'s sweep failed (`cluster` `all`: listing clusters or publishing the gauges)',
    alarm: { threshold: 1, periodSeconds: 300, why: 'the sweeper could not read or act on a cluster' },
  },
  TerminationRefused: {
    unit: 'Count',
    dimensions: ['cluster'],
    channel: 'emf',
    functions: SWEEPER,
    description: 'Auto Scaling refused a termination (the instance stays DRAINING until the next run)',
  },
  TerminationDeferred: {
    unit: 'Count',
    dimensions: ['cluster'],
    channel: 'emf',
    functions: SWEEPER,
    description: 'Auto Scaling answered that the group is busy (scaling activity in progress, resource contention); a later run terminates the instance',
  },
  AttributesFull: {
    unit: 'Count',
    dimensions: ['cluster'],
    channel: 'emf',
    functions: SWEEPER,
    description: 'instances skipped because their 10 custom attribute slots are taken',
  },
  IdleSinceNotRecorded: {
    unit: 'Count',
    dimensions: ['cluster'],
    channel: 'emf',
    functions: SWEEPER,
    description: 'the idle-since attributes could not be written',
  },
  // Scale-in sweeper, capacity gauges
  FreeCpu: {
    unit: 'None',
    dimensions: ['cluster'],
    channel: 'put-metric-data',
    functions: SWEEPER,
    description: 'remaining CPU units of ACTIVE, connected instances, before this run\'s removals',
  },
  FreeMemory: {
    unit: 'None',
    dimensions: ['cluster'],
    channel: 'put-metric-data',
    functions: SWEEPER,
    description: 'remaining MiB of ACTIVE, connected instances, before this run\'s removals',
  },
  IdleInstances: {
    unit: 'Count',
    dimensions: ['cluster'],
    channel: 'put-metric-data',
    functions: SWEEPER,
    description: 'ACTIVE, connected instances running nothing but daemon tasks',
  },
  InstancesRemoved: {
    unit: 'Count',
    dimensions: ['cluster'],
    channel: 'put-metric-data',
    functions: SWEEPER,
    description: '`TerminateInstanceInAutoScalingGroup` calls accepted in this run (0 in a dry run)',
  },
  SchedulableTasks: {
    unit: 'Count',
    dimensions: ['cluster'],
    channel: 'put-metric-data',
    functions: SWEEPER,
    description: 'how many reference tasks (`SCHEDULABLE_TASK_CPU`/`SCHEDULABLE_TASK_MEMORY`) still fit, instance by instance',
  },
} as const satisfies Record<string, MetricSpec>;

export type MetricName = keyof typeof METRICS;
type Catalogue = typeof METRICS;
export type EventMetricName = { [N in MetricName]: Catalogue[N]['channel'] extends 'emf' ? N : never }[MetricName];
export type GaugeMetricName = Exclude<MetricName, EventMetricName>;

/** Exactly the metric's dimensions, each a string: what a call must pass. */
export type DimensionsOf<N extends MetricName> = { readonly [D in Catalogue[N]['dimensions'][number]]: string };

export function specOf(name: string): MetricSpec | undefined {
  return Object.hasOwn(METRICS, name) ? (METRICS as Record<string, MetricSpec>)[name] : undefined;
}

/**
 * The dimension sets a metric's datapoints are published under: its own, plus the empty set for an
 * alarmed metric (the suite-wide series its alarm watches).
 */
export function dimensionSets(name: MetricName): string[][] {
  const spec: MetricSpec = METRICS[name];
  return spec.alarm ? [[...spec.dimensions], []] : [[...spec.dimensions]];
}

/**
 * Checks a datapoint's dimensions against the catalogue; the in-memory telemetry runs it on every
 * count, so every test and simulation holds the code to the catalogue at run time too.
 */
export function checkDimensions(name: string, dimensions: Readonly<Record<string, string>>): void {
  const spec = specOf(name);
  if (!spec) throw new Error(`metric ${name} is not in the catalogue (lib/metrics.ts)`);
  const given = Object.keys(dimensions).sort();
  const expected = [...spec.dimensions].sort();
  if (given.join(',') !== expected.join(',')) {
    throw new Error(`metric ${name} takes dimensions ${expected.join(', ')}; given ${given.join(', ') || 'none'}`);
  }
  for (const [key, value] of Object.entries(dimensions)) {
    // CloudWatch drops a dimension with an empty value, which would make a different series.
    if (value === '') throw new Error(`metric ${name}: dimension ${key} is empty`);
  }
}
