import { z } from 'zod';
import type { PlanSettings, ReserveTasks, ScheduleWindow } from './types';
import { booleanVar, commonSchema, enumVar, groupListVar, integerVar, listVar, optionalIntegerVar, optionalTopicArnVar, parseEnv, toCommonConfig, type CommonConfig, type Env } from '../config';
import { OPS_NOTIFY_LEVELS, type OpsNotifyLevel } from '../notify';

/** The sweeper's settings: the common ones and the planner's budgets (documented on PlanSettings). */
export interface SweeperConfig extends CommonConfig, PlanSettings {
  /** Operators' topic (lib/notify.ts): removals are reported at OPS_NOTIFY_LEVEL=actions. */
  opsTopicArn?: string;
  opsNotifyLevel: OpsNotifyLevel;
  /** Seconds a run watches its drains and terminates each as soon as it is empty (finish.ts); 0: the next run does. */
  drainWaitSeconds: number;
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const WINDOW = /^(?:([a-z]{3})(?:-([a-z]{3}))?\s+)?(\d{2}):(\d{2})-(\d{2}):(\d{2})$/;

/** "[day[-day]] HH:MM-HH:MM" in UTC, comma separated; an end at or before the start passes midnight. */
export function parseWindow(text: string): ScheduleWindow | string {
  const match = WINDOW.exec(text.trim().toLowerCase());
  if (!match) return `"${text}" is not "[mon-fri] HH:MM-HH:MM"`;
  const [, from, to, startH, startM, endH, endM] = match;
  const first = from === undefined ? 0 : DAYS.indexOf(from);
  const last = from === undefined ? 6 : to === undefined ? first : DAYS.indexOf(to);
  if (first < 0 || last < 0) return `"${text}" names an unknown day (use ${DAYS.join(', ')})`;
  const startMinute = Number(startH) * 60 + Number(startM);
  const endMinute = Number(endH) * 60 + Number(endM);
  if (Number(startH) > 23 || Number(startM) > 59 || Number(endM) > 59 || endMinute > 24 * 60) return `"${text}" has an invalid time`;
  if (startMinute === endMinute) return `"${text}" is an empty window`;
  const days: number[] = [];
  for (let day = first; ; day = (day + 1) % 7) {
    days.push(day);
    if (day === last) break;
  }
  return { days, startMinute, endMinute };
}

const RESERVE = /^(\d+)x(\d+)\/(\d+)((?:\/(?:gpu=\d+|eni|port=(?:tcp|udp)\/\d+))*)$/;

/** "KxCPU/MEMORY[/gpu=N][/eni][/port=tcp/80]": K tasks of that shape per zone. */
export function parseReserveTask(text: string): ReserveTasks | string {
  const match = RESERVE.exec(text.trim().toLowerCase().replace(/\s+/g, ''));
  if (!match) return `"${text}" is not "KxCPU/MEMORY[/gpu=N][/eni][/port=tcp/80]"`;
  const [, count, cpu, memory, extras = ''] = match;
  const parts = extras.split('/').filter(Boolean);
  const gpu = parts.filter((part) => part.startsWith('gpu=')).map((part) => Number(part.slice(4)))[0];
  const ports: string[] = [];
  parts.forEach((part, index) => {
    if (part.startsWith('port=')) ports.push(`${part.slice(5)}/${parts[index + 1] ?? ''}`);
  });
  const shape: ReserveTasks = { count: Number(count), cpu: Number(cpu), memory: Number(memory) };
  if (shape.count < 1 || shape.count > 1000 || shape.cpu < 1 || shape.memory < 1) return `"${text}" needs 1-1000 tasks of at least 1 CPU unit and 1 MiB`;
  return {
    ...shape,
    ...(gpu ? { gpu } : {}),
    ...(parts.includes('eni') ? { eni: true } : {}),
    ...(ports.length > 0 ? { hostPorts: ports } : {}),
  };
}

const parsedListVar = <T>(parse: (text: string) => T | string) =>
  listVar().transform((items, ctx) => {
    const parsed: T[] = [];
    for (const item of items) {
      const result = parse(item);
      if (typeof result === 'string') ctx.addIssue({ code: 'custom', message: result });
      else parsed.push(result);
    }
    return parsed;
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
  MAX_DRAINING: optionalIntegerVar(0, 10_000),
  MAX_DRAINING_PERCENT: optionalIntegerVar(0, 100),
  CONSOLIDATION_WINDOWS: parsedListVar(parseWindow),
  CONSOLIDATE_AFTER_MINUTES: integerVar(0, 0, 10_080),
  UNDERUSED_PERCENT: integerVar(50, 1, 100),
  RESERVE_TASKS: parsedListVar(parseReserveTask),
  CAPACITY_PROVIDERS: enumVar(['stand-down', 'cooperate'] as const, 'stand-down'),
  DRAIN_WAIT_SECONDS: integerVar(120, 0, 600),
  OPS_TOPIC_ARN: optionalTopicArnVar(),
  OPS_NOTIFY_LEVEL: enumVar(OPS_NOTIFY_LEVELS, 'problems'),
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
    ...(values.MAX_DRAINING !== undefined ? { maxDraining: values.MAX_DRAINING } : {}),
    ...(values.MAX_DRAINING_PERCENT !== undefined ? { maxDrainingPercent: values.MAX_DRAINING_PERCENT } : {}),
    consolidationWindows: values.CONSOLIDATION_WINDOWS,
    consolidateAfterMinutes: values.CONSOLIDATE_AFTER_MINUTES,
    underusedPercent: values.UNDERUSED_PERCENT,
    reserveTasks: values.RESERVE_TASKS,
    capacityProviderMode: values.CAPACITY_PROVIDERS,
    ...(values.OPS_TOPIC_ARN ? { opsTopicArn: values.OPS_TOPIC_ARN } : {}),
    opsNotifyLevel: values.OPS_NOTIFY_LEVEL,
    drainWaitSeconds: values.DRAIN_WAIT_SECONDS,
  };
}
