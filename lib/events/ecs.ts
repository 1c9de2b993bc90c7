import { z } from 'zod';
import { eventBridgeEnvelope } from './envelope';
import type { ParseOutcome } from './types';

/**
 * ECS task state-change events, delivered to the lifecycle drainer by an EventBridge rule (source
 * aws.ecs, detail-type "ECS Task State Change", lastStatus STOPPED, the managed clusters). ECS
 * sends them at least once and in no guaranteed order; `detail.version` grows with each change of
 * the task, so a later version supersedes an earlier one (docs/aws-behaviour.md §1.10,
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html).
 */
export const TASK_STATE_CHANGE = 'ECS Task State Change';

const ARN_PREFIX = '^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\\d{12}:';
const clusterArn = z.string().regex(new RegExp(`${ARN_PREFIX}cluster/[A-Za-z0-9_-]{1,255}$`), 'is not a cluster ARN');
const taskArn = z.string().regex(new RegExp(`${ARN_PREFIX}task/[A-Za-z0-9_/-]{1,300}$`), 'is not a task ARN');
const containerInstanceArn = z
  .string()
  .regex(new RegExp(`${ARN_PREFIX}container-instance/[A-Za-z0-9_/-]{1,300}$`), 'is not a container instance ARN');


const STATUSES = ['PROVISIONING', 'PENDING', 'ACTIVATING', 'RUNNING', 'DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED', 'DELETED'] as const;

const taskDetail = z.looseObject({
  clusterArn,
  taskArn,
  // Absent for Fargate tasks, which run on no container instance of ours.
  containerInstanceArn: containerInstanceArn.optional(),
  lastStatus: z.enum(STATUSES),
  desiredStatus: z.enum(['RUNNING', 'PENDING', 'STOPPED']),
  version: z.number().int().min(0),
  group: z.string().optional(),
  launchType: z.string().optional(),
});

export interface TaskStoppedSignal {
  eventId: string;
  clusterArn: string;
  taskArn: string;
  containerInstanceArn: string;
  /** ECS's version of the task's state: a larger one is a later state. */
  version: number;
  group?: string;
}

export interface EcsTaskParseOptions {
  /** Managed clusters (names or ARNs); empty or "*": every cluster. */
  clusters: readonly string[];
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'event'}: ${issue.message}`).join('; ');
}

const invalid = (reason: string, detail: string): ParseOutcome<TaskStoppedSignal> => ({ outcome: 'invalid', reason, detail });

/** True for an object that looks like an EventBridge event from ECS (so the SNS parser is not asked). */
export function isEcsBusEvent(event: unknown): boolean {
  return typeof event === 'object' && event !== null && !Array.isArray(event) && (event as { source?: unknown }).source === 'aws.ecs';
}

/**
 * Parses an ECS task state-change event. A well-formed event the drainer has no use for (a task not
 * yet STOPPED, a Fargate task, an unmanaged cluster) is `ignored`; a wrong detail-type or missing
 * and mistyped fields are `invalid`, since the rule routes only this detail-type here.
 */
export function parseEcsTaskEvent(event: unknown, options: EcsTaskParseOptions): ParseOutcome<TaskStoppedSignal> {
  const parsedEnvelope = eventBridgeEnvelope.safeParse(event);
  if (!parsedEnvelope.success) return invalid('malformed-envelope', describeIssues(parsedEnvelope.error));
  const { source, id, detail } = parsedEnvelope.data;
  if (source !== 'aws.ecs') return invalid('unexpected-source', `source is ${JSON.stringify(source)}, expected "aws.ecs"`);
  const detailType = parsedEnvelope.data['detail-type'];
  if (detailType !== TASK_STATE_CHANGE) return invalid('unknown-detail-type', `detail-type ${JSON.stringify(detailType)} is not handled`);
  const parsed = taskDetail.safeParse(detail);
  if (!parsed.success) return invalid('malformed-detail', describeIssues(parsed.error));
  const task = parsed.data;
  if (task.lastStatus !== 'STOPPED') return { outcome: 'ignored', kind: 'task-state-change', reason: 'not-stopped' };
  if (task.containerInstanceArn === undefined) return { outcome: 'ignored', kind: 'task-state-change', reason: 'no-container-instance' };
  if (!isManagedCluster(task.clusterArn, options.clusters)) return { outcome: 'ignored', kind: 'task-state-change', reason: 'unmanaged-cluster' };
  return {
    outcome: 'signal',
    signal: {
      eventId: id,
      clusterArn: task.clusterArn,
      taskArn: task.taskArn,
      containerInstanceArn: task.containerInstanceArn,
      version: task.version,
      ...(task.group !== undefined ? { group: task.group } : {}),
    },
  };
}

function isManagedCluster(arn: string, clusters: readonly string[]): boolean {
  if (clusters.length === 0 || clusters.includes('*')) return true;
  const name = arn.slice(arn.lastIndexOf('/') + 1);
  return clusters.some((entry) => entry === arn || entry === name);
}
