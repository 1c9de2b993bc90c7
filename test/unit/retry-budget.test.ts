import { DEFAULT_CONNECTION_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS } from '../../lib/clients';
import { FUNCTIONS, SPOT_INTERRUPTION } from '../../lib/functions';
import { RETRY_BUDGET_MARGIN_MS, attemptTimeouts, worstCaseBackoffMs, worstCaseCallMs } from '../../lib/retry-budget';

/**
 * One SDK call's worst case (every attempt timed out, every backoff at its ceiling) must end inside
 * the function's Lambda timeout, with the definition's timeout and the configuration's defaults.
 */
describe('retry budget', () => {
  it.each(FUNCTIONS.map((definition) => [definition.name, definition] as const))('%s: the worst call fits inside the timeout, with a margin', (_name, definition) => {
    const { sdk } = definition.loadConfig({});
    const timeouts = attemptTimeouts(sdk, definition.timeoutSeconds);
    expect(worstCaseCallMs(sdk, timeouts) + RETRY_BUDGET_MARGIN_MS).toBeLessThanOrEqual(definition.timeoutSeconds * 1000);
  });

  it('the Spot drainer: 12 attempts, backoff capped at 8 s, 90 s; the usual 3 s + 10 s per attempt did not fit', () => {
    const spot = FUNCTIONS.find((definition) => definition.name === SPOT_INTERRUPTION)!;
    const { sdk } = spot.loadConfig({});
    expect({ maxAttempts: sdk.maxAttempts, maxBackoffMs: sdk.maxBackoffMs, timeoutSeconds: spot.timeoutSeconds }).toEqual({ maxAttempts: 12, maxBackoffMs: 8_000, timeoutSeconds: 90 });
    // 250 + 500 + 1000 + 2000 + 4000 + 6 × 8000 ms of backoff at most.
    expect(worstCaseBackoffMs(sdk)).toBe(55_750);
    const usual = { connectionTimeoutMs: DEFAULT_CONNECTION_TIMEOUT_MS, requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS };
    expect(worstCaseCallMs(sdk, usual)).toBe(211_750);
    // The time left, 90 − 55.75 − 5 s, shared by 12 attempts: 2437 ms each, a third to connect.
    expect(attemptTimeouts(sdk, 90)).toEqual({ connectionTimeoutMs: 812, requestTimeoutMs: 1_625 });
  });

  it('keeps the usual timeouts when the function has time for them, and the SDK strategy’s bound when not capped', () => {
    const sdk = { maxAttempts: 4, retryMode: 'standard' as const, maxBackoffMs: 20_000 };
    // The SDK's own strategy: throttling base 500 ms, cap 20 s.
    expect(worstCaseBackoffMs(sdk)).toBe(500 + 1_000 + 2_000);
    expect(attemptTimeouts(sdk, 300)).toEqual({ connectionTimeoutMs: 3_000, requestTimeoutMs: 10_000 });
    expect(worstCaseBackoffMs({ ...sdk, retryMode: 'adaptive', maxAttempts: 12 })).toBe(500 + 1_000 + 2_000 + 4_000 + 8_000 + 16_000 + 5 * 20_000);
  });
});
