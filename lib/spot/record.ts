import type { DrainSignal } from '../events/types';

/**
 * The one container-instance attribute the Spot function writes: why and when it set the instance
 * DRAINING, as `<reason>@<epoch seconds>` (for the reasons in RECORDED). One attribute, because a container instance holds at
 * most 10 custom ones (docs/aws-behaviour.md §1.9). Only a drain with this record is ever undone:
 * a drain by anyone else (the lifecycle drainer, the sweeper, an operator) has none.
 */
export const DRAINED_FOR = 'ecs-ec2-keeper.drained-for';

/** Why the Spot function drained an instance. */
const REASONS = ['spot-terminate', 'spot-stop', 'spot-hibernate', 'rebalance', 'stopping', 'shutting-down', 'scheduled-event', 'early-replacement'] as const;
export type DrainReason = (typeof REASONS)[number];

/**
 * Drains an instance can survive: a rebalance recommendation is only a hint (§1.2), and a stopped
 * instance (Spot stop/hibernate, an EC2 stop) can be started again (§1.6). The others end in a
 * termination.
 */
export const UNDOABLE: ReadonlySet<DrainReason> = new Set<DrainReason>(['rebalance', 'spot-stop', 'spot-hibernate', 'stopping']);

/**
 * The drains that are recorded: every one but those of an instance already on its way to
 * termination (a Spot `terminate` warning, `shutting-down`). Those are never undone, their reason is
 * in the decision log line, and they come in storms: a record each would double the function's
 * writes on ECS's shared cluster-resource-modify bucket (burst 100, 40 per second) just when the
 * drains need it. Measured in bench/storm.ts (1,000 warnings on 2,000 instances through the queue):
 * recording them too throttled about 70 calls and left about 200 service tasks running at the
 * reclaim, against none without.
 */
export const RECORDED: ReadonlySet<DrainReason> = new Set<DrainReason>(['spot-stop', 'spot-hibernate', 'rebalance', 'stopping', 'scheduled-event']);

export function drainReason(signal: DrainSignal): DrainReason {
  switch (signal.kind) {
    case 'spot-interruption':
      return signal.instanceAction === 'stop' ? 'spot-stop' : signal.instanceAction === 'hibernate' ? 'spot-hibernate' : 'spot-terminate';
    case 'rebalance-recommendation':
      return 'rebalance';
    case 'instance-state-change':
      return signal.state === 'stopping' ? 'stopping' : 'shutting-down';
    case 'scheduled-event':
      return 'scheduled-event';
    default:
      // 'instance-running' never drains; a record with an unknown reason is never undone.
      return 'shutting-down';
  }
}

export function formatRecord(reason: DrainReason, atMs: number): string {
  return `${reason}@${Math.floor(atMs / 1000)}`;
}

/** The record of an instance's attributes; undefined when there is none or it is not ours to read. */
export function readRecord(attributes: Readonly<Record<string, string>>): { reason: DrainReason; at: number } | undefined {
  const value = attributes[DRAINED_FOR];
  if (value === undefined) return undefined;
  const match = /^([a-z-]+)@(\d{1,12})$/.exec(value);
  if (!match || !(REASONS as readonly string[]).includes(match[1] as string)) return undefined;
  return { reason: match[1] as DrainReason, at: Number(match[2]) * 1000 };
}
