import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { completeLifecycleAction, describeGroupInstances, describeTerminationHooks } from '../aws/autoscaling';
import { clusterName, describeContainerInstances } from '../aws/ecs';
import type { Clock } from '../clock';
import { describeError } from '../errors';
import type { TaskStoppedSignal } from '../events/ecs';
import { TERMINATING } from '../events/lifecycle';
import type { Telemetry } from '../telemetry';
import { countingClient, type CallCounts } from './calls';
import type { LifecycleConfig } from './config';
import { countTasks, decideLifecycleStep, FRESH_ROUND, isWaitingState, type ChainState, type LifecycleSnapshot } from './decide';
import { LEASE_ATTRIBUTE } from './lease';
import { newTaskMemory, readTasks, rememberStopped, type TaskMemory } from './task-reads';

/**
 * The event path of the lifecycle drainer: an ECS task on a container instance reached STOPPED.
 * When the instance is draining under one of our termination-hook drains (DRAINING, and our lease
 * attribute on it, which the polling round writes before it starts waiting), the instance is read
 * again and, if nothing counted is left, the lifecycle action is completed at once instead of at
 * the polling round's next poll. The polling round stays the safety net: it finds the action over
 * and ends. Whether a drain is finished is decided by decideLifecycleStep, like every poll.
 *
 * Cost: an event for an instance that is not draining under a hook makes one ECS read
 * (DescribeContainerInstances) and no write; a duplicate or older event (detail.version) makes
 * none. The event path never throws for an AWS fault: the polling round covers a missed event,
 * so a retry would only add load while ECS throttles.
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
  awsCalls: CallCounts;
}

/** Bounds of what one execution environment remembers between events. */
const MAX_TASK_VERSIONS = 20_000;
const MAX_INSTANCES = 2_000;

/** What an execution environment remembers across events: versions seen, per-instance task memory. */
export class TaskEventMemory {
  private readonly versions = new Map<string, number>();
  private readonly instances = new Map<string, { memory: TaskMemory; daemons: { names?: ReadonlySet<string> } }>();

  /** True when this event is new: no event of the same task with this or a later version was seen. */
  admit(taskArn: string, version: number): boolean {
    const seen = this.versions.get(taskArn);
    if (seen !== undefined && seen >= version) return false;
    this.versions.delete(taskArn);
    this.versions.set(taskArn, version);
    if (this.versions.size > MAX_TASK_VERSIONS) this.versions.delete(this.versions.keys().next().value as string);
    return true;
  }

  instance(containerInstanceArn: string) {
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

export async function handleTaskStopped(
  deps: TaskEventDeps,
  memory: TaskEventMemory,
  signal: TaskStoppedSignal,
  invocationEndsAt: number,
): Promise<TaskEventResult> {
  const { config, telemetry, clock } = deps;
  const calls: CallCounts = {};
  const ecs = countingClient(deps.clients.ecs, 'ecs', calls);
  const autoScaling = countingClient(deps.clients.autoScaling, 'autoScaling', calls);
  const base = { taskArn: signal.taskArn, containerInstanceArn: signal.containerInstanceArn };
  let ec2InstanceId: string | undefined;
  const result = (outcome: TaskEventOutcome, reason: string): TaskEventResult => {
    const line = { ...base, ...(ec2InstanceId ? { ec2InstanceId } : {}), outcome, reason, awsCalls: { ...calls }, eventId: signal.eventId, version: signal.version };
    telemetry.log(outcome === 'completed' ? 'INFO' : outcome === 'failed' ? 'WARN' : 'DEBUG', 'task event decision', line);
    telemetry.count('TaskEvent', { outcome, reason });
    return { ...base, ...(ec2InstanceId ? { ec2InstanceId } : {}), outcome, reason, awsCalls: { ...calls } };
  };

  // At least once and unordered: an event no newer than one already handled changes nothing.
  if (!memory.admit(signal.taskArn, signal.version)) return result('ignored', 'duplicate-or-older');
  const cluster = signal.clusterArn;
  const remembered = memory.instance(signal.containerInstanceArn);
  // STOPPED is a task's last state: this task is never described again.
  rememberStopped(remembered.memory, signal.taskArn);

  try {
    const described = await describeContainerInstances(ecs, cluster, [signal.containerInstanceArn]);
    const instance = described.instances.find((candidate) => candidate.containerInstanceArn === signal.containerInstanceArn);
    if (!instance || instance.status !== 'DRAINING') {
      memory.forget(signal.containerInstanceArn);
      return result('ignored', instance ? 'not-draining' : 'instance-gone');
    }
    const lease = instance.attributes[LEASE_ATTRIBUTE];
    if (lease === undefined) return result('ignored', 'no-drain-of-ours');
    ec2InstanceId = instance.ec2InstanceId;

    const read = await readTasks(
      { ecs, cluster, containerInstanceArn: signal.containerInstanceArn, memory: remembered.memory, daemons: remembered.daemons },
      instance.runningTasksCount + instance.pendingTasksCount,
      (tasks) => countTasks(tasks, config.standaloneTasks).counted > 0,
    );
    if (countTasks(read.tasks, config.standaloneTasks).counted > 0) return result('ignored', 'tasks-remaining');

    const states = await describeGroupInstances(autoScaling, [instance.ec2InstanceId]);
    const member = states.get(instance.ec2InstanceId);
    if (!member || !isWaitingState(member.lifecycleState)) return result('ignored', 'not-terminating');
    const hooks = await describeTerminationHooks(autoScaling, member.autoScalingGroupName);
    // With several termination hooks the event cannot tell which one our drain holds: the polling round completes it.
    if (hooks.length !== 1) return result('ignored', hooks.length === 0 ? 'no-termination-hook' : 'several-termination-hooks');
    const hook = hooks[0]!;

    const now = clock.now();
    // The drain's own start is not known here; the deadline is the polling round's business.
    const chain: ChainState = {
      chainId: `event-${signal.eventId}`.slice(0, 64),
      attempt: 0,
      firstSeenAt: now,
      lastHeartbeatAt: now,
      heartbeatTimeoutSeconds: hook.heartbeatTimeoutSeconds,
      globalTimeoutSeconds: hook.globalTimeoutSeconds,
      cluster,
      containerInstanceArn: signal.containerInstanceArn,
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
    const answer = await completeLifecycleAction(autoScaling, step.action, step.result);
    memory.forget(signal.containerInstanceArn);
    if (answer === 'no-active-action') return result('ignored', 'action-over');
    telemetry.count('LifecycleCompleted', { cluster: clusterName(cluster), result: step.result, reason: 'drained-on-event' });
    return result('completed', 'drained');
  } catch (error) {
    telemetry.log('WARN', 'task event check failed; the polling round covers it', { ...base, ...describeError(error) });
    return result('failed', describeError(error).errorName);
  }
}
