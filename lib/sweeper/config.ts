import { z } from 'zod';
import { booleanVar, commonSchema, integerVar, listVar, parseEnv, toCommonConfig, type CommonConfig, type Env } from '../config';

export interface SweeperConfig extends CommonConfig {
  /**
   * Auto Scaling groups the sweeper may shrink (names). Empty: any group the instances belong to
   * (the IAM role then allows termination in every group of the account and Region).
   */
  autoScalingGroups: string[];
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

const GROUP_NAME = /^[\x20-\x7E]{1,255}$/;
const GROUP_ARN_NAME = /:autoScalingGroupName\/(.+)$/;

/** Group names, or group ARNs reduced to their name (DescribeAutoScalingInstances reports names). */
const groupListVar = () =>
  listVar()
    .transform((groups) => groups.map((group) => (group.startsWith('arn:') ? (GROUP_ARN_NAME.exec(group)?.[1] ?? group) : group)))
    .superRefine((groups, ctx) => {
      for (const group of groups) {
        if (group.startsWith('arn:') || !GROUP_NAME.test(group)) {
          ctx.addIssue({ code: 'custom', message: `"${group}" is neither an Auto Scaling group name nor a group ARN` });
        }
      }
    });

export const sweeperEnvSchema = commonSchema.extend({
  AUTO_SCALING_GROUPS: groupListVar(),
  MIN_IDLE_MINUTES: integerVar(30, 0, 10_080),
  MIN_FREE_CPU: integerVar(1024, 0, 10_000_000),
  MIN_FREE_MEMORY: integerVar(2048, 0, 100_000_000),
  MAX_REMOVALS_PER_RUN: integerVar(2, 0, 100),
  CONSOLIDATE: booleanVar(false),
  SCHEDULABLE_TASK_CPU: integerVar(256, 1, 1_000_000),
  SCHEDULABLE_TASK_MEMORY: integerVar(512, 1, 10_000_000),
});

export function loadSweeperConfig(env: Env): SweeperConfig {
  const values: z.output<typeof sweeperEnvSchema> = parseEnv(sweeperEnvSchema, env);
  return {
    ...toCommonConfig(values),
    autoScalingGroups: values.AUTO_SCALING_GROUPS,
    minIdleMinutes: values.MIN_IDLE_MINUTES,
    minFreeCpu: values.MIN_FREE_CPU,
    minFreeMemory: values.MIN_FREE_MEMORY,
    maxRemovalsPerRun: values.MAX_REMOVALS_PER_RUN,
    consolidate: values.CONSOLIDATE,
    schedulableTaskCpu: values.SCHEDULABLE_TASK_CPU,
    schedulableTaskMemory: values.SCHEDULABLE_TASK_MEMORY,
  };
}
