import { z } from 'zod';

/**
 * The SQS event a Lambda event source mapping delivers: `Records[]`, each with the message id the
 * function names in `batchItemFailures` and the body EventBridge wrote (the event as JSON).
 * https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
 */
export interface SqsRecordIn {
  messageId: string;
  body: string;
  /** How many times SQS has handed this message out, this delivery included (a string in the event). */
  receiveCount?: number;
}

export type SqsEnvelopeOutcome =
  | { outcome: 'batch'; records: SqsRecordIn[]; invalid: { index: number; messageId?: string; reason: string; detail: string }[] }
  | { outcome: 'not-sqs' };

const record = z.object({
  messageId: z.string().min(1),
  body: z.string(),
  eventSource: z.literal('aws:sqs'),
  attributes: z.object({ ApproximateReceiveCount: z.string().optional() }).partial().optional(),
});

/** True when the event looks like an SQS batch: an object whose `Records` is an array of aws:sqs records. */
export function isSqsBatch(event: unknown): boolean {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return false;
  const records = (event as { Records?: unknown }).Records;
  if (!Array.isArray(records)) return false;
  return records.length === 0 || records.some((entry) => (entry as { eventSource?: unknown } | null)?.eventSource === 'aws:sqs');
}

/**
 * Splits an SQS batch into its records. A record without a message id cannot be named in
 * `batchItemFailures` and cannot be acted on: it is reported invalid (Lambda then deletes it with
 * the batch). A body is not parsed here: `parseSqsBody` does that per record.
 */
export function parseSqsBatch(event: unknown): SqsEnvelopeOutcome {
  if (!isSqsBatch(event)) return { outcome: 'not-sqs' };
  const entries = (event as { Records: unknown[] }).Records;
  const records: SqsRecordIn[] = [];
  const invalid: { index: number; messageId?: string; reason: string; detail: string }[] = [];
  entries.forEach((entry, index) => {
    const parsed = record.safeParse(entry);
    if (!parsed.success) {
      const messageId = (entry as { messageId?: unknown } | null)?.messageId;
      invalid.push({
        index,
        ...(typeof messageId === 'string' && messageId !== '' ? { messageId } : {}),
        reason: 'malformed-sqs-record',
        detail: parsed.error.issues.map((issue) => `Records[${index}].${issue.path.join('.')}: ${issue.message}`).join('; '),
      });
      return;
    }
    const count = Number(parsed.data.attributes?.ApproximateReceiveCount);
    records.push({
      messageId: parsed.data.messageId,
      body: parsed.data.body,
      ...(Number.isInteger(count) && count > 0 ? { receiveCount: count } : {}),
    });
  });
  return { outcome: 'batch', records, invalid };
}

/** The body of a record as JSON; a body that is not JSON is reported, never thrown. */
export function parseSqsBody(body: string): { ok: true; value: unknown } | { ok: false; reason: string; detail: string } {
  try {
    return { ok: true, value: JSON.parse(body) as unknown };
  } catch (error) {
    return { ok: false, reason: 'body-not-json', detail: error instanceof Error ? error.message : String(error) };
  }
}
