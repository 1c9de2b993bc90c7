import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { describeGroupInstances, detachForReplacement, replaceInstanceInGroup, type GroupInstanceView } from '../aws/autoscaling';
import { batchesBy, groupBy, inParallel } from '../aws/batch';
import { sameResource } from '../aws/partitions';
import {
  UPDATE_CONTAINER_INSTANCES_STATE_BATCH,
  clusterName,
  deleteInstanceAttributes,
  putInstanceAttributes,
  resolveClusters,
  setActive,
  setDraining,
  type ContainerInstanceView,
} from '../aws/ecs';
import { systemClock, type Clock } from '../clock';
import { NonActionableError, RetryableError, classifyAwsError, describeError, isAttributeLimitExceeded } from '../errors';
import { parseEc2Event } from '../events/ec2';
import { HEALTH_SOURCE, parseHealthEvent } from '../events/health';
import { parseSqsBatch, parseSqsBody } from '../events/sqs';
import type { DrainSignal, ParseOutcome } from '../events/types';
import type { Telemetry } from '../telemetry';
import type { SpotConfig } from './config';
import { decideDrain } from './decide';
import { DRAINED_FOR, RECORDED, UNDOABLE, drainReason, formatRecord, readRecord, type DrainReason } from './record';
import { undoStaleRebalanceDrains } from './grace';
import { ArnCache, resolveInstances } from './resolve';
import { decideScheduled } from './scheduled';
import { decideUndrain } from './undrain';

export interface SpotDeps {
  config: SpotConfig;
  ecs: ECSClient;
  /**
   * Auto Scaling: group membership before undoing a drain or acting on a scheduled event, and the
   * termination through the group. Without it those signals fail (and are retried).
   */
  autoScaling?: AutoScalingClient;
  telemetry: Telemetry;
  /** Ages the cached cluster sizes and the scheduled events' lead time; the system clock unless a simulation supplies its own. */
  clock?: Clock;
}

/** What the function did for one event; returned for a direct EventBridge event and logged as the decision line. */
export interface SpotResult {
  outcome: 'drained' | 'undrained' | 'replacing' | 'no-action' | 'ignored' | 'invalid';
  reason: string;
  kind?: string;
  ec2InstanceId?: string;
  cluster?: string;
  containerInstanceArn?: string;
  /** Further instances of the same event (an AWS Health event may name several). */
  others?: SpotResult[];
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

type SignalOutcome =
  | { kind: 'done'; outcome: 'drained' | 'undrained' | 'replacing' | 'no-action'; reason: string; instance?: ContainerInstanceView; clustersSearched: number }
  | { kind: 'failed'; error: unknown; instance?: ContainerInstanceView };

/** Signals that set an instance DRAINING. */
const DRAIN_KINDS: ReadonlySet<string> = new Set(['spot-interruption', 'rebalance-recommendation', 'instance-state-change']);

/**
 * Spot interruption drainer: EC2 events in, container instances DRAINING out.
 *
 * It takes an EventBridge event directly (and throws only for faults a retry can fix, so Lambda's
 * asynchronous retries and the on-failure destination apply) or a batch of them from the SQS queue
 * the rules feed (and names in `batchItemFailures` exactly the messages a retry can fix). A batch
 * is resolved together: one lookup plan per cluster for all its instances (lib/spot/plan.ts) and
 * drains 10 per call. Malformed input is logged once, counted and acknowledged, never retried.
 *
 * Every drain it starts is recorded on the instance (lib/spot/record.ts); an instance `running`
 * again after a drain it can survive is set ACTIVE again (lib/spot/undrain.ts). AWS Health
 * scheduled events replace the instance through its group, or drain it (lib/spot/scheduled.ts).
 */
export function makeSpotInterruptionHandler(deps: SpotDeps): SpotInterruptionHandler {
  const { config, ecs, telemetry, autoScaling } = deps;
  const clock = deps.clock ?? systemClock;
  // Module state lives as long as the execution environment: later invocations of a storm reuse it.
  const cache = new ArnCache();
  let lastGraceCheck: number | undefined;

  /** Only an event the function acts on leads to the grace check: ignored and invalid input never writes. */
  function actedOn(outcome: ItemResult): boolean {
    return outcome.result.outcome !== 'ignored' && outcome.result.outcome !== 'invalid';
  }

  /**
   * At most once per GRACE_CHECK_INTERVAL_MS per execution environment, after the event's own work:
   * rebalance drains that outlived UNDRAIN_GRACE_MINUTES are undone (lib/spot/grace.ts).
   */
  async function graceCheck(): Promise<void> {
    if (!config.rebalanceDrain) return;
    const now = clock.now();
    if (lastGraceCheck !== undefined && now - lastGraceCheck < GRACE_CHECK_INTERVAL_MS) return;
    lastGraceCheck = now;
    await undoStaleRebalanceDrains(
      { ecs, ...(autoScaling ? { autoScaling } : {}), telemetry, clusters: config.clusters, graceMs: config.undrainGraceMinutes * 60_000, dryRun: config.dryRun },
      now,
    );
  }

  function invalidEvent(messageId: string | undefined, reason: string, detail: string): void {
    telemetry.log('ERROR', 'invalid event', { ...(messageId ? { messageId } : {}), reason, detail });
    telemetry.count('InvalidEvent', { function: 'spotInterruption', reason });
  }

  function parse(event: unknown): ParseOutcome<DrainSignal[]> {
    if (typeof event === 'object' && event !== null && (event as { source?: unknown }).source === HEALTH_SOURCE) {
      return parseHealthEvent(event, { scheduledEventDrain: config.scheduledEventDrain });
    }
    const parsed = parseEc2Event(event, {
      rebalanceDrain: config.rebalanceDrain,
      stateChangeDrain: config.stateChangeDrain,
      undrainSurvivors: config.undrainSurvivors,
    });
    return parsed.outcome === 'signal' ? { outcome: 'signal', signal: [parsed.signal] } : parsed;
  }

  async function handle(items: readonly Item[]): Promise<ItemResult[]> {
    const results: (ItemResult | undefined)[] = items.map(() => undefined);
    const signals: { index: number; signal: DrainSignal }[] = [];
    items.forEach((item, index) => {
      const where = item.messageId ? { messageId: item.messageId } : {};
      const parsed = item.bodyError ? ({ outcome: 'invalid', ...item.bodyError } as const) : parse(item.event);
      if (parsed.outcome === 'invalid') {
        invalidEvent(item.messageId, parsed.reason, parsed.detail);
        results[index] = { result: { outcome: 'invalid', reason: parsed.reason } };
      } else if (parsed.outcome === 'ignored') {
        telemetry.log('INFO', 'spot decision', { ...where, outcome: 'ignored', kind: parsed.kind, reason: parsed.reason });
        telemetry.count('EventIgnored', { kind: parsed.kind, reason: parsed.reason });
        results[index] = { result: { outcome: 'ignored', kind: parsed.kind, reason: parsed.reason } };
      } else {
        for (const signal of parsed.signal) signals.push({ index, signal });
      }
    });
    if (signals.length > 0) {
      const outcomes = await processAll(signals.map((entry) => entry.signal));
      const reports = signals.map((entry, position) => ({ index: entry.index, reported: report(entry.signal, items[entry.index]?.messageId, outcomes[position] as SignalOutcome) }));
      for (const [index, entries] of groupBy(reports, (entry) => entry.index)) {
        const reported = entries.map((entry) => entry.reported);
        const [first, ...rest] = reported as [ItemResult, ...ItemResult[]];
        const retry = reported.find((entry) => entry.retry !== undefined)?.retry;
        results[index] = {
          result: rest.length > 0 ? { ...first.result, others: rest.map((entry) => entry.result) } : first.result,
          ...(retry !== undefined ? { retry } : {}),
        };
      }
    }
    return results.map((result) => result ?? { result: { outcome: 'invalid', reason: 'unreachable' } });
  }

  /**
   * Resolves every signal's instance together, then: drains per cluster in batches of 10 (and
   * records why), terminates scheduled-event instances through their groups, and undoes the drains
   * of instances running again.
   */
  async function processAll(signals: readonly DrainSignal[]): Promise<SignalOutcome[]> {
    const now = clock.now();
    const leadMs = config.scheduledEventLeadMinutes * 60_000;
    const early = new Map<number, SignalOutcome>();
    signals.forEach((signal, position) => {
      // A window further away than the lead time: nothing now; a later notice inside it acts.
      if (signal.kind === 'scheduled-event' && signal.scheduled && signal.scheduled.startsAt - now > leadMs) {
        early.set(position, { kind: 'done', outcome: 'no-action', reason: 'outside-lead-time', clustersSearched: 0 });
      }
    });
    const active = signals.map((signal, position) => ({ signal, position })).filter((entry) => !early.has(entry.position));
    if (active.length === 0) return signals.map((_, position) => early.get(position) as SignalOutcome);

    const ids = [...new Set(active.map((entry) => entry.signal.ec2InstanceId))];
    let clusters: string[];
    let resolution: Awaited<ReturnType<typeof resolveInstances>>;
    try {
      clusters = await resolveClusters(ecs, config.clusters);
      resolution = await resolveInstances(ecs, clusters, ids, cache, telemetry, () => clock.now());
    } catch (error) {
      return signals.map((_, position) => early.get(position) ?? { kind: 'failed', error });
    }
    const searched = clusters.length;
    const failedLookup = (id: string): SignalOutcome | undefined =>
      resolution.failed.has(id) ? { kind: 'failed', error: resolution.failed.get(id) } : undefined;

    // Group membership, for the instances whose decision depends on it.
    const needGroup = new Set<string>();
    for (const { signal } of active) {
      const instance = resolution.found.get(signal.ec2InstanceId);
      if (!instance) continue;
      if (signal.kind === 'scheduled-event' || wantsEarlyReplacement(signal)) needGroup.add(signal.ec2InstanceId);
      if (signal.kind === 'instance-running') {
        const record = readRecord(instance.attributes);
        if (record && UNDOABLE.has(record.reason)) needGroup.add(signal.ec2InstanceId);
      }
    }
    let members = new Map<string, GroupInstanceView>();
    let groupError: unknown;
    if (needGroup.size > 0) {
      try {
        if (!autoScaling) throw new Error('no Auto Scaling client');
        members = await describeGroupInstances(autoScaling, [...needGroup]);
      } catch (error) {
        groupError = error;
      }
    }

    const byKey = new Map<string, SignalOutcome>();
    const key = (category: string, id: string) => `${category}:${id}`;
    const toDrain = new Map<string, { instance: ContainerInstanceView; reason: DrainReason; keys: string[] }>();
    const toReplace: { instance: ContainerInstanceView; group: string; key: string }[] = [];
    const toUndrain: { instance: ContainerInstanceView; key: string; clearOnly: boolean }[] = [];
    const toDetach: { id: string; group: string }[] = [];

    for (const { signal } of active) {
      const id = signal.ec2InstanceId;
      const instance = resolution.found.get(id);
      const category = DRAIN_KINDS.has(signal.kind) ? 'drain' : signal.kind;
      const k = key(category, id);
      if (byKey.has(k) || [...toDrain.values()].some((entry) => entry.keys.includes(k))) continue;
      const lookupFailure = failedLookup(id);
      if (lookupFailure) {
        byKey.set(k, lookupFailure);
        continue;
      }
      const done = (reason: string): SignalOutcome => ({ kind: 'done', outcome: 'no-action', reason, ...(instance ? { instance } : {}), clustersSearched: searched });
      const drain = (reason: DrainReason) => {
        if (!instance) return;
        const entry = toDrain.get(id);
        if (entry) entry.keys.push(k);
        else toDrain.set(id, { instance, reason, keys: [k] });
      };
      if (category === 'drain') {
        const decision = decideDrain(instance, config.dryRun);
        if (decision.action === 'none') byKey.set(k, done(decision.reason));
        else drain(drainReason(signal));
        if (instance && wantsEarlyReplacement(signal)) {
          const member = members.get(id);
          if (groupError !== undefined) earlyReplacementSkipped(id, 'lookup-failed', groupError);
          else if (member && member.lifecycleState === 'InService' && mayActOn(member.autoScalingGroupName) && !config.dryRun) {
            if (!toDetach.some((entry) => entry.id === id)) toDetach.push({ id, group: member.autoScalingGroupName });
          }
        }
        continue;
      }
      if (instance && needGroup.has(id) && groupError !== undefined) {
        byKey.set(k, { kind: 'failed', error: groupError, instance });
        continue;
      }
      if (signal.kind === 'scheduled-event') {
        const decision = decideScheduled(instance, members.get(id), config.autoScalingGroups, config.dryRun);
        if (decision.action === 'none') byKey.set(k, done(decision.reason));
        else if (decision.action === 'drain') drain('scheduled-event');
        else if (instance) toReplace.push({ instance, group: decision.group, key: k });
        continue;
      }
      const decision = decideUndrain(instance, members.get(id), config.dryRun);
      if (decision.action === 'none') byKey.set(k, done(decision.reason));
      else if (instance) toUndrain.push({ instance, key: k, clearOnly: decision.action === 'clear-record' });
    }

    await drainInstances([...toDrain.values()], byKey, searched);
    await detachForEarlyReplacement(toDetach);
    await inParallel(toReplace, DRAIN_CONCURRENCY, async ({ instance, key: k }) => {
      try {
        await replaceInstanceInGroup(autoScaling as AutoScalingClient, instance.ec2InstanceId);
        byKey.set(k, { kind: 'done', outcome: 'replacing', reason: 'terminating-through-group', instance, clustersSearched: searched });
      } catch (error) {
        if (error instanceof NonActionableError) {
          telemetry.log('WARN', 'replacement refused', { ec2InstanceId: instance.ec2InstanceId, ...describeError(error) });
          byKey.set(k, { kind: 'done', outcome: 'no-action', reason: 'replacement-refused', instance, clustersSearched: searched });
        } else byKey.set(k, { kind: 'failed', error, instance });
      }
    });
    await undrainInstances(toUndrain, byKey, searched);

    return signals.map((signal, position) => {
      const category = DRAIN_KINDS.has(signal.kind) ? 'drain' : signal.kind;
      return early.get(position) ?? byKey.get(key(category, signal.ec2InstanceId)) ?? { kind: 'failed', error: new Error('no outcome') };
    });
  }

  /** Early replacement applies to a Spot `terminate` warning when the setting is on. */
  function wantsEarlyReplacement(signal: DrainSignal): boolean {
    return config.spotEarlyReplacement && signal.kind === 'spot-interruption' && signal.instanceAction === 'terminate';
  }

  function mayActOn(group: string): boolean {
    return config.autoScalingGroups.length === 0 || config.autoScalingGroups.includes(group);
  }

  function earlyReplacementSkipped(ec2InstanceId: string, reason: string, error?: unknown) {
    telemetry.log('WARN', 'early replacement skipped', { ec2InstanceId, reason, ...(error !== undefined ? describeError(error) : {}) });
    telemetry.count('EarlyReplacementSkipped', { reason });
  }

  /**
   * Early Spot replacement: the warned instances leave their groups without lowering desired
   * capacity, so each group launches their replacements now rather than after the reclaim
   * (docs/aws-behaviour.md §1.8). Desired capacity is unchanged, so MaxSize holds. A detached
   * instance skips the termination hook, which is why it is drained here directly, and the group
   * no longer counts it: EC2 reclaims it. A duplicate warning finds it outside the group and
   * detaches nothing. After the drains, so a failure here never delays a drain; it is logged and
   * counted, never retried: the group still replaces the instance at the reclaim.
   */
  async function detachForEarlyReplacement(entries: readonly { id: string; group: string }[]): Promise<void> {
    await inParallel(batchesBy(entries, (entry) => entry.group, DETACH_BATCH), DRAIN_CONCURRENCY, async ({ group, batch: detaching }) => {
      const batch = detaching.map((entry) => entry.id);
      try {
        await detachForReplacement(autoScaling as AutoScalingClient, group, batch);
        for (const id of batch) {
          telemetry.log('INFO', 'early replacement', { ec2InstanceId: id, group, action: 'detached-without-decrement' });
          telemetry.count('EarlyReplacementRequested', { group });
        }
      } catch (error) {
        for (const id of batch) earlyReplacementSkipped(id, error instanceof NonActionableError ? 'refused' : 'failed', error);
      }
    });
  }

  /** DRAINING per cluster in batches of 10, then the record of why on each instance drained. */
  async function drainInstances(
    entries: readonly { instance: ContainerInstanceView; reason: DrainReason; keys: string[] }[],
    byKey: Map<string, SignalOutcome>,
    searched: number,
  ): Promise<void> {
    // Batches of 10 (the call's limit), a few at a time: a storm's drains share ECS's
    // cluster-resource-modify bucket (burst 100, 40 per second; docs/aws-behaviour.md §3.1).
    const work = batchesBy(entries, (entry) => entry.instance.cluster, UPDATE_CONTAINER_INSTANCES_STATE_BATCH);
    const drained: typeof entries[number][] = [];
    await inParallel(work, DRAIN_CONCURRENCY, async ({ group: cluster, batch }) => {
      const set = (entry: typeof entries[number], outcome: SignalOutcome) => {
        for (const k of entry.keys) byKey.set(k, outcome);
      };
      try {
        const result = await setDraining(
          ecs,
          cluster,
          batch.map((entry) => entry.instance.containerInstanceArn),
        );
        const reasons = new Map(result.failed.map((failure) => [failure.arn, failure.reason]));
        for (const entry of batch) {
          const { instance } = entry;
          const arn = instance.containerInstanceArn;
          const refused = reasons.get(arn);
          if (refused !== undefined) {
            set(entry, { kind: 'failed', instance, error: new RetryableError(`could not set DRAINING: ${arn} (${refused})`) });
          } else if (result.gone.includes(arn)) {
            // Deregistered between the lookup and the update: nothing is left to drain, and the cached ARN is stale.
            cache.forget(instance.ec2InstanceId);
            set(entry, { kind: 'done', outcome: 'no-action', reason: 'deregistered', instance, clustersSearched: searched });
          } else {
            set(entry, { kind: 'done', outcome: 'drained', reason: 'drained', instance, clustersSearched: searched });
            drained.push(entry);
          }
        }
      } catch (error) {
        for (const entry of batch) set(entry, { kind: 'failed', instance: entry.instance, error });
      }
    });
    await recordDrains(drained.filter((entry) => RECORDED.has(entry.reason)));
  }

  /**
   * Writes the record of each drain. A record that cannot be written never fails the drain: it is
   * logged and counted, and the drain is simply never undone. PutAttributes fails as a whole when
   * one instance would go over 10 custom attributes (docs/aws-behaviour.md §1.9), so a refused
   * batch is written again one instance at a time.
   */
  async function recordDrains(entries: readonly { instance: ContainerInstanceView; reason: DrainReason }[]): Promise<void> {
    const at = clock.now();
    const skipped = (entry: { instance: ContainerInstanceView; reason: DrainReason }, error: unknown) => {
      const { errorName } = describeError(error);
      telemetry.log('WARN', 'drain record skipped', { ec2InstanceId: entry.instance.ec2InstanceId, cluster: entry.instance.cluster, reason: entry.reason, ...describeError(error) });
      telemetry.count('DrainRecordSkipped', { cluster: clusterName(entry.instance.cluster), reason: errorName });
    };
    const work = batchesBy(entries, (entry) => entry.instance.cluster, UPDATE_CONTAINER_INSTANCES_STATE_BATCH);
    const attribute = (entry: typeof entries[number]) => ({ targetId: entry.instance.containerInstanceArn, name: DRAINED_FOR, value: formatRecord(entry.reason, at) });
    await inParallel(work, DRAIN_CONCURRENCY, async ({ group: cluster, batch }) => {
      try {
        await putInstanceAttributes(ecs, cluster, batch.map(attribute));
      } catch (error) {
        if (!isAttributeLimitExceeded(error) || batch.length === 1) {
          for (const entry of batch) skipped(entry, error);
          return;
        }
        for (const entry of batch) {
          try {
            await putInstanceAttributes(ecs, cluster, [attribute(entry)]);
          } catch (single) {
            skipped(entry, single);
          }
        }
      }
    });
  }

  /** ACTIVE again (10 per call), then the record removed; a record left on an ACTIVE instance is removed alone. */
  async function undrainInstances(
    entries: readonly { instance: ContainerInstanceView; key: string; clearOnly: boolean }[],
    byKey: Map<string, SignalOutcome>,
    searched: number,
  ): Promise<void> {
    await inParallel([...groupBy(entries, (entry) => entry.instance.cluster)], DRAIN_CONCURRENCY, async ([cluster, group]) => {
      const activated: typeof entries[number][] = [];
      const undrain = group.filter((entry) => !entry.clearOnly);
      try {
        const failures = undrain.length > 0 ? await setActive(ecs, cluster, undrain.map((entry) => entry.instance.containerInstanceArn)) : [];
        for (const entry of undrain) {
          const failure = failures.find((candidate) => sameResource(candidate.arn, entry.instance.containerInstanceArn));
          if (failure) byKey.set(entry.key, { kind: 'failed', instance: entry.instance, error: new RetryableError(`could not set ACTIVE: ${failure.arn} (${failure.reason})`) });
          else activated.push(entry);
        }
      } catch (error) {
        for (const entry of undrain) byKey.set(entry.key, { kind: 'failed', instance: entry.instance, error });
      }
      const clear = [...activated, ...group.filter((entry) => entry.clearOnly)];
      if (clear.length === 0) return;
      try {
        await deleteInstanceAttributes(ecs, cluster, clear.map((entry) => ({ targetId: entry.instance.containerInstanceArn, name: DRAINED_FOR })));
        for (const entry of clear) {
          byKey.set(entry.key, { kind: 'done', outcome: entry.clearOnly ? 'no-action' : 'undrained', reason: entry.clearOnly ? 'record-cleared' : 'undrained', instance: entry.instance, clustersSearched: searched });
        }
      } catch (error) {
        // A record left on an ACTIVE instance could later undo someone else's drain: retry until it is gone.
        for (const entry of clear) byKey.set(entry.key, { kind: 'failed', instance: entry.instance, error });
      }
    });
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
      ...(signal.scheduled ? { eventTypeCode: signal.scheduled.eventTypeCode, statusCode: signal.scheduled.statusCode, windowStart: new Date(signal.scheduled.startsAt).toISOString() } : {}),
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
    else if (outcome.outcome === 'undrained') telemetry.count('InstanceUndrained', dimensions);
    else if (outcome.outcome === 'replacing') telemetry.count('InstanceReplacementRequested', dimensions);
    else telemetry.count('DrainSkipped', { ...dimensions, reason: outcome.reason });
    return {
      result: { outcome: outcome.outcome, reason: outcome.reason, kind: signal.kind, ec2InstanceId: signal.ec2InstanceId, ...instanceFields(instance) },
    };
  }

  async function spotInterruptionHandler(event: unknown): Promise<SpotResult | SqsBatchResponse> {
    const batch = parseSqsBatch(event);
    if (batch.outcome === 'not-sqs') {
      const [outcome] = await handle([{ event }]);
      if (outcome && actedOn(outcome)) await graceCheck();
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
    for (const invalid of batch.invalid) invalidEvent(invalid.messageId, invalid.reason, invalid.detail);
    const items: Item[] = batch.records.map((record) => {
      const body = parseSqsBody(record.body);
      return body.ok
        ? { messageId: record.messageId, event: body.value }
        : { messageId: record.messageId, event: undefined, bodyError: { reason: body.reason, detail: body.detail } };
    });
    const outcomes = await handle(items);
    if (outcomes.some(actedOn)) await graceCheck();
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

/** How often one execution environment looks for rebalance drains past their grace period. */
export const GRACE_CHECK_INTERVAL_MS = 10 * 60_000;

/** DetachInstances takes at most 20 instances per call (docs/aws-behaviour.md §1.8). */
export const DETACH_BATCH = 20;

/** Update calls in flight at once per invocation. */
export const DRAIN_CONCURRENCY = 5;

function instanceFields(instance: { cluster: string; containerInstanceArn: string } | undefined) {
  return instance ? { cluster: instance.cluster, containerInstanceArn: instance.containerInstanceArn } : {};
}
