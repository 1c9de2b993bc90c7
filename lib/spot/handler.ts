import type { ECSClient } from '@aws-sdk/client-ecs';
import { chunk } from '../aws/batch';
import { UPDATE_CONTAINER_INSTANCES_STATE_BATCH, clusterName, resolveClusters, setDraining, type ContainerInstanceView } from '../aws/ecs';
import { systemClock, type Clock } from '../clock';
import { RetryableError, classifyAwsError, describeError } from '../errors';
import { parseEc2Event } from '../events/ec2';
import { parseSqsBatch, parseSqsBody } from '../events/sqs';
import type { DrainSignal } from '../events/types';
import type { Telemetry } from '../telemetry';
import type { SpotConfig } from './config';
import { decideDrain } from './decide';
import { ArnCache, resolveInstances } from './resolve';

export interface SpotDeps {
  config: SpotConfig;
  ecs: ECSClient;
  telemetry: Telemetry;
  /** Ages the cached cluster sizes; the system clock unless a simulation supplies its own. */
  clock?: Clock;
}

/** What the function did for one event; returned for a direct EventBridge event and logged as the decision line. */
export interface SpotResult {
  outcome: 'drained' | 'no-action' | 'ignored' | 'invalid';
  reason: string;
  kind?: string;
  ec2InstanceId?: string;
  cluster?: string;
  containerInstanceArn?: string;
}

/**
 * The answer to an SQS batch when the event source mapping has `ReportBatchItemFailures`: the
 * messages to deliver again; every other message of the batch is deleted.
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
 */
export interface SqsBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** The event an SQS event source mapping delivers (the fields the function reads). */
export interface SqsBatchEvent {
  Records: { messageId: string; body: string; eventSource: 'aws:sqs'; attributes?: Record<string, string> }[];
}

/**
 * An SQS batch answers with `batchItemFailures`; any other event (a direct EventBridge event, or
 * input that is neither) with a SpotResult. A value typed `unknown` that is in fact an SQS batch is
 * answered as a batch at run time: callers that may pass one should narrow it to SqsBatchEvent.
 */
export interface SpotInterruptionHandler {
  (event: SqsBatchEvent): Promise<SqsBatchResponse>;
  (event: unknown): Promise<SpotResult>;
}

interface Item {
  messageId?: string;
  event: unknown;
  /** Set when the SQS body itself could not be read. */
  bodyError?: { reason: string; detail: string };
}

interface ItemResult {
  result: SpotResult;
  /** A fault a retry can fix (throttling, a 5xx, a drain ECS refused). */
  retry?: unknown;
}

/**
 * Spot interruption drainer: EC2 events in, container instances DRAINING out.
 *
 * It takes an EventBridge event directly (and throws only for faults a retry can fix, so Lambda's
 * asynchronous retries and the on-failure destination apply) or a batch of them from the SQS queue
 * the rules feed (and names in `batchItemFailures` exactly the messages a retry can fix). A batch
 * is resolved together: one lookup plan per cluster for all its instances (lib/spot/plan.ts) and
 * drains 10 per call. Malformed input is logged once, counted and acknowledged, never retried.
 */
export function makeSpotInterruptionHandler(deps: SpotDeps): SpotInterruptionHandler {
  const { config, ecs, telemetry } = deps;
  const clock = deps.clock ?? systemClock;
  // Module state lives as long as the execution environment: later invocations of a storm reuse it.
  const cache = new ArnCache();

  async function handle(items: readonly Item[]): Promise<ItemResult[]> {
    const results: (ItemResult | undefined)[] = items.map(() => undefined);
    const signals: { index: number; signal: DrainSignal }[] = [];
    items.forEach((item, index) => {
      const where = item.messageId ? { messageId: item.messageId } : {};
      const parsed = item.bodyError
        ? ({ outcome: 'invalid', ...item.bodyError } as const)
        : parseEc2Event(item.event, { rebalanceDrain: config.rebalanceDrain, stateChangeDrain: config.stateChangeDrain });
      if (parsed.outcome === 'invalid') {
        telemetry.log('ERROR', 'invalid event', { ...where, reason: parsed.reason, detail: parsed.detail });
        telemetry.count('InvalidEvent', { function: 'spotInterruption', reason: parsed.reason });
        results[index] = { result: { outcome: 'invalid', reason: parsed.reason } };
      } else if (parsed.outcome === 'ignored') {
        telemetry.log('INFO', 'spot decision', { ...where, outcome: 'ignored', kind: parsed.kind, reason: parsed.reason });
        telemetry.count('EventIgnored', { kind: parsed.kind, reason: parsed.reason });
        results[index] = { result: { outcome: 'ignored', kind: parsed.kind, reason: parsed.reason } };
      } else {
        signals.push({ index, signal: parsed.signal });
      }
    });
    if (signals.length > 0) {
      const outcomes = await drainAll(signals.map((entry) => entry.signal));
      signals.forEach((entry, position) => {
        results[entry.index] = report(entry.signal, items[entry.index]?.messageId, outcomes[position] as SignalOutcome);
      });
    }
    return results.map((result) => result ?? { result: { outcome: 'invalid', reason: 'unreachable' } });
  }

  type SignalOutcome =
    | { kind: 'done'; outcome: 'drained' | 'no-action'; reason: string; instance?: ContainerInstanceView; clustersSearched: number }
    | { kind: 'failed'; error: unknown; instance?: ContainerInstanceView };

  /** Resolves every signal's instance together, decides each, drains per cluster in batches of 10. */
  async function drainAll(signals: readonly DrainSignal[]): Promise<SignalOutcome[]> {
    const ids = [...new Set(signals.map((signal) => signal.ec2InstanceId))];
    let clusters: string[];
    let resolution: Awaited<ReturnType<typeof resolveInstances>>;
    try {
      clusters = await resolveClusters(ecs, config.clusters);
      resolution = await resolveInstances(ecs, clusters, ids, cache, telemetry, () => clock.now());
    } catch (error) {
      return signals.map(() => ({ kind: 'failed', error }));
    }
    const byId = new Map<string, SignalOutcome>();
    const toDrain = new Map<string, ContainerInstanceView[]>();
    for (const id of ids) {
      if (resolution.failed.has(id)) {
        byId.set(id, { kind: 'failed', error: resolution.failed.get(id) });
        continue;
      }
      const instance = resolution.found.get(id);
      const decision = decideDrain(instance, config.dryRun);
      if (decision.action === 'none' || !instance) {
        byId.set(id, { kind: 'done', outcome: 'no-action', reason: decision.reason, ...(instance ? { instance } : {}), clustersSearched: clusters.length });
        continue;
      }
      toDrain.set(instance.cluster, [...(toDrain.get(instance.cluster) ?? []), instance]);
    }
    // Batches of 10 (the call's limit), a few at a time: a storm's drains share ECS's
    // cluster-resource-modify bucket (burst 100, 40 per second; shared reference §7).
    const work = [...toDrain].flatMap(([cluster, instances]) => chunk(instances, UPDATE_CONTAINER_INSTANCES_STATE_BATCH).map((group) => ({ cluster, instances: group })));
    await inParallel(work, DRAIN_CONCURRENCY, async ({ cluster, instances }) => {
      try {
        const drained = await setDraining(
          ecs,
          cluster,
          instances.map((instance) => instance.containerInstanceArn),
        );
        const reasons = new Map(drained.failed.map((failure) => [failure.arn, failure.reason]));
        for (const instance of instances) {
          const arn = instance.containerInstanceArn;
          const refused = reasons.get(arn);
          if (refused !== undefined) {
            byId.set(instance.ec2InstanceId, { kind: 'failed', instance, error: new RetryableError(`could not set DRAINING: ${arn} (${refused})`) });
          } else if (drained.gone.includes(arn)) {
            // Deregistered between the lookup and the update: nothing is left to drain, and the cached ARN is stale.
            cache.forget(instance.ec2InstanceId);
            byId.set(instance.ec2InstanceId, { kind: 'done', outcome: 'no-action', reason: 'deregistered', instance, clustersSearched: clusters.length });
          } else {
            byId.set(instance.ec2InstanceId, { kind: 'done', outcome: 'drained', reason: 'drained', instance, clustersSearched: clusters.length });
          }
        }
      } catch (error) {
        for (const instance of instances) byId.set(instance.ec2InstanceId, { kind: 'failed', instance, error });
      }
    });
    return signals.map((signal) => byId.get(signal.ec2InstanceId) ?? { kind: 'failed', error: new Error('no outcome') });
  }

  /** One decision line and one metric per signal, as for a single event. */
  function report(signal: DrainSignal, messageId: string | undefined, outcome: SignalOutcome): ItemResult {
    const context = {
      ...(messageId ? { messageId } : {}),
      kind: signal.kind,
      ec2InstanceId: signal.ec2InstanceId,
      eventId: signal.eventId,
      eventTime: signal.time,
      ...(signal.instanceAction ? { instanceAction: signal.instanceAction } : {}),
      ...(signal.state ? { state: signal.state } : {}),
      dryRun: config.dryRun,
    };
    const instance = outcome.instance;
    if (outcome.kind === 'failed') {
      const errorClass = classifyAwsError(outcome.error);
      telemetry.log('ERROR', 'spot drain failed', { ...context, ...instanceFields(instance), errorClass, ...describeError(outcome.error) });
      telemetry.count('DrainFailed', { kind: signal.kind, errorClass });
      return { result: { outcome: 'no-action', reason: 'failed', kind: signal.kind, ec2InstanceId: signal.ec2InstanceId }, retry: outcome.error };
    }
    const where = instance
      ? { cluster: instance.cluster, containerInstanceArn: instance.containerInstanceArn, status: instance.status }
      : { clustersSearched: outcome.clustersSearched };
    const dimensions = { kind: signal.kind, cluster: instance ? clusterName(instance.cluster) : 'none' };
    telemetry.log('INFO', 'spot decision', { ...context, ...where, outcome: outcome.outcome, reason: outcome.reason });
    if (outcome.outcome === 'drained') telemetry.count('InstanceDrained', dimensions);
    else telemetry.count('DrainSkipped', { ...dimensions, reason: outcome.reason });
    return {
      result: { outcome: outcome.outcome, reason: outcome.reason, kind: signal.kind, ec2InstanceId: signal.ec2InstanceId, ...instanceFields(instance) },
    };
  }

  async function spotInterruptionHandler(event: unknown): Promise<SpotResult | SqsBatchResponse> {
    const batch = parseSqsBatch(event);
    if (batch.outcome === 'not-sqs') {
      const [outcome] = await handle([{ event }]);
      if (outcome?.retry !== undefined) {
        const error = outcome.retry;
        if (error instanceof RetryableError) throw error;
        // Throttling and server faults are retried by Lambda; so are errors we cannot classify
        // (access denied, a missing permission), because they should reach the on-failure destination.
        throw new RetryableError(`spot drain of ${outcome.result.ec2InstanceId ?? 'an instance'} failed: ${describeError(error).errorName}`, { cause: error });
      }
      return outcome?.result ?? { outcome: 'invalid', reason: 'unreachable' };
    }

    // A record that is not an SQS message at all: logged and counted once, acknowledged with the batch.
    for (const invalid of batch.invalid) {
      telemetry.log('ERROR', 'invalid event', { ...(invalid.messageId ? { messageId: invalid.messageId } : {}), reason: invalid.reason, detail: invalid.detail });
      telemetry.count('InvalidEvent', { function: 'spotInterruption', reason: invalid.reason });
    }
    const items: Item[] = batch.records.map((record) => {
      const body = parseSqsBody(record.body);
      return body.ok
        ? { messageId: record.messageId, event: body.value }
        : { messageId: record.messageId, event: undefined, bodyError: { reason: body.reason, detail: body.detail } };
    });
    const outcomes = await handle(items);
    const retry = new Set<string>();
    outcomes.forEach((outcome, index) => {
      const messageId = items[index]?.messageId;
      if (outcome.retry !== undefined && messageId) retry.add(messageId);
    });
    telemetry.log('INFO', 'spot batch', {
      records: batch.records.length + batch.invalid.length,
      drained: outcomes.filter((outcome) => outcome.result.outcome === 'drained').length,
      retried: retry.size,
      invalid: batch.invalid.length + outcomes.filter((outcome) => outcome.result.outcome === 'invalid').length,
    });
    return { batchItemFailures: [...retry].map((itemIdentifier) => ({ itemIdentifier })) };
  }
  return spotInterruptionHandler as SpotInterruptionHandler;
}

/** Update calls in flight at once per invocation. */
export const DRAIN_CONCURRENCY = 5;

/** Runs `task` over `items` with at most `limit` running at once; `task` handles its own errors. */
async function inParallel<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function instanceFields(instance: { cluster: string; containerInstanceArn: string } | undefined) {
  return instance ? { cluster: instance.cluster, containerInstanceArn: instance.containerInstanceArn } : {};
}
