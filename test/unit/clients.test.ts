import { ECSClient } from '@aws-sdk/client-ecs';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { RETRY_BASE_DELAY_MS, cappedRetryStrategy, sdkClientConfig } from '../../lib/clients';

describe('SDK client settings', () => {
  it('keeps the SDK retry strategy when no cap below 20 s is asked for', () => {
    const config = sdkClientConfig({ maxAttempts: 4, retryMode: 'adaptive', maxBackoffMs: 20_000 });
    expect(config).not.toHaveProperty('retryStrategy');
    expect(config).toMatchObject({ maxAttempts: 4, retryMode: 'adaptive' });
  });

  it('uses full-jitter exponential backoff, never above the cap', () => {
    const strategy = cappedRetryStrategy(12, 3000) as unknown as {
      retryBackoffStrategy: { computeNextBackoffDelay(completedAttempts: number): number };
    };
    for (let completed = 0; completed < 11; completed += 1) {
      const ceiling = Math.min(3000, RETRY_BASE_DELAY_MS * 2 ** completed);
      const draws = Array.from({ length: 200 }, () => strategy.retryBackoffStrategy.computeNextBackoffDelay(completed));
      expect(Math.max(...draws)).toBeLessThan(ceiling);
      expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
      // Jitter: the draws spread over the interval rather than sitting at one value.
      expect(new Set(draws).size).toBeGreaterThan(10);
    }
  });

  it('gives the client the capped strategy with the configured number of attempts', async () => {
    const client = new ECSClient({ region: 'us-east-1', ...sdkClientConfig({ maxAttempts: 12, retryMode: 'standard', maxBackoffMs: 3000 }) });
    const strategy = await client.config.retryStrategy();
    expect(strategy).toBeInstanceOf(ConfiguredRetryStrategy);
    expect(await (strategy as unknown as { maxAttemptsProvider: () => Promise<number> }).maxAttemptsProvider()).toBe(12);
  });
});
