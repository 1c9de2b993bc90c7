import type { ECSClient } from '@aws-sdk/client-ecs';
import { putInstanceAttributes } from '../aws/ecs';

/**
 * The lease that ends duplicate chains.
 *
 * SNS delivers at least once and Lambda may run an event twice (aws-behaviour.md §4), so one
 * lifecycle notification can start two chains of requeue messages. Before a round starts waiting it
 * writes a fresh random value to this custom attribute of the container instance; every later poll
 * reads the attribute back (it comes with the DescribeContainerInstances the poll makes anyway).
 *
 * ECS reads are eventually consistent (aws-behaviour.md §3.1): a poll may still see an older value,
 * or not yet see another round's. So "another value is there" cannot mean "I lost": both rounds of
 * a duplicate pair could read the other's value and both end, and the action would expire. Values
 * are ordered instead (write time, then chain id, then the round's id): a round ends only on
 * reading a value that ranks above its own. Of two rounds only one can, so they may both go on
 * (and both poll), never both end; a round that reads a value ranking below its own writes its own
 * again, so the lower one ends once the reads catch up.
 */
export const LEASE_ATTRIBUTE = 'ecs-ec2-keeper.lifecycle-lease';

export async function writeLease(ecs: ECSClient, cluster: string, containerInstanceArn: string, value: string): Promise<void> {
  await putInstanceAttributes(ecs, cluster, [{ targetId: containerInstanceArn, name: LEASE_ATTRIBUTE, value }]);
}

/**
 * Written over the lease by the event path (task-events.ts) once a full read has shown the drain
 * finished, just before it completes the action: the polling round, which reads the attribute with
 * every poll, then needs no task read (decide.ts). Not in the lease format, so it ranks above every lease.
 */
const COMPLETED_PREFIX = 'completed.';

export function completionMarker(completedAt: number): string {
  return `${COMPLETED_PREFIX}${String(Math.max(0, Math.floor(completedAt))).padStart(13, '0')}`;
}

export function isCompletionMarker(value: string): boolean {
  return value.startsWith(COMPLETED_PREFIX);
}

const LEASE_VALUE = /^(\d{13})\.([A-Za-z0-9-]{1,64})\.([A-Za-z0-9-]{1,64})$/;

/** A lease value: write time (ms, 13 digits), chain id and round id; under ECS's 128-character limit. */
export function leaseValue(writtenAt: number, chainId: string, roundId: string): string {
  return `${String(Math.max(0, Math.floor(writtenAt))).padStart(13, '0')}.${chainId}.${roundId}`;
}

/**
 * True when lease `a` ranks above lease `b`: written later, or at the same millisecond by a
 * greater chain id, then round id. A value not in this format (written by an earlier version of
 * this code) ranks above every formatted one, as "another round wrote after us" did.
 */
export function leaseRanksAbove(a: string, b: string): boolean {
  const left = LEASE_VALUE.exec(a);
  const right = LEASE_VALUE.exec(b);
  if (!left || !right) return left ? false : right ? true : a > b;
  for (const index of [1, 2, 3] as const) {
    if (left[index]! !== right[index]!) return left[index]! > right[index]!;
  }
  return false;
}
