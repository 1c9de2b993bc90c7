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
  type KilledTask,
  type LifecycleAction,
  type SnsRecord,
  type StoredDatum,
  type Task,
  type Termination,
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
}

export const DEFAULT_TIMINGS: WorldTimings = {
  taskStartMs: 5_000,
  deactivatingMs: 1_000,
  bootMs: 60_000,
  shutdownMs: 10_000,
  schedulerDelayMs: 1_000,
  spotNoticeMs: 120_000,
  retentionMs: 3_600_000,
};

export class WorldState {
  readonly timings: WorldTimings;
  readonly random: Random;
  readonly drainingToDraining: 'succeed' | 'failure';

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
  /** Container instances set DRAINING (by anyone), in order. */
  readonly drains: { at: number; containerInstanceArn: string; ec2InstanceId: string }[] = [];

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
      // runningTasksCount counts tasks whose desiredStatus is RUNNING (aws-behaviour.md §2): a task
      // already told to stop no longer counts, even while its containers are still shutting down.
      if (task.desiredStatus === 'RUNNING' && task.lastStatus === 'PENDING') pending += 1;
      else if (task.desiredStatus === 'RUNNING') running += 1;
    }
    return { cpu, memory, running, pending };
  }

  groupOf(instanceId: string): { group: Group; instance: GroupInstance } | undefined {
    const ec2 = this.ec2.get(instanceId);
    const group = ec2?.groupName ? this.groups.get(ec2.groupName) : undefined;
    const instance = group?.instances.get(instanceId);
    return group && instance ? { group, instance } : undefined;
  }

  /** Emits an EventBridge event from aws.ec2 to the bus. */
  emit(detailType: string, instanceIds: string[], detail: Record<string, unknown>): BusEvent {
    const event: BusEvent = {
      version: '0',
      id: this.random.uuid(),
      'detail-type': detailType,
      source: 'aws.ec2',
      account: ACCOUNT,
      time: new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: REGION,
      resources: instanceIds.map((id) => `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${id}`),
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
