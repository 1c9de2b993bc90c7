import type { Scheduler, TimerHandle } from '../clock';
import { ACCOUNT, REGION } from '../world/model';
import { Random } from '../world/random';

/**
 * An SQS standard queue and the Lambda event source mapping that reads it, on the virtual clock
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html,
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html,
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html):
 *
 * - Pollers read the queue 10 messages per ReceiveMessage. A poller that receives a message opens a
 *   batch and keeps receiving until the batch holds `batchSize` messages or `batchWindowMs` has
 *   passed, then invokes the function with the batch (synchronously: no asynchronous retries).
 * - At most `maximumConcurrency` batches are open or running at once, and never more than
 *   `pollers` (Lambda starts with five and scales up over minutes; a storm lasts seconds).
 *   Messages that arrive together are shared out 10 at a time among the open batches.
 * - A received message is invisible for `visibilityTimeoutMs`. When the invocation returns, every
 *   message of the batch is deleted except those named in `batchItemFailures`; a function error or
 *   timeout, or a response naming a message that was not in the batch, keeps the whole batch.
 *   Kept messages become visible again when their visibility timeout ends.
 * - A message received `maxReceiveCount` times and still not deleted goes to the dead-letter queue
 *   instead of being received again (the queue's redrive policy).
 */
export interface SqsMappingSettings {
  batchSize: number;
  batchWindowMs: number;
  maximumConcurrency: number;
  visibilityTimeoutMs: number;
  maxReceiveCount: number;
  /** Concurrent pollers available (Lambda's initial five). */
  pollers?: number;
}

export interface QueuedMessage {
  messageId: string;
  body: string;
  sentAt: number;
  receiveCount: number;
  visibleAt: number;
  /** When SQS first handed the message out. */
  firstReceivedAt?: number;
}

export type InvocationEnd = { outcome: 'ok'; result: unknown } | { outcome: 'error' | 'timeout' };

/** Starts one synchronous invocation of the function with an SQS event and reports how it ended. */
export type InvokeBatch = (event: { Records: unknown[] }, done: (end: InvocationEnd) => void) => void;

export interface BatchRecord {
  at: number;
  size: number;
  /** Messages delivered before (receive count above one). */
  redelivered: number;
  /** Messages the function asked to receive again. */
  failed: number;
  outcome?: InvocationEnd['outcome'];
}

/** RECEIVE: ReceiveMessage returns at most 10 messages (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html). */
const RECEIVE_BATCH = 10;
const DEFAULT_POLLERS = 5;

interface OpenBatch {
  messages: QueuedMessage[];
  deadline: number;
  timer?: TimerHandle;
}

export class SqsEventSourceMapping {
  readonly queueArn: string;
  readonly deadLetters: QueuedMessage[] = [];
  readonly batches: BatchRecord[] = [];
  /** Messages deleted after a successful delivery. */
  deleted = 0;
  private readonly queue: QueuedMessage[] = [];
  private readonly open: OpenBatch[] = [];
  private running = 0;
  private readonly ids: Random;
  private wake: TimerHandle | undefined;
  private wakeAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly clock: Scheduler & { now(): number },
    readonly settings: SqsMappingSettings,
    private readonly invoke: InvokeBatch,
    options: { seed?: number; queueName?: string } = {},
  ) {
    if (settings.batchSize < 1 || settings.batchSize > 10_000) throw new Error('batchSize must be 1 to 10,000');
    if (settings.batchWindowMs < 0 || settings.batchWindowMs > 300_000) throw new Error('batchWindowMs must be 0 to 300,000');
    if (settings.batchSize > 10 && settings.batchWindowMs < 1000) {
      // "When you set BatchSize to more than 10, you must set MaximumBatchingWindowInSeconds to at least 1 second."
      throw new Error('a batch size above 10 needs a batching window of at least 1 s');
    }
    if (settings.maximumConcurrency < 2 || settings.maximumConcurrency > 1000) throw new Error('maximumConcurrency must be 2 to 1,000');
    if (settings.maxReceiveCount < 1) throw new Error('maxReceiveCount must be at least 1');
    this.ids = new Random(options.seed ?? 1);
    this.queueArn = `arn:aws:sqs:${REGION}:${ACCOUNT}:${options.queueName ?? 'spot-warnings'}`;
  }

  /** SendMessage (what an EventBridge rule with an SQS target does): visible at once. */
  send(body: string): QueuedMessage {
    const now = this.clock.now();
    const message: QueuedMessage = { messageId: this.ids.uuid(), body, sentAt: now, receiveCount: 0, visibleAt: now };
    this.queue.push(message);
    this.poll();
    return message;
  }

  /** Messages in the queue (visible or in flight), not counting the dead-letter queue. */
  get depth(): number {
    return this.queue.length;
  }

  private get concurrencyLimit(): number {
    return Math.min(this.settings.maximumConcurrency, this.settings.pollers ?? DEFAULT_POLLERS);
  }

  /** Hands visible messages to open batches, opening new ones while concurrency allows. */
  private poll(): void {
    const now = this.clock.now();
    const visible = this.receivable(now);
    let cursor = 0;
    while (cursor < visible.length) {
      // Batches that can still take messages, least full first: pollers receive in parallel.
      let target = this.open.filter((batch) => batch.messages.length < this.settings.batchSize).sort((a, b) => a.messages.length - b.messages.length)[0];
      if (!target || (target.messages.length > 0 && this.open.length + this.running < this.concurrencyLimit)) {
        if (this.open.length + this.running < this.concurrencyLimit) target = this.openBatch(now);
      }
      if (!target) break;
      const room = Math.min(RECEIVE_BATCH, this.settings.batchSize - target.messages.length);
      for (const message of visible.slice(cursor, cursor + room)) {
        message.receiveCount += 1;
        message.firstReceivedAt ??= now;
        message.visibleAt = now + this.settings.visibilityTimeoutMs;
        target.messages.push(message);
      }
      cursor += room;
      if (target.messages.length >= this.settings.batchSize) this.fire(target);
    }
    this.scheduleWake();
  }

  /** Visible messages, oldest first; those already received maxReceiveCount times move to the dead-letter queue. */
  private receivable(now: number): QueuedMessage[] {
    const visible: QueuedMessage[] = [];
    for (const message of [...this.queue]) {
      if (message.visibleAt > now) continue;
      if (message.receiveCount >= this.settings.maxReceiveCount) {
        this.remove(message);
        this.deadLetters.push(message);
        continue;
      }
      visible.push(message);
    }
    return visible;
  }

  private openBatch(now: number): OpenBatch {
    const batch: OpenBatch = { messages: [], deadline: now + this.settings.batchWindowMs };
    this.open.push(batch);
    batch.timer = this.clock.schedule(batch.deadline, () => this.fire(batch));
    return batch;
  }

  private fire(batch: OpenBatch): void {
    const index = this.open.indexOf(batch);
    if (index < 0) return;
    this.open.splice(index, 1);
    if (batch.timer) this.clock.cancel(batch.timer);
    if (batch.messages.length === 0) return;
    const record: BatchRecord = {
      at: this.clock.now(),
      size: batch.messages.length,
      redelivered: batch.messages.filter((message) => message.receiveCount > 1).length,
      failed: 0,
    };
    this.batches.push(record);
    this.running += 1;
    const event = { Records: batch.messages.map((message) => this.toRecord(message)) };
    this.invoke(event, (end) => {
      this.running -= 1;
      record.outcome = end.outcome;
      const keep = end.outcome === 'ok' ? failedIds(end.result, batch.messages) : new Set(batch.messages.map((message) => message.messageId));
      record.failed = keep.size;
      for (const message of batch.messages) {
        if (!keep.has(message.messageId)) {
          this.remove(message);
          this.deleted += 1;
        }
      }
      this.poll();
    });
  }

  private remove(message: QueuedMessage): void {
    const index = this.queue.indexOf(message);
    if (index >= 0) this.queue.splice(index, 1);
  }

  /** Wakes the pollers when the next in-flight message becomes visible again. */
  private scheduleWake(): void {
    const next = this.queue.reduce((earliest, message) => (message.visibleAt > this.clock.now() ? Math.min(earliest, message.visibleAt) : earliest), Number.POSITIVE_INFINITY);
    if (next === this.wakeAt) return;
    if (this.wake) this.clock.cancel(this.wake);
    this.wake = undefined;
    this.wakeAt = next;
    if (Number.isFinite(next)) {
      this.wake = this.clock.schedule(next, () => {
        this.wake = undefined;
        this.wakeAt = Number.POSITIVE_INFINITY;
        this.poll();
      });
    }
  }

  private toRecord(message: QueuedMessage) {
    return {
      messageId: message.messageId,
      receiptHandle: `${message.messageId}#${message.receiveCount}`,
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentAt),
        SenderId: 'AIDAEVENTBRIDGE',
        ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt ?? message.sentAt),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: this.queueArn,
      awsRegion: REGION,
    };
  }
}

/**
 * The messages to keep from a `ReportBatchItemFailures` response. An identifier that is empty or
 * names no message of the batch makes Lambda treat the whole batch as failed
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
 */
export function failedIds(result: unknown, messages: readonly QueuedMessage[]): Set<string> {
  const all = new Set(messages.map((message) => message.messageId));
  const failures = (result as { batchItemFailures?: unknown } | null | undefined)?.batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return all;
  const keep = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || !all.has(id)) return all;
    keep.add(id);
  }
  return keep;
}
