import { AwsApiError } from '../api';
import type { Scheduler } from '../clock';
import {
  ACCOUNT,
  REGION,
  type BusEvent,
  type Cluster,
  type ContainerInstance,
  type Ec2Instance,
  type Group,
  type GroupInstance,
  type InServiceEntry,
  type InstanceRefresh,
  type KilledTask,
  type LifecycleAction,
  type SnsRecord,
  type StoredDatum,
  type Task,
  type Termination,
  type AzRebalanceRecord,
  type CapacityProvider,
  type DrainActor,
  type RefusedTermination,
  type TimelineEntry,
  type Topic,
} from './model';
import { Random } from './random';

/**
 * The state every service's rules share: the clock, the seeded random source, the resources of
 * ECS, Auto Scaling, EC2, SNS and CloudWatch, the records benchmarks and reports read, and the
 * observers (EventBridge bus, SNS subscribers, timeline). Rules live in one module per service
 * (ecs.ts, ec2.ts, autoscaling.ts, sns.ts, spot.ts); the API files in *-api.ts translate calls.
 */
export interface WorldTimings {
  /** PENDING → RUNNING for tasks without their own start time. */
  taskStartMs: number;
  /** DEACTIVATING → STOPPING (load balancer deregistration). */
  deactivatingMs: number;
  /** Group launch → EC2 running and container instance ACTIVE. */
  bootMs: number;
  /** Terminating:Proceed → EC2 terminated. */
  shutdownMs: number;
  /** Delay of a service-scheduler pass after a change. */
  schedulerDelayMs: number;
  /** Spot warning → reclaim (two minutes, aws-behaviour.md §1.1). */
  spotNoticeMs: number;
  /** INACTIVE container instances and STOPPED tasks stay describable this long (aws-behaviour.md §2, §3.1). */
  retentionMs: number;
  /** On a DRAINING instance, from the last non-daemon task STOPPED to the daemon tasks' stop signal (aws-behaviour.md §2). */
  daemonStopDelayMs: number;
}

export interface WorldOptions {
  seed: number;
  /**
   * What UpdateContainerInstancesState(DRAINING) does for an instance already DRAINING. AWS does
   * not document it (aws-behaviour.md §2, UNVERIFIED): 'succeed' returns the instance unchanged,
   * 'failure' reports it in failures[] with reason "DRAINING". Handlers must cope with both.
   */
  drainingToDraining: 'succeed' | 'failure';
  timings: Partial<WorldTimings>;
  /**
   * Read-after-write lag of ECS reads (a fault; off by default): each read of a container
   * instance's status and attributes reflects the writes up to a staleness drawn from the seed for
   * that read, uniform in [min, max] ms, so two readers at one instant may see different versions;
   * a task placed while the world runs is listed after a lag drawn the same way (aws-behaviour.md §3.1).
   */
  readLagMs: { min: number; max: number };
  /** The listing lag of new tasks alone, when it should differ from `readLagMs`. */
  taskListLagMs?: { min: number; max: number };
  /**
   * Probability (0–1) that an ECS list answer is shorter than asked, possibly empty, with a
   * nextToken (a fault; off by default; aws-behaviour.md §3.1).
   */
  shortPageRate: number;
  /** This share (0–1) of the container instances registers with 8–10 operator labels (custom attributes). */
  attributeSlotsFull?: { rate: number; seed: number };
}

export const DEFAULT_TIMINGS: WorldTimings = {
  taskStartMs: 5_000,
  deactivatingMs: 1_000,
  bootMs: 60_000,
  shutdownMs: 10_000,
  schedulerDelayMs: 1_000,
  spotNoticeMs: 120_000,
  retentionMs: 3_600_000,
  daemonStopDelayMs: 5_000,
};

export class WorldState {
  readonly timings: WorldTimings;
  readonly random: Random;
  readonly drainingToDraining: 'succeed' | 'failure';
  readonly readLagMs: { min: number; max: number };
  readonly taskListLagMs: { min: number; max: number };
  readonly shortPageRate: number;
  /** Draws for the read-lag and short-page faults only, so turning them on moves nothing else. */
  private readonly faultRandom: Random;
  private ordinals = 0;
  readonly attributeSlotsFull: WorldOptions['attributeSlotsFull'];

  readonly clusters = new Map<string, Cluster>();
  readonly ec2 = new Map<string, Ec2Instance>();
  readonly groups = new Map<string, Group>();
  readonly topics = new Map<string, Topic>();
  /** Lifecycle actions by token, active or not. */
  readonly lifecycleActions = new Map<string, LifecycleAction>();
  readonly metrics: StoredDatum[] = [];

  readonly timeline: TimelineEntry[] = [];
  readonly killedTasks: KilledTask[] = [];
  readonly terminations: Termination[] = [];
  /** Container instances set DRAINING, in order, and by whom. */
  readonly drains: { at: number; containerInstanceArn: string; ec2InstanceId: string; by: DrainActor }[] = [];
  /** Every request for DRAINING, also for an instance already DRAINING (which changes nothing). */
  readonly drainRequests: { at: number; ec2InstanceId: string; by: DrainActor }[] = [];
  /** ECS capacity providers by name (capacity-providers.ts). */
  readonly capacityProviders = new Map<string, CapacityProvider>();
  /** Instances ECS's managed instance draining took over at their termination (managed-draining.ts). */
  readonly managedDrains: { at: number; ec2InstanceId: string; groupName: string; alreadyDraining: boolean; completedAt?: number }[] = [];
  /** Instances an instance lifecycle policy kept in Terminating:Retained (retention.ts). */
  readonly retainedInstances: { at: number; ec2InstanceId: string; groupName: string; terminatedAt?: number }[] = [];
  /** AZRebalance activities of groups with zones (zones.ts). */
  readonly azRebalances: AzRebalanceRecord[] = [];
  /** TerminateInstanceInAutoScalingGroup requests refused with a ValidationError. */
  readonly refusedTerminations: RefusedTermination[] = [];
  /** Instances of groups entering InService after a launch, with what ECS knew of them then (autoscaling-launch.ts). */
  readonly inService: InServiceEntry[] = [];
  /** Instance refreshes, running or done (instance-refresh.ts). */
  readonly instanceRefreshes: InstanceRefresh[] = [];

  private readonly busListeners: ((event: BusEvent) => void)[] = [];
  readonly topicListeners = new Map<string, ((record: SnsRecord) => void)[]>();
  private readonly timelineListeners: ((entry: TimelineEntry) => void)[] = [];
  /** Tasks by container instance ARN (tasks never move). */
  readonly tasksByInstance = new Map<string, Task[]>();
  readonly containerInstanceByEc2 = new Map<string, ContainerInstance>();
  /** Why each terminating instance is going, for the termination record. */
  readonly pendingCause = new Map<string, Termination['cause']>();

  constructor(
    readonly clock: Scheduler,
    options: Partial<WorldOptions> = {},
  ) {
    this.timings = { ...DEFAULT_TIMINGS, ...(options.timings ?? {}) };
    this.random = new Random(options.seed ?? 1);
    this.drainingToDraining = options.drainingToDraining ?? 'succeed';
    this.attributeSlotsFull = options.attributeSlotsFull;
    this.readLagMs = options.readLagMs ?? { min: 0, max: 0 };
    this.taskListLagMs = options.taskListLagMs ?? this.readLagMs;
    this.shortPageRate = options.shortPageRate ?? 0;
    this.faultRandom = new Random((options.seed ?? 1) + 65_537);
  }

  /** The next creation ordinal: page tokens name the last item's ordinal, so items dropping out skip nothing. */
  nextOrdinal(): number {
    this.ordinals += 1;
    return this.ordinals;
  }

  // ---------------------------------------------------------------- read-after-write lag

  /** Call before changing a container instance's status or attributes: with lag on, reads may keep seeing the old version. */
  beforeInstanceWrite(instance: ContainerInstance): void {
    if (this.readLagMs.max <= 0 || instance.views) return;
    instance.views = [{ writtenAt: Number.NEGATIVE_INFINITY, status: instance.status, attributes: new Map(instance.attributes) }];
  }

  /** Call after the change: a read sees it once the read's own staleness no longer hides it. */
  afterInstanceWrite(instance: ContainerInstance): void {
    if (this.readLagMs.max <= 0 || !instance.views) return;
    const now = this.now();
    // Versions that even the stalest read can no longer see are dropped.
    instance.views = instance.views.slice(this.newestIndex(instance.views, now - this.readLagMs.max));
    instance.views.push({ writtenAt: now, status: instance.status, attributes: new Map(instance.attributes) });
  }

  /** With lag on, when a task placed now first shows in ListTasks; undefined without the fault. */
  listedFrom(): number | undefined {
    if (this.taskListLagMs.max <= 0) return undefined;
    return this.now() + this.faultRandom.int(this.taskListLagMs.min, this.taskListLagMs.max);
  }

  /**
   * What one ECS read sees of a container instance: the newest write older than this read's own
   * staleness, drawn per read (deregistration always shows).
   */
  visibleView(instance: ContainerInstance): { status: ContainerInstance['status']; attributes: ReadonlyMap<string, string> } {
    if (!instance.views || instance.status === 'INACTIVE') return instance;
    const staleness = this.faultRandom.int(this.readLagMs.min, this.readLagMs.max);
    return instance.views[this.newestIndex(instance.views, this.now() - staleness)]!;
  }

  private newestIndex(views: NonNullable<ContainerInstance['views']>, asOf: number): number {
    let index = 0;
    views.forEach((view, candidate) => {
      if (view.writtenAt <= asOf) index = candidate;
    });
    return index;
  }

  /** The number of items a list answer returns: `pageSize`, or fewer (even none) with the short-page fault. */
  pageLength(pageSize: number): number {
    if (this.shortPageRate <= 0 || !this.faultRandom.chance(this.shortPageRate)) return pageSize;
    return this.faultRandom.int(0, pageSize - 1);
  }

  now(): number {
    return this.clock.now();
  }

  // ---------------------------------------------------------------- observation

  onBusEvent(listener: (event: BusEvent) => void): void {
    this.busListeners.push(listener);
  }

  subscribe(topicArn: string, listener: (record: SnsRecord) => void): void {
    const listeners = this.topicListeners.get(topicArn) ?? [];
    listeners.push(listener);
    this.topicListeners.set(topicArn, listeners);
  }

  onTimeline(listener: (entry: TimelineEntry) => void): void {
    this.timelineListeners.push(listener);
  }

  record(kind: string, message: string, fields?: Record<string, unknown>): void {
    const entry: TimelineEntry = { at: this.now(), kind, message, ...(fields ? { fields } : {}) };
    this.timeline.push(entry);
    for (const listener of this.timelineListeners) listener(entry);
  }

  // ---------------------------------------------------------------- lookups

  cluster(nameOrArn: string | undefined): Cluster {
    const name = clusterNameOf(nameOrArn ?? 'default');
    const cluster = this.clusters.get(name);
    if (!cluster) throw new AwsApiError('ClusterNotFoundException', 'Cluster not found.', 400);
    return cluster;
  }

  containerInstanceOf(ec2InstanceId: string): ContainerInstance | undefined {
    return this.containerInstanceByEc2.get(ec2InstanceId);
  }

  /** A container instance by ARN or bare id, INACTIVE ones past their retention excluded. */
  findContainerInstance(cluster: Cluster, ref: string): ContainerInstance | undefined {
    const instance = cluster.instances.get(ref) ?? cluster.instances.get(containerInstanceArn(cluster.name, ref.split('/').pop() ?? ''));
    if (!instance) return undefined;
    if (instance.status === 'INACTIVE' && instance.inactiveAt !== undefined && this.now() - instance.inactiveAt > this.timings.retentionMs) {
      return undefined;
    }
    return instance;
  }

  findTask(cluster: Cluster, ref: string): Task | undefined {
    const task = cluster.tasks.get(ref) ?? cluster.tasks.get(taskArn(cluster.name, ref.split('/').pop() ?? ''));
    if (!task) return undefined;
    if (task.stoppedAt !== undefined && this.now() - task.stoppedAt > this.timings.retentionMs) return undefined;
    return task;
  }

  tasksOn(instance: ContainerInstance): Task[] {
    return this.tasksByInstance.get(instance.arn) ?? [];
  }

  /** Tasks on the instance that have not reached STOPPED. */
  unstoppedTasksOn(instance: ContainerInstance): Task[] {
    return this.tasksOn(instance).filter((task) => task.lastStatus !== 'STOPPED');
  }

  usage(instance: ContainerInstance): { cpu: number; memory: number; running: number; pending: number } {
    let cpu = 0;
    let memory = 0;
    let running = 0;
    let pending = 0;
    for (const task of this.tasksOn(instance)) {
      if (task.lastStatus === 'STOPPED') continue;
      cpu += task.cpu;
      memory += task.memory;
      // runningTasksCount counts tasks whose desiredStatus is RUNNING, PENDING ones included;
      // pendingTasksCount counts those in PENDING (aws-behaviour.md §2): a task already told to stop
      // no longer counts, even while its containers are still shutting down.
      if (task.desiredStatus === 'RUNNING') running += 1;
      if (task.desiredStatus === 'RUNNING' && task.lastStatus === 'PENDING') pending += 1;
    }
    return { cpu, memory, running, pending };
  }

  /** Registered minus used CPU units and MiB of the cluster's instances that count (ACTIVE and connected by default). */
  freeCapacity(cluster: Cluster, counts = (instance: ContainerInstance) => instance.status === 'ACTIVE' && instance.agentConnected): { cpu: number; memory: number } {
    const free = { cpu: 0, memory: 0 };
    for (const instance of [...cluster.instances.values()].filter(counts)) {
      const used = this.usage(instance);
      free.cpu += instance.registeredCpu - used.cpu;
      free.memory += instance.registeredMemory - used.memory;
    }
    return free;
  }

  groupOf(instanceId: string): { group: Group; instance: GroupInstance } | undefined {
    const ec2 = this.ec2.get(instanceId);
    const group = ec2?.groupName ? this.groups.get(ec2.groupName) : undefined;
    const instance = group?.instances.get(instanceId);
    return group && instance ? { group, instance } : undefined;
  }

  /** Emits an EventBridge event from aws.ec2 to the bus. */
  emit(detailType: string, instanceIds: string[], detail: Record<string, unknown>): BusEvent {
    return this.emitFrom('aws.ec2', detailType, instanceIds.map((id) => `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${id}`), detail);
  }

  /**
   * Emits an EventBridge event from any source (aws.ecs for task state changes) to the bus. `id`
   * given: the seeded random source is not drawn from, so adding events changes no other draw.
   */
  emitFrom(source: string, detailType: string, resources: string[], detail: Record<string, unknown>, id?: string): BusEvent {
    const event: BusEvent = {
      version: '0',
      id: id ?? this.random.uuid(),
      'detail-type': detailType,
      source,
      account: ACCOUNT,
      time: new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: REGION,
      resources,
      detail,
    };
    return this.publish(event);
  }

  /** Puts an event from any source on the bus (aws.ec2 events go through `emit`). */
  publish(event: BusEvent): BusEvent {
    for (const listener of this.busListeners) listener(event);
    return event;
  }


  // ---------------------------------------------------------------- CloudWatch

  storeMetric(datum: StoredDatum): void {
    this.metrics.push(datum);
  }

  /** Stored datums of one metric, optionally matching some dimensions, oldest first. */
  queryMetrics(namespace: string, metricName: string, dimensions: Record<string, string> = {}): StoredDatum[] {
    return this.metrics
      .filter((datum) => datum.namespace === namespace && datum.metricName === metricName)
      .filter((datum) => Object.entries(dimensions).every(([name, value]) => datum.dimensions[name] === value))
      .sort((a, b) => a.timestamp - b.timestamp);
  }
}

export function clusterNameOf(nameOrArn: string): string {
  const slash = nameOrArn.lastIndexOf('/');
  return nameOrArn.startsWith('arn:') && slash >= 0 ? nameOrArn.slice(slash + 1) : nameOrArn;
}

export function containerInstanceArn(cluster: string, id: string): string {
  return `arn:aws:ecs:${REGION}:${ACCOUNT}:container-instance/${cluster}/${id}`;
}

export function taskArn(cluster: string, id: string): string {
  return `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${cluster}/${id}`;
}
