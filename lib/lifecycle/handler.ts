import { randomUUID } from 'node:crypto';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { Clock, InvocationContext } from '../clock';
import { RetryableError, describeError } from '../errors';
import { isEcsBusEvent, parseEcsTaskEvent } from '../events/ecs';
import { isLaunchSignal } from '../events/launch';
import { parseLifecycleRecord, snsRecords } from '../events/lifecycle';
import type { Telemetry } from '../telemetry';
import type { LifecycleConfig } from './config';
import { classifyPollFailure, decideLifecycleStep, invocationBudget, type LifecycleSnapshot } from './decide';
import { executeStep } from './execute';
import { runLaunchRound, startLaunchRound } from './launch-round';
import { CapacityProviderCache } from './capacity-reads';
import { clusterDimension, faultSnapshot, fields, progressOf, startRound, type LifecycleRecordResult, type Round } from './round';
import { readSnapshot } from './snapshot';
import { handleTaskStopped, TaskEventMemory } from './task-events';

export { INVOCATION_SAFETY_MARGIN_MS, MAX_CONSECUTIVE_POLL_FAILURES, MAX_STEPS_PER_POLL } from './decide';
export { FALLBACK_HEARTBEAT_TIMEOUT_SECONDS } from './snapshot';
export type { LifecycleRecordResult, RecordOutcome } from './round';

export interface LifecycleHookDeps {
  config: LifecycleConfig;
  clients: { ecs: ECSClient; autoScaling: AutoScalingClient; sns: SNSClient; ec2: EC2Client };
  telemetry: Telemetry;
  clock: Clock;
  /** Random ids for chains and leases; injectable so tests can name them. */
  newId?: () => string;
}

export interface LifecycleHandlerResult {
  records: LifecycleRecordResult[];
}

const FUNCTION = 'lifecycleHook';

/**
 * Lifecycle-hook drainer: Auto Scaling termination notifications (and its own requeue messages)
 * from SNS in; the container instance drained and the lifecycle action completed out. ECS task
 * state-change events (EventBridge) complete a drain as soon as its last counted task STOPPED
 * (task-events.ts); the round's polls are the safety net.
 *
 * Every record is processed, concurrently and independently. Bad input is acknowledged; a fault a
 * retry can fix in any record makes the invocation throw after every record was processed, so
 * Lambda retries the whole event. Records that had already completed then find the action over,
 * and a record that had already requeued starts a second chain, which the lease ends (lease.ts).
 *
 * Each record runs a round: read a snapshot (snapshot.ts), ask the decision (decide.ts) for a
 * step, carry it out (execute.ts), until a step finishes the round. A poll that fails is handed
 * to the decision as well, with the snapshot last read.
 */
export function makeLifecycleHookHandler(deps: LifecycleHookDeps) {
  const { config, telemetry, clock } = deps;
  // Kept by the execution environment: the clusters' capacity providers, for a minute (capacity-reads.ts).
  const roundDeps = { ...deps, newId: deps.newId ?? randomUUID, capacityProviders: new CapacityProviderCache() };
  // Kept by the execution environment between invocations: task-event versions and task memory.
  const taskEvents = new TaskEventMemory();

  /** An EventBridge "ECS Task State Change": completes a drain at once when it was the last task. */
  async function processTaskEvent(event: unknown, invocationEndsAt: number): Promise<LifecycleHandlerResult> {
    const parsed = parseEcsTaskEvent(event, { clusters: config.clusters });
    if (parsed.outcome === 'invalid') {
      telemetry.log('ERROR', 'invalid event', { reason: parsed.reason, detail: parsed.detail });
      telemetry.count('InvalidEvent', { function: FUNCTION, reason: parsed.reason });
      return { records: [{ outcome: 'invalid', reason: parsed.reason }] };
    }
    if (parsed.outcome === 'ignored') {
      telemetry.log('DEBUG', 'task event decision', { outcome: 'ignored', kind: parsed.kind, reason: parsed.reason });
      telemetry.count('EventIgnored', { kind: parsed.kind, reason: parsed.reason });
      return { records: [{ outcome: 'ignored', kind: parsed.kind, reason: parsed.reason }] };
    }
    const outcome = await handleTaskStopped(deps, taskEvents, parsed.signal, invocationEndsAt);
    return {
      records: [
        {
          outcome: outcome.outcome,
          reason: outcome.reason,
          kind: 'task-stopped',
          containerInstanceArn: outcome.containerInstanceArn,
          ...(outcome.ec2InstanceId ? { ec2InstanceId: outcome.ec2InstanceId } : {}),
          awsCalls: outcome.awsCalls,
        },
      ],
    };
  }

  async function processRecord(record: unknown, invocationEndsAt: number): Promise<LifecycleRecordResult> {
    const parsed = parseLifecycleRecord(record, { autoScalingGroups: config.autoScalingGroups });
    if (parsed.outcome === 'invalid') {
      telemetry.log('ERROR', 'invalid event', { reason: parsed.reason, detail: parsed.detail });
      telemetry.count('InvalidEvent', { function: FUNCTION, reason: parsed.reason });
      return { outcome: 'invalid', reason: parsed.reason };
    }
    if (parsed.outcome === 'ignored') {
      telemetry.log('INFO', 'lifecycle decision', { outcome: 'ignored', kind: parsed.kind, reason: parsed.reason });
      telemetry.count('EventIgnored', { kind: parsed.kind, reason: parsed.reason });
      return { outcome: 'ignored', kind: parsed.kind, reason: parsed.reason };
    }
    // Launch notifications hold a new instance until ECS can place on it (launch-round.ts).
    if (isLaunchSignal(parsed.signal)) return runLaunchRound(startLaunchRound(roundDeps, parsed.signal, invocationEndsAt));
    return runRound(startRound(roundDeps, parsed.signal, invocationEndsAt));
  }

  return async function lifecycleHookHandler(event: unknown, context: InvocationContext): Promise<LifecycleHandlerResult> {
    const remaining = context.getRemainingTimeInMillis();
    const budget = invocationBudget(clock.now(), remaining, config.pollIntervalSeconds);
    if (budget.tooShortToPoll) {
      telemetry.log('WARN', 'invocation too short to poll', { remainingMs: remaining, pollIntervalSeconds: config.pollIntervalSeconds });
    }
    if (isEcsBusEvent(event)) return processTaskEvent(event, budget.endsAt);
    const envelope = snsRecords(event);
    if (!envelope.ok) {
      telemetry.log('ERROR', 'invalid event', { reason: envelope.reason, detail: envelope.detail });
      telemetry.count('InvalidEvent', { function: FUNCTION, reason: envelope.reason });
      return { records: [{ outcome: 'invalid', reason: envelope.reason }] };
    }

    const settled = await Promise.allSettled(envelope.records.map((record) => processRecord(record, budget.endsAt)));
    const results: LifecycleRecordResult[] = [];
    const failures: unknown[] = [];
    for (const outcome of settled) {
      if (outcome.status === 'fulfilled') results.push(outcome.value);
      else {
        failures.push(outcome.reason);
        results.push({ outcome: 'failed', reason: describeError(outcome.reason).errorName });
      }
    }
    if (failures.length > 0) {
      throw new RetryableError(
        `${failures.length} of ${settled.length} lifecycle records failed: ${failures.map((error) => describeError(error).errorName).join(', ')}`,
        { cause: failures[0] },
      );
    }
    return { records: results };
  };
}

/**
 * Polls until a step finishes the round. A fault while reading or acting on a snapshot becomes
 * the decision's input; the steps decided on a fault are not caught again, so a round's error
 * always leaves it.
 */
async function runRound(round: Round): Promise<LifecycleRecordResult> {
  for (;;) {
    round.polls += 1;
    let finished: LifecycleRecordResult | undefined;
    try {
      const snapshot = await readSnapshot(round);
      round.consecutiveFailures = 0;
      finished = await takeSteps(round, snapshot);
    } catch (error) {
      finished = await takeSteps(round, failedPoll(round, error));
      delete round.failure;
    }
    if (finished) return finished;
  }
}

/** Decides and executes steps on one snapshot until one finishes the round or asks for a new poll. */
async function takeSteps(round: Round, snapshot: LifecycleSnapshot): Promise<LifecycleRecordResult | undefined> {
  for (let stepsThisPoll = 0; ; stepsThisPoll += 1) {
    const now = round.clock.now();
    const step = decideLifecycleStep(snapshot, round.chain, now, round.config, progressOf(round, stepsThisPoll));
    round.telemetry.log('DEBUG', 'lifecycle step', { ...fields(round), step: step.kind, reason: step.reason });
    const outcome = await executeStep(round, step, snapshot, now);
    if (outcome.kind === 'finished') return outcome.result;
    if (outcome.kind === 'next-poll') return undefined;
    snapshot = outcome.snapshot;
  }
}

/** Records a failed poll on the round and returns what is still known: the last snapshot's tasks. */
function failedPoll(round: Round, error: unknown): LifecycleSnapshot {
  const errorClass = classifyPollFailure(error);
  round.failure = { error, errorClass, ...(round.lastFailedService ? { service: round.lastFailedService } : {}) };
  if (errorClass !== 'action-over') {
    round.consecutiveFailures += 1;
    round.telemetry.log('WARN', 'lifecycle poll failed', { ...fields(round), errorClass, failures: round.consecutiveFailures, ...describeError(error) });
    round.telemetry.count('PollFailed', { cluster: clusterDimension(round), errorClass });
  }
  return faultSnapshot(round);
}
