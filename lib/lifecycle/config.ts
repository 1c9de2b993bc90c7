import type { LifecycleResult } from '../aws/autoscaling';
import {
  booleanVar,
  commonSchema,
  enumVar,
  groupListVar,
  integerVar,
  optionalTopicArnVar,
  parseEnv,
  toCommonConfig,
  type CommonConfig,
  type Env,
} from '../config';
import { OPS_NOTIFY_LEVELS, type OpsNotifyLevel } from '../notify';
import { MANAGED_DRAINING_MODES, type ManagedDrainingMode } from './managed-draining';

/** One declaration, with the Auto Scaling call that takes it (lib/aws/autoscaling.ts). */
export type { LifecycleResult };

export type StandaloneTasksPolicy = 'wait' | 'stop' | 'ignore';

export interface LifecycleConfig extends CommonConfig {
  /**
   * Where requeue messages are published. Unset: the topic the message arrived on, which is the
   * same topic whenever the function is subscribed only to its own stack's topic.
   */
  lifecycleTopicArn?: string;
  /** What a drain does about tasks not started by a service (RunTask / StartTask). */
  standaloneTasks: StandaloneTasksPolicy;
  pollIntervalSeconds: number;
  /** Seconds after the first notification at which the action is completed, drained or not. */
  drainTimeoutSeconds: number;
  /** Result given to Auto Scaling at the deadline or the hop cap. */
  deadlineResult: LifecycleResult;
  /** Most requeue messages (SNS hops) one drain may publish. */
  maxHops: number;
  /** After the counted tasks stopped, the longest wait for the daemon tasks (ECS stops them last). */
  daemonGraceSeconds: number;
  /** Operators' topic (lib/notify.ts); unset: no notice. */
  opsTopicArn?: string;
  /** Which notices go to the operators' topic: drains cut short only, or every action. */
  opsNotifyLevel: OpsNotifyLevel;
  /** Names of the groups whose notifications are handled (ARNs reduced to names); empty: every group. */
  autoScalingGroups: string[];
  /** Launch hook: seconds after the notification at which an instance not yet ready is abandoned. */
  launchTimeoutSeconds: number;
  /** Launch hook: seconds between two readiness reads of a launching instance. */
  launchPollIntervalSeconds: number;
  /** Launch hook: also wait until every DAEMON service that should run on the instance has a RUNNING task there. */
  launchWaitForDaemons: boolean;
  /** Groups whose capacity provider drains them (managed draining): leave the drain to ECS, or drain anyway. */
  managedDraining: ManagedDrainingMode;
  /** ECS cluster-resource reads per second the drains of a group together stay under (decide.ts pacing). */
  readBudgetPerSecond: number;
}

export const lifecycleEnvSchema = commonSchema.extend({
  LIFECYCLE_TOPIC_ARN: optionalTopicArnVar(),
  STANDALONE_TASKS: enumVar(['wait', 'stop', 'ignore'] as const, 'wait'),
  // The safety net behind the task-event rule, which completes a drain within a second or two of its
  // last task stopping: a poll costs 1 to 4 ECS reads (task-reads.ts), so at 60 s 200 drains poll at
  // about 3 to 13 reads a second against the account's shared bucket of 20 (aws-behaviour.md §3.1).
  // Heartbeats are timed on their own, not by the poll. Below 5 s polls add load, not speed.
  POLL_INTERVAL_SECONDS: integerVar(60, 5, 300),
  // 48 h is the longest any lifecycle action can be kept open (aws-behaviour.md §3.2).
  DRAIN_TIMEOUT_SECONDS: integerVar(900, 60, 172_800),
  DEADLINE_RESULT: enumVar(['CONTINUE', 'ABANDON'] as const, 'CONTINUE'),
  MAX_HOPS: integerVar(100, 1, 1000),
  // ECS stops daemon tasks only after the others (aws-behaviour.md §2); their stop timeout is 30 s
  // by default and up to 120 s, plus ECS's own delay: 120 s covers it, the bound keeps a stuck daemon cheap.
  DAEMON_GRACE_SECONDS: integerVar(120, 0, 3600),
  OPS_TOPIC_ARN: optionalTopicArnVar(),
  OPS_NOTIFY_LEVEL: enumVar(OPS_NOTIFY_LEVELS, 'problems'),
  AUTO_SCALING_GROUPS: groupListVar(),
  // An ECS-optimized instance registers within a minute or two of launch and its daemon tasks start
  // seconds later; ten minutes leaves room for a slow image pull before the instance is replaced.
  LAUNCH_TIMEOUT_SECONDS: integerVar(600, 60, 172_800),
  // Each poll of a launching instance costs 1 to 3 ECS reads (lib/lifecycle/launch-reads.ts).
  LAUNCH_POLL_INTERVAL_SECONDS: integerVar(15, 5, 300),
  LAUNCH_WAIT_FOR_DAEMONS: booleanVar(true),
  // ECS's own hook holds the termination until ECS has drained (aws-behaviour.md §3.5).
  MANAGED_DRAINING: enumVar(MANAGED_DRAINING_MODES, 'defer'),
  // ECS's cluster-resource read bucket refills 20 a second for the whole account and Region
  // (aws-behaviour.md §3.1): a budget above that cannot be held, and the default leaves half to others.
  ECS_READ_BUDGET_PER_SECOND: integerVar(10, 1, 20),
});

export function loadLifecycleConfig(env: Env): LifecycleConfig {
  const values = parseEnv(lifecycleEnvSchema, env);
  return {
    ...toCommonConfig(values),
    ...(values.LIFECYCLE_TOPIC_ARN ? { lifecycleTopicArn: values.LIFECYCLE_TOPIC_ARN } : {}),
    standaloneTasks: values.STANDALONE_TASKS,
    pollIntervalSeconds: values.POLL_INTERVAL_SECONDS,
    drainTimeoutSeconds: values.DRAIN_TIMEOUT_SECONDS,
    deadlineResult: values.DEADLINE_RESULT,
    maxHops: values.MAX_HOPS,
    daemonGraceSeconds: values.DAEMON_GRACE_SECONDS,
    ...(values.OPS_TOPIC_ARN ? { opsTopicArn: values.OPS_TOPIC_ARN } : {}),
    opsNotifyLevel: values.OPS_NOTIFY_LEVEL,
    autoScalingGroups: values.AUTO_SCALING_GROUPS,
    launchTimeoutSeconds: values.LAUNCH_TIMEOUT_SECONDS,
    launchPollIntervalSeconds: values.LAUNCH_POLL_INTERVAL_SECONDS,
    launchWaitForDaemons: values.LAUNCH_WAIT_FOR_DAEMONS,
    managedDraining: values.MANAGED_DRAINING,
    readBudgetPerSecond: values.ECS_READ_BUDGET_PER_SECOND,
  };
}
