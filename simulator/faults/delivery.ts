/**
 * At-least-once delivery as a fault: EventBridge and SNS may deliver an event late or more than
 * once, so a function must treat every event as possibly repeated and possibly stale
 * (aws-behaviour.md §4; https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html).
 */
export interface DeliveryFaults {
  /** Probability (0–1) that an event is delivered a second time. */
  duplicateRate: number;
  /** Probability (0–1) that a delivery is late. */
  delayRate: number;
  /** How late a late delivery is, uniform in [min, max] seconds. */
  delaySeconds: { min: number; max: number };
}

/** The random source a plan draws from (simulator/world/random.ts fits). */
export interface DeliveryRandom {
  chance(probability: number): boolean;
  int(min: number, max: number): number;
}

/**
 * When each copy of one event arrives, in milliseconds after the usual delivery time: one entry per
 * delivery, the first always present. A duplicate is drawn late or not on its own, and up to two
 * seconds after the first, so it may overtake it. With both rates at 0 the plan is `[0]` and draws
 * nothing.
 */
export function deliveryDelays(random: DeliveryRandom, faults: DeliveryFaults): number[] {
  const delay = () => (random.chance(faults.delayRate) ? random.int(faults.delaySeconds.min, faults.delaySeconds.max) * 1000 : 0);
  const delays = [delay()];
  if (random.chance(faults.duplicateRate)) delays.push(delay() + random.int(0, 2000));
  return delays;
}
