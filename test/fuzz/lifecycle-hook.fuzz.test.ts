import fc from 'fast-check';
import { RetryableError } from '../../lib/errors';
import { autoScalingMock, contextFor, ecsMock, fixture, makeWorld, setup, snsMock, task } from '../handlers/lifecycle/fake-world';

/**
 * The lifecycle-hook drainer under fuzzed input: arbitrary values, and the fixtures with one field
 * of the SNS record or of the message inside it replaced, removed or retyped. The fake world holds
 * an instance in Terminating:Wait with a running task, so any event that passes validation would
 * drain it and complete its action: an invalid or ignored record must make no AWS write.
 */
const FIXTURES = ['lifecycle-terminating.json', 'lifecycle-requeue.json', 'lifecycle-test-notification.json', 'lifecycle-launching.json'].map(fixture);
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

const WRITE = /^(?!Describe|List|Get)/;

function writes(): string[] {
  const commands: object[] = [
    ...ecsMock.calls().map((call) => call.args[0]),
    ...autoScalingMock.calls().map((call) => call.args[0]),
    ...snsMock.calls().map((call) => call.args[0]),
  ];
  return commands.map((command) => command.constructor.name.replace(/Command$/, '')).filter((name) => WRITE.test(name));
}

describe('lifecycle-hook handler under fuzzed input', () => {
  it('throws nothing but a RetryableError, and an invalid or ignored record makes no AWS write', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 3, arbitrary: mutatedEvent }, { weight: 1, arbitrary: fc.anything() }), async (event) => {
        const world = makeWorld({ tasks: [task('web-1', 'service:web')] });
        const { handler } = setup(world);
        let result: Awaited<ReturnType<typeof handler>>;
        try {
          result = await handler(event, contextFor(world.clock, 120_000));
        } catch (error) {
          expect(error).toBeInstanceOf(RetryableError);
          return;
        }
        const acted = result.records.some((record) => record.outcome !== 'invalid' && record.outcome !== 'ignored');
        if (!acted) expect(writes()).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('still acts on the unmodified fixture, so the property above can fail', async () => {
    const world = makeWorld({ tasks: [] });
    const { handler } = setup(world);
    const result = await handler(FIXTURES[0], contextFor(world.clock, 120_000));
    expect(result.records.map((record) => record.outcome)).toEqual(['completed']);
    expect(writes()).toContain('CompleteLifecycleAction');
  });
});
