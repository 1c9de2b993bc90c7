import { booleanVar, commonSchema, integerVar, parseEnv, SDK_MAX_RETRY_DELAY_MS, toCommonConfig, type CommonConfig, type Env } from '../config';

export interface SpotConfig extends CommonConfig {
  /** Drain on EC2 Instance Rebalance Recommendation as well as on the interruption warning. */
  rebalanceDrain: boolean;
  /** Drain on EC2 state changes to stopping / shutting-down (terminations outside Auto Scaling). */
  stateChangeDrain: boolean;
}

/**
 * The Spot drainer retries harder and faster than the other functions: a storm of warnings
 * arrives at once, each invocation with its own SDK client, all sharing ECS's token bucket
 * (20 reads/s after a burst of 100), and each drain must land inside the two-minute warning.
 * 12 attempts with full-jitter backoff capped at 8 s (at most about 56 s of waiting, 18-20 s in
 * practice) drained all of a 200-warning storm within about 21 s in bench/storm.ts, where the SDK's
 * defaults (4 attempts, 20 s cap) left about 45% of the instances undrained.
 */
export const SPOT_DEFAULT_MAX_ATTEMPTS = 12;
export const SPOT_DEFAULT_MAX_BACKOFF_MS = 8_000;

export const spotEnvSchema = commonSchema.extend({
  AWS_MAX_ATTEMPTS: integerVar(SPOT_DEFAULT_MAX_ATTEMPTS, 1, 20),
  AWS_RETRY_MAX_DELAY_MS: integerVar(SPOT_DEFAULT_MAX_BACKOFF_MS, 100, SDK_MAX_RETRY_DELAY_MS),
  REBALANCE_DRAIN: booleanVar(false),
  STATE_CHANGE_DRAIN: booleanVar(false),
});

export function loadSpotConfig(env: Env): SpotConfig {
  const values = parseEnv(spotEnvSchema, env);
  return {
    ...toCommonConfig(values),
    rebalanceDrain: values.REBALANCE_DRAIN,
    stateChangeDrain: values.STATE_CHANGE_DRAIN,
  };
}
