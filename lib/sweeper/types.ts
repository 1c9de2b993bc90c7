import type { ContainerInstanceView } from '../aws/ecs';
import type { GroupInstanceView, GroupView } from '../aws/autoscaling';
import type { TaskLoad, TaskShape, Workload } from '../aws/tasks';

/** An instance's tasks are modelled once, in lib/aws/tasks.ts. */
export type { TaskLoad, TaskShape, Workload };

/**
 * Container-instance attributes the sweeper keeps between runs. The sweeper runs every 30 minutes
 * and remembers nothing itself; ECS stores these next to the instance, so they survive cold starts
 * and vanish with the instance.
 */
export const IDLE_SINCE_ATTRIBUTE = 'ecs-ec2-keeper.idle-since';
/** Set just before the sweeper drains an instance: it marks the drains this sweeper owns. */
export const DRAINED_AT_ATTRIBUTE = 'ecs-ec2-keeper.drained-at';

/**
 * Started when an ACTIVE instance's use falls to the underused threshold, removed when it rises
 * again: the anti-churn clock of consolidation. With idle-since and drained-at the sweeper keeps at
 * most three of the ten custom attributes ECS allows per instance (aws-behaviour.md §7).
 */
export const UNDERUSED_SINCE_ATTRIBUTE = 'ecs-ec2-keeper.underused-since';
/**
 * Per-instance opt-out, set by the operator (for example with ECS_INSTANCE_ATTRIBUTES in the agent's
 * configuration). Any value except "false" opts out. EC2 tags are not read: that would need a new
 * EC2 API call and permission per run.
 */
export const DO_NOT_DISRUPT_ATTRIBUTES = ['do-not-disrupt', 'ecs-ec2-keeper.do-not-disrupt'] as const;
/** Attributes the ECS agent sets on every container instance (ECS developer guide, "Attributes"). */
export const ZONE_ATTRIBUTE = 'ecs.availability-zone';
export const INSTANCE_TYPE_ATTRIBUTE = 'ecs.instance-type';
export const TRUNK_ATTRIBUTE = 'ecs.awsvpc-trunk-id';

/** A task's demand on an instance. GPUs, an own ENI (awsvpc without trunking) and static host ports are optional. */
/** "count tasks of this shape must fit in every zone after the removals". */
export interface ReserveTasks extends TaskShape {
  count: number;
}

/** A UTC window in which consolidation may run: days (0 = Sunday) and minutes of the day; end may pass midnight. */
export interface ScheduleWindow {
  days: readonly number[];
  startMinute: number;
  endMinute: number;
}



export interface SnapshotInstance extends ContainerInstanceView {
  /** Its Auto Scaling instance record; absent when the EC2 instance is in no group. */
  group?: GroupInstanceView;
  /**
   * Its tasks, read only for instances whose task counts make them possible candidates. Absent:
   * not read, and then the instance is idle only when it runs and waits for no task at all.
   */
  workload?: Workload;
}

export interface ClusterSnapshot {
  cluster: string;
  instances: SnapshotInstance[];
  /** min / desired / max of every group an instance belongs to, by group name. */
  groups: Record<string, GroupView>;
  daemonServices: string[];
  /** Set when the cluster's capacity providers could not be read: tagged groups then stand down by the tag. */
  capacityProviderReadError?: { errorClass: string; errorName: string; errorMessage: string };
}

/** Settings the pure planner needs: budgets are inputs, so tests state them directly. */
export interface PlanSettings {
  /**
   * Auto Scaling groups the sweeper may shrink (names). Empty: any group the instances belong to
   * (the IAM role then allows termination in every group of the account and Region).
   */
  autoScalingGroups: readonly string[];
  /** An instance must have run nothing but daemon tasks for this long before it is removed. */
  minIdleMinutes: number;
  /** Reserve kept free on ACTIVE, connected instances after every removal: CPU units and MiB. */
  minFreeCpu: number;
  minFreeMemory: number;
  /** Instances taken out of service per run and cluster (idle removals and consolidation together). */
  maxRemovalsPerRun: number;
  /** Also drain one lightly used instance per run when its tasks fit on the others. */
  consolidate: boolean;
  /** The reference task of the SchedulableTasks metric. */
  schedulableTaskCpu: number;
  schedulableTaskMemory: number;
  /** At most this many of a cluster's instances DRAINING for the sweeper at once (undefined: no limit). */
  maxDraining?: number;
  /** At most this percentage of a cluster's instances DRAINING for the sweeper at once, rounded down. */
  maxDrainingPercent?: number;
  /** UTC windows in which consolidation may start drains; empty: any time. */
  consolidationWindows?: readonly ScheduleWindow[];
  /** An instance must have been underused this long before it is consolidated (0: no wait). */
  consolidateAfterMinutes?: number;
  /** Underused: CPU and memory reserved at or below this percentage of registered. */
  underusedPercent?: number;
  /** Task-shaped reserve kept free in every zone of the cluster after the removals. */
  reserveTasks?: readonly ReserveTasks[];
  /** 'stand-down': no removals in groups a capacity provider scales or protects (capacity-providers.ts); 'cooperate': plan as usual. */
  capacityProviderMode?: 'stand-down' | 'cooperate';
}

export type SelectReason = 'idle' | 'consolidate';

export type SkipReason =
  | 'not-active'
  | 'agent-disconnected'
  | 'not-in-group'
  | 'group-not-managed'
  | 'group-unknown'
  | 'not-in-service'
  | 'protected'
  | 'busy'
  | 'standalone-tasks'
  | 'tasks-do-not-fit'
  | 'consolidation-in-progress'
  | 'not-idle-long-enough'
  | 'group-at-minimum'
  | 'reserve-would-break'
  | 'budget-used'
  | 'removal-in-progress'
  | 'zone-balance'
  | 'disruption-budget'
  | 'outside-consolidation-window'
  | 'not-underused-long-enough'
  | 'do-not-disrupt'
  | 'managed-by-capacity-provider'
  | 'managed-scaling'
  | 'managed-termination-protection'
  | 'eni-limit-unknown';

export interface Selected {
  containerInstanceArn: string;
  ec2InstanceId: string;
  autoScalingGroupName: string;
  reason: SelectReason;
  /** Minutes the instance has run nothing but daemon tasks (idle removals). */
  idleMinutes?: number;
  /** Non-daemon tasks that must move elsewhere (consolidation). */
  tasksToMove?: string[];
}

export interface Skipped {
  containerInstanceArn: string;
  ec2InstanceId: string;
  reason: SkipReason;
}

export type FinishAction = 'terminate' | 'reactivate' | 'wait';
export type FinishReason =
  | 'drained'
  | 'tasks-remaining'
  | 'terminating'
  | 'drain-timed-out'
  | 'group-at-minimum'
  | 'not-in-group'
  | 'zone-balance'
  | 'daemons-stopping';

/** What to do with an instance this sweeper drained in an earlier run. */
export interface FinishStep {
  containerInstanceArn: string;
  ec2InstanceId: string;
  autoScalingGroupName?: string;
  action: FinishAction;
  reason: FinishReason;
}

export interface Capacity {
  cpu: number;
  memory: number;
}

/**
 * Room left on one instance for the fit check: CPU, memory, free GPUs, free ENIs (undefined:
 * unknown) and host ports in use.
 */
export interface Room extends Capacity {
  gpu?: number;
  enis?: number;
  usedPorts?: ReadonlySet<string>;
}

export interface ScaleInPlan {
  cluster: string;
  selected: Selected[];
  skipped: Skipped[];
  finishing: FinishStep[];
  /** Free capacity of ACTIVE, connected instances now, and after the selected removals. */
  free: Capacity;
  freeAfter: Capacity;
  idleInstances: number;
  schedulableTasks: number;
}
