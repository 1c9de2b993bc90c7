import { AZS, type ContainerInstance, type LifecycleAction, type Termination } from './model';
import type { EcsRules } from './ecs';
import type { WorldState } from './state';

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
  /** Its Availability Zone; unset: the Region's zones in turn. */
  az?: string;
}

/** EC2: instances launching, registering with their cluster, and going away. */
export class Ec2Rules {
  constructor(
    private readonly world: WorldState,
    private readonly ecs: EcsRules,
  ) {}

  /** Launches an EC2 instance and registers it with its cluster at once (ACTIVE). */
  addInstance(spec: InstanceSpec): ContainerInstance {
    const cluster = this.world.cluster(spec.cluster);
    const id = spec.id ?? `i-${this.world.random.hex(17)}`;
    const launchedAt = this.world.now() - (spec.ageSeconds ?? 0) * 1000;
    this.world.ec2.set(id, {
      id,
      state: 'running',
      instanceType: spec.instanceType ?? 'm5.large',
      spot: spec.spot ?? false,
      az: spec.az ?? AZS[this.world.ec2.size % AZS.length]!,
      launchedAt,
      cluster: cluster.name,
      ...(spec.groupName ? { groupName: spec.groupName } : {}),
      cpu: spec.cpu,
      memory: spec.memory,
    });
    return this.ecs.register(id, launchedAt, spec.attributes);
  }

  /**
   * The EC2 instance goes away: every task not yet STOPPED on it is killed (and recorded), its
   * container instance becomes INACTIVE (still describable for an hour, no longer listed).
   */
  shutDown(ec2InstanceId: string, cause: Termination['cause'], action?: LifecycleAction): void {
    const ec2 = this.world.ec2.get(ec2InstanceId);
    if (!ec2 || ec2.state === 'shutting-down' || ec2.state === 'terminated') return;
    ec2.state = 'shutting-down';
    const instance = this.world.containerInstanceOf(ec2InstanceId);
    let unstopped = 0;
    let unstoppedDaemons = 0;
    if (instance && instance.status !== 'INACTIVE') {
      const cluster = this.world.clusters.get(instance.cluster)!;
      const victims = this.world.unstoppedTasksOn(instance);
      unstopped = victims.filter((task) => !task.daemon).length;
      unstoppedDaemons = victims.length - unstopped;
      for (const task of victims) this.ecs.kill(cluster, task);
      instance.status = 'INACTIVE';
      instance.agentConnected = false;
      instance.inactiveAt = this.world.now();
      instance.version += 1;
      this.ecs.requestSchedulerPass(cluster.name);
    }
    this.world.terminations.push({
      at: this.world.now(),
      ec2InstanceId,
      cause,
      ...(ec2.groupName ? { groupName: ec2.groupName } : {}),
      unstoppedTasks: unstopped,
      unstoppedDaemonTasks: unstoppedDaemons,
      ...(action ? { lifecycle: action.state, lifecycleUnstoppedTasks: action.unstoppedTasksAtEnd ?? 0 } : {}),
    });
    this.world.record('instance', 'instance terminated', { ec2InstanceId, cause, unstoppedTasks: unstopped, unstoppedDaemonTasks: unstoppedDaemons });
    this.world.emit('EC2 Instance State-change Notification', [ec2InstanceId], { 'instance-id': ec2InstanceId, state: 'shutting-down' });
    this.world.clock.schedule(this.world.now() + this.world.timings.shutdownMs, () => {
      ec2.state = 'terminated';
      ec2.terminatedAt = this.world.now();
      this.world.emit('EC2 Instance State-change Notification', [ec2InstanceId], { 'instance-id': ec2InstanceId, state: 'terminated' });
    });
  }
}
