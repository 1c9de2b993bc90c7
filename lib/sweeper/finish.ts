import { isOwnDrain, taskCount } from './plan';
import type { PlanSettings, ScaleInPlan, SnapshotInstance } from './types';

/**
 * Finishing drains within the run (pure decisions; the loop is in execute.ts).
 *
 * An instance the sweeper drains is empty soon after: the service scheduler starts its tasks
 * elsewhere and stops them there, and ECS stops the daemon tasks last (docs/aws-behaviour.md §2).
 * Left to the next run, the empty instance is paid for a whole schedule interval (30 minutes by
 * default), which over a day of diurnal load was the largest share of the sweeper's cost above the
 * oracle (README "Sweeper over a day of diurnal load"). So the run watches what it drained for up
 * to DRAIN_WAIT_SECONDS and terminates each instance as soon as it is empty, with the same checks a
 * later run would make (group minimum, zone balance, daemon grace). What is not empty by then is
 * left to the next run, as before.
 */

/** Seconds between two looks at the drains being watched. */
export const DRAIN_POLL_SECONDS = 15;

/** Who is watched: an instance by its container instance ARN and EC2 id. */
export interface Watched {
  containerInstanceArn: string;
  ec2InstanceId: string;
}

/** What the execution of a plan reports, as far as watching goes (execute.ts ExecutionOutcome). */
export interface WatchOutcome {
  drained: readonly string[];
  terminated: readonly string[];
  awaitingDaemons: readonly { ec2InstanceId: string }[];
  refused: readonly { ec2InstanceId: string }[];
  deferredTerminations: readonly { ec2InstanceId: string }[];
  failed: readonly { ec2InstanceId: string }[];
  dropped: readonly { ec2InstanceId: string }[];
}

/**
 * The drains worth watching after a plan was carried out: instances drained by this run and not
 * terminated (consolidations moving their tasks, idle instances waiting for their daemons or for a
 * task that arrived just before DRAINING), drains of earlier runs whose tasks are still moving or
 * that wait for a sibling in a fuller zone, and finished drains held for their daemons. Terminations Auto Scaling refused or deferred, failed
 * drains and re-check drops are not: something other than time stands in their way.
 */
export function drainsToWatch(plan: ScaleInPlan, outcome: WatchOutcome): Watched[] {
  // Terminated, or held by something other than time: the next run deals with them.
  const settled = new Set([
    ...outcome.terminated,
    ...[...outcome.refused, ...outcome.deferredTerminations, ...outcome.failed, ...outcome.dropped].map((entry) => entry.ec2InstanceId),
  ]);
  const drainedNow = new Set(outcome.drained);
  const heldForDaemons = new Set(outcome.awaitingDaemons.map((entry) => entry.ec2InstanceId));
  const watched = new Map<string, Watched>();
  const watch = (entry: Watched) => {
    if (!settled.has(entry.ec2InstanceId)) watched.set(entry.containerInstanceArn, { containerInstanceArn: entry.containerInstanceArn, ec2InstanceId: entry.ec2InstanceId });
  };
  for (const selected of plan.selected) if (drainedNow.has(selected.ec2InstanceId)) watch(selected);
  for (const step of plan.finishing) {
    if (step.action === 'wait' && (step.reason === 'tasks-remaining' || step.reason === 'zone-balance')) watch(step);
    else if (step.action === 'terminate' && heldForDaemons.has(step.ec2InstanceId)) watch(step);
  }
  return [...watched.values()].sort((a, b) => (a.containerInstanceArn < b.containerInstanceArn ? -1 : a.containerInstanceArn > b.containerInstanceArn ? 1 : 0));
}

/**
 * Whether to wait once more: the next look must come before the end of the wait, leave the
 * invocation at least `reserveMs` for its reads and writes, and be one of the wait's
 * floor(wait / poll) looks (so the loop ends whatever the clock does).
 */
export function keepWaiting(input: { now: number; waitUntil: number; waitMs: number; looks: number; timeLeftMs: number; pollMs: number; reserveMs: number }): boolean {
  return (
    input.looks < Math.floor(input.waitMs / input.pollMs) &&
    input.now + input.pollMs <= input.waitUntil &&
    input.timeLeftMs - input.pollMs >= input.reserveMs
  );
}

/**
 * Sorts the watched instances by a fresh describe: `ready` are still this sweeper's drains and run
 * no task whose desired status is RUNNING (ECS has told every task to stop), so they are worth the
 * task read and termination of a finishing pass; `moving` still run tasks; the rest (gone, set
 * ACTIVE by someone, marker removed) are no longer watched.
 */
export function sortWatched(instances: readonly SnapshotInstance[]): { ready: SnapshotInstance[]; moving: SnapshotInstance[] } {
  const ready: SnapshotInstance[] = [];
  const moving: SnapshotInstance[] = [];
  for (const instance of instances) {
    if (!isOwnDrain(instance)) continue;
    if (taskCount(instance) === 0) ready.push(instance);
    else moving.push(instance);
  }
  return { ready, moving };
}

/** A finishing pass plans drains only: no new removal, no consolidation. */
export const finishingSettings = (settings: PlanSettings): PlanSettings => ({ ...settings, maxRemovalsPerRun: 0, consolidate: false });
