import { z } from 'zod';
import { arnPattern } from './aws/partitions';

/**
 * Configuration is read once, at cold start, from environment variables.
 * Every problem is reported in one error so an operator fixes the stage in one deploy,
 * and every message names the variable and the values it accepts.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
  }
}

export type Env = Record<string, string | undefined>;

const TRUE_VALUES = ['true', '1', 'yes'];
const FALSE_VALUES = ['false', '0', 'no'];

/** A bad value of a variable: what it must be. */
class Invalid {
  constructor(readonly message: string) {}
}

/** An optional variable: unset or empty is `fallback`; `read` gives its value, or Invalid for a bad one. */
const variable = <T>(fallback: T, read: (value: string) => T | Invalid) =>
  z
    .string()
    .trim()
    .optional()
    .transform((value, ctx): T => {
      if (value === undefined || value === '') return fallback;
      const result = read(value);
      if (!(result instanceof Invalid)) return result;
      ctx.addIssue({ code: 'custom', message: result.message });
      return z.NEVER;
    });

/** A boolean variable; anything but the listed spellings is rejected rather than read as false. */
export const booleanVar = (defaultValue: boolean) =>
  variable(defaultValue, (value) => {
    const spelled = value.toLowerCase();
    if (TRUE_VALUES.includes(spelled) || FALSE_VALUES.includes(spelled)) return TRUE_VALUES.includes(spelled);
    return new Invalid(`must be one of ${[...TRUE_VALUES, ...FALSE_VALUES].join(', ')}`);
  });

/** A whole number within [min, max]. */
const wholeNumber = (min: number, max: number, message = `must be a whole number from ${min} to ${max}`) => (value: string) =>
  /^-?\d+$/.test(value) && Number(value) >= min && Number(value) <= max ? Number(value) : new Invalid(message);

/** An integer variable within [min, max]. */
export const integerVar = (defaultValue: number, min: number, max: number) => variable(defaultValue, wholeNumber(min, max));

/** An optional whole number within [min, max]: empty means "no limit". */
export const optionalIntegerVar = (min: number, max: number) =>
  variable<number | undefined>(undefined, wholeNumber(min, max, `must be empty or a whole number from ${min} to ${max}`));

/** An enumerated variable; unknown values are rejected with the list of allowed ones. */
export const enumVar = <const T extends readonly [string, ...string[]]>(allowed: T, defaultValue: T[number]) =>
  variable<T[number]>(defaultValue, (value) => allowed.find((candidate) => candidate.toLowerCase() === value.toLowerCase()) ?? new Invalid(`must be one of ${allowed.join(', ')}`));

/** A comma-separated list; empty items are dropped, duplicates removed, order kept. */
export const listVar = () =>
  z
    .string()
    .optional()
    .transform((value) => [...new Set((value ?? '').split(',').map((item) => item.trim()).filter(Boolean))]);

const CLUSTER_NAME = /^[A-Za-z0-9_-]{1,255}$/;
// Every partition's ARNs (lib/aws/partitions.ts).
const CLUSTER_ARN = arnPattern('ecs', 'cluster/[A-Za-z0-9_-]{1,255}');

export const clusterListVar = () =>
  listVar().superRefine((clusters, ctx) => {
    for (const cluster of clusters) {
      if (!CLUSTER_NAME.test(cluster) && !CLUSTER_ARN.test(cluster)) {
        ctx.addIssue({ code: 'custom', message: `"${cluster}" is neither a cluster name (letters, digits, - and _) nor a cluster ARN` });
      }
    }
  });

const GROUP_NAME = /^[\x20-\x7E]{1,255}$/;
const GROUP_ARN_NAME = arnPattern('autoscaling', 'autoScalingGroup:[^:]+:autoScalingGroupName/(.+)');

/**
 * The one grammar of AUTO_SCALING_GROUPS: group names, or group ARNs
 * (arn:aws:autoscaling:<region>:<account>:autoScalingGroup:<uuid>:autoScalingGroupName/<name>, as IAM
 * writes them), each reduced to its name, since notifications and DescribeAutoScalingInstances
 * name groups by name (https://docs.aws.amazon.com/autoscaling/ec2/userguide/control-access-using-iam.html).
 */
export const groupListVar = () =>
  listVar().transform((groups, ctx) => {
    const names: string[] = [];
    for (const group of groups) {
      const name = group.startsWith('arn:') ? GROUP_ARN_NAME.exec(group)?.[1] : group;
      if (name === undefined || !GROUP_NAME.test(name)) {
        ctx.addIssue({ code: 'custom', message: `"${group}" is neither an Auto Scaling group name nor a group ARN` });
      } else if (!names.includes(name)) {
        names.push(name);
      }
    }
    return names;
  });

/** Group names from an AUTO_SCALING_GROUPS value (throws ConfigError on a bad entry). */
export function parseGroupList(value: string | undefined): string[] {
  return parseEnv(z.object({ AUTO_SCALING_GROUPS: groupListVar() }), { AUTO_SCALING_GROUPS: value }).AUTO_SCALING_GROUPS;
}

const SNS_TOPIC_ARN = arnPattern('sns', '[A-Za-z0-9_-]{1,256}');

export const optionalTopicArnVar = () =>
  variable<string | undefined>(undefined, (value) => (SNS_TOPIC_ARN.test(value) ? value : new Invalid('must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)')));

const METRICS_NAMESPACE = /^(?!AWS\/)[A-Za-z0-9._\-/#:]{1,255}$/;

/** The SDK's own cap on one retry's backoff (smithy util-retry MAXIMUM_RETRY_DELAY). */
export const SDK_MAX_RETRY_DELAY_MS = 20_000;

/** Settings every function shares. */
export const commonSchema = z.object({
  CLUSTERS: clusterListVar(),
  DRY_RUN: booleanVar(false),
  LOG_LEVEL: enumVar(['DEBUG', 'INFO', 'WARN', 'ERROR'] as const, 'INFO'),
  METRICS_NAMESPACE: variable('EcsEc2Keeper', (value) =>
    METRICS_NAMESPACE.test(value) ? value : new Invalid('must be 1-255 characters of A-Z a-z 0-9 . _ - / # : and not start with AWS/'),
  ),
  AWS_MAX_ATTEMPTS: integerVar(4, 1, 20),
  AWS_RETRY_MODE: enumVar(['standard', 'adaptive'] as const, 'standard'),
  AWS_RETRY_MAX_DELAY_MS: integerVar(SDK_MAX_RETRY_DELAY_MS, 100, SDK_MAX_RETRY_DELAY_MS),
});

export interface CommonConfig {
  /** Managed clusters as configured (names or ARNs); empty means every cluster from ListClusters. */
  clusters: string[];
  dryRun: boolean;
  logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  metricsNamespace: string;
  sdk: {
    maxAttempts: number;
    retryMode: 'standard' | 'adaptive';
    /** Cap on one retry's backoff; below the SDK's 20 s it makes retries denser (standard mode). */
    maxBackoffMs: number;
  };
}

/**
 * Parses `env` with `schema` and reports every problem at once.
 * The schema's keys are the variable names, so each message starts with the variable it is about.
 */
export function parseEnv<S extends z.ZodObject>(schema: S, env: Env): z.output<S> {
  const result = schema.safeParse(env);
  const problems = result.success
    ? []
    : result.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'} ${issue.message}`);
  if (problems.length > 0) throw new ConfigError(problems);
  return (result as { data: z.output<S> }).data;
}

/**
 * Adaptive mode keeps the SDK's own strategy (its client-side rate limiter and backoff): a custom
 * backoff cap (the Spot drainer's 8 s default included) applies to standard mode only and is not
 * applied in adaptive mode. `serverless package` prints a notice when a stage sets both.
 */
export function effectiveMaxBackoffMs(retryMode: 'standard' | 'adaptive', maxBackoffMs: number): number {
  return retryMode === 'adaptive' ? SDK_MAX_RETRY_DELAY_MS : maxBackoffMs;
}

export function toCommonConfig(values: z.output<typeof commonSchema>): CommonConfig {
  return {
    clusters: values.CLUSTERS,
    dryRun: values.DRY_RUN,
    logLevel: values.LOG_LEVEL,
    metricsNamespace: values.METRICS_NAMESPACE,
    sdk: {
      maxAttempts: values.AWS_MAX_ATTEMPTS,
      retryMode: values.AWS_RETRY_MODE,
      maxBackoffMs: effectiveMaxBackoffMs(values.AWS_RETRY_MODE, values.AWS_RETRY_MAX_DELAY_MS),
    },
  };
}

export function loadCommonConfig(env: Env): CommonConfig {
  return toCommonConfig(parseEnv(commonSchema, env));
}
