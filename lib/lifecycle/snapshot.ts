import { describeLifecycleHook } from '../aws/autoscaling';
import { describeInstanceState } from '../aws/ec2';
import { describeContainerInstances, findContainerInstance, resolveClusters } from '../aws/ecs';
import { describeError } from '../errors';
import type { ClassifiedTask } from '../aws/tasks';
import { actionOf, countTasks, type LifecycleSnapshot } from './decide';
import { LEASE_ATTRIBUTE } from './lease';
import { managedDrainingForRound } from './capacity-reads';
import { defersToManagedDraining, hasManagedDrainingHook, type ManagedDrainingView } from './managed-draining';
import type { Round } from './round';
import { readTasks } from './task-reads';

/** Used when the hook cannot be read (deleted meanwhile): the shortest timeout Auto Scaling allows. */
export const FALLBACK_HEARTBEAT_TIMEOUT_SECONDS = 30;

/**
 * Reads what the decision needs for one poll. Later rounds skip the lookup: the message names the
 * instance. What is learnt about the drain once (its cluster, container instance, the hook's
 * timeouts) is kept in the chain.
 */
export async function readSnapshot(round: Round): Promise<LifecycleSnapshot> {
  const { ecs, autoScaling, chain, config, telemetry } = round;
  let instance: { status: string; lease?: string; tasksCount: number; agentConnected: boolean } | undefined;
  if (chain.cluster === undefined || chain.containerInstanceArn === undefined) {
    const clusters = await resolveClusters(ecs, config.clusters);
    round.clustersSearched = clusters.length;
    const found = await findContainerInstance(ecs, clusters, chain.notification.EC2InstanceId, telemetry);
    if (found) {
      chain.cluster = found.cluster;
      chain.containerInstanceArn = found.containerInstanceArn;
      instance = { status: found.status, lease: found.attributes[LEASE_ATTRIBUTE], tasksCount: found.runningTasksCount + found.pendingTasksCount, agentConnected: found.agentConnected };
    }
  } else {
    const described = await describeContainerInstances(ecs, chain.cluster, [chain.containerInstanceArn]);
    const found = described.instances.find((candidate) => candidate.containerInstanceArn === chain.containerInstanceArn);
    // MISSING in failures[] and INACTIVE both mean: deregistered, nothing left to drain.
    if (found) instance = { status: found.status, lease: found.attributes[LEASE_ATTRIBUTE], tasksCount: found.runningTasksCount + found.pendingTasksCount, agentConnected: found.agentConnected };
  }

  // Read only while the agent is disconnected, so drains of connected instances cost no EC2 call.
  let ec2State: string | undefined;
  if (instance && instance.status !== 'INACTIVE' && !instance.agentConnected) {
    try {
      ec2State = await describeInstanceState(round.ec2, chain.notification.EC2InstanceId);
    } catch (error) {
      // An unanswered EC2 read leaves the drain as it would be without it: waiting, read again next poll.
      telemetry.log('WARN', 'EC2 instance state not read; waiting as for a connected agent', {
        ec2InstanceId: chain.notification.EC2InstanceId,
        error: describeError(error),
      });
    }
  }

  let tasks: ClassifiedTask[] = [];
  let managedDraining: ManagedDrainingView | undefined;
  if (instance && instance.status !== 'INACTIVE' && chain.cluster && chain.containerInstanceArn) {
    if (chain.heartbeatTimeoutSeconds === undefined || chain.globalTimeoutSeconds === undefined) {
      const action = actionOf(chain);
      const { hook, groupHooks } = await describeLifecycleHook(autoScaling, action.autoScalingGroupName, action.lifecycleHookName);
      if (!hook) {
        telemetry.log('WARN', 'lifecycle hook not found; assuming the shortest heartbeat timeout', {
          autoScalingGroupName: action.autoScalingGroupName,
          lifecycleHookName: action.lifecycleHookName,
        });
      }
      chain.heartbeatTimeoutSeconds = hook?.heartbeatTimeoutSeconds ?? FALLBACK_HEARTBEAT_TIMEOUT_SECONDS;
      chain.globalTimeoutSeconds = hook?.globalTimeoutSeconds ?? 100 * FALLBACK_HEARTBEAT_TIMEOUT_SECONDS;
      // ECS drains only groups that carry its own hook: the capacity providers are read for those alone.
      if (!hasManagedDrainingHook(groupHooks)) round.managedDraining ??= 'disabled';
    }
    // A drain left to ECS's managed draining reads no task (capacity-reads.ts).
    managedDraining = await managedDrainingForRound(round);
    // An ACTIVE instance is drained first and read again, so its tasks are not read yet
    // (a dry run reads them, to report what a drain would wait for).
    if ((instance.status !== 'ACTIVE' || config.dryRun) && !defersToManagedDraining(managedDraining, config.managedDraining)) {
      const context = { ecs, cluster: chain.cluster, containerInstanceArn: chain.containerInstanceArn, memory: round.taskMemory, daemons: round.daemonLookup };
      const read = await readTasks(context, instance.tasksCount, (candidates) => countTasks(candidates, config.standaloneTasks).counted > 0);
      tasks = read.tasks;
      round.fullTaskReads += read.full ? 1 : 0;
    }
  }
  round.lastTasks = tasks;
  round.lastCounts = countTasks(tasks, config.standaloneTasks);
  // The daemon grace runs from the first poll of the drained instance that found no counted task.
  if (instance && instance.status !== 'ACTIVE' && instance.status !== 'INACTIVE' && round.lastCounts.counted === 0) chain.countedGoneAt ??= round.clock.now();
  else if (round.lastCounts.counted > 0) delete chain.countedGoneAt;
  return {
    ...(instance ? { instance: { status: instance.status } } : {}),
    ...(managedDraining ? { managedDraining } : {}),
    tasks,
    ...(ec2State !== undefined ? { ec2State } : {}),
    actionOver: false,
    lease: { ...round.lease, ...(instance?.lease !== undefined ? { current: instance.lease } : {}) },
    invocationEndsAt: round.invocationEndsAt,
  };
}
