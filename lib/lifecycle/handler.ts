import { randomUUID } from 'node:crypto';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { Clock, InvocationContext } from '../clock';
import { RetryableError, describeError } from '../errors';
import { isEcsBusEvent, parseEcsTaskEvent, type TaskStoppedSignal } from '../events/ecs';
import { isLaunchSignal } from '../events/launch';
import { isSqsBatch, parseSqsBatch, parseSqsBody } from '../events/sqs';
import { parseLifecycleRecord, snsRecords } from '../events/lifecycle';
import type { Telemetry } from '../telemetry';
import type { LifecycleConfig } from './config';
import { classifyPollFailure, decideFirstRead, decideLifecycleStep, invocationBudget, stageOf, type LifecycleSnapshot } from './decide';
import { executeStep, type StepOutcome } from './execute';
import { readLaunchSnapshot } from './launch-reads';
import { runLaunchRound, startLaunchRound } from './launch-round';
import { CapacityProviderCache } from './capacity-reads';
import { clusterDimension, faultSnapshot, fields, progressOf, startRound, type LifecycleRecordResult, type Round } from './round';
import { readGroup, readHook, readSnapshot } from './snapshot';
import { handleTaskEvents, TaskEventMemory } from './task-events';

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
  /**
   * For an SQS batch (the event source mapping has ReportBatchItemFailures): the messages to deliver
   * again. Always empty: a malformed record is acknowledged, and a task event whose check failed is
   * covered by the polling round, which a redelivery would only race for ECS's read bucket.
   */
  batchItemFailures?: { itemIdentifier: string }[];
}

const FUNCTION = 'lifecycleHook';

/**
 * Lifecycle-hook drainer: Auto Scaling termination notifications (and its own requeue messages)
 * from SNS in; the container instance drained and the lifecycle action completed out. ECS task
 * state-change events, in batches from the task-event queue (or one directly from EventBridge),
 * complete a drain as soon as its last task STOPPED (task-events.ts); the round's polls, paced with
 * the other drains of the group under one read budget (decide.ts pacing), are the safety net.
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

  /** The invalid or ignored outcome of a task event, logged and counted; undefined for a STOPPED task's signal. */
  function screenTaskEvent(event: unknown, messageId?: string): { signal: TaskStoppedSignal } | { record: LifecycleRecordResult } {
    const where = messageId ? { messageId } : {};
    const parsed = isEcsBusEvent(event)
      ? parseEcsTaskEvent(event, { clusters: config.clusters })
      : ({ outcome: 'invalid', reason: 'not-an-ecs-task-event', detail: 'the message body is not an EventBridge event from aws.ecs' } as const);
    if (parsed.outcome === 'invalid') {
      telemetry.log('ERROR', 'invalid event', { ...where, reason: parsed.reason, detail: parsed.detail });
      telemetry.count('InvalidEvent', { function: FUNCTION, reason: parsed.reason });
      return { record: { outcome: 'invalid', reason: parsed.reason, ...where } };
    }
    if (parsed.outcome === 'ignored') {
      telemetry.log('DEBUG', 'task event decision', { ...where, outcome: 'ignored', kind: parsed.kind, reason: parsed.reason });
      telemetry.count('EventIgnored', { kind: parsed.kind, reason: parsed.reason });
      return { record: { outcome: 'ignored', kind: parsed.kind, reason: parsed.reason, ...where } };
    }
    return { signal: parsed.signal };
  }

  /**
   * ECS "Task State Change" events: a batch from the task-event queue, or one event delivered
   * directly by EventBridge (a test, `serverless invoke local`). Completes drains whose last task
   * stopped (task-events.ts).
   */
  async function processTaskEvents(items: { event: unknown; messageId?: string; bodyError?: { reason: string; detail: string } }[], invocationEndsAt: number): Promise<LifecycleRecordResult[]> {
    const records: (LifecycleRecordResult | undefined)[] = items.map(() => undefined);
    const signals: { index: number; signal: TaskStoppedSignal }[] = [];
    items.forEach((item, index) => {
      if (item.bodyError) {
        telemetry.log('ERROR', 'invalid event', { messageId: item.messageId, ...item.bodyError });
        telemetry.count('InvalidEvent', { function: FUNCTION, reason: item.bodyError.reason });
        records[index] = { outcome: 'invalid', reason: item.bodyError.reason, ...(item.messageId ? { messageId: item.messageId } : {}) };
        return;
      }
      const screened = screenTaskEvent(item.event, item.messageId);
      if ('record' in screened) records[index] = screened.record;
      else signals.push({ index, signal: screened.signal });
    });
    const outcomes = await handleTaskEvents(deps, taskEvents, signals.map((entry) => entry.signal), invocationEndsAt);
    signals.forEach((entry, position) => {
      const outcome = outcomes[position]!;
      const messageId = items[entry.index]?.messageId;
      records[entry.index] = {
        outcome: outcome.outcome,
        reason: outcome.reason,
        kind: 'task-stopped',
        containerInstanceArn: outcome.containerInstanceArn,
        ...(outcome.ec2InstanceId ? { ec2InstanceId: outcome.ec2InstanceId } : {}),
        ...(messageId ? { messageId } : {}),
        awsCalls: outcome.awsCalls,
      };
    });
    return records.map((record) => record ?? { outcome: 'invalid', reason: 'unreachable' });
  }

  async function processTaskEventBatch(event: unknown, invocationEndsAt: number): Promise<LifecycleHandlerResult> {
    const batch = parseSqsBatch(event);
    const invalid: LifecycleRecordResult[] = [];
    if (batch.outcome === 'batch') {
      // A record that is not an SQS message at all: logged and counted once, acknowledged with the batch.
      for (const entry of batch.invalid) {
        telemetry.log('ERROR', 'invalid event', { ...(entry.messageId ? { messageId: entry.messageId } : {}), reason: entry.reason, detail: entry.detail });
        telemetry.count('InvalidEvent', { function: FUNCTION, reason: entry.reason });
        invalid.push({ outcome: 'invalid', reason: entry.reason, ...(entry.messageId ? { messageId: entry.messageId } : {}) });
      }
    }
    const items = (batch.outcome === 'batch' ? batch.records : []).map((record) => {
      const body = parseSqsBody(record.body);
      return body.ok ? { event: body.value, messageId: record.messageId } : { event: undefined, messageId: record.messageId, bodyError: { reason: body.reason, detail: body.detail } };
    });
    const records = [...invalid, ...(await processTaskEvents(items, invocationEndsAt))];
    telemetry.log('INFO', 'task event batch', {
      records: records.length,
      completed: records.filter((record) => record.outcome === 'completed').length,
      invalid: records.filter((record) => record.outcome === 'invalid').length,
      failed: records.filter((record) => record.outcome === 'failed').length,
    });
    return { records, batchItemFailures: [] };
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
    if (isLaunchSignal(parsed.signal)) return runLaunchRound(startLaunchRound(roundDeps, parsed.signal, invocationEndsAt), readLaunchSnapshot);
    return runRound(startRound(roundDeps, parsed.signal, invocationEndsAt));
  }

  return async function lifecycleHookHandler(event: unknown, context: InvocationContext): Promise<LifecycleHandlerResult> {
    const remaining = context.getRemainingTimeInMillis();
    const budget = invocationBudget(clock.now(), remaining, config.pollIntervalSeconds);
    if (budget.tooShortToPoll) {
      telemetry.log('WARN', 'invocation too short to poll', { remainingMs: remaining, pollIntervalSeconds: config.pollIntervalSeconds });
    }
    // An SQS batch from the task-event queue (an empty Records array is no batch of anything: invalid below).
    if (isSqsBatch(event) && ((event as { Records: unknown[] }).Records.length > 0)) return processTaskEventBatch(event, budget.endsAt);
    if (isEcsBusEvent(event)) return { records: await processTaskEvents([{ event }], budget.endsAt) };
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
 * always leaves it. Before its first ECS read a fresh drain waits for its paced start (decide.ts
 * decideFirstRead); a wake-up for a heartbeat alone decides again on the snapshot already read.
 */
async function runRound(round: Round): Promise<LifecycleRecordResult> {
  let reuse: LifecycleSnapshot | undefined;
  for (;;) {
    let finished: LifecycleRecordResult | undefined;
    if (!reuse) round.polls += 1;
    try {
      let snapshot = reuse;
      reuse = undefined;
      if (!snapshot) {
        if (!round.firstReadDone) {
          const paced = await paceFirstRead(round);
          if (paced) return paced;
        }
        snapshot = await readSnapshot(round);
        round.firstReadDone = true;
        round.lastReadAt = round.clock.now();
        round.consecutiveFailures = 0;
      }
      const outcome = await takeSteps(round, snapshot);
      if (outcome.kind === 'finished') finished = outcome.result;
      else if (outcome.kind === 'same-poll') reuse = outcome.snapshot;
    } catch (error) {
      const outcome = await takeSteps(round, failedPoll(round, error));
      if (outcome.kind === 'finished') finished = outcome.result;
      delete round.failure;
    }
    if (finished) return finished;
  }
}

/**
 * A fresh drain's Auto Scaling reads and paced start: its lifecycle state and the group's drains,
 * the hook if the start is a wait, heartbeats while it waits. Returns the round's result when it
 * ends there (the instance is past or outside the transition).
 */
async function paceFirstRead(round: Round): Promise<LifecycleRecordResult | undefined> {
  for (let step = 0; step < 1000; step += 1) {
    const now = round.clock.now();
    const seen = { ...round.groupSeen, invocationEndsAt: round.invocationEndsAt };
    const next = decideFirstRead(round.chain, now, round.config, progressOf(round, 0), seen);
    round.telemetry.log('DEBUG', 'lifecycle step', { ...fields(round), step: next.kind, reason: next.reason });
    switch (next.kind) {
      case 'read':
        return undefined;
      case 'check-group': {
        round.groupSeen = await readGroup(round);
        if (stageOf(round.groupSeen, round.chain) === 'waiting') round.waitConfirmed = true;
        break;
      }
      case 'read-hook':
        await readHook(round);
        break;
      case 'wait':
        await round.clock.sleep(Math.max(0, next.until - now));
        break;
      default: {
        const outcome = await executeStep(round, next, { ...faultSnapshot(round), ...round.groupSeen }, now);
        if (outcome.kind === 'finished') return outcome.result;
        // A heartbeat answered "no active lifecycle action": the action is over.
        if (outcome.kind === 'next-step' && outcome.snapshot.actionOver) {
          const ended = await executeStep(round, { kind: 'end', reason: 'action-over' }, outcome.snapshot, now);
          if (ended.kind === 'finished') return ended.result;
        }
      }
    }
  }
  return undefined;
}

/** Decides and executes steps on one snapshot until one finishes the round or asks for a new poll. */
async function takeSteps(round: Round, snapshot: LifecycleSnapshot): Promise<Exclude<StepOutcome, { kind: 'next-step' }>> {
  for (let stepsThisPoll = 0; ; stepsThisPoll += 1) {
    const now = round.clock.now();
    const step = decideLifecycleStep(snapshot, round.chain, now, round.config, progressOf(round, stepsThisPoll));
    round.telemetry.log('DEBUG', 'lifecycle step', { ...fields(round), step: step.kind, reason: step.reason });
    const outcome = await executeStep(round, step, snapshot, now);
    if (outcome.kind !== 'next-step') return outcome;
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
