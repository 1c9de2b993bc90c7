import { loadCommonConfig } from '../../lib/config';
import { loadSpotConfig } from '../../lib/spot/config';
import { configProblems } from '../fixtures';

describe('common configuration', () => {
  it('has safe defaults when nothing is set', () => {
    expect(loadCommonConfig({})).toEqual({
      clusters: [],
      dryRun: false,
      logLevel: 'INFO',
      metricsNamespace: 'EcsEc2Keeper',
      sdk: { maxAttempts: 4, retryMode: 'standard', maxBackoffMs: 20_000 },
    });
  });

  it('reads cluster names and ARNs, trims, drops empties and duplicates', () => {
    const config = loadCommonConfig({ CLUSTERS: ' prod-ecs , arn:aws:ecs:eu-west-1:123456789012:cluster/batch,,prod-ecs ' });
    expect(config.clusters).toEqual(['prod-ecs', 'arn:aws:ecs:eu-west-1:123456789012:cluster/batch']);
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    ['false', false],
    ['0', false],
    ['no', false],
    ['', false],
  ])('DRY_RUN=%j is %s', (value, expected) => {
    expect(loadCommonConfig({ DRY_RUN: value }).dryRun).toBe(expected);
  });

  it('accepts enum values case-insensitively and returns the canonical spelling', () => {
    const config = loadCommonConfig({ LOG_LEVEL: 'debug', AWS_RETRY_MODE: 'ADAPTIVE', AWS_MAX_ATTEMPTS: '7' });
    expect(config.logLevel).toBe('DEBUG');
    expect(config.sdk).toEqual({ maxAttempts: 7, retryMode: 'adaptive', maxBackoffMs: 20_000 });
  });

  it('reports every problem at once, naming the variable and the allowed values', () => {
    const problems = configProblems(() =>
      loadCommonConfig({
        DRY_RUN: 'maybe',
        LOG_LEVEL: 'TRACE',
        AWS_MAX_ATTEMPTS: '0',
        AWS_RETRY_MODE: 'legacy',
        CLUSTERS: 'good,bad name!',
        METRICS_NAMESPACE: 'AWS/ECS',
      }),
    );
    expect(problems).toHaveLength(6);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^DRY_RUN must be one of true, 1, yes, false, 0, no$/),
        expect.stringMatching(/^LOG_LEVEL must be one of DEBUG, INFO, WARN, ERROR$/),
        expect.stringMatching(/^AWS_MAX_ATTEMPTS must be a whole number from 1 to 20$/),
        expect.stringMatching(/^AWS_RETRY_MODE must be one of standard, adaptive$/),
        expect.stringMatching(/^CLUSTERS "bad name!" is neither a cluster name/),
        expect.stringMatching(/^METRICS_NAMESPACE must be/),
      ]),
    );
  });

  it.each(['1.5', 'ten', '-1', '21'])('rejects AWS_MAX_ATTEMPTS=%j', (value) => {
    expect(configProblems(() => loadCommonConfig({ AWS_MAX_ATTEMPTS: value }))).toEqual(['AWS_MAX_ATTEMPTS must be a whole number from 1 to 20']);
  });

  it('ignores variables it does not know (the Lambda environment is full of them)', () => {
    expect(() => loadCommonConfig({ AWS_LAMBDA_FUNCTION_NAME: 'x', PATH: '/usr/bin' })).not.toThrow();
  });
});

describe('Spot drainer configuration', () => {
  it('defaults to draining only on the interruption warning', () => {
    const config = loadSpotConfig({});
    expect(config.rebalanceDrain).toBe(false);
    expect(config.stateChangeDrain).toBe(false);
  });

  it('retries harder and with shorter backoff than the SDK by default, for warning storms', () => {
    expect(loadSpotConfig({}).sdk).toEqual({ maxAttempts: 12, retryMode: 'standard', maxBackoffMs: 8000 });
    expect(loadSpotConfig({ AWS_MAX_ATTEMPTS: '5', AWS_RETRY_MAX_DELAY_MS: '20000' }).sdk).toEqual({
      maxAttempts: 5,
      retryMode: 'standard',
      maxBackoffMs: 20_000,
    });
  });

  it('keeps the SDK adaptive strategy: a backoff cap, the Spot default included, is not applied in adaptive mode', () => {
    expect(loadSpotConfig({ AWS_RETRY_MODE: 'adaptive' }).sdk).toEqual({ maxAttempts: 12, retryMode: 'adaptive', maxBackoffMs: 20_000 });
    expect(loadSpotConfig({ AWS_RETRY_MODE: 'adaptive', AWS_RETRY_MAX_DELAY_MS: '500' }).sdk.maxBackoffMs).toBe(20_000);
    expect(loadSpotConfig({ AWS_RETRY_MODE: 'standard', AWS_RETRY_MAX_DELAY_MS: '500' }).sdk.maxBackoffMs).toBe(500);
    // An out-of-range cap is still refused in adaptive mode: a typo is never silently accepted.
    expect(configProblems(() => loadSpotConfig({ AWS_RETRY_MODE: 'adaptive', AWS_RETRY_MAX_DELAY_MS: '5' }))).toEqual([
      'AWS_RETRY_MAX_DELAY_MS must be a whole number from 100 to 20000',
    ]);
  });

  it('turns on rebalance and state-change draining', () => {
    const config = loadSpotConfig({ REBALANCE_DRAIN: 'true', STATE_CHANGE_DRAIN: 'yes', CLUSTERS: 'a' });
    expect(config).toMatchObject({ rebalanceDrain: true, stateChangeDrain: true, clusters: ['a'] });
  });

  it('reports its own and the common problems together', () => {
    expect(configProblems(() => loadSpotConfig({ REBALANCE_DRAIN: 'on', DRY_RUN: 'off' }))).toEqual(
      expect.arrayContaining([expect.stringMatching(/^REBALANCE_DRAIN /), expect.stringMatching(/^DRY_RUN /)]),
    );
  });
});
