import { LIFECYCLE_HOOK, SCALE_IN_SWEEPER, SPOT_INTERRUPTION } from '../../../lib/functions';
import { VirtualClock } from '../../../simulator/clock';
import { LambdaRuntime } from '../../../simulator/runner/lambda';
import { World } from '../../../simulator/world/world';

function runtime() {
  const clock = new VirtualClock(0);
  const world = new World(clock, { seed: 1 });
  return { clock, lambdas: new LambdaRuntime(clock, world) };
}

describe('LambdaRuntime: asynchronous invocations on the virtual clock', () => {
  it('gives the handler its remaining time on the virtual clock, and stops it at the timeout', async () => {
    const { clock, lambdas } = runtime();
    const remaining: number[] = [];
    let ranPastTimeout = false;
    lambdas.register({
      name: LIFECYCLE_HOOK,
      timeoutMs: 30_000,
      maximumRetryAttempts: 0,
      handler: async (_event, context) => {
        remaining.push(context.getRemainingTimeInMillis());
        await clock.sleep(20_000);
        remaining.push(context.getRemainingTimeInMillis());
        await clock.sleep(20_000);
        ranPastTimeout = true;
      },
    });
    lambdas.invoke(LIFECYCLE_HOOK, {});
    await clock.runUntil(600_000);
    expect(remaining).toEqual([30_000, 10_000]);
    expect(ranPastTimeout).toBe(false);
    expect(lambdas.invocations.map((invocation) => [invocation.outcome, invocation.endedAt])).toEqual([['timeout', 30_000]]);
  });

  it('retries a failed invocation twice, one and two minutes later, with a copy of the same event', async () => {
    const { clock, lambdas } = runtime();
    const seen: { at: number; event: unknown }[] = [];
    lambdas.register({
      name: SPOT_INTERRUPTION,
      timeoutMs: 30_000,
      maximumRetryAttempts: 2,
      handler: async (event) => {
        seen.push({ at: clock.now(), event });
        (event as { mutated?: boolean }).mutated = true;
        throw new Error('throttled');
      },
    });
    lambdas.invoke(SPOT_INTERRUPTION, { id: 'e1' });
    await clock.runUntil(3_600_000);
    expect(seen.map((entry) => entry.at)).toEqual([0, 60_000, 180_000]);
    expect(seen.every((entry) => (entry.event as { id: string }).id === 'e1')).toBe(true);
    expect(lambdas.stats().spotInterruption).toMatchObject({ invocations: 3, errors: 3, retries: 2, ok: 0 });
  });

  it('does not retry a function deployed with maximumRetryAttempts 0 (the sweeper)', async () => {
    const { clock, lambdas } = runtime();
    lambdas.register({ name: SCALE_IN_SWEEPER, timeoutMs: 300_000, maximumRetryAttempts: 0, handler: async () => Promise.reject(new Error('5xx')) });
    lambdas.invoke(SCALE_IN_SWEEPER, {});
    await clock.runUntil(3_600_000);
    expect(lambdas.invocations.map((invocation) => [invocation.attempt, invocation.outcome])).toEqual([[1, 'error']]);
  });

  it('drops an event instead of retrying it once it would be older than its maximum event age', async () => {
    const { clock, lambdas } = runtime();
    lambdas.register({
      name: SPOT_INTERRUPTION,
      // Long attempts: the second ends at 60 s + 60 s + 30 s, so a retry two minutes later would start at 270 s.
      timeoutMs: 30_000,
      maximumRetryAttempts: 2,
      maximumEventAgeMs: 200_000,
      handler: async () => {
        await clock.sleep(60_000);
        throw new Error('fails');
      },
    });
    lambdas.invoke(SPOT_INTERRUPTION, { id: 'e1' });
    await clock.runUntil(3_600_000);
    expect(lambdas.invocations.map((invocation) => [invocation.attempt, invocation.startedAt, invocation.queuedAt])).toEqual([
      [1, 0, 0],
      [2, 90_000, 0],
    ]);
  });

  it('stops retrying once an attempt succeeds', async () => {
    const { clock, lambdas } = runtime();
    let attempts = 0;
    lambdas.register({
      name: SCALE_IN_SWEEPER,
      timeoutMs: 300_000,
      maximumRetryAttempts: 2,
      handler: async () => {
        attempts += 1;
        if (attempts === 1) throw new Error('5xx');
        return { outcome: 'swept' };
      },
    });
    lambdas.invoke(SCALE_IN_SWEEPER, {});
    await clock.runUntil(3_600_000);
    expect(lambdas.invocations.map((invocation) => invocation.outcome)).toEqual(['error', 'ok']);
  });
});
