import { booleanVar, commonSchema, groupListVar, integerVar, parseEnv, SDK_MAX_RETRY_DELAY_MS, toCommonConfig, type CommonConfig, type Env } from '../config';

export interface SpotConfig extends CommonConfig {
  /** Drain on EC2 Instance Rebalance Recommendation as well as on the interruption warning. */
  rebalanceDrain: boolean;
  /** Drain on EC2 state changes to stopping / shutting-down (terminations outside Auto Scaling). */
  stateChangeDrain: boolean;
  /**
   * Undo the drains of instances that are `running` again (EC2 state change). On with either switch
   * above: the drains it undoes (rebalance, stopping, Spot stop/hibernate) are the ones an instance
   * survives.
   */
  undrainSurvivors: boolean;
  /** A rebalance drain of an instance still running this long after is undone (lib/spot/grace.ts). */
  undrainGraceMinutes: number;
  /** Act on AWS Health scheduled EC2 events (retirement, scheduled stop, maintenance). */
  scheduledEventDrain: boolean;
  /** Act on a scheduled event once its window opens within this many minutes. */
  scheduledEventLeadMinutes: number;
  /** On a Spot `terminate` warning, detach the instance from its group so the group replaces it now. */
  spotEarlyReplacement: boolean;
  /** Groups the function may act on (names); empty: every group. */
  autoScalingGroups: string[];
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
/**
 * Health announces scheduled EC2 events days to weeks ahead and repeats them only when they are
 * updated (docs/aws-behaviour.md §1.7): a lead time of 30 days acts on the first notice. A shorter
 * one waits for a later notice inside the lead time, which Health does not promise to send.
 */
export const SCHEDULED_EVENT_DEFAULT_LEAD_MINUTES = 43_200;

export const spotEnvSchema = commonSchema.extend({
  AWS_MAX_ATTEMPTS: integerVar(SPOT_DEFAULT_MAX_ATTEMPTS, 1, 20),
  AWS_RETRY_MAX_DELAY_MS: integerVar(SPOT_DEFAULT_MAX_BACKOFF_MS, 100, SDK_MAX_RETRY_DELAY_MS),
  REBALANCE_DRAIN: booleanVar(false),
  STATE_CHANGE_DRAIN: booleanVar(false),
  UNDRAIN_GRACE_MINUTES: integerVar(60, 5, 10_080),
  SCHEDULED_EVENT_DRAIN: booleanVar(false),
  SCHEDULED_EVENT_LEAD_MINUTES: integerVar(SCHEDULED_EVENT_DEFAULT_LEAD_MINUTES, 1, 129_600),
  SPOT_EARLY_REPLACEMENT: booleanVar(false),
  AUTO_SCALING_GROUPS: groupListVar(),
});

export function loadSpotConfig(env: Env): SpotConfig {
  const values = parseEnv(spotEnvSchema, env);
  return {
    ...toCommonConfig(values),
    rebalanceDrain: values.REBALANCE_DRAIN,
    stateChangeDrain: values.STATE_CHANGE_DRAIN,
    undrainSurvivors: values.REBALANCE_DRAIN || values.STATE_CHANGE_DRAIN,
    undrainGraceMinutes: values.UNDRAIN_GRACE_MINUTES,
    scheduledEventDrain: values.SCHEDULED_EVENT_DRAIN,
    scheduledEventLeadMinutes: values.SCHEDULED_EVENT_LEAD_MINUTES,
    spotEarlyReplacement: values.SPOT_EARLY_REPLACEMENT,
    autoScalingGroups: values.AUTO_SCALING_GROUPS,
  };
}
