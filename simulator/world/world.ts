import { AwsApiError, type ApiInput, type ApiOutput, type ControlPlane, type ServiceName } from '../api';
import type { Scheduler } from '../clock';
import { autoScalingOperations } from './autoscaling-api';
import { ecsOperations } from './ecs-api';
import {
  ACCOUNT,
  AZS,
  REGION,
  type BusEvent,
  type Cluster,
  type ContainerInstance,
  type Ec2Instance,
  type Group,
  type GroupInstance,
  type KilledTask,
  type LifecycleAction,
  type LifecycleHook,
  type Service,
  type SnsRecord,
  type StoredDatum,
  type Task,
  type Termination,
  type TimelineEntry,
  type Topic,
} from './model';
import { Random } from './random';
import { otherOperations } from './services-api';

/**
 * The simulated control plane: ECS, Auto Scaling, EC2, SNS and CloudWatch state, and the rules by
 * which it changes over time (service scheduler, task lifecycle, group capacity, lifecycle hooks,
 * Spot interruptions). Deterministic for a given seed and scheduler.
 *
 * It implements `ControlPlane`: the HTTP server (or an in-process adapter) turns SDK requests into
 * `call(service, operation, input)`.
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

export type Operation = (world: World, input: ApiInput) => ApiOutput;

export interface ClusterSpec {
  name: string;
}
export interface InstanceSpec {
  cluster: string;
  cpu: number;
  memory: number;
  instanceType?: string;
  spot?: boolean;
  groupName?: string;
  /** Seconds since registration (an old instance looks idle for longer). */
  ageSeconds?: number;
  attributes?: Record<string, string>;
  id?: string;
}
export interface ServiceSpec {
  cluster: string;
  name: string;
  strategy?: 'REPLICA' | 'DAEMON';
  desiredCount?: number;
  minimumHealthyPercent?: number;
  maximumPercent?: number;
  cpu: number;
  memory: number;
  stopSeconds?: number;
  startSeconds?: number;
}
export interface GroupSpec {
  name: string;
  cluster: string;
  minSize: number;
  maxSize: number;
  desiredCapacity: number;
  instanceCpu: number;
  instanceMemory: number;
  instanceType?: string;
  spot?: boolean;
  ageSeconds?: number;
  tags?: Record<string, string>;
  /** Fixed ids for the first instances; the rest get seeded random ids. */
  instanceIds?: string[];
}
export interface HookSpec {
  groupName: string;
  name: string;
  heartbeatTimeout?: number;
  defaultResult?: 'CONTINUE' | 'ABANDON';
  topicArn?: string;
  metadata?: string;
}
export interface StandaloneTaskSpec {
  cluster: string;
  ec2InstanceId: string;
  family: string;
  cpu: number;
  memory: number;
  stopSeconds?: number;
  /** The task ends by itself after this long; unset: it runs until stopped. */
  runSeconds?: number;
}

const OPERATIONS: Record<ServiceName, Record<string, Operation>> = {
  ecs: ecsOperations,
  autoscaling: autoScalingOperations,
  sns: otherOperations.sns,
  ec2: otherOperations.ec2,
  cloudwatch: otherOperations.cloudwatch,
};

export class World implements ControlPlane {
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
  /** Calls that reached the world, by `service:Operation`, answered or refused. */
  readonly calls = new Map<string, number>();
  /** Container instances set DRAINING (by anyone), in order. */
  readonly drains: { at: number; containerInstanceArn: string; ec2InstanceId: string }[] = [];

  private readonly busListeners: ((event: BusEvent) => void)[] = [];
  private readonly topicListeners = new Map<string, ((record: SnsRecord) => void)[]>();
  private readonly timelineListeners: ((entry: TimelineEntry) => void)[] = [];
  /** Tasks by container instance ARN (tasks never move). */
  private readonly tasksByInstance = new Map<string, Task[]>();
  private readonly pendingPasses = new Set<string>();
  private readonly pendingGroupPasses = new Set<string>();
  private readonly containerInstanceByEc2 = new Map<string, ContainerInstance>();
  /** Why each terminating instance is going, for the termination record. */
  private readonly pendingCause = new Map<string, Termination['cause']>();

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

  // ---------------------------------------------------------------- ControlPlane

  async call(service: ServiceName, operation: string, input: ApiInput): Promise<ApiOutput> {
    return this.callSync(service, operation, input);
  }

  /** The same as `call`, synchronously: for benchmarks and the in-process adapter. */
  callSync(service: ServiceName, operation: string, input: ApiInput): ApiOutput {
    const key = `${service}:${operation}`;
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
    const handler = OPERATIONS[service]?.[operation];
    if (!handler) {
      throw service === 'ecs'
        ? new AwsApiError('UnknownOperationException', `Unknown operation ${operation}`, 400)
        : new AwsApiError('InvalidAction', `The action ${operation} is not valid for this web service.`, 400);
    }
    return handler(this, input ?? {});
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

  // ---------------------------------------------------------------- building a world

  createCluster(spec: ClusterSpec): Cluster {
    const cluster: Cluster = {
      name: spec.name,
      arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${spec.name}`,
      instances: new Map(),
      services: new Map(),
      tasks: new Map(),
    };
    this.clusters.set(spec.name, cluster);
    return cluster;
  }

  /** Launches an EC2 instance and registers it with its cluster at once (ACTIVE). */
  addInstance(spec: InstanceSpec): ContainerInstance {
    const cluster = this.cluster(spec.cluster);
    const id = spec.id ?? `i-${this.random.hex(17)}`;
    const launchedAt = this.now() - (spec.ageSeconds ?? 0) * 1000;
    this.ec2.set(id, {
      id,
      state: 'running',
      instanceType: spec.instanceType ?? 'm5.large',
      spot: spec.spot ?? false,
      az: AZS[this.ec2.size % AZS.length]!,
      launchedAt,
      cluster: cluster.name,
      ...(spec.groupName ? { groupName: spec.groupName } : {}),
      cpu: spec.cpu,
      memory: spec.memory,
    });
    return this.register(id, launchedAt, spec.attributes);
  }

  private register(ec2InstanceId: string, registeredAt: number, attributes: Record<string, string> = {}): ContainerInstance {
    const ec2 = this.ec2.get(ec2InstanceId)!;
    const cluster = this.cluster(ec2.cluster);
    const instance: ContainerInstance = {
      arn: containerInstanceArn(cluster.name, this.random.hex(32)),
      cluster: cluster.name,
      ec2InstanceId,
      status: 'ACTIVE',
      agentConnected: true,
      registeredAt,
      registeredCpu: ec2.cpu,
      registeredMemory: ec2.memory,
      attributes: new Map(Object.entries({ 'ecs.instance-type': ec2.instanceType, 'ecs.availability-zone': ec2.az, ...attributes })),
      version: 1,
    };
    cluster.instances.set(instance.arn, instance);
    this.containerInstanceByEc2.set(ec2InstanceId, instance);
    this.record('instance', 'container instance registered', { ec2InstanceId, cluster: cluster.name });
    this.requestSchedulerPass(cluster.name);
    return instance;
  }

  createService(spec: ServiceSpec): Service {
    const cluster = this.cluster(spec.cluster);
    const strategy = spec.strategy ?? 'REPLICA';
    const service: Service = {
      name: spec.name,
      arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${cluster.name}/${spec.name}`,
      cluster: cluster.name,
      strategy,
      desiredCount: strategy === 'DAEMON' ? 0 : (spec.desiredCount ?? 1),
      // Daemon services: maximumPercent 100 and minimumHealthyPercent 0 (aws-behaviour.md §2).
      minimumHealthyPercent: strategy === 'DAEMON' ? 0 : (spec.minimumHealthyPercent ?? 100),
      maximumPercent: strategy === 'DAEMON' ? 100 : (spec.maximumPercent ?? 200),
      cpu: spec.cpu,
      memory: spec.memory,
      family: spec.name,
      revision: 1,
      stopTimeMs: (spec.stopSeconds ?? 30) * 1000,
      startTimeMs: (spec.startSeconds ?? this.timings.taskStartMs / 1000) * 1000,
      deploymentId: this.random.int(1e15, 9e15).toString(),
      createdAt: this.now(),
    };
    cluster.services.set(service.name, service);
    this.requestSchedulerPass(cluster.name);
    return service;
  }

  /** Creates a group and its initial instances, InService and registered at once. */
  createGroup(spec: GroupSpec): Group {
    const group: Group = {
      name: spec.name,
      arn: `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:${this.random.uuid()}:autoScalingGroupName/${spec.name}`,
      cluster: spec.cluster,
      minSize: spec.minSize,
      maxSize: spec.maxSize,
      desiredCapacity: spec.desiredCapacity,
      instanceType: spec.instanceType ?? 'm5.large',
      instanceCpu: spec.instanceCpu,
      instanceMemory: spec.instanceMemory,
      spot: spec.spot ?? false,
      instances: new Map(),
      hooks: new Map(),
      createdAt: this.now(),
      tags: Object.entries(spec.tags ?? {}).map(([key, value]) => ({ key, value })),
    };
    this.groups.set(group.name, group);
    for (let index = 0; index < spec.desiredCapacity; index += 1) {
      const instance = this.addInstance({
        cluster: spec.cluster,
        cpu: spec.instanceCpu,
        memory: spec.instanceMemory,
        instanceType: group.instanceType,
        spot: group.spot,
        groupName: group.name,
        ...(spec.ageSeconds !== undefined ? { ageSeconds: spec.ageSeconds } : {}),
        ...(spec.instanceIds?.[index] ? { id: spec.instanceIds[index] } : {}),
      });
      group.instances.set(instance.ec2InstanceId, {
        id: instance.ec2InstanceId,
        lifecycleState: 'InService',
        healthStatus: 'Healthy',
        protectedFromScaleIn: false,
        launchedAt: this.ec2.get(instance.ec2InstanceId)!.launchedAt,
      });
    }
    return group;
  }

  createTopic(name: string): Topic {
    const topic = { arn: `arn:aws:sns:${REGION}:${ACCOUNT}:${name}`, name };
    this.topics.set(topic.arn, topic);
    return topic;
  }

  /**
   * Adds a termination lifecycle hook. Like PutLifecycleHook, it sends the
   * autoscaling:TEST_NOTIFICATION of aws-behaviour.md §1.5 to the hook's topic.
   */
  putLifecycleHook(spec: HookSpec): LifecycleHook {
    const group = this.groups.get(spec.groupName);
    if (!group) throw new AwsApiError('ValidationError', `Group ${spec.groupName} not found`, 400);
    const hook: LifecycleHook = {
      name: spec.name,
      groupName: group.name,
      transition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      heartbeatTimeout: spec.heartbeatTimeout ?? 3600,
      defaultResult: spec.defaultResult ?? 'ABANDON',
      ...(spec.topicArn ? { topicArn: spec.topicArn, roleArn: `arn:aws:iam::${ACCOUNT}:role/autoscaling-notification` } : {}),
      ...(spec.metadata !== undefined ? { metadata: spec.metadata } : {}),
    };
    group.hooks.set(hook.name, hook);
    if (hook.topicArn) {
      this.publish(
        hook.topicArn,
        JSON.stringify({
          AutoScalingGroupName: group.name,
          Service: 'AWS Auto Scaling',
          Time: new Date(this.now()).toISOString(),
          AccountId: ACCOUNT,
          Event: 'autoscaling:TEST_NOTIFICATION',
          RequestId: this.random.uuid(),
          AutoScalingGroupARN: group.arn,
        }),
        `Auto Scaling: test notification for group "${group.name}"`,
      );
    }
    return hook;
  }

  /** Starts a standalone task (RunTask), RUNNING at once. */
  runTask(spec: StandaloneTaskSpec): Task {
    const cluster = this.cluster(spec.cluster);
    const instance = this.containerInstanceOf(spec.ec2InstanceId);
    if (!instance) throw new Error(`no container instance for ${spec.ec2InstanceId}`);
    const task = this.placeTask(cluster, instance, {
      family: spec.family,
      revision: 1,
      group: `family:${spec.family}`,
      cpu: spec.cpu,
      memory: spec.memory,
      stopTimeMs: (spec.stopSeconds ?? 30) * 1000,
      startTimeMs: 0,
      daemon: false,
      immediate: true,
    });
    if (spec.runSeconds !== undefined) {
      this.clock.schedule(this.now() + spec.runSeconds * 1000, () => {
        if (task.lastStatus === 'STOPPED') return;
        task.desiredStatus = 'STOPPED';
        task.stoppingAt = this.now();
        task.stoppedReason = 'Essential container in task exited';
        this.finishStop(task, 'EssentialContainerExited');
      });
    }
    return task;
  }

  // ---------------------------------------------------------------- events over time

  /** The EC2 Spot interruption: the warning now, the reclaim two minutes later (aws-behaviour.md §1.1). */
  interruptSpot(ec2InstanceId: string, options: { rebalanceFirstMs?: number; action?: 'terminate' | 'stop' | 'hibernate' } = {}): void {
    const ec2 = this.ec2.get(ec2InstanceId);
    if (!ec2 || ec2.state !== 'running') return;
    if (options.rebalanceFirstMs !== undefined) {
      this.emit('EC2 Instance Rebalance Recommendation', [ec2InstanceId], { 'instance-id': ec2InstanceId });
    }
    const warn = () => {
      if (ec2.state !== 'running') return;
      this.record('spot', 'spot interruption warning', { ec2InstanceId });
      this.emit('EC2 Spot Instance Interruption Warning', [ec2InstanceId], {
        'instance-id': ec2InstanceId,
        'instance-action': options.action ?? 'terminate',
      });
      // A lifecycle hook does not hold a Spot instance (aws-behaviour.md §3.2).
      this.clock.schedule(this.now() + this.timings.spotNoticeMs, () => this.reclaimSpot(ec2InstanceId));
    };
    if (options.rebalanceFirstMs) this.clock.schedule(this.now() + options.rebalanceFirstMs, warn);
    else warn();
  }

  private reclaimSpot(ec2InstanceId: string): void {
    const ec2 = this.ec2.get(ec2InstanceId);
    if (!ec2 || ec2.state === 'terminated' || ec2.state === 'shutting-down') return;
    this.record('spot', 'spot instance reclaimed', { ec2InstanceId });
    const membership = this.groupOf(ec2InstanceId);
    this.shutDown(ec2InstanceId, 'spot-interruption');
    if (membership && membership.instance.lifecycleState === 'InService') {
      // The group notices the lost instance, runs its termination hooks on an instance that is
      // already gone, and launches a replacement (aws-behaviour.md §3.2).
      membership.instance.healthStatus = 'Unhealthy';
      this.beginTermination(membership.group, membership.instance, 'spot-interruption');
    }
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
    for (const listener of this.busListeners) listener(event);
    return event;
  }

  /** Publishes to a topic and hands the Lambda record to every subscriber. */
  publish(topicArn: string, message: string, subject?: string, attributes: Record<string, { Type: string; Value: string }> = {}): string {
    const topic = this.topics.get(topicArn);
    if (!topic) throw new AwsApiError('NotFound', 'Topic does not exist', 404);
    const messageId = this.random.uuid();
    const subscription = `${topic.arn}:${this.random.uuid()}`;
    const record: SnsRecord = {
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      EventSubscriptionArn: subscription,
      Sns: {
        Type: 'Notification',
        MessageId: messageId,
        TopicArn: topic.arn,
        Subject: subject ?? null,
        Message: message,
        Timestamp: new Date(this.now()).toISOString(),
        SignatureVersion: '1',
        Signature: 'c2ltdWxhdGVk',
        SigningCertUrl: `https://sns.${REGION}.amazonaws.com/SimpleNotificationService-0000000000000000000000000000000.pem`,
        UnsubscribeUrl: `https://sns.${REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${subscription}`,
        MessageAttributes: attributes,
      },
    };
    this.record('sns', 'message published', { topic: topic.name, messageId });
    for (const listener of this.topicListeners.get(topic.arn) ?? []) listener(record);
    return messageId;
  }

  setDesiredCapacity(groupName: string, desired: number): void {
    const group = this.groups.get(groupName);
    if (!group) throw new AwsApiError('ValidationError', `AutoScalingGroup name not found - AutoScalingGroup ${groupName} not found`, 400);
    if (desired > group.maxSize) {
      throw new AwsApiError('ValidationError', `New SetDesiredCapacity value ${desired} is above max value ${group.maxSize} for the AutoScalingGroup.`, 400);
    }
    if (desired < group.minSize) {
      throw new AwsApiError('ValidationError', `New SetDesiredCapacity value ${desired} is below min value ${group.minSize} for the AutoScalingGroup.`, 400);
    }
    this.record('group', 'desired capacity set', { group: group.name, from: group.desiredCapacity, to: desired });
    group.desiredCapacity = desired;
    this.requestGroupPass(group.name);
  }

  /** A new task definition revision: tasks of older revisions are replaced within min/max percent. */
  deployService(clusterName: string, serviceName: string): void {
    const cluster = this.cluster(clusterName);
    const service = cluster.services.get(serviceName);
    if (!service) throw new Error(`unknown service ${serviceName}`);
    service.revision += 1;
    service.deploymentId = this.random.int(1e15, 9e15).toString();
    this.record('service', 'deployment started', { cluster: cluster.name, service: service.name, revision: service.revision });
    this.requestSchedulerPass(cluster.name);
  }

  // ---------------------------------------------------------------- container instance state

  setContainerInstanceStatus(instance: ContainerInstance, status: 'ACTIVE' | 'DRAINING'): void {
    if (instance.status === status) return;
    instance.status = status;
    instance.version += 1;
    if (status === 'DRAINING') {
      this.drains.push({ at: this.now(), containerInstanceArn: instance.arn, ec2InstanceId: instance.ec2InstanceId });
      this.record('drain', 'container instance DRAINING', { ec2InstanceId: instance.ec2InstanceId, cluster: instance.cluster });
    } else {
      this.record('drain', 'container instance ACTIVE again', { ec2InstanceId: instance.ec2InstanceId, cluster: instance.cluster });
    }
    this.requestSchedulerPass(instance.cluster);
  }

  // ---------------------------------------------------------------- tasks

  private placeTask(
    cluster: Cluster,
    instance: ContainerInstance,
    spec: {
      family: string;
      revision: number;
      group: string;
      startedBy?: string;
      serviceName?: string;
      cpu: number;
      memory: number;
      stopTimeMs: number;
      startTimeMs: number;
      daemon: boolean;
      immediate?: boolean;
    },
  ): Task {
    const now = this.now();
    const task: Task = {
      arn: taskArn(cluster.name, this.random.hex(32)),
      cluster: cluster.name,
      containerInstanceArn: instance.arn,
      ec2InstanceId: instance.ec2InstanceId,
      group: spec.group,
      ...(spec.startedBy ? { startedBy: spec.startedBy } : {}),
      ...(spec.serviceName ? { serviceName: spec.serviceName } : {}),
      daemon: spec.daemon,
      family: spec.family,
      revision: spec.revision,
      cpu: spec.cpu,
      memory: spec.memory,
      lastStatus: spec.immediate ? 'RUNNING' : 'PENDING',
      desiredStatus: 'RUNNING',
      createdAt: now,
      ...(spec.immediate ? { startedAt: now } : {}),
      stopTimeMs: spec.stopTimeMs,
      startTimeMs: spec.startTimeMs,
      version: 1,
    };
    cluster.tasks.set(task.arn, task);
    const onInstance = this.tasksByInstance.get(instance.arn);
    if (onInstance) onInstance.push(task);
    else this.tasksByInstance.set(instance.arn, [task]);
    if (!spec.immediate) {
      this.clock.schedule(now + spec.startTimeMs, () => {
        if (task.lastStatus !== 'PENDING' || task.desiredStatus !== 'RUNNING') return;
        task.lastStatus = 'RUNNING';
        task.startedAt = this.now();
        task.version += 1;
        this.record('task', 'task RUNNING', { group: task.group, ec2InstanceId: task.ec2InstanceId });
        this.requestSchedulerPass(cluster.name);
      });
    }
    return task;
  }

  /** The stop signal: DEACTIVATING, STOPPING, then STOPPED after the task's stop time. */
  stopTask(task: Task, reason: string): void {
    if (task.desiredStatus === 'STOPPED' || task.lastStatus === 'STOPPED') return;
    const now = this.now();
    task.desiredStatus = 'STOPPED';
    task.stoppingAt = now;
    task.stoppedReason = reason;
    task.version += 1;
    if (task.lastStatus === 'PENDING') {
      this.finishStop(task, 'TaskFailedToStart');
      return;
    }
    task.lastStatus = 'DEACTIVATING';
    const deactivating = Math.min(this.timings.deactivatingMs, task.stopTimeMs);
    this.clock.schedule(now + deactivating, () => {
      if (task.lastStatus === 'DEACTIVATING') task.lastStatus = 'STOPPING';
    });
    this.clock.schedule(now + task.stopTimeMs, () => {
      if (task.lastStatus !== 'STOPPED') this.finishStop(task, task.serviceName ? 'ServiceSchedulerInitiated' : 'UserInitiated');
    });
  }

  private finishStop(task: Task, stopCode: string): void {
    task.lastStatus = 'STOPPED';
    task.desiredStatus = 'STOPPED';
    task.stoppedAt = this.now();
    task.stopCode = stopCode;
    task.version += 1;
    this.record('task', 'task STOPPED', { group: task.group, ec2InstanceId: task.ec2InstanceId, stopCode });
    this.requestSchedulerPass(task.cluster);
  }

  // ---------------------------------------------------------------- the service scheduler

  requestSchedulerPass(clusterName: string): void {
    if (this.pendingPasses.has(clusterName)) return;
    this.pendingPasses.add(clusterName);
    this.clock.schedule(this.now() + this.timings.schedulerDelayMs, () => {
      this.pendingPasses.delete(clusterName);
      const cluster = this.clusters.get(clusterName);
      if (cluster) this.runScheduler(cluster);
    });
  }

  /** Runs the scheduler at once with tasks starting RUNNING: the initial state of a scenario. */
  placeInitialTasks(): void {
    for (const cluster of this.clusters.values()) this.runScheduler(cluster, true);
  }

  private runScheduler(cluster: Cluster, immediate = false): void {
    const services = [...cluster.services.values()];
    // Daemon tasks are the first to launch on an instance (aws-behaviour.md §2).
    for (const service of services) if (service.strategy === 'DAEMON') this.scheduleDaemon(cluster, service, immediate);
    for (const service of services) if (service.strategy === 'REPLICA') this.scheduleReplica(cluster, service, immediate);
    for (const service of services) if (service.strategy === 'DAEMON') this.stopDaemonsLast(cluster, service);
  }

  private serviceTasks(cluster: Cluster, service: Service): Task[] {
    return [...cluster.tasks.values()].filter((task) => task.serviceName === service.name && task.desiredStatus === 'RUNNING');
  }

  private placeServiceTask(cluster: Cluster, service: Service, instance: ContainerInstance, immediate: boolean): Task {
    return this.placeTask(cluster, instance, {
      family: service.family,
      revision: service.revision,
      group: `service:${service.name}`,
      startedBy: `ecs-svc/${service.deploymentId}`,
      serviceName: service.name,
      cpu: service.cpu,
      memory: service.memory,
      stopTimeMs: service.stopTimeMs,
      startTimeMs: service.startTimeMs,
      daemon: service.strategy === 'DAEMON',
      immediate,
    });
  }

  /**
   * Placement: ACTIVE instances with a connected agent and enough free CPU and memory only (never
   * DRAINING); spread over instances by the service's task count, then the most free CPU.
   */
  private chooseInstance(cluster: Cluster, service: Service, live: readonly Task[]): ContainerInstance | undefined {
    const perInstance = new Map<string, number>();
    for (const task of live) perInstance.set(task.containerInstanceArn, (perInstance.get(task.containerInstanceArn) ?? 0) + 1);
    let best: { instance: ContainerInstance; count: number; freeCpu: number } | undefined;
    for (const instance of cluster.instances.values()) {
      if (instance.status !== 'ACTIVE' || !instance.agentConnected) continue;
      const used = this.usage(instance);
      const freeCpu = instance.registeredCpu - used.cpu;
      const freeMemory = instance.registeredMemory - used.memory;
      if (freeCpu < service.cpu || freeMemory < service.memory) continue;
      const count = perInstance.get(instance.arn) ?? 0;
      if (!best || count < best.count || (count === best.count && freeCpu > best.freeCpu)) best = { instance, count, freeCpu };
    }
    return best?.instance;
  }

  /**
   * Keeps the desired count and replaces tasks on DRAINING instances (and of older revisions)
   * within minimumHealthyPercent / maximumPercent and free capacity (aws-behaviour.md §2):
   * replacements start first when maximumPercent leaves room; old tasks stop only while the
   * RUNNING count stays at or above minimumHealthyPercent.
   */
  private scheduleReplica(cluster: Cluster, service: Service, immediate: boolean): void {
    const live = this.serviceTasks(cluster, service);
    const needsReplacement = (task: Task) => {
      const instance = cluster.instances.get(task.containerInstanceArn);
      return !instance || instance.status !== 'ACTIVE' || task.revision < service.revision;
    };
    let good = live.filter((task) => !needsReplacement(task));
    let old = live.filter(needsReplacement);

    // PENDING tasks on a DRAINING instance (or of an old revision) stop at once.
    for (const task of old.filter((candidate) => candidate.lastStatus === 'PENDING')) this.stopTask(task, 'Service task replaced');
    old = old.filter((task) => task.lastStatus !== 'PENDING');

    // Scale down: more good tasks than desired (PENDING ones first, then the newest).
    if (good.length > service.desiredCount) {
      const surplus = [...good]
        .sort((a, b) => (a.lastStatus === 'PENDING' ? -1 : 0) - (b.lastStatus === 'PENDING' ? -1 : 0) || b.createdAt - a.createdAt)
        .slice(0, good.length - service.desiredCount);
      for (const task of surplus) this.stopTask(task, 'Scaling activity initiated by deployment');
      good = good.filter((task) => !surplus.includes(task));
    }

    const maxTotal = Math.floor((service.desiredCount * service.maximumPercent) / 100);
    const minHealthy = Math.ceil((service.desiredCount * service.minimumHealthyPercent) / 100);
    let liveCount = good.length + old.length;
    const current = [...good, ...old];
    while (good.length < service.desiredCount && liveCount < maxTotal) {
      const instance = this.chooseInstance(cluster, service, current);
      if (!instance) break;
      const task = this.placeServiceTask(cluster, service, instance, immediate);
      good.push(task);
      current.push(task);
      liveCount += 1;
    }

    let healthy = [...good, ...old].filter((task) => task.lastStatus === 'RUNNING').length;
    for (const task of old) {
      if (healthy - 1 < minHealthy) break;
      this.stopTask(task, 'Task stopped by container instance draining or deployment');
      healthy -= 1;
    }
  }

  private scheduleDaemon(cluster: Cluster, service: Service, immediate: boolean): void {
    const live = this.serviceTasks(cluster, service);
    const covered = new Set(live.map((task) => task.containerInstanceArn));
    let active = 0;
    for (const instance of cluster.instances.values()) {
      if (instance.status !== 'ACTIVE' || !instance.agentConnected) continue;
      active += 1;
      if (covered.has(instance.arn)) continue;
      const used = this.usage(instance);
      if (instance.registeredCpu - used.cpu < service.cpu || instance.registeredMemory - used.memory < service.memory) continue;
      this.placeServiceTask(cluster, service, instance, immediate);
    }
    service.desiredCount = active;
  }

  /** Daemon tasks on a DRAINING instance stop last: once no other task is left unstopped there. */
  private stopDaemonsLast(cluster: Cluster, service: Service): void {
    for (const task of this.serviceTasks(cluster, service)) {
      const instance = cluster.instances.get(task.containerInstanceArn);
      if (!instance || instance.status !== 'DRAINING') continue;
      const others = this.unstoppedTasksOn(instance).filter((candidate) => !candidate.daemon);
      if (others.length === 0) this.stopTask(task, 'Daemon task stopped: container instance drained');
    }
  }

  // ---------------------------------------------------------------- Auto Scaling

  requestGroupPass(groupName: string): void {
    if (this.pendingGroupPasses.has(groupName)) return;
    this.pendingGroupPasses.add(groupName);
    this.clock.schedule(this.now() + 1_000, () => {
      this.pendingGroupPasses.delete(groupName);
      const group = this.groups.get(groupName);
      if (group) this.runGroup(group);
    });
  }

  private runGroup(group: Group): void {
    const inCapacity = [...group.instances.values()].filter(
      (instance) => instance.lifecycleState === 'Pending' || instance.lifecycleState === 'InService',
    );
    if (inCapacity.length < group.desiredCapacity) {
      for (let count = inCapacity.length; count < group.desiredCapacity; count += 1) this.launch(group);
    } else if (inCapacity.length > group.desiredCapacity) {
      // Scale-in skips protected instances; with every instance protected nothing terminates
      // (aws-behaviour.md §3.2, SetInstanceProtection).
      const candidates = inCapacity
        .filter((instance) => instance.lifecycleState === 'InService' && !instance.protectedFromScaleIn)
        .sort((a, b) => a.launchedAt - b.launchedAt || a.id.localeCompare(b.id));
      for (const instance of candidates.slice(0, inCapacity.length - group.desiredCapacity)) {
        this.beginTermination(group, instance, 'scale-in');
      }
    }
  }

  private launch(group: Group): void {
    const id = `i-${this.random.hex(17)}`;
    const now = this.now();
    this.ec2.set(id, {
      id,
      state: 'pending',
      instanceType: group.instanceType,
      spot: group.spot,
      az: AZS[this.ec2.size % AZS.length]!,
      launchedAt: now,
      cluster: group.cluster,
      groupName: group.name,
      cpu: group.instanceCpu,
      memory: group.instanceMemory,
    });
    const member: GroupInstance = { id, lifecycleState: 'Pending', healthStatus: 'Healthy', protectedFromScaleIn: false, launchedAt: now };
    group.instances.set(id, member);
    this.record('group', 'instance launched', { group: group.name, ec2InstanceId: id });
    this.clock.schedule(now + this.timings.bootMs, () => {
      const ec2 = this.ec2.get(id);
      if (!ec2 || ec2.state !== 'pending') return;
      ec2.state = 'running';
      if (member.lifecycleState === 'Pending') member.lifecycleState = 'InService';
      this.register(id, this.now());
    });
  }

  /** Termination: through every termination hook (Terminating:Wait), else straight to Proceed. */
  beginTermination(group: Group, member: GroupInstance, cause: Termination['cause']): void {
    if (member.lifecycleState !== 'InService' && member.lifecycleState !== 'Pending') return;
    const hooks = [...group.hooks.values()].filter((hook) => hook.transition === 'autoscaling:EC2_INSTANCE_TERMINATING');
    this.record('group', 'instance terminating', { group: group.name, ec2InstanceId: member.id, cause, hooks: hooks.length });
    this.pendingCause.set(member.id, cause);
    if (hooks.length === 0) {
      member.lifecycleState = 'Terminating';
      this.proceed(group, member);
      return;
    }
    member.lifecycleState = 'Terminating:Wait';
    for (const hook of hooks) this.startLifecycleAction(group, member, hook);
    this.requestGroupPass(group.name);
  }

  private startLifecycleAction(group: Group, member: GroupInstance, hook: LifecycleHook): void {
    const now = this.now();
    const heartbeatTimeoutMs = hook.heartbeatTimeout * 1000;
    const action: LifecycleAction = {
      token: this.random.uuid(),
      hookName: hook.name,
      groupName: group.name,
      instanceId: member.id,
      startedAt: now,
      heartbeatTimeoutMs,
      heartbeatDeadline: now + heartbeatTimeoutMs,
      // Global timeout: min(48 h, 100 × heartbeat timeout) (aws-behaviour.md §3.2).
      globalDeadline: now + Math.min(172_800_000, 100 * heartbeatTimeoutMs),
      state: 'active',
      heartbeats: 0,
    };
    this.lifecycleActions.set(action.token, action);
    this.armHeartbeatTimer(action);
    this.clock.schedule(action.globalDeadline, () => this.expire(action, 'global-timeout'));
    this.record('lifecycle', 'lifecycle action started', { ec2InstanceId: member.id, hook: hook.name, token: action.token });
    if (hook.topicArn) {
      const message: Record<string, string> = {
        Origin: 'AutoScalingGroup',
        LifecycleHookName: hook.name,
        Destination: 'EC2',
        AccountId: ACCOUNT,
        RequestId: this.random.uuid(),
        LifecycleTransition: hook.transition,
        AutoScalingGroupName: group.name,
        Service: 'AWS Auto Scaling',
        Time: new Date(now).toISOString(),
        EC2InstanceId: member.id,
        LifecycleActionToken: action.token,
      };
      if (hook.metadata !== undefined) message.NotificationMetadata = hook.metadata;
      this.publish(hook.topicArn, JSON.stringify(message), `Auto Scaling:  Lifecycle action 'TERMINATING' for instance ${member.id} in progress.`);
    }
  }

  private armHeartbeatTimer(action: LifecycleAction): void {
    this.clock.schedule(action.heartbeatDeadline, () => {
      if (action.state === 'active' && this.now() >= action.heartbeatDeadline) this.expire(action, 'expired');
    });
  }

  private expire(action: LifecycleAction, state: 'expired' | 'global-timeout'): void {
    if (action.state !== 'active') return;
    const hook = this.groups.get(action.groupName)?.hooks.get(action.hookName);
    this.record('lifecycle', state === 'expired' ? 'lifecycle action expired' : 'lifecycle action hit the global timeout', {
      ec2InstanceId: action.instanceId,
      result: hook?.defaultResult ?? 'ABANDON',
    });
    this.endAction(action, state, hook?.defaultResult ?? 'ABANDON');
  }

  /** Records a heartbeat: the heartbeat window restarts, never beyond the global timeout. */
  heartbeat(action: LifecycleAction): void {
    action.heartbeats += 1;
    action.heartbeatDeadline = Math.min(this.now() + action.heartbeatTimeoutMs, action.globalDeadline);
    this.armHeartbeatTimer(action);
  }

  completeAction(action: LifecycleAction, result: 'CONTINUE' | 'ABANDON'): void {
    const instance = this.containerInstanceOf(action.instanceId);
    const unstopped = instance && instance.status !== 'INACTIVE' ? this.unstoppedTasksOn(instance) : [];
    this.record('lifecycle', 'lifecycle action completed', {
      ec2InstanceId: action.instanceId,
      result,
      unstoppedTasks: unstopped.filter((task) => !task.daemon).length,
      unstoppedDaemonTasks: unstopped.filter((task) => task.daemon).length,
    });
    this.endAction(action, 'completed', result);
  }

  private endAction(action: LifecycleAction, state: LifecycleAction['state'], result: 'CONTINUE' | 'ABANDON'): void {
    action.state = state;
    action.result = result;
    action.endedAt = this.now();
    const instance = this.containerInstanceOf(action.instanceId);
    const unstopped = instance && instance.status !== 'INACTIVE' ? this.unstoppedTasksOn(instance) : [];
    action.unstoppedTasksAtEnd = unstopped.filter((task) => !task.daemon).length;
    action.unstoppedDaemonTasksAtEnd = unstopped.filter((task) => task.daemon).length;
    const membership = this.groupOf(action.instanceId);
    if (!membership || membership.instance.lifecycleState !== 'Terminating:Wait') return;
    const others = [...this.lifecycleActions.values()].filter(
      (candidate) => candidate.instanceId === action.instanceId && candidate.state === 'active',
    );
    // ABANDON skips the remaining hooks; CONTINUE waits for them (aws-behaviour.md §3.2).
    if (result === 'ABANDON') for (const other of others) other.state = 'completed';
    if (result === 'ABANDON' || others.length === 0) this.proceed(membership.group, membership.instance, action);
  }

  private proceed(group: Group, member: GroupInstance, action?: LifecycleAction): void {
    member.lifecycleState = 'Terminating:Proceed';
    const cause = this.pendingCause.get(member.id) ?? 'scale-in';
    const ec2 = this.ec2.get(member.id);
    if (ec2 && (ec2.state === 'running' || ec2.state === 'pending')) {
      this.shutDown(member.id, cause, action);
    } else if (action) {
      const termination = [...this.terminations].reverse().find((candidate) => candidate.ec2InstanceId === member.id);
      if (termination) {
        termination.lifecycle = action.state;
        termination.lifecycleUnstoppedTasks = 0;
      }
    }
    this.clock.schedule(this.now() + this.timings.shutdownMs, () => {
      member.lifecycleState = 'Terminated';
      group.instances.delete(member.id);
      this.requestGroupPass(group.name);
    });
    this.requestGroupPass(group.name);
  }

  /**
   * The EC2 instance goes away: every task not yet STOPPED on it is killed (and recorded), its
   * container instance becomes INACTIVE (still describable for an hour, no longer listed).
   */
  shutDown(ec2InstanceId: string, cause: Termination['cause'], action?: LifecycleAction): void {
    const ec2 = this.ec2.get(ec2InstanceId);
    if (!ec2 || ec2.state === 'shutting-down' || ec2.state === 'terminated') return;
    ec2.state = 'shutting-down';
    const instance = this.containerInstanceOf(ec2InstanceId);
    let unstopped = 0;
    let unstoppedDaemons = 0;
    if (instance && instance.status !== 'INACTIVE') {
      const cluster = this.clusters.get(instance.cluster)!;
      const victims = this.unstoppedTasksOn(instance);
      unstopped = victims.filter((task) => !task.daemon).length;
      unstoppedDaemons = victims.length - unstopped;
      for (const task of victims) this.kill(cluster, task);
      instance.status = 'INACTIVE';
      instance.agentConnected = false;
      instance.inactiveAt = this.now();
      instance.version += 1;
      this.requestSchedulerPass(cluster.name);
    }
    this.terminations.push({
      at: this.now(),
      ec2InstanceId,
      cause,
      ...(ec2.groupName ? { groupName: ec2.groupName } : {}),
      unstoppedTasks: unstopped,
      unstoppedDaemonTasks: unstoppedDaemons,
      ...(action ? { lifecycle: action.state, lifecycleUnstoppedTasks: action.unstoppedTasksAtEnd ?? 0 } : {}),
    });
    this.record('instance', 'instance terminated', { ec2InstanceId, cause, unstoppedTasks: unstopped, unstoppedDaemonTasks: unstoppedDaemons });
    this.emit('EC2 Instance State-change Notification', [ec2InstanceId], { 'instance-id': ec2InstanceId, state: 'shutting-down' });
    this.clock.schedule(this.now() + this.timings.shutdownMs, () => {
      ec2.state = 'terminated';
      ec2.terminatedAt = this.now();
      this.emit('EC2 Instance State-change Notification', [ec2InstanceId], { 'instance-id': ec2InstanceId, state: 'terminated' });
    });
  }

  private kill(cluster: Cluster, task: Task): void {
    const origin: KilledTask['origin'] = task.serviceName === undefined ? 'standalone' : task.daemon ? 'daemon' : 'service';
    let disrupted = origin === 'standalone';
    if (origin === 'service' && task.serviceName) {
      const service = cluster.services.get(task.serviceName);
      const runningElsewhere = [...cluster.tasks.values()].filter(
        (candidate) =>
          candidate.serviceName === task.serviceName &&
          candidate.desiredStatus === 'RUNNING' &&
          candidate.lastStatus === 'RUNNING' &&
          candidate.containerInstanceArn !== task.containerInstanceArn,
      ).length;
      const alreadyDisrupted = this.killedTasks.filter(
        (killed) => killed.at === this.now() && killed.serviceName === task.serviceName && killed.disrupted && killed.ec2InstanceId === task.ec2InstanceId,
      ).length;
      const deficit = Math.max(0, (service?.desiredCount ?? 0) - runningElsewhere);
      disrupted = alreadyDisrupted < deficit;
    }
    this.killedTasks.push({
      at: this.now(),
      taskArn: task.arn,
      ec2InstanceId: task.ec2InstanceId,
      cluster: cluster.name,
      origin,
      ...(task.serviceName ? { serviceName: task.serviceName } : {}),
      lastStatus: task.lastStatus,
      disrupted,
    });
    task.stoppedReason = `Host EC2 (instance ${task.ec2InstanceId}) terminated.`;
    task.stoppingAt ??= this.now();
    this.finishStop(task, 'TerminationNotice');
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
