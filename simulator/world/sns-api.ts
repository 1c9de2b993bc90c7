import { AwsApiError } from '../api';
import { readString } from './input';
import type { Operation } from './rules';

const SNS_MESSAGE_LIMIT = 262_144;

/** Publish with the model's limits: message ≤ 256 KB, subject < 100 characters without line breaks (aws-behaviour.md §4). */
const publish: Operation = (world, input) => {
  const topicArn = readString(input, 'TopicArn', 'InvalidParameter') ?? readString(input, 'TargetArn', 'InvalidParameter');
  if (!topicArn) throw new AwsApiError('InvalidParameter', 'Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter', 400);
  const message = readString(input, 'Message', 'InvalidParameter');
  if (message === undefined || message === '') throw new AwsApiError('InvalidParameter', 'Invalid parameter: Empty message', 400);
  if (Buffer.byteLength(message, 'utf8') > SNS_MESSAGE_LIMIT) throw new AwsApiError('InvalidParameter', 'Invalid parameter: Message too long', 400);
  const subject = readString(input, 'Subject', 'InvalidParameter');
  // eslint-disable-next-line no-control-regex
  if (subject !== undefined && (subject.length >= 100 || subject === '' || /[\u0000-\u001f]/.test(subject))) {
    throw new AwsApiError('InvalidParameter', 'Invalid parameter: Subject', 400);
  }
  if (!world.topics.has(topicArn)) throw new AwsApiError('NotFound', 'Topic does not exist', 404);
  const messageId = world.rules.sns.publish(topicArn, message, subject, messageAttributes(input.MessageAttributes));
  return { MessageId: messageId };
};

/** Publish's MessageAttributes (a map of {DataType, StringValue}) as Lambda shows them ({Type, Value}). */
function messageAttributes(raw: unknown): Record<string, { Type: string; Value: string }> {
  const out: Record<string, { Type: string; Value: string }> = {};
  if (!raw || typeof raw !== 'object') return out;
  const entries: [string, unknown][] = Array.isArray(raw)
    ? raw.map((entry) => [String((entry as { Name?: unknown; key?: unknown }).Name ?? (entry as { key?: unknown }).key), (entry as { Value?: unknown; value?: unknown }).Value ?? (entry as { value?: unknown }).value])
    : Object.entries(raw);
  for (const [name, value] of entries) {
    const attribute = value as { DataType?: string; StringValue?: string };
    out[name] = { Type: attribute?.DataType ?? 'String', Value: attribute?.StringValue ?? '' };
  }
  return out;
}

export const snsOperations: Record<string, Operation> = { Publish: publish };
