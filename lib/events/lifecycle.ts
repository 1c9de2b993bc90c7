import { z } from 'zod';
import { EC2_INSTANCE_ID, type ParseOutcome } from './types';
import { arnPattern } from '../aws/partitions';
import { LAUNCHING, LAUNCH_REQUEUE_KIND, parseLaunchMessage, type LaunchSignal } from './launch';

/**
 * Parsers for what arrives on the lifecycle topic: Auto Scaling's lifecycle notifications, its
 * TEST_NOTIFICATION, and the drainer's own requeue messages. Everything is delivered by SNS as a
 * JSON string in `Records[].Sns.Message` (aws-behaviour.md §1.4). Launch notifications and launch
 * requeue messages are read by lib/events/launch.ts.
 */

export const TERMINATING = 'autoscaling:EC2_INSTANCE_TERMINATING';
export const TEST_NOTIFICATION = 'autoscaling:TEST_NOTIFICATION';
export const REQUEUE_KIND = 'ecs-ec2-keeper/lifecycle-requeue';
export const REQUEUE_VERSION = 2;
/** Versions this code reads: 1 is still in flight for a while after an upgrade. */
export const READABLE_REQUEUE_VERSIONS: readonly number[] = [1, 2];
const TASK_ARN = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task\/[A-Za-z0-9_/-]{1,300}$/;

const timestamp = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'is not a timestamp');

/**
 * A lifecycle notification. Unknown extra fields are kept (Origin and Destination appeared years
 * after the format was documented) so the requeue message carries the notification as received.
 */
export const lifecycleNotificationSchema = z.looseObject({
  LifecycleTransition: z.literal(TERMINATING),
  AutoScalingGroupName: z.string().min(1).max(255),
  LifecycleHookName: z.string().min(1).max(255),
  EC2InstanceId: z.string().regex(EC2_INSTANCE_ID, 'is not an EC2 instance id (i- and 8 or 17 hex digits)'),
  // Exactly 36 characters, as Auto Scaling requires (docs/aws-behaviour.md §3.2): another token could
  // never complete the action, so it is bad input, refused before any write. Optional because the
  // action can also be named by instance id.
  LifecycleActionToken: z.string().length(36).optional(),
  Time: timestamp.optional(),
  AccountId: z.string().optional(),
  RequestId: z.string().optional(),
  NotificationMetadata: z.string().max(4000).optional(),
});
export type LifecycleNotification = z.infer<typeof lifecycleNotificationSchema>;

// Every partition's ARNs (lib/aws/partitions.ts).
const CONTAINER_INSTANCE_ARN = arnPattern('ecs', 'container-instance/[A-Za-z0-9_/-]{1,300}');

/**
 * The requeue message: the original notification plus everything later rounds need so they skip
 * lookups (cluster, container instance, the hook's timeouts). Rounds of one drain form a chain,
 * named by `chainId`; `attempt` counts the hops so far. Version 2 adds `stoppedTaskArns`, the tasks
 * already seen STOPPED, which later rounds do not describe again (lib/lifecycle/task-reads.ts);
 * version 1 messages (without it) are still read.
 */
const requeueFields = {
  kind: z.literal(REQUEUE_KIND),
  chainId: z.string().regex(/^[A-Za-z0-9-]{8,64}$/, 'is not a chain id'),
  attempt: z.number().int().min(1).max(100_000),
  firstSeenAt: timestamp,
  /** When the hook's heartbeat window last restarted: the action's start or our last heartbeat. */
  lastHeartbeatAt: timestamp,
  heartbeatTimeoutSeconds: z.number().int().min(30).max(7200),
  globalTimeoutSeconds: z.number().int().min(30).max(172_800),
  cluster: z.string().min(1).max(2048),
  containerInstanceArn: z.string().regex(CONTAINER_INSTANCE_ARN, 'is not a container instance ARN'),
  /** When the counted tasks were first seen all stopped: the daemon grace runs from here. */
  countedGoneAt: timestamp.optional(),
  notification: lifecycleNotificationSchema,
};
export const requeueMessageSchema = z.union([
  z.strictObject({ ...requeueFields, version: z.literal(1) }),
  z.strictObject({
    ...requeueFields,
    version: z.literal(REQUEUE_VERSION),
    // At most 200 ARNs of about 100 characters: far below SNS's 256 KB (aws-behaviour.md §4).
    stoppedTaskArns: z.array(z.string().regex(TASK_ARN, 'is not a task ARN')).max(200).optional(),
  }),
]);
export type RequeueMessage = z.infer<typeof requeueMessageSchema>;

export type LifecycleSignal =
  | { kind: 'notification'; notification: LifecycleNotification; messageId: string; topicArn?: string }
  | { kind: 'requeue'; message: RequeueMessage; messageId: string; topicArn?: string };

/** Any signal of the lifecycle topic: a drain's (above) or a launch's (lib/events/launch.ts). */
export type LifecycleTopicSignal = LifecycleSignal | LaunchSignal;

export interface LifecycleParseOptions {
  /** Managed groups; empty: every group. */
  autoScalingGroups: readonly string[];
}

const snsRecord = z.object({
  EventSource: z.literal('aws:sns').optional(),
  Sns: z.object({
    MessageId: z.string().min(1),
    TopicArn: z.string().optional(),
    Message: z.string(),
  }),
});

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'message'}: ${issue.message}`).join('; ');
}

const invalid = (reason: string, detail: string): ParseOutcome<LifecycleSignal> => ({ outcome: 'invalid', reason, detail });
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The records of an SNS event, or why the event is not one. */
export function snsRecords(event: unknown): { ok: true; records: unknown[] } | { ok: false; reason: string; detail: string } {
  if (!isObject(event)) {
    return { ok: false, reason: 'not-an-object', detail: `event is ${event === null ? 'null' : Array.isArray(event) ? 'an array' : typeof event}` };
  }
  if (!Array.isArray(event.Records)) return { ok: false, reason: 'not-an-sns-event', detail: 'event has no Records array' };
  if (event.Records.length === 0) return { ok: false, reason: 'no-records', detail: 'Records is empty' };
  return { ok: true, records: event.Records };
}

/** Parses one SNS record into a signal, an explicit no-op, or an invalid outcome. Never throws. */
export function parseLifecycleRecord(record: unknown, options: LifecycleParseOptions): ParseOutcome<LifecycleTopicSignal> {
  const envelope = snsRecord.safeParse(record);
  if (!envelope.success) return invalid('malformed-record', describeIssues(envelope.error));
  const { MessageId: messageId, TopicArn: topicArn, Message: raw } = envelope.data.Sns;
  const where = { messageId, ...(topicArn ? { topicArn } : {}) };

  let message: unknown;
  try {
    message = JSON.parse(raw);
  } catch {
    return invalid('message-not-json', `Sns.Message is not JSON (${raw.length} characters)`);
  }
  if (!isObject(message)) return invalid('message-not-an-object', 'Sns.Message is not a JSON object');

  if (message.kind === LAUNCH_REQUEUE_KIND) return parseLaunchMessage(message, where, (group) => isManaged(group, options));
  if (typeof message.kind === 'string' && message.kind === REQUEUE_KIND) {
    if (typeof message.version !== 'number' || !READABLE_REQUEUE_VERSIONS.includes(message.version)) {
      return invalid('unsupported-version', `requeue message version ${JSON.stringify(message.version)}; this code reads ${READABLE_REQUEUE_VERSIONS.join(' and ')}`);
    }
    const parsed = requeueMessageSchema.safeParse(message);
    if (!parsed.success) return invalid('malformed-requeue', describeIssues(parsed.error));
    if (!isManaged(parsed.data.notification.AutoScalingGroupName, options)) {
      return { outcome: 'ignored', kind: 'requeue', reason: 'unmanaged-group' };
    }
    return { outcome: 'signal', signal: { kind: 'requeue', message: parsed.data, ...where } };
  }

  if (message.Event === TEST_NOTIFICATION) return { outcome: 'ignored', kind: 'test-notification', reason: 'test-notification' };

  if (typeof message.LifecycleTransition === 'string') {
    if (message.LifecycleTransition === LAUNCHING) return parseLaunchMessage(message, where, (group) => isManaged(group, options));
    if (message.LifecycleTransition !== TERMINATING) {
      // Any future transition is someone else's business.
      return { outcome: 'ignored', kind: 'other-transition', reason: 'unhandled-transition' };
    }
    const parsed = lifecycleNotificationSchema.safeParse(message);
    if (!parsed.success) return invalid('malformed-notification', describeIssues(parsed.error));
    if (!isManaged(parsed.data.AutoScalingGroupName, options)) {
      return { outcome: 'ignored', kind: 'notification', reason: 'unmanaged-group' };
    }
    return { outcome: 'signal', signal: { kind: 'notification', notification: parsed.data, ...where } };
  }
  return invalid('unknown-message', 'neither a lifecycle notification, a test notification nor a requeue message');
}

/** `autoScalingGroups` holds names: lib/config.ts reduces group ARNs to names. */
function isManaged(group: string, options: LifecycleParseOptions): boolean {
  return options.autoScalingGroups.length === 0 || options.autoScalingGroups.includes(group);
}
