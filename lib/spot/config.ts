import { booleanVar, commonSchema, parseEnv, toCommonConfig, type CommonConfig, type Env } from '../config';

export interface SpotConfig extends CommonConfig {
  /** Drain on EC2 Instance Rebalance Recommendation as well as on the interruption warning. */
  rebalanceDrain: boolean;
  /** Drain on EC2 state changes to stopping / shutting-down (terminations outside Auto Scaling). */
  stateChangeDrain: boolean;
}

export const spotEnvSchema = commonSchema.extend({
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
