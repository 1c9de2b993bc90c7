import { z } from 'zod';
import type { PlanSettings } from './types';
import { booleanVar, commonSchema, integerVar, listVar, parseEnv, toCommonConfig, type CommonConfig, type Env } from '../config';

/** The sweeper's settings: the common ones and the planner's budgets (documented on PlanSettings). */
export interface SweeperConfig extends CommonConfig, PlanSettings {}

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
