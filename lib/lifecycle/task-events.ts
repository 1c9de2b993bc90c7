import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { completeLifecycleAction, describeGroupInstances, describeTerminationHooks, type LifecycleHookView } from '../aws/autoscaling';
import { clusterName, describeContainerInstances, type ContainerInstanceView } from '../aws/ecs';
import type { Clock } from '../clock';
import { describeError } from '../errors';
import type { TaskStoppedSignal } from '../events/ecs';
import { TERMINATING } from '../events/lifecycle';
import type { Telemetry } from '../telemetry';
import { countingClient, pacedReads, type CallCounts } from './calls';
import type { LifecycleConfig } from './config';
import { countMayShowDrained, countTasks, decideLifecycleStep, eventReadSpacingMs, FRESH_ROUND, isWaitingState, type ChainState, type LifecycleSnapshot } from './decide';
import { LEASE_ATTRIBUTE, completionMarker, isCompletionMarker, writeLease } from './lease';
import { newTaskMemory, readTasks, rememberStopped, type TaskMemory } from './task-reads';

/**
 * The event path of the lifecycle drainer: ECS tasks reached STOPPED. EventBridge puts the events
 * in an SQS queue and the event source mapping hands them over in batches, at least once
 * (docs/aws-behaviour.md §4; a single event from a direct invocation is a batch of one). A batch is checked together: duplicates and older versions
 * are dropped, the remaining events grouped by container instance, and the instances described 100
 * per DescribeContainerInstances. Only an instance DRAINING under one of our drains (our lease
 * attribute, which the polling round writes before it starts waiting) whose task count allows a
 * drained instance (decide.ts countMayShowDrained: no task with desired status RUNNING left) has its
 * tasks read; if nothing counted (and no daemon) is left, the lifecycle action is completed at once
 * instead of at the polling round's next poll, and the instance is marked (lease.ts
 * completionMarker), so that round ends at its next poll without reading tasks or completing again.
 * Whether a drain is finished is decided by decideLifecycleStep, like every poll, always on a full
 * read (both listings).
 *
 * Cost: a batch makes one DescribeContainerInstances per cluster and 100 instances, and no write
 * for an instance that is not draining under a hook; a duplicate or older event (detail.version)
 * makes none. Reads are spaced (decide.ts eventReadSpacingMs). The event path never throws for an
 * AWS fault and asks for no retry: the polling round covers a missed event, and a retry would only
 * add load while ECS throttles.
 */
export interface TaskEventDeps {
  config: LifecycleConfig;
  clients: { ecs: ECSClient; autoScaling: AutoScalingClient };
  telemetry: Telemetry;
  clock: Clock;
}

export type TaskEventOutcome = 'completed' | 'ignored' | 'dry-run' | 'failed';

export interface TaskEventResult {
  outcome: TaskEventOutcome;
  reason: string;
  taskArn: string;
  containerInstanceArn: string;
  ec2InstanceId?: string;
  /** The batch's AWS requests for this event's instance (the shared DescribeContainerInstances not included). */
  awsCalls: CallCounts;
}

/** Bounds of what one execution environment remembers between events. */
const MAX_TASK_VERSIONS = 20_000;
const MAX_INSTANCES = 2_000;

interface InstanceMemory {
  memory: TaskMemory;
  daemons: { names?: ReadonlySet<string> };
}

/** What an execution environment remembers across events: versions seen, per-instance task memory. */
export class TaskEventMemory {
  private readonly versions = new Map<string, number>();
  private readonly instances = new Map<string, InstanceMemory>();

  /** True when this event is new: no event of the same task with this or a later version was seen. */
  admit(taskArn: string, version: number): boolean {
    const seen = this.versions.get(taskArn);
    if (seen !== undefined && seen >= version) return false;
    this.versions.delete(taskArn);
    this.versions.set(taskArn, version);
    if (this.versions.size > MAX_TASK_VERSIONS) this.versions.delete(this.versions.keys().next().value as string);
    return true;
  }

  instance(containerInstanceArn: string): InstanceMemory {
    let entry = this.instances.get(containerInstanceArn);
    if (entry) this.instances.delete(containerInstanceArn);
    else entry = { memory: newTaskMemory(), daemons: {} };
    this.instances.set(containerInstanceArn, entry);
    if (this.instances.size > MAX_INSTANCES) this.instances.delete(this.instances.keys().next().value as string);
    return entry;
  }

  forget(containerInstanceArn: string): void {
    this.instances.delete(containerInstanceArn);
  }
}

interface InstanceOutcome {
  outcome: TaskEventOutcome;
  reason: string;
  ec2InstanceId?: string;
  calls: CallCounts;
}

/** Handles a batch of STOPPED events; one result per signal, in order. Never throws for an AWS fault. */
export async function handleTaskEvents(
  deps: TaskEventDeps,
  memory: TaskEventMemory,
  signals: readonly TaskStoppedSignal[],
  invocationEndsAt: number,
): Promise<TaskEventResult[]> {
  const { config, telemetry } = deps;
  const batchCalls: CallCounts = {};
  const spacing = eventReadSpacingMs(config);
  const ecs = pacedReads(countingClient(deps.clients.ecs, 'ecs', batchCalls), deps.clock, () => spacing);

  // At least once and unordered: an event no newer than one already handled changes nothing.
  const fresh: { index: number; signal: TaskStoppedSignal }[] = [];
  const outcomes: (InstanceOutcome | undefined)[] = signals.map(() => undefined);
  signals.forEach((signal, index) => {
    if (!memory.admit(signal.taskArn, signal.version)) outcomes[index] = { outcome: 'ignored', reason: 'duplicate-or-older', calls: {} };
    else fresh.push({ index, signal });
  });

  // Per cluster, the instances of the batch; each checked once, on behalf of its newest event.
  const byCluster = new Map<string, Map<string, { index: number; signal: TaskStoppedSignal }[]>>();
  for (const entry of fresh) {
    const instances = byCluster.get(entry.signal.clusterArn) ?? new Map<string, { index: number; signal: TaskStoppedSignal }[]>();
    const events = instances.get(entry.signal.containerInstanceArn) ?? [];
    events.push(entry);
    instances.set(entry.signal.containerInstanceArn, events);
    byCluster.set(entry.signal.clusterArn, instances);
    // STOPPED is a task's last state: this task is never described again.
    rememberStopped(memory.instance(entry.signal.containerInstanceArn).memory, entry.signal.taskArn);
  }

  const hooks = new Map<string, Promise<LifecycleHookView[]>>();
  for (const [cluster, instances] of byCluster) {
    let described: ContainerInstanceView[] = [];
    let failure: unknown;
    try {
      const answer = await describeContainerInstances(ecs, cluster, [...instances.keys()]);
      described = answer.instances;
    } catch (error) {
      failure = error;
      telemetry.log('WARN', 'task event check failed; the polling round covers it', { cluster, instances: instances.size, ...describeError(error) });
    }
    for (const [containerInstanceArn, events] of instances) {
      const instance = described.find((candidate) => candidate.containerInstanceArn === containerInstanceArn);
      const outcome: InstanceOutcome =
        failure !== undefined
          ? { outcome: 'failed', reason: describeError(failure).errorName, calls: {} }
          : await checkInstance(deps, memory, ecs, hooks, cluster, containerInstanceArn, instance, invocationEndsAt);
      // The instance's outcome belongs to its newest event; the others of the batch were folded into it.
      const newest = events.reduce((best, entry) => (entry.signal.version >= best.signal.version ? entry : best));
      for (const entry of events) outcomes[entry.index] = entry === newest ? outcome : { outcome: 'ignored', reason: 'same-instance-in-batch', calls: {} };
    }
  }

  return signals.map((signal, index) => {
    const outcome = outcomes[index] ?? { outcome: 'ignored', reason: 'unreachable', calls: {} };
    const base = { taskArn: signal.taskArn, containerInstanceArn: signal.containerInstanceArn, ...(outcome.ec2InstanceId ? { ec2InstanceId: outcome.ec2InstanceId } : {}) };
    const level = outcome.outcome === 'completed' ? 'INFO' : outcome.outcome === 'failed' ? 'WARN' : 'DEBUG';
    telemetry.log(level, 'task event decision', { ...base, outcome: outcome.outcome, reason: outcome.reason, awsCalls: outcome.calls, eventId: signal.eventId, version: signal.version });
    telemetry.count('TaskEvent', { outcome: outcome.outcome, reason: outcome.reason });
    return { ...base, outcome: outcome.outcome, reason: outcome.reason, awsCalls: outcome.calls };
  });
}

/** One instance of the batch, described: complete its action when its drain is finished. */
async function checkInstance(
  deps: TaskEventDeps,
  memory: TaskEventMemory,
  batchEcs: ECSClient,
  hooks: Map<string, Promise<LifecycleHookView[]>>,
  cluster: string,
  containerInstanceArn: string,
  instance: ContainerInstanceView | undefined,
  invocationEndsAt: number,
): Promise<InstanceOutcome> {
  const { config, telemetry, clock } = deps;
  const calls: CallCounts = {};
  const ecs = countingClient(batchEcs, 'ecs', calls);
  const autoScaling = countingClient(deps.clients.autoScaling, 'autoScaling', calls);
  const ec2InstanceId = instance?.ec2InstanceId;
  const result = (outcome: TaskEventOutcome, reason: string): InstanceOutcome => ({ outcome, reason, calls: { ...calls }, ...(ec2InstanceId ? { ec2InstanceId } : {}) });

  if (!instance || instance.status !== 'DRAINING') {
    memory.forget(containerInstanceArn);
    return result('ignored', instance ? 'not-draining' : 'instance-gone');
  }
  const lease = instance.attributes[LEASE_ATTRIBUTE];
  if (lease === undefined) return result('ignored', 'no-drain-of-ours');
  if (isCompletionMarker(lease)) return result('ignored', 'action-over');
  const remembered = memory.instance(containerInstanceArn);
  const last = remembered.memory.last;
  const knownStandalone = last ? last.tasks.filter((task) => task.origin === 'standalone' && task.desiredStatus !== 'STOPPED').length : undefined;
  // Tasks with desired status RUNNING (daemons among them, which ECS stops last) rule out a drained
  // instance without any task read.
  if (!countMayShowDrained({ tasksCount: instance.runningTasksCount, policy: config.standaloneTasks, ...(knownStandalone !== undefined ? { knownStandalone } : {}) })) {
    return result('ignored', 'tasks-remaining');
  }

  try {
    const read = await readTasks(
      { ecs, cluster, containerInstanceArn, memory: remembered.memory, daemons: remembered.daemons },
      instance.runningTasksCount + instance.pendingTasksCount,
      (tasks) => countTasks(tasks, config.standaloneTasks).counted > 0,
    );
    if (countTasks(read.tasks, config.standaloneTasks).counted > 0) return result('ignored', 'tasks-remaining');

    const states = await describeGroupInstances(autoScaling, [instance.ec2InstanceId]);
    const member = states.get(instance.ec2InstanceId);
    if (!member || !isWaitingState(member.lifecycleState)) return result('ignored', 'not-terminating');
    // The group's termination hooks, read once per batch.
    const known = hooks.get(member.autoScalingGroupName) ?? describeTerminationHooks(autoScaling, member.autoScalingGroupName);
    hooks.set(member.autoScalingGroupName, known);
    const groupHooks = await known;
    // With several termination hooks the event cannot tell which one our drain holds: the polling round completes it.
    if (groupHooks.length !== 1) return result('ignored', groupHooks.length === 0 ? 'no-termination-hook' : 'several-termination-hooks');
    const hook = groupHooks[0]!;

    const now = clock.now();
    // The drain's own start is not known here; the deadline is the polling round's business.
    const chain: ChainState = {
      chainId: `event-${containerInstanceArn.slice(-40).replace(/[^A-Za-z0-9-]/g, '-')}`.slice(0, 64),
      attempt: 0,
      firstSeenAt: now,
      lastHeartbeatAt: now,
      heartbeatTimeoutSeconds: hook.heartbeatTimeoutSeconds,
      globalTimeoutSeconds: hook.globalTimeoutSeconds,
      cluster,
      containerInstanceArn,
      notification: {
        LifecycleTransition: TERMINATING,
        AutoScalingGroupName: member.autoScalingGroupName,
        LifecycleHookName: hook.lifecycleHookName,
        EC2InstanceId: instance.ec2InstanceId,
      },
    };
    const snapshot: LifecycleSnapshot = {
      instance: { status: instance.status },
      tasks: read.tasks,
      groupState: member.lifecycleState,
      actionOver: false,
      // The lease is the polling round's; the event path writes none and acts as its helper.
      lease: { mine: lease, claimed: true, current: lease },
      invocationEndsAt,
    };
    const step = decideLifecycleStep(snapshot, chain, now, config, FRESH_ROUND);
    if (step.kind === 'dry-run') return result('dry-run', `would ${step.wouldDo.kind} (${step.wouldDo.reason})`);
    // Only a finished drain is acted on here; every other step is the polling round's.
    if (step.kind !== 'complete' || step.reason !== 'drained') return result('ignored', `decided-${step.kind}`);
    // Marked first: once the action is completed the instance may be terminated (and deregistered)
    // at any moment, and the polling round then ends on the mark without completing again.
    const marked = await writeMark(ecs, telemetry, cluster, containerInstanceArn, completionMarker(clock.now()));
    let answer: Awaited<ReturnType<typeof completeLifecycleAction>>;
    try {
      answer = await completeLifecycleAction(autoScaling, step.action, step.result);
    } catch (error) {
      // The action may still be open: the polling round must complete it, so the lease goes back.
      if (marked) await writeMark(ecs, telemetry, cluster, containerInstanceArn, lease);
      throw error;
    }
    memory.forget(containerInstanceArn);
    if (answer === 'no-active-action') return result('ignored', 'action-over');
    telemetry.count('LifecycleCompleted', { cluster: clusterName(cluster), result: step.result, reason: 'drained-on-event' });
    return result('completed', 'drained');
  } catch (error) {
    telemetry.log('WARN', 'task event check failed; the polling round covers it', { cluster, containerInstanceArn, ...describeError(error) });
    return result('failed', describeError(error).errorName);
  }
}

/**
 * Writes the completion mark (or the lease back) on the instance. Best effort: without the mark the
 * polling round reads the tasks and completes again, which Auto Scaling answers with "no active
 * lifecycle action"; a lease not restored after a failed completion leaves the round completing
 * on the mark while the instance is DRAINING (decide.ts), and ending only once it is gone.
 */
async function writeMark(ecs: ECSClient, telemetry: Telemetry, cluster: string, containerInstanceArn: string, value: string): Promise<boolean> {
  try {
    await writeLease(ecs, cluster, containerInstanceArn, value);
    return true;
  } catch (error) {
    telemetry.log('WARN', 'lifecycle lease attribute not written', { cluster, containerInstanceArn, value, ...describeError(error) });
    return false;
  }
}
