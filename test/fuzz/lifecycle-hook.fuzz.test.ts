import fc from 'fast-check';
import { RetryableError } from '../../lib/errors';
import { LifecycleWorld, fixture } from '../handlers/lifecycle/world';

/**
 * The lifecycle-hook drainer under fuzzed input: arbitrary values, and the fixtures with one field
 * of the SNS record or of the message inside it replaced, removed or retyped. The simulator's world
 * (test/handlers/lifecycle/world.ts) holds the fixtures' instance in Terminating:Wait with a running
 * task, so any event that passes validation would drain it and complete its action: an invalid or
 * ignored record must make no AWS write. Every world is built from the same seed, so the
 * notification and requeue fixtures name the action every world starts.
 */
const prototype = new LifecycleWorld();
const FIXTURES = [
  prototype.terminating(),
  (() => {
    const event = fixture('lifecycle-requeue.json');
    event.Records[0]!.Sns.Message = JSON.stringify(prototype.requeued());
    return event;
  })(),
  fixture('lifecycle-test-notification.json'),
  fixture('lifecycle-launching.json'),
];
const RECORD_PATHS = ['EventSource', 'EventVersion', 'Sns', 'Sns.Message', 'Sns.MessageId', 'Sns.TopicArn', 'Sns.Type', 'Sns.Timestamp'];
const MESSAGE_PATHS = [
  'LifecycleTransition',
  'AutoScalingGroupName',
  'LifecycleHookName',
  'EC2InstanceId',
  'LifecycleActionToken',
  'Time',
  'Event',
  'kind',
  'version',
  'chainId',
  'attempt',
  'firstSeenAt',
  'lastHeartbeatAt',
  'heartbeatTimeoutSeconds',
  'globalTimeoutSeconds',
  'cluster',
  'containerInstanceArn',
  'notification',
  'notification.EC2InstanceId',
  'notification.LifecycleActionToken',
  'notification.LifecycleTransition',
];

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node: unknown = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node !== 'object' || node === null) return;
    node = (node as Record<string, unknown>)[key];
  }
  if (typeof node !== 'object' || node === null) return;
  const last = keys[keys.length - 1]!;
  if (value === undefined) delete (node as Record<string, unknown>)[last];
  else (node as Record<string, unknown>)[last] = value;
}

const replacement = fc.oneof(fc.constant(undefined), fc.anything(), fc.string(), fc.integer(), fc.constant(null));

/** A fixture with one field of the record, or of the JSON message it carries, changed. */
const mutatedEvent = fc
  .tuple(fc.constantFrom(...FIXTURES), fc.boolean(), fc.constantFrom(...RECORD_PATHS), fc.constantFrom(...MESSAGE_PATHS), replacement)
  .map(([event, inMessage, recordPath, messagePath, value]) => {
    const copy = structuredClone(event) as unknown as { Records: Array<Record<string, unknown> & { Sns: { Message: string } }> };
    const record = copy.Records[0]!;
    if (inMessage) {
      const message = JSON.parse(record.Sns.Message) as Record<string, unknown>;
      setPath(message, messagePath, value);
      record.Sns.Message = JSON.stringify(message) ?? '';
    } else {
      setPath(record, recordPath, value);
    }
    return copy;
  });

describe('lifecycle-hook handler under fuzzed input', () => {
  it('throws nothing but a RetryableError, and an invalid or ignored record makes no AWS write', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 3, arbitrary: mutatedEvent }, { weight: 1, arbitrary: fc.anything() }), async (event) => {
        const h = new LifecycleWorld();
        h.standalone('web');
        const { handler } = h.handler();
        let result: Awaited<ReturnType<typeof handler>>;
        try {
          [result] = (await h.run(() => handler(event, h.context(120_000)))) as [Awaited<ReturnType<typeof handler>>];
        } catch (error) {
          expect(error).toBeInstanceOf(RetryableError);
          return;
        }
        const acted = result.records.some((record) => record.outcome !== 'invalid' && record.outcome !== 'ignored');
        if (!acted) expect(h.writes()).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('still acts on the unmodified fixture, so the property above can fail', async () => {
    const h = new LifecycleWorld();
    const { handler } = h.handler();
    const [result] = await h.run(() => handler(FIXTURES[0], h.context(120_000)));
    expect(result!.records.map((record) => record.outcome)).toEqual(['completed']);
    expect(h.writes()).toEqual(['UpdateContainerInstancesState', 'CompleteLifecycleAction']);
    expect(h.action).toMatchObject({ state: 'completed', result: 'CONTINUE' });
  });
});
