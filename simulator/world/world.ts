import type { ApiInput, ApiOutput, ControlPlane, ServiceName } from '../api';
import type { Scheduler } from '../clock';
import { AutoScalingRules, type GroupSpec, type HookSpec } from './autoscaling';
import { CapacityProviderRules, type CapacityProviderSpec } from './capacity-providers';
import { Ec2Rules, type InstanceSpec } from './ec2';
import { EcsRules, type ClusterSpec, type ServiceSpec, type StandaloneTaskSpec } from './ecs';
import type { CapacityProvider, Cluster, ContainerInstance, Group, InstanceRefresh, LifecycleAction, LifecycleHook, Service, Task, Termination, Topic } from './model';
import { startInstance, stopInstance } from './ec2-power';
import { scheduleHealthEvent, type HealthEventSpec } from './health';
import { startInstanceRefresh, type RefreshSpec } from './instance-refresh';
import { dispatch } from './operations';
import type { RuledWorld, Rules } from './rules';
import { SnsRules } from './sns';
import { SpotRules } from './spot';
import { WorldState, type WorldOptions } from './state';

export { DEFAULT_TIMINGS, clusterNameOf, containerInstanceArn, taskArn, type WorldOptions, type WorldTimings } from './state';
export type { CapacityProviderSpec, ClusterSpec, GroupSpec, HookSpec, InstanceSpec, RefreshSpec, ServiceSpec, StandaloneTaskSpec };

/**
 * The simulated control plane: the shared state (state.ts), the rules of each service (ecs.ts,
 * ec2.ts, autoscaling.ts, sns.ts, spot.ts) and the API that answers calls (operations.ts and one
 * *-api.ts per service). Deterministic for a given seed and scheduler.
 *
 * It implements `ControlPlane`: the HTTP server (simulator/http/server.ts) or the in-process
 * adapter (simulator/inprocess/) turns SDK requests into `call(service, operation, input)`. The
 * methods below build scenarios and drive events from outside the API.
 */
export class World extends WorldState implements ControlPlane, RuledWorld {
  readonly rules: Rules;

  constructor(clock: Scheduler, options: Partial<WorldOptions> = {}) {
    super(clock, options);
    const ecs = new EcsRules(this);
    const ec2 = new Ec2Rules(this, ecs);
    const sns = new SnsRules(this);
    const autoScaling = new AutoScalingRules(this, ecs, ec2, sns);
    this.rules = { ecs, ec2, sns, autoScaling, spot: new SpotRules(this, ec2, autoScaling), capacityProviders: new CapacityProviderRules(this, ecs, autoScaling) };
  }

  async call(service: ServiceName, operation: string, input: ApiInput): Promise<ApiOutput> {
    return this.callSync(service, operation, input);
  }

  /** The same as `call`, synchronously: for benchmarks and tests that drive the world directly. */
  callSync(service: ServiceName, operation: string, input: ApiInput): ApiOutput {
    return dispatch(this, service, operation, input);
  }

  // ---------------------------------------------------------------- building a world

  readonly createCluster = (spec: ClusterSpec): Cluster => this.rules.ecs.createCluster(spec);
  readonly createService = (spec: ServiceSpec): Service => this.rules.ecs.createService(spec);
  readonly createTopic = (name: string): Topic => this.rules.sns.createTopic(name);
  readonly putLifecycleHook = (spec: HookSpec): LifecycleHook => this.rules.autoScaling.putLifecycleHook(spec);

  /** Launches an EC2 instance and registers it with its cluster at once (ACTIVE). */
  readonly addInstance = (spec: InstanceSpec): ContainerInstance => this.rules.ec2.addInstance(spec);

  /** Creates a group and its initial instances, InService and registered at once. */
  readonly createGroup = (spec: GroupSpec): Group => this.rules.autoScaling.createGroup(spec);

  /** CreateCapacityProvider (capacity-providers.ts): binds the group, tags it AmazonECSManaged. */
  createCapacityProvider(spec: CapacityProviderSpec): CapacityProvider {
    return this.rules.capacityProviders.create(spec);
  }

  /** PutClusterCapacityProviders: with managed draining, ECS adds its termination hook to the group. */
  putClusterCapacityProviders(cluster: string, names: readonly string[]): void {
    this.rules.capacityProviders.associate(cluster, names);
  }

  /** Starts a standalone task (RunTask), RUNNING at once. */
  readonly runTask = (spec: StandaloneTaskSpec): Task => this.rules.ecs.runTask(spec);

  /** Runs the scheduler at once with tasks starting RUNNING: the initial state of a scenario. */
  readonly placeInitialTasks = (): void => this.rules.ecs.placeInitialTasks();

  // ---------------------------------------------------------------- events from outside the API

  readonly interruptSpot = (ec2InstanceId: string, options: Parameters<SpotRules['interruptSpot']>[1] = {}): void => this.rules.spot.interruptSpot(ec2InstanceId, options);
  readonly setDesiredCapacity = (groupName: string, desired: number): void => this.rules.autoScaling.setDesiredCapacity(groupName, desired);
  /** StartInstanceRefresh: replaces every instance of the group in batches (instance-refresh.ts). */
  readonly startInstanceRefresh = (spec: RefreshSpec): InstanceRefresh => startInstanceRefresh(this, this.rules.autoScaling, spec);
  readonly deployService = (clusterName: string, serviceName: string): void => this.rules.ecs.deployService(clusterName, serviceName);
  readonly setContainerInstanceStatus = (instance: ContainerInstance, status: 'ACTIVE' | 'DRAINING'): void => this.rules.ecs.setContainerInstanceStatus(instance, status);
  readonly stopTask = (task: Task, reason: string): void => this.rules.ecs.stopTask(task, reason);
  readonly shutDown = (ec2InstanceId: string, cause: Termination['cause'], action?: LifecycleAction): void => this.rules.ec2.shutDown(ec2InstanceId, cause, action);

  /** EC2 StopInstances (ec2-power.ts): false when the instance is not running. */
  readonly stopInstance = (ec2InstanceId: string): boolean => stopInstance(this, ec2InstanceId);

  /** EC2 StartInstances (ec2-power.ts): false when the instance is not stopped. */
  readonly startInstance = (ec2InstanceId: string): boolean => startInstance(this, ec2InstanceId);

  /** An AWS Health scheduled event for some instances, and EC2's action at its window (health.ts). */
  readonly scheduleHealthEvent = (spec: HealthEventSpec): void => scheduleHealthEvent(this, spec);
}
