/** The simulated world's entities. Plain data; the rules live in world.ts and the *-api.ts files. */

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const AZS = ['us-east-1a', 'us-east-1b', 'us-east-1c'] as const;

export type ContainerInstanceStatus = 'REGISTERING' | 'ACTIVE' | 'DRAINING' | 'DEREGISTERING' | 'INACTIVE';
export type TaskStatus = 'PENDING' | 'RUNNING' | 'DEACTIVATING' | 'STOPPING' | 'STOPPED';
export type LifecycleState =
  | 'Pending'
  | 'Pending:Wait'
  | 'Pending:Proceed'
  | 'InService'
  | 'Terminating'
  | 'Terminating:Wait'
  | 'Terminating:Proceed'
  | 'Terminating:Retained'
  | 'Terminated';
export type Ec2State = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';

export interface Cluster {
  name: string;
  arn: string;
  instances: Map<string, ContainerInstance>;
  services: Map<string, Service>;
  tasks: Map<string, Task>;
  /** Names of the capacity providers associated with the cluster (PutClusterCapacityProviders, capacity-providers.ts). */
  capacityProviders?: string[];
}

export interface ContainerInstance {
  arn: string;
  cluster: string;
  ec2InstanceId: string;
  status: ContainerInstanceStatus;
  agentConnected: boolean;
  registeredAt: number;
  registeredCpu: number;
  registeredMemory: number;
  attributes: Map<string, string>;
  /** When it became INACTIVE; it stays describable for an hour (aws-behaviour.md §2). */
  inactiveAt?: number;
  version: number;
  /** Creation order in the world: the key of its page tokens (simulator/world/input.ts). */
  ordinal?: number;
  /**
   * With read-after-write lag on: the versions a read may still see, by write time
   * (WorldState.visibleView, aws-behaviour.md §3.1 "eventual consistency").
   */
  views?: { writtenAt: number; status: ContainerInstanceStatus; attributes: Map<string, string> }[];
}

export interface Service {
  name: string;
  arn: string;
  cluster: string;
  strategy: 'REPLICA' | 'DAEMON';
  desiredCount: number;
  minimumHealthyPercent: number;
  maximumPercent: number;
  cpu: number;
  memory: number;
  family: string;
  /** Task definition revision; a deployment bumps it and replaces older tasks. */
  revision: number;
  /** Time from the stop signal to STOPPED (the container's stopTimeout and shutdown). */
  stopTimeMs: number;
  /** Time from PENDING to RUNNING. */
  startTimeMs: number;
  /** Load-balancer deregistration delay a stopping task waits out in DEACTIVATING; unset: the world's short default. */
  deregistrationDelayMs?: number;
  /** `memberOf` placement constraints (cluster query language): a daemon runs only on the instances they select. */
  placementConstraints?: { type: 'memberOf'; expression: string }[];
  deploymentId: string;
  createdAt: number;
}

export interface Task {
  arn: string;
  cluster: string;
  containerInstanceArn: string;
  ec2InstanceId: string;
  group: string;
  startedBy?: string;
  serviceName?: string;
  daemon: boolean;
  family: string;
  revision: number;
  cpu: number;
  memory: number;
  lastStatus: TaskStatus;
  desiredStatus: 'RUNNING' | 'STOPPED';
  createdAt: number;
  startedAt?: number;
  stoppingAt?: number;
  stoppedAt?: number;
  stoppedReason?: string;
  stopCode?: string;
  stopTimeMs: number;
  startTimeMs: number;
  /** Copied from its service: the deregistration delay it waits out before STOPPING. */
  deregistrationDelayMs?: number;
  version: number;
  /** Creation order in the world: the key of its page tokens. */
  ordinal?: number;
  /** With read-after-write lag on: ListTasks shows the new task from this time on. */
  listedFrom?: number;
}

export interface Ec2Instance {
  id: string;
  state: Ec2State;
  instanceType: string;
  spot: boolean;
  az: string;
  launchedAt: number;
  cluster?: string;
  groupName?: string;
  cpu: number;
  memory: number;
  terminatedAt?: number;
}

export interface GroupInstance {
  id: string;
  lifecycleState: LifecycleState;
  healthStatus: 'Healthy' | 'Unhealthy';
  protectedFromScaleIn: boolean;
  launchedAt: number;
  /** When it entered InService after a launch (unset for a scenario's initial instances): the start of its warmup. */
  inServiceAt?: number;
  /** Capacity units the instance counts for in a group with instance weights (zones.ts). */
  weight?: number;
}

/** One instance type of a mixed-instances group, with the capacity units it counts for (zones.ts). */
export interface InstanceTypeOverride {
  type: string;
  cpu: number;
  memory: number;
  weight: number;
}

export type LifecycleTransition = 'autoscaling:EC2_INSTANCE_TERMINATING' | 'autoscaling:EC2_INSTANCE_LAUNCHING';

export interface LifecycleHook {
  name: string;
  groupName: string;
  transition: LifecycleTransition;
  heartbeatTimeout: number;
  defaultResult: 'CONTINUE' | 'ABANDON';
  topicArn?: string;
  roleArn?: string;
  metadata?: string;
}

export interface Group {
  name: string;
  arn: string;
  cluster: string;
  minSize: number;
  maxSize: number;
  desiredCapacity: number;
  instanceType: string;
  instanceCpu: number;
  instanceMemory: number;
  spot: boolean;
  instances: Map<string, GroupInstance>;
  hooks: Map<string, LifecycleHook>;
  createdAt: number;
  tags: { key: string; value: string }[];
  /** The group's Availability Zones; unset: the Region's three, with the simulator's historic round-robin placement. */
  zones?: string[];
  /** AZRebalance (on by default in AWS; opt-in here so older scenarios keep their figures). */
  azRebalance?: boolean;
  /** Instance types with weights: Min/Desired/Max are then capacity units (zones.ts). */
  mixedInstances?: InstanceTypeOverride[];
  /** An instance refresh under way (instance-refresh.ts): the instances it still has to replace. */
  refresh?: InstanceRefresh;
  /** An AZRebalance under way: the instance launched in the short zone, not yet matched by a termination. */
  rebalance?: { launchedId: string; fromZone: string; causedBy: Termination['cause'] | 'unknown' };
  /** The last instance that left the group (for attributing an AZRebalance). */
  lastDeparture?: { at: number; ec2InstanceId: string; cause: Termination['cause'] };
  /** Instance lifecycle policy: `retain` keeps an instance whose termination action was abandoned (retention.ts). */
  instanceLifecyclePolicy?: { retentionTriggers: { terminateHookAbandon: 'retain' | 'terminate' } };
}

/** Who set a container instance DRAINING: an API caller (the suite, an operator) or ECS's managed instance draining. */
export type DrainActor = 'api' | 'ecs-managed-draining';

/** An ECS capacity provider bound to an Auto Scaling group (capacity-providers.ts). */
export interface CapacityProvider {
  name: string;
  arn: string;
  groupName: string;
  groupArn: string;
  managedScaling: { status: 'ENABLED' | 'DISABLED'; targetCapacity: number; minimumScalingStepSize: number; maximumScalingStepSize: number; instanceWarmupPeriod: number };
  managedTerminationProtection: 'ENABLED' | 'DISABLED';
  managedDraining: 'ENABLED' | 'DISABLED';
  /** The cluster it is associated with, if any (a capacity provider serves at most one). */
  cluster?: string;
}

/** An AZRebalance of a group: launched in the short zone, then terminated in the long one. */
export interface AzRebalanceRecord {
  at: number;
  groupName: string;
  launchedIn: string;
  launchedId: string;
  terminatedIn?: string;
  terminatedId?: string;
  /** The cause of the departure that left the zones unbalanced. */
  causedBy: Termination['cause'] | 'unknown';
}

/** A TerminateInstanceInAutoScalingGroup request Auto Scaling refused. */
export interface RefusedTermination {
  at: number;
  groupName: string;
  ec2InstanceId: string;
  message: string;
}

export type LifecycleActionState = 'active' | 'completed' | 'expired' | 'global-timeout';

export interface LifecycleAction {
  token: string;
  /** The hook's transition: a launch holds the instance in Pending:Wait, a termination in Terminating:Wait. */
  transition: LifecycleTransition;
  hookName: string;
  groupName: string;
  instanceId: string;
  startedAt: number;
  heartbeatTimeoutMs: number;
  heartbeatDeadline: number;
  globalDeadline: number;
  state: LifecycleActionState;
  result?: 'CONTINUE' | 'ABANDON';
  endedAt?: number;
  heartbeats: number;
  /** Non-daemon tasks on the instance (the ones a drain waits for) not yet STOPPED when the action ended. */
  unstoppedTasksAtEnd?: number;
  /** Daemon tasks not yet STOPPED when the action ended (ECS stops them last). */
  unstoppedDaemonTasksAtEnd?: number;
  /** Other hooks' actions still open when this one ended with CONTINUE: the instance kept waiting for them. */
  othersHolding?: number;
}

export interface Topic {
  arn: string;
  name: string;
}

export interface StoredDatum {
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  value: number;
  unit?: string;
  timestamp: number;
}

/** A task that was still not STOPPED when its instance went away. */
export interface KilledTask {
  at: number;
  taskArn: string;
  ec2InstanceId: string;
  cluster: string;
  origin: 'service' | 'daemon' | 'standalone';
  serviceName?: string;
  lastStatus: TaskStatus;
  /** A standalone task, or a service task whose service had fewer than desired tasks RUNNING elsewhere. */
  disrupted: boolean;
}

export interface Termination {
  at: number;
  ec2InstanceId: string;
  cause:
    | 'scale-in'
    | 'terminate-api'
    | 'spot-interruption'
    | 'unhealthy'
    | 'scenario'
    | 'az-rebalance'
    | 'scheduled-event'
    | 'instance-refresh'
    | 'launch-abandoned';
  groupName?: string;
  /** Non-daemon tasks not yet STOPPED when the instance went away. */
  unstoppedTasks: number;
  /** Daemon tasks not yet STOPPED when the instance went away. */
  unstoppedDaemonTasks: number;
  /** Outcome of the lifecycle action that held it, if any. */
  lifecycle?: LifecycleActionState;
  lifecycleUnstoppedTasks?: number;
}

/**
 * An instance refresh (StartInstanceRefresh, simulator/world/instance-refresh.ts): the instances of
 * the group when it started are replaced within the minimum and maximum healthy percentages.
 */
export interface InstanceRefresh {
  id: string;
  groupName: string;
  startedAt: number;
  /** Percent of desired capacity kept InService and warmed up (0–100). */
  minHealthyPercentage: number;
  /** Percent of desired capacity that may be InService or pending (100–200): above 100, replacements launch first. */
  maxHealthyPercentage: number;
  /** After an instance enters InService, how long before it counts as healthy. */
  instanceWarmupMs: number;
  /** Instances of the group when the refresh started, still to be replaced. */
  toReplace: Set<string>;
  status: 'InProgress' | 'Successful';
  endedAt?: number;
  replaced: number;
}

/**
 * An instance of a group entering InService, with what ECS knew of it at that moment: whether its
 * container instance was registered, ACTIVE and connected, and which DAEMON services that should
 * run on it had no RUNNING task there yet.
 */
export interface InServiceEntry {
  at: number;
  ec2InstanceId: string;
  groupName: string;
  /** Launch lifecycle hooks of the group at that moment (0: the instance was never held). */
  launchHooks: number;
  containerInstance: 'none' | 'ACTIVE' | 'other-status' | 'agent-disconnected';
  daemonsNotRunning: string[];
}

export interface TimelineEntry {
  at: number;
  kind: string;
  message: string;
  fields?: Record<string, unknown>;
}

/** An EventBridge event emitted by the world (the envelope of aws-behaviour.md §1.1). */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

/** An SNS record as Lambda receives it (aws-behaviour.md §1.4). */
export interface SnsRecord {
  EventSource: 'aws:sns';
  EventVersion: '1.0';
  EventSubscriptionArn: string;
  Sns: {
    Type: 'Notification';
    MessageId: string;
    TopicArn: string;
    Subject: string | null;
    Message: string;
    Timestamp: string;
    SignatureVersion: '1';
    Signature: string;
    SigningCertUrl: string;
    UnsubscribeUrl: string;
    MessageAttributes: Record<string, { Type: string; Value: string }>;
  };
}
