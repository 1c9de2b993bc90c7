import type { SNSClient } from '@aws-sdk/client-sns';
import type { Clock } from '../../../lib/clock';
import { loadSweeperConfig } from '../../../lib/sweeper/config';
import { makeScaleInSweeperHandler } from '../../../lib/sweeper/handler';
import { MemoryTelemetry } from '../../../lib/telemetry';
import { VirtualClock } from '../../../simulator/clock';
import { InProcessAws } from '../../../simulator/inprocess';
import type { ContainerInstance, Task } from '../../../simulator/world/model';
import { World } from '../../../simulator/world/world';

/**
 * Builds the sweeper's clusters in the simulator's world and answers the handler's SDK clients
 * from it in process (simulator/inprocess). Nothing here answers for AWS: every answer is the
 * world's. Instances have 2048 CPU / 4096 MiB; each runs one task of every daemon service of its
 * cluster (64 / 128) and `tasksPerInstance` tasks of 256 / 512.
 */
export const NOW = Date.parse('2026-03-04T10:30:00.000Z');
export const IDLE_SINCE = 'ecs-ec2-keeper.idle-since';

export interface Added {
  arn: string;
  ec2InstanceId: string;
}

export class SweeperWorld {
  readonly clock = new VirtualClock(NOW);
  readonly world = new World(this.clock, { seed: 7 });
  readonly aws = new InProcessAws(this.world);

  clients() {
    const { ecs, autoScaling, cloudWatch } = this.aws.clients();
    return { ecs, autoScaling, cloudWatch };
  }

  /**
   * The sweeper's handler on this world, configured with `env` over cluster `prod` and no reserve.
   * Its clock is the world's: advancing the world moves the sweeper's time too, and while the
   * handler waits (for its drains, DRAIN_WAIT_SECONDS) the world runs on: ECS moves tasks meanwhile.
   */
  sweeper(env: Record<string, string> = {}, sns?: SNSClient) {
    const telemetry = new MemoryTelemetry();
    const config = loadSweeperConfig({ CLUSTERS: 'prod', MIN_FREE_CPU: '0', MIN_FREE_MEMORY: '0', ...env });
    const clock: Clock = { now: () => this.clock.now(), sleep: (ms) => this.clock.advance(ms) };
    const handler = makeScaleInSweeperHandler({ config, clients: { ...this.clients(), ...(sns ? { sns } : {}) }, telemetry, clock });
    return { handler, telemetry };
  }

  private ensureCluster(cluster: string): void {
    if (!this.world.clusters.has(cluster)) this.world.createCluster({ name: cluster });
  }

  daemons(cluster: string, names: string[]): void {
    this.ensureCluster(cluster);
    for (const name of names) this.world.createService({ cluster, name, strategy: 'DAEMON', cpu: 64, memory: 128 });
  }

  /**
   * `tasksPerInstance` standalone tasks (family:web), or `serviceTasks` tasks of the REPLICA
   * service `web` (which the service scheduler replaces when their instance drains).
   */
  addInstances(
    cluster: string,
    group: string,
    count: number,
    options: { tasksPerInstance?: number; serviceTasks?: number; idleSinceMinutesAgo?: number } = {},
  ): Added[] {
    this.ensureCluster(cluster);
    if (!this.world.groups.has(group)) {
      this.world.createGroup({ name: group, cluster, minSize: 0, maxSize: 10_000, desiredCapacity: 0, instanceCpu: 2048, instanceMemory: 4096 });
    }
    const members = this.world.groups.get(group)!;
    const added: Added[] = [];
    for (let index = 0; index < count; index += 1) {
      const instance = this.world.addInstance({
        cluster,
        cpu: 2048,
        memory: 4096,
        groupName: group,
        ageSeconds: 3 * 86_400,
        ...(options.idleSinceMinutesAgo !== undefined ? { attributes: { [IDLE_SINCE]: new Date(NOW - options.idleSinceMinutesAgo * 60_000).toISOString() } } : {}),
      });
      members.instances.set(instance.ec2InstanceId, {
        id: instance.ec2InstanceId,
        lifecycleState: 'InService',
        healthStatus: 'Healthy',
        protectedFromScaleIn: false,
        launchedAt: this.world.ec2.get(instance.ec2InstanceId)!.launchedAt,
      });
      members.desiredCapacity += 1;
      added.push({ arn: instance.arn, ec2InstanceId: instance.ec2InstanceId });
    }
    this.world.placeInitialTasks();
    for (const instance of added) {
      for (let task = 0; task < (options.tasksPerInstance ?? 0); task += 1) this.runTask(cluster, instance.ec2InstanceId);
      if (options.serviceTasks) this.placeServiceTasks(cluster, instance.ec2InstanceId, options.serviceTasks);
    }
    return added;
  }

  /**
   * Places `count` more tasks of the service `web` on one instance: the scheduler places only on
   * instances whose agent is connected, so every other agent is disconnected while it runs.
   */
  private placeServiceTasks(cluster: string, ec2InstanceId: string, count: number): void {
    const state = this.world.clusters.get(cluster)!;
    const service = state.services.get('web') ?? this.world.createService({ cluster, name: 'web', desiredCount: 0, cpu: 256, memory: 512 });
    const others = [...state.instances.values()].filter((instance) => instance.ec2InstanceId !== ec2InstanceId && instance.agentConnected);
    for (const instance of others) instance.agentConnected = false;
    service.desiredCount += count;
    this.world.placeInitialTasks();
    for (const instance of others) instance.agentConnected = true;
  }

  /** Gives the group a termination lifecycle hook (the stack's lifecycle drainer waits for the daemons). */
  terminationHook(group: string): void {
    this.world.putLifecycleHook({ groupName: group, name: 'drain-before-terminate' });
  }

  runTask(cluster: string, ec2InstanceId: string): Task {
    return this.world.runTask({ cluster, ec2InstanceId, family: 'web', cpu: 256, memory: 512 });
  }

  instance(ec2InstanceId: string): ContainerInstance {
    return this.world.containerInstanceOf(ec2InstanceId)!;
  }

  /** The instance's attributes other than the ones ECS sets itself (ecs.*). */
  attributes(ec2InstanceId: string): Record<string, string> {
    return Object.fromEntries([...this.instance(ec2InstanceId).attributes].filter(([name]) => !name.startsWith('ecs.')));
  }

  /** Tasks on the instance not yet STOPPED, daemon ones excluded. */
  workOn(ec2InstanceId: string): Task[] {
    return this.world.unstoppedTasksOn(this.instance(ec2InstanceId)).filter((task) => !task.daemon);
  }

  /** Stops the instance's non-daemon tasks and lets the world run until they are STOPPED. */
  async stopWorkOn(ec2InstanceId: string): Promise<void> {
    for (const task of this.workOn(ec2InstanceId)) this.world.stopTask(task, 'Task moved');
    await this.clock.advance(60_000);
  }

  /** Names of the write operations, in call order. */
  writes(): string[] {
    return this.aws.calls().map((call) => call.operation).filter((operation) => WRITE_OPERATIONS.includes(operation));
  }
}

export const WRITE_OPERATIONS = ['PutAttributes', 'DeleteAttributes', 'UpdateContainerInstancesState', 'TerminateInstanceInAutoScalingGroup'];
