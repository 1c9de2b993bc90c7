import { createHash } from 'node:crypto';
import { ACCOUNT, REGION, type Cluster, type ContainerInstance, type DrainActor, type KilledTask, type Service, type Task } from './model';
import { compileQuery, type Predicate } from './query';
import { Random } from './random';
import { containerInstanceArn, taskArn, type WorldState } from './state';
import { ZONE_ATTRIBUTE, serviceZoneSpread } from './zones';

export interface ClusterSpec {
  name: string;
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
  /**
   * The load balancer's deregistration delay of the service's target group: a task told to stop
   * stays DEACTIVATING this long before its containers get the stop signal (AWS's default is 300 s,
   * aws-behaviour.md §2). Unset: the world's short DEACTIVATING time (a service without a load balancer).
   */
  deregistrationDelaySeconds?: number;
  /**
   * `memberOf` placement constraints in the cluster query language: the scheduler places the
   * service's tasks only on instances the expressions select (for a DAEMON service, the instances it
   * runs on). https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement-constraints.html
   */
  placementConstraints?: { type: 'memberOf'; expression: string }[];
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

/**
 * ECS: clusters, container instance registration and state, the task lifecycle (PENDING → RUNNING,
 * DEACTIVATING → STOPPING → STOPPED) and the service scheduler with its placement (aws-behaviour.md §2).
 */
export class EcsRules {
  private readonly pendingPasses = new Set<string>();
  /** Daemon tasks whose stop is scheduled after the drained instance's other tasks stopped. */
  private readonly daemonStopsScheduled = new Set<string>();
  private placingInitialTasks = false;

  /** Labels operators put on instances, drawn from their own seed (WorldOptions.attributeSlotsFull). */
  private readonly labelRandom: Random;

  constructor(private readonly world: WorldState) {
    this.labelRandom = new Random(world.attributeSlotsFull?.seed ?? 1);
  }

  /**
   * Teams label instances with custom attributes, and a container instance holds at most 10 of
   * them (aws-behaviour.md §3.1). With the fault on, a share of the instances registers with 8 to
   * 10 labels already, so a suite that needs attribute slots finds 2, 1 or none free.
   */
  private operatorLabels(): Record<string, string> {
    const fault = this.world.attributeSlotsFull;
    if (!fault || !this.labelRandom.chance(fault.rate)) return {};
    const count = this.labelRandom.int(8, 10);
    return Object.fromEntries(Array.from({ length: count }, (_, index) => [`team.label-${index + 1}`, 'set-by-operator']));
  }

  createCluster(spec: ClusterSpec): Cluster {
    const cluster: Cluster = {
      name: spec.name,
      arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${spec.name}`,
      instances: new Map(),
      services: new Map(),
      tasks: new Map(),
    };
    this.world.clusters.set(spec.name, cluster);
    return cluster;
  }


  register(ec2InstanceId: string, registeredAt: number, attributes: Record<string, string> = {}): ContainerInstance {
    const ec2 = this.world.ec2.get(ec2InstanceId)!;
    const cluster = this.world.cluster(ec2.cluster);
    const instance: ContainerInstance = {
      arn: containerInstanceArn(cluster.name, this.world.random.hex(32)),
      cluster: cluster.name,
      ec2InstanceId,
      status: 'ACTIVE',
      agentConnected: true,
      registeredAt,
      registeredCpu: ec2.cpu,
      registeredMemory: ec2.memory,
      attributes: new Map(Object.entries({ 'ecs.instance-type': ec2.instanceType, 'ecs.availability-zone': ec2.az, ...this.operatorLabels(), ...attributes })),
      version: 1,
      ordinal: this.world.nextOrdinal(),
    };
    cluster.instances.set(instance.arn, instance);
    this.world.containerInstanceByEc2.set(ec2InstanceId, instance);
    this.world.record('instance', 'container instance registered', { ec2InstanceId, cluster: cluster.name });
    this.requestSchedulerPass(cluster.name);
    return instance;
  }

  createService(spec: ServiceSpec): Service {
    const cluster = this.world.cluster(spec.cluster);
    // An expression ECS would refuse is refused here too (query.ts throws QuerySyntaxError).
    for (const constraint of spec.placementConstraints ?? []) compileQuery(constraint.expression);
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
      startTimeMs: (spec.startSeconds ?? this.world.timings.taskStartMs / 1000) * 1000,
      ...(spec.deregistrationDelaySeconds !== undefined ? { deregistrationDelayMs: spec.deregistrationDelaySeconds * 1000 } : {}),
      ...(spec.placementConstraints && spec.placementConstraints.length > 0 ? { placementConstraints: spec.placementConstraints.map((c) => ({ ...c })) } : {}),
      deploymentId: this.world.random.int(1e15, 9e15).toString(),
      createdAt: this.world.now(),
    };
    cluster.services.set(service.name, service);
    this.requestSchedulerPass(cluster.name);
    return service;
  }


  /** Starts a standalone task (RunTask), RUNNING at once. */
  runTask(spec: StandaloneTaskSpec): Task {
    const cluster = this.world.cluster(spec.cluster);
    const instance = this.world.containerInstanceOf(spec.ec2InstanceId);
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
      this.world.clock.schedule(this.world.now() + spec.runSeconds * 1000, () => {
        if (task.lastStatus === 'STOPPED') return;
        task.desiredStatus = 'STOPPED';
        task.stoppingAt = this.world.now();
        task.stoppedReason = 'Essential container in task exited';
        this.finishStop(task, 'EssentialContainerExited');
      });
    }
    return task;
  }

  /**
   * A host's recent past: `count` standalone tasks of `family` that ran on the instance and
   * STOPPED, evenly over the last `spanMs`. They stay listable (desiredStatus STOPPED) and
   * describable for the retention time (an hour, aws-behaviour.md §3.1), so reads pay for them.
   */
  addStoppedHistory(ec2InstanceId: string, count: number, spanMs: number, family = 'history'): Task[] {
    const instance = this.world.containerInstanceOf(ec2InstanceId);
    if (!instance) throw new Error(`no container instance for ${ec2InstanceId}`);
    const cluster = this.world.cluster(instance.cluster);
    const now = this.world.now();
    const tasks: Task[] = [];
    for (let index = 0; index < count; index += 1) {
      const stoppedAt = now - Math.round((spanMs * (count - index)) / count);
      const task = this.placeTask(cluster, instance, {
        family,
        revision: 1,
        group: `family:${family}`,
        cpu: 0,
        memory: 0,
        stopTimeMs: 0,
        startTimeMs: 0,
        daemon: false,
        immediate: true,
      });
      Object.assign(task, {
        lastStatus: 'STOPPED',
        desiredStatus: 'STOPPED',
        createdAt: stoppedAt - 60_000,
        startedAt: stoppedAt - 60_000,
        stoppingAt: stoppedAt,
        stoppedAt,
        stopCode: 'EssentialContainerExited',
        stoppedReason: 'Essential container in task exited',
      });
      delete task.listedFrom;
      tasks.push(task);
    }
    return tasks;
  }

  /** A new task definition revision: tasks of older revisions are replaced within min/max percent. */
  deployService(clusterName: string, serviceName: string): void {
    const cluster = this.world.cluster(clusterName);
    const service = cluster.services.get(serviceName);
    if (!service) throw new Error(`unknown service ${serviceName}`);
    service.revision += 1;
    service.deploymentId = this.world.random.int(1e15, 9e15).toString();
    this.world.record('service', 'deployment started', { cluster: cluster.name, service: service.name, revision: service.revision });
    this.requestSchedulerPass(cluster.name);
  }

  /** A new desired count for a replica service (as UpdateService sets it); the scheduler adds or stops tasks. */
  setServiceDesiredCount(clusterName: string, serviceName: string, desiredCount: number): void {
    const cluster = this.world.cluster(clusterName);
    const service = cluster.services.get(serviceName);
    if (!service || service.strategy !== 'REPLICA') throw new Error(`unknown replica service ${serviceName}`);
    if (service.desiredCount === desiredCount) return;
    this.world.record('service', 'desired count set', { cluster: cluster.name, service: service.name, from: service.desiredCount, to: desiredCount });
    service.desiredCount = desiredCount;
    this.requestSchedulerPass(cluster.name);
  }

  setContainerInstanceStatus(instance: ContainerInstance, status: 'ACTIVE' | 'DRAINING', by: DrainActor = 'api'): void {
    if (status === 'DRAINING') this.world.drainRequests.push({ at: this.world.now(), ec2InstanceId: instance.ec2InstanceId, by });
    if (instance.status === status) return;
    this.world.beforeInstanceWrite(instance);
    instance.status = status;
    instance.version += 1;
    this.world.afterInstanceWrite(instance);
    if (status === 'DRAINING') {
      this.world.drains.push({ at: this.world.now(), containerInstanceArn: instance.arn, ec2InstanceId: instance.ec2InstanceId, by });
      this.world.record('drain', 'container instance DRAINING', { ec2InstanceId: instance.ec2InstanceId, cluster: instance.cluster, by });
    } else {
      this.world.record('drain', 'container instance ACTIVE again', { ec2InstanceId: instance.ec2InstanceId, cluster: instance.cluster });
    }
    this.requestSchedulerPass(instance.cluster);
  }

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
      deregistrationDelayMs?: number;
    },
  ): Task {
    const now = this.world.now();
    const task: Task = {
      arn: taskArn(cluster.name, this.world.random.hex(32)),
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
      ...(spec.deregistrationDelayMs !== undefined ? { deregistrationDelayMs: spec.deregistrationDelayMs } : {}),
      version: 1,
      ordinal: this.world.nextOrdinal(),
    };
    // A scenario's initial tasks have long been listed; tasks placed while it runs show after the lag.
    const listedFrom = this.placingInitialTasks ? undefined : this.world.listedFrom();
    if (listedFrom !== undefined) task.listedFrom = listedFrom;
    cluster.tasks.set(task.arn, task);
    const onInstance = this.world.tasksByInstance.get(instance.arn);
    if (onInstance) onInstance.push(task);
    else this.world.tasksByInstance.set(instance.arn, [task]);
    if (!spec.immediate) {
      this.world.clock.schedule(now + spec.startTimeMs, () => {
        if (task.lastStatus !== 'PENDING' || task.desiredStatus !== 'RUNNING') return;
        task.lastStatus = 'RUNNING';
        task.startedAt = this.world.now();
        task.version += 1;
        this.world.record('task', 'task RUNNING', { group: task.group, ec2InstanceId: task.ec2InstanceId });
        this.requestSchedulerPass(cluster.name);
      });
    }
    return task;
  }

  /** The stop signal: DEACTIVATING, STOPPING, then STOPPED after the task's stop time. */
  stopTask(task: Task, reason: string): void {
    if (task.desiredStatus === 'STOPPED' || task.lastStatus === 'STOPPED') return;
    const now = this.world.now();
    task.desiredStatus = 'STOPPED';
    task.stoppingAt = now;
    task.stoppedReason = reason;
    task.version += 1;
    if (task.lastStatus === 'PENDING') {
      this.finishStop(task, 'TaskFailedToStart');
      return;
    }
    task.lastStatus = 'DEACTIVATING';
    this.emitTaskStateChange(task);
    // Behind a load balancer the task first waits out the target group's deregistration delay, then
    // gets its stop timeout (aws-behaviour.md §2); otherwise DEACTIVATING is brief.
    const delay = task.deregistrationDelayMs;
    const deactivating = delay ?? Math.min(this.world.timings.deactivatingMs, task.stopTimeMs);
    this.world.clock.schedule(now + deactivating, () => {
      if (task.lastStatus === 'DEACTIVATING') task.lastStatus = 'STOPPING';
    });
    this.world.clock.schedule(now + (delay ?? 0) + task.stopTimeMs, () => {
      if (task.lastStatus !== 'STOPPED') this.finishStop(task, task.serviceName ? 'ServiceSchedulerInitiated' : 'UserInitiated');
    });
  }

  private finishStop(task: Task, stopCode: string): void {
    task.lastStatus = 'STOPPED';
    task.desiredStatus = 'STOPPED';
    task.stoppedAt = this.world.now();
    task.stopCode = stopCode;
    task.version += 1;
    this.world.record('task', 'task STOPPED', { group: task.group, ec2InstanceId: task.ec2InstanceId, stopCode });
    this.emitTaskStateChange(task);
    this.requestSchedulerPass(task.cluster);
  }

  /**
   * ECS sends an "ECS Task State Change" event to EventBridge when a task's lastStatus or
   * desiredStatus changes; `detail` is the task as DescribeTasks shows it, with the `version` that
   * orders a task's events (docs/aws-behaviour.md §1.10,
   * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html). The world
   * sends the stop signal (DEACTIVATING) and STOPPED; EventBridge rules pick what they need.
   */
  private emitTaskStateChange(task: Task): void {
    const cluster = this.world.cluster(task.cluster);
    const iso = (at: number | undefined) => (at === undefined ? undefined : new Date(at).toISOString());
    const detail: Record<string, unknown> = {
      clusterArn: cluster.arn,
      containerInstanceArn: task.containerInstanceArn,
      taskArn: task.arn,
      group: task.group,
      ...(task.startedBy ? { startedBy: task.startedBy } : {}),
      launchType: 'EC2',
      lastStatus: task.lastStatus,
      desiredStatus: task.desiredStatus,
      version: task.version,
      createdAt: iso(task.createdAt),
      ...(task.stoppingAt !== undefined ? { stoppingAt: iso(task.stoppingAt) } : {}),
      ...(task.stoppedAt !== undefined ? { stoppedAt: iso(task.stoppedAt) } : {}),
      ...(task.stoppedReason !== undefined ? { stoppedReason: task.stoppedReason } : {}),
      ...(task.stopCode !== undefined ? { stopCode: task.stopCode } : {}),
      updatedAt: iso(this.world.now()),
    };
    const hex = createHash('sha256').update(`${task.arn}#${task.version}`).digest('hex');
    const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
    this.world.emitFrom('aws.ecs', 'ECS Task State Change', [task.arn], detail, id);
  }

  requestSchedulerPass(clusterName: string): void {
    if (this.pendingPasses.has(clusterName)) return;
    this.pendingPasses.add(clusterName);
    this.world.clock.schedule(this.world.now() + this.world.timings.schedulerDelayMs, () => {
      this.pendingPasses.delete(clusterName);
      const cluster = this.world.clusters.get(clusterName);
      if (cluster) this.runScheduler(cluster);
    });
  }

  /** Runs the scheduler at once with tasks starting RUNNING: the initial state of a scenario. */
  placeInitialTasks(): void {
    this.placingInitialTasks = true;
    for (const cluster of this.world.clusters.values()) this.runScheduler(cluster, true);
    this.placingInitialTasks = false;
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
      ...(service.deregistrationDelayMs !== undefined ? { deregistrationDelayMs: service.deregistrationDelayMs } : {}),
    });
  }

  /**
   * Placement: ACTIVE instances with a connected agent and enough free CPU and memory only (never
   * DRAINING); spread over zones by the service's task count (zones.ts, serviceZoneSpread), then
   * over instances by the service's task count, then the most free CPU.
   */
  private chooseInstance(cluster: Cluster, service: Service, live: readonly Task[]): ContainerInstance | undefined {
    const perInstance = new Map<string, number>();
    for (const task of live) perInstance.set(task.containerInstanceArn, (perInstance.get(task.containerInstanceArn) ?? 0) + 1);
    const perZone = serviceZoneSpread(cluster, live);
    let best: { instance: ContainerInstance; zoneCount: number; count: number; freeCpu: number } | undefined;
    for (const instance of cluster.instances.values()) {
      if (instance.status !== 'ACTIVE' || !instance.agentConnected) continue;
      const used = this.world.usage(instance);
      const freeCpu = instance.registeredCpu - used.cpu;
      const freeMemory = instance.registeredMemory - used.memory;
      if (freeCpu < service.cpu || freeMemory < service.memory) continue;
      const zoneCount = perZone.get(instance.attributes.get(ZONE_ATTRIBUTE) ?? '') ?? 0;
      const count = perInstance.get(instance.arn) ?? 0;
      if (
        !best ||
        zoneCount < best.zoneCount ||
        (zoneCount === best.zoneCount && (count < best.count || (count === best.count && freeCpu > best.freeCpu)))
      ) {
        best = { instance, zoneCount, count, freeCpu };
      }
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
      // A daemon service runs one task on each instance its placement constraints select.
      if (!placesOn(this.world, service, instance)) continue;
      active += 1;
      if (covered.has(instance.arn)) continue;
      const used = this.world.usage(instance);
      if (instance.registeredCpu - used.cpu < service.cpu || instance.registeredMemory - used.memory < service.memory) continue;
      this.placeServiceTask(cluster, service, instance, immediate);
    }
    service.desiredCount = active;
  }

  /**
   * Daemon tasks on a DRAINING instance stop last: a short delay after no other task is left
   * unstopped there (aws-behaviour.md §2), so log routers and agents outlive the tasks they serve.
   */
  private stopDaemonsLast(cluster: Cluster, service: Service): void {
    for (const task of this.serviceTasks(cluster, service)) {
      if (this.daemonStopsScheduled.has(task.arn)) continue;
      const instance = cluster.instances.get(task.containerInstanceArn);
      if (!instance || !this.onlyDaemonsLeft(instance)) continue;
      this.daemonStopsScheduled.add(task.arn);
      this.world.clock.schedule(this.world.now() + this.world.timings.daemonStopDelayMs, () => {
        this.daemonStopsScheduled.delete(task.arn);
        if (this.onlyDaemonsLeft(instance)) this.stopTask(task, 'Daemon task stopped: container instance drained');
        else this.requestSchedulerPass(cluster.name);
      });
    }
  }

  private onlyDaemonsLeft(instance: ContainerInstance): boolean {
    return instance.status === 'DRAINING' && this.world.unstoppedTasksOn(instance).every((candidate) => candidate.daemon);
  }

  kill(cluster: Cluster, task: Task): void {
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
      const alreadyDisrupted = this.world.killedTasks.filter(
        (killed) => killed.at === this.world.now() && killed.serviceName === task.serviceName && killed.disrupted && killed.ec2InstanceId === task.ec2InstanceId,
      ).length;
      const deficit = Math.max(0, (service?.desiredCount ?? 0) - runningElsewhere);
      disrupted = alreadyDisrupted < deficit;
    }
    this.world.killedTasks.push({
      at: this.world.now(),
      taskArn: task.arn,
      ec2InstanceId: task.ec2InstanceId,
      cluster: cluster.name,
      origin,
      ...(task.serviceName ? { serviceName: task.serviceName } : {}),
      lastStatus: task.lastStatus,
      disrupted,
    });
    task.stoppedReason = `Host EC2 (instance ${task.ec2InstanceId}) terminated.`;
    task.stoppingAt ??= this.world.now();
    this.finishStop(task, 'TerminationNotice');
  }
}

const compiled = new Map<string, Predicate>();

/**
 * Whether a service's `memberOf` placement constraints select the container instance (every one of
 * them must); without constraints every instance is eligible. Expressions are compiled once.
 */
export function placesOn(world: WorldState, service: Service, instance: ContainerInstance): boolean {
  const constraints = service.placementConstraints;
  if (!constraints || constraints.length === 0) return true;
  const target = {
    ec2InstanceId: instance.ec2InstanceId,
    agentConnected: instance.agentConnected,
    runningTasksCount: world.usage(instance).running,
    attributes: instance.attributes,
  };
  return constraints.every((constraint) => {
    let predicate = compiled.get(constraint.expression);
    if (!predicate) {
      predicate = compileQuery(constraint.expression);
      compiled.set(constraint.expression, predicate);
    }
    return predicate(target);
  });
}

/**
 * The DAEMON services of the instance's cluster that should run on it (their placement constraints
 * select it) and have no task there in lastStatus RUNNING: what a launch is not yet ready for.
 */
export function daemonsNotRunningOn(world: WorldState, instance: ContainerInstance): string[] {
  const cluster = world.clusters.get(instance.cluster);
  if (!cluster) return [];
  const running = new Set(
    world
      .tasksOn(instance)
      .filter((task) => task.daemon && task.lastStatus === 'RUNNING' && task.desiredStatus === 'RUNNING')
      .map((task) => task.serviceName),
  );
  return [...cluster.services.values()]
    .filter((service) => service.strategy === 'DAEMON' && placesOn(world, service, instance) && !running.has(service.name))
    .map((service) => service.name)
    .sort();
}
