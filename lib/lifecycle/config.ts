import {
  commonSchema,
  enumVar,
  integerVar,
  listVar,
  optionalTopicArnVar,
  parseEnv,
  toCommonConfig,
  type CommonConfig,
  type Env,
} from '../config';

export type StandaloneTasksPolicy = 'wait' | 'stop' | 'ignore';
export type LifecycleResult = 'CONTINUE' | 'ABANDON';

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
  /** Operators' topic for deadline notices; unset: no notice. */
  opsTopicArn?: string;
  /** Groups whose notifications are handled; empty: every group. */
  autoScalingGroups: string[];
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
  OPS_TOPIC_ARN: optionalTopicArnVar(),
  AUTO_SCALING_GROUPS: listVar(),
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
    ...(values.OPS_TOPIC_ARN ? { opsTopicArn: values.OPS_TOPIC_ARN } : {}),
    autoScalingGroups: values.AUTO_SCALING_GROUPS,
  };
}
