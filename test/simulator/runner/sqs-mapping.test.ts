import { VirtualClock } from '../../../simulator/clock';
import { SqsEventSourceMapping, failedIds, type InvocationEnd, type SqsMappingSettings } from '../../../simulator/runner/sqs-mapping';

type Call = { at: number; bodies: string[]; receiveCounts: string[]; ids: string[] };

const SETTINGS: SqsMappingSettings = { batchSize: 100, batchWindowMs: 1000, maximumConcurrency: 2, visibilityTimeoutMs: 30_000, maxReceiveCount: 3 };

/** A mapping whose function takes `durationMs` and answers with `answer(call)`. */
function mapping(settings: Partial<SqsMappingSettings>, answer: (call: Call) => InvocationEnd = () => ({ outcome: 'ok', result: { batchItemFailures: [] } }), durationMs = 0) {
  const clock = new VirtualClock(0);
  const calls: Call[] = [];
  const queue = new SqsEventSourceMapping(clock, { ...SETTINGS, ...settings }, (event, done) => {
    const records = event.Records as { messageId: string; body: string; attributes: { ApproximateReceiveCount: string } }[];
    const call: Call = { at: clock.now(), bodies: records.map((r) => r.body), receiveCounts: records.map((r) => r.attributes.ApproximateReceiveCount), ids: records.map((r) => r.messageId) };
    calls.push(call);
    clock.schedule(clock.now() + durationMs, () => done(answer(call)));
  });
  return { clock, calls, queue };
}

describe('SQS event source mapping on the virtual clock', () => {
  it('waits for the batching window, then delivers what arrived as one batch', async () => {
    const { clock, calls, queue } = mapping({ pollers: 1 });
    queue.send('a');
    clock.schedule(300, () => queue.send('b'));
    await clock.runUntil(5000);
    expect(calls.map((call) => [call.at, call.bodies])).toEqual([[1000, ['a', 'b']]]);
    expect(queue.depth).toBe(0);
    expect(queue.deleted).toBe(2);
  });

  it('delivers at once when a batch is full, and never more than the batch size', async () => {
    const { clock, calls, queue } = mapping({ batchSize: 20, pollers: 1 });
    for (let i = 0; i < 45; i += 1) queue.send(`m${i}`);
    await clock.runUntil(10_000);
    expect(calls.map((call) => [call.at, call.bodies.length])).toEqual([[0, 20], [0, 20], [1000, 5]]);
  });

  it('shares a burst among at most maximumConcurrency concurrent batches', async () => {
    const { clock, calls, queue } = mapping({ batchSize: 1000, maximumConcurrency: 2 }, undefined, 5000);
    for (let i = 0; i < 1000; i += 1) queue.send(`m${i}`);
    await clock.runUntil(60_000);
    expect(calls.map((call) => [call.at, call.bodies.length])).toEqual([[1000, 500], [1000, 500]]);
  });

  it('holds messages while every allowed batch runs, and delivers them when one ends', async () => {
    const { clock, calls, queue } = mapping({ batchSize: 10, maximumConcurrency: 2, batchWindowMs: 0 }, undefined, 4000);
    for (let i = 0; i < 30; i += 1) queue.send(`m${i}`);
    await clock.runUntil(60_000);
    expect(calls.map((call) => [call.at, call.bodies.length])).toEqual([[0, 10], [0, 10], [4000, 10]]);
  });

  it('redelivers only the reported failures once the visibility timeout from their receive ends, with their receive count', async () => {
    const { clock, calls, queue } = mapping({ pollers: 1 }, (call) => ({
      outcome: 'ok',
      result: { batchItemFailures: call.bodies.includes('bad') && call.ids.length === 3 ? [{ itemIdentifier: call.ids[call.bodies.indexOf('bad')] }] : [] },
    }));
    ['x', 'bad', 'y'].forEach((body) => queue.send(body));
    await clock.runUntil(120_000);
    expect(calls.map((call) => [call.at, call.bodies, call.receiveCounts])).toEqual([
      [1000, ['x', 'bad', 'y'], ['1', '1', '1']],
      [31_000, ['bad'], ['2']],
    ]);
    expect(queue.deleted).toBe(3);
  });

  it('keeps the whole batch after a function error or a response naming an unknown message', async () => {
    let first = true;
    const { clock, calls, queue } = mapping({ pollers: 1 }, () => {
      const end: InvocationEnd = first ? { outcome: 'error' } : { outcome: 'ok', result: { batchItemFailures: [] } };
      first = false;
      return end;
    });
    queue.send('a');
    queue.send('b');
    await clock.runUntil(120_000);
    expect(calls.map((call) => [call.at, call.bodies])).toEqual([[1000, ['a', 'b']], [31_000, ['a', 'b']]]);
    expect(failedIds({ batchItemFailures: [{ itemIdentifier: 'nope' }] }, [{ messageId: 'a', body: '', sentAt: 0, receiveCount: 1, visibleAt: 0 }])).toEqual(new Set(['a']));
    expect(failedIds({ batchItemFailures: [{ itemIdentifier: '' }] }, [{ messageId: 'a', body: '', sentAt: 0, receiveCount: 1, visibleAt: 0 }])).toEqual(new Set(['a']));
    expect(failedIds({ batchItemFailures: [] }, [{ messageId: 'a', body: '', sentAt: 0, receiveCount: 1, visibleAt: 0 }])).toEqual(new Set());
    expect(failedIds(null, [{ messageId: 'a', body: '', sentAt: 0, receiveCount: 1, visibleAt: 0 }])).toEqual(new Set());
  });

  it('moves a message to the dead-letter queue after maxReceiveCount receives', async () => {
    const { clock, calls, queue } = mapping({ pollers: 1, maxReceiveCount: 3 }, (call) => ({ outcome: 'ok', result: { batchItemFailures: call.ids.map((itemIdentifier) => ({ itemIdentifier })) } }));
    queue.send('poison');
    await clock.runUntil(600_000);
    expect(calls.map((call) => call.receiveCounts)).toEqual([['1'], ['2'], ['3']]);
    expect(queue.deadLetters.map((message) => [message.body, message.receiveCount])).toEqual([['poison', 3]]);
    expect(queue.depth).toBe(0);
  });

  it('refuses settings Lambda refuses', () => {
    const clock = new VirtualClock(0);
    const build = (settings: Partial<SqsMappingSettings>) => () => new SqsEventSourceMapping(clock, { ...SETTINGS, ...settings }, () => undefined);
    expect(build({ batchSize: 100, batchWindowMs: 0 })).toThrow(/window/);
    expect(build({ maximumConcurrency: 1 })).toThrow(/maximumConcurrency/);
    expect(build({ batchSize: 10_001 })).toThrow(/batchSize/);
  });
});
