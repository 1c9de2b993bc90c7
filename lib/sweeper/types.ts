import type { ContainerInstanceView } from '../aws/ecs';
import type { GroupInstanceView, GroupView } from '../aws/autoscaling';

/**
 * Container-instance attributes the sweeper keeps between runs. The sweeper runs every 30 minutes
 * and remembers nothing itself; ECS stores these next to the instance, so they survive cold starts
 * and vanish with the instance.
 */
export const IDLE_SINCE_ATTRIBUTE = 'ecs-ec2-keeper.idle-since';
/** Set just before the sweeper drains an instance: it marks the drains this sweeper owns. */
export const DRAINED_AT_ATTRIBUTE = 'ecs-ec2-keeper.drained-at';

/** A non-daemon task on an instance, with the CPU units and MiB it reserves (0 when unknown). */
export interface TaskLoad {
  taskArn: string;
  origin: 'service' | 'standalone';
  cpu: number;
  memory: number;
}

/** What runs on an instance, from ListTasks and DescribeTasks. */
export interface Workload {
  nonDaemon: TaskLoad[];
  daemonTasks: number;
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
  | 'removal-in-progress';

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
export type FinishReason = 'drained' | 'tasks-remaining' | 'terminating' | 'drain-timed-out' | 'group-at-minimum' | 'not-in-group';

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
