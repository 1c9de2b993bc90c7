import type { SNSClient } from '@aws-sdk/client-sns';
import { publish } from './aws/sns';
import { describeError } from './errors';
import type { FunctionName } from './metrics';
import type { Telemetry } from './telemetry';

/**
 * Notifications for people on OPS_TOPIC_ARN, as AWS Chatbot / Amazon Q Developer in chat
 * applications custom notifications: the topic can be mapped to a Slack or Teams channel as it is,
 * and any other subscriber (e-mail, an HTTPS webhook, a queue) reads the same JSON.
 * Schema: https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html
 * (`version` "1.0" and `source` "custom" are required; `content.textType` is `client-markdown`).
 */

/** `problems`: only drains cut short and instances left retained; `actions`: every drain, completion and removal as well. */
export const OPS_NOTIFY_LEVELS = ['problems', 'actions'] as const;
export type OpsNotifyLevel = (typeof OPS_NOTIFY_LEVELS)[number];

export type OpsEventType = 'drained' | 'completed' | 'deadline' | 'removed' | 'retained';

export interface OpsEvent {
  type: OpsEventType;
  function: FunctionName;
  /** One line, plain text: the chat title and the SNS subject. */
  title: string;
  /** Markdown lines. */
  description: string[];
  nextSteps?: string[];
  /** ARNs or ids the notice is about (instance, container instance, cluster). */
  resources: string[];
  /** Searchable key/values (a webhook reads these instead of parsing the text). */
  context: Record<string, string>;
  /** Notices of one drain share a thread in chat. */
  threadId?: string;
}

export interface CustomNotification {
  version: '1.0';
  source: 'custom';
  id?: string;
  content: { textType: 'client-markdown'; title: string; description: string; nextSteps?: string[]; keywords?: string[] };
  metadata: { threadId?: string; summary: string; eventType: string; relatedResources: string[]; additionalContext: Record<string, string> };
}

const PROBLEMS: ReadonlySet<OpsEventType> = new Set(['deadline', 'retained']);

/** Whether a notice of this type goes out at the chosen level. */
export function admits(level: OpsNotifyLevel, type: OpsEventType): boolean {
  return level === 'actions' || PROBLEMS.has(type);
}

/** SNS subjects must be under 100 characters, without line breaks. */
export function subjectOf(title: string): string {
  return title.replace(/[\r\n]+/g, ' ').slice(0, 99);
}

export function customNotification(event: OpsEvent): CustomNotification {
  return {
    version: '1.0',
    source: 'custom',
    content: {
      textType: 'client-markdown',
      title: event.title,
      description: event.description.join('\n'),
      ...(event.nextSteps && event.nextSteps.length > 0 ? { nextSteps: event.nextSteps } : {}),
      keywords: ['ecs-ec2-keeper', event.function, event.type],
    },
    metadata: {
      ...(event.threadId ? { threadId: event.threadId } : {}),
      summary: event.title,
      eventType: `ecs-ec2-keeper.${event.type}`,
      relatedResources: event.resources,
      additionalContext: { function: event.function, type: event.type, ...event.context },
    },
  };
}

/**
 * Publishes the notice when the level admits it. Throws what SNS throws: a caller decides whether a
 * failed notice matters (it never undoes or repeats the action it reports).
 */
export async function notifyOps(
  sns: SNSClient,
  settings: { opsTopicArn?: string; opsNotifyLevel: OpsNotifyLevel },
  event: OpsEvent,
): Promise<boolean> {
  if (!settings.opsTopicArn || !admits(settings.opsNotifyLevel, event.type)) return false;
  await publish(sns, { topicArn: settings.opsTopicArn, subject: subjectOf(event.title), message: JSON.stringify(customNotification(event)) });
  return true;
}

/**
 * Best effort: a notice that cannot be sent is logged and counted (`OpsNoticeFailed`), never thrown,
 * so it never undoes or repeats the action it reports.
 */
export async function notifyOpsSafely(
  sns: SNSClient,
  settings: { opsTopicArn?: string; opsNotifyLevel: OpsNotifyLevel },
  telemetry: Telemetry,
  event: OpsEvent,
  where: { cluster: string; fields: Record<string, unknown> },
): Promise<void> {
  try {
    await notifyOps(sns, settings, event);
  } catch (error) {
    telemetry.log('ERROR', 'ops notice failed', { ...where.fields, ...describeError(error) });
    telemetry.count('OpsNoticeFailed', { cluster: where.cluster });
  }
}
