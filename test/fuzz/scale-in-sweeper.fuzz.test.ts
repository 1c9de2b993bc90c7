import fc from 'fast-check';
import { RetryableError } from '../../lib/errors';
import { SweeperWorld } from '../handlers/sweeper/world';
import { fixture } from '../fixtures';

/**
 * The scale-in sweeper under fuzzed input: arbitrary values and the scheduled-event fixture with
 * one field replaced, removed or retyped. The simulated cluster has idle instances old enough to be
 * removed, so any event that passes validation sweeps and terminates; an invalid one must make no
 * AWS call at all (the event carries no data the sweep needs).
 */
const SCHEDULED = fixture('scheduled-sweep.json');
const PATHS = ['version', 'id', 'detail-type', 'source', 'account', 'time', 'region', 'resources', 'detail'];

const mutatedEvent = fc
  .tuple(fc.constantFrom(...PATHS), fc.oneof(fc.constant(undefined), fc.anything(), fc.string()))
  .map(([path, value]) => {
    const copy = structuredClone(SCHEDULED);
    if (value === undefined) delete copy[path];
    else copy[path] = value;
    return copy;
  });

let fake = new SweeperWorld();

function setup() {
  fake = new SweeperWorld();
  fake.addInstances('prod', 'asg-a', 2, { idleSinceMinutesAgo: 120 });
  fake.addInstances('prod', 'asg-a', 4, { tasksPerInstance: 2 });
  return fake.sweeper().handler;
}

describe('scale-in sweeper handler under fuzzed input', () => {
  it('throws nothing but a RetryableError, and an invalid event makes no AWS call', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 3, arbitrary: mutatedEvent }, { weight: 1, arbitrary: fc.anything() }), async (event) => {
        const handler = setup();
        let result: Awaited<ReturnType<typeof handler>>;
        try {
          result = await handler(event, { getRemainingTimeInMillis: () => 300_000 });
        } catch (error) {
          expect(error).toBeInstanceOf(RetryableError);
          return;
        }
        if (result.outcome === 'invalid') expect(fake.aws.countByOperation()).toEqual({});
        else expect(result.outcome).toBe('swept');
      }),
      { numRuns: 300 },
    );
  });

  it('sweeps and terminates on the unmodified fixture, so the property above can fail', async () => {
    const handler = setup();
    const result = await handler(SCHEDULED, { getRemainingTimeInMillis: () => 300_000 });
    expect(result.outcome).toBe('swept');
    expect(fake.writes().length).toBeGreaterThan(0);
  });
});
