import { describeGroupInstances, describeGroups, describeLifecycleHook, type GroupView } from '../aws/autoscaling';
import { describeInstanceState } from '../aws/ec2';
import { clusterName, describeContainerInstances, findContainerInstance, resolveClusters } from '../aws/ecs';
import { classifyAwsError, describeError } from '../errors';
import { listDaemonServiceNames, type ClassifiedTask } from '../aws/tasks';
import { actionOf, countProvesTasksRemain, countTasks, fleetOf, type LifecycleSnapshot } from './decide';
import { LEASE_ATTRIBUTE, isCompletionMarker, leaseRanksAbove } from './lease';
import { readManagedDraining } from './capacity-reads';
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
  const { ecs, chain, config, telemetry } = round;
  let instance: { status: string; lease?: string; tasksCount: number; runningTasksCount: number; agentConnected: boolean } | undefined;
  if (chain.cluster === undefined || chain.containerInstanceArn === undefined) {
    const clusters = await resolveClusters(ecs, config.clusters);
    round.clustersSearched = clusters.length;
    const found = await findContainerInstance(ecs, clusters, chain.notification.EC2InstanceId, telemetry);
    if (found) {
      chain.cluster = found.cluster;
      chain.containerInstanceArn = found.containerInstanceArn;
      instance = viewOf(found);
    }
  } else {
    const described = await describeContainerInstances(ecs, chain.cluster, [chain.containerInstanceArn]);
    const found = described.instances.find((candidate) => candidate.containerInstanceArn === chain.containerInstanceArn);
    // MISSING in failures[] and INACTIVE both mean: deregistered, nothing left to drain.
    if (found) instance = viewOf(found);
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
  let tasksRemain = false;
  let managedDraining: ManagedDrainingView | undefined;
  // The event path marked the instance (the drain is finished), or another chain's lease ranks above
  // this round's (it ends, lease.ts): the decision needs no task read.
  const completedElsewhere = instance?.lease !== undefined && isCompletionMarker(instance.lease);
  const written = round.lease.claimed ? round.lease.written : undefined;
  const superseded = instance?.lease !== undefined && written !== undefined && instance.lease !== written && leaseRanksAbove(instance.lease, written);
  if (instance && instance.status !== 'INACTIVE' && chain.cluster && chain.containerInstanceArn && !completedElsewhere && !superseded) {
    if (chain.heartbeatTimeoutSeconds === undefined || chain.globalTimeoutSeconds === undefined) await readHook(round);
    // A drain left to ECS's managed draining reads no task (capacity-reads.ts).
    managedDraining = await managedDrainingForRound(round);
    // An ACTIVE instance is drained first and read again, so its tasks are not read yet
    // (a dry run reads them, to report what a drain would wait for).
    if ((instance.status !== 'ACTIVE' || config.dryRun) && !defersToManagedDraining(managedDraining, config.managedDraining)) {
      if (!config.dryRun && (await countProves(round, instance.runningTasksCount))) {
        // A poll that costs one DescribeContainerInstances: what was read before still stands.
        tasksRemain = true;
        tasks = [...round.lastTasks];
      } else {
        const context = { ecs, cluster: chain.cluster, containerInstanceArn: chain.containerInstanceArn, memory: round.taskMemory, daemons: round.daemonLookup };
        const read = await readTasks(context, instance.tasksCount, (candidates) => countTasks(candidates, config.standaloneTasks).counted > 0);
        tasks = read.tasks;
        round.fullTaskReads += read.full ? 1 : 0;
      }
    }
  }
  round.lastTasks = tasks;
  round.lastCounts = countTasks(tasks, config.standaloneTasks);
  if (tasksRemain) round.lastCounts.counted = Math.max(round.lastCounts.counted, 1);
  // The daemon grace runs from the first poll of the drained instance that found no counted task.
  if (instance && instance.status !== 'ACTIVE' && instance.status !== 'INACTIVE' && !completedElsewhere && !superseded && round.lastCounts.counted === 0) chain.countedGoneAt ??= round.clock.now();
  else if (round.lastCounts.counted > 0) delete chain.countedGoneAt;
  return {
    ...(instance ? { instance: { status: instance.status } } : {}),
    ...(managedDraining ? { managedDraining } : {}),
    tasks,
    ...(ec2State !== undefined ? { ec2State } : {}),
    actionOver: false,
    lease: { ...round.lease, ...(instance?.lease !== undefined ? { current: instance.lease } : {}) },
    invocationEndsAt: round.invocationEndsAt,
    ...(tasksRemain ? { tasksRemain } : {}),
  };
}

function viewOf(found: { status: string; attributes: Record<string, string>; runningTasksCount: number; pendingTasksCount: number; agentConnected: boolean }) {
  return {
    status: found.status,
    lease: found.attributes[LEASE_ATTRIBUTE],
    // Their sum changes whenever a task starts, is told to stop or leaves PENDING: the task reads' cache key.
    tasksCount: found.runningTasksCount + found.pendingTasksCount,
    // Tasks whose desired status is RUNNING, PENDING ones included (docs/aws-behaviour.md §2).
    runningTasksCount: found.runningTasksCount,
    agentConnected: found.agentConnected,
  };
}

/** The hook's heartbeat and global timeouts, once per chain (they travel in the requeue message). */
export async function readHook(round: Round): Promise<void> {
  const { chain, telemetry } = round;
  const action = actionOf(chain);
  const { hook, groupHooks } = await describeLifecycleHook(round.autoScaling, action.autoScalingGroupName, action.lifecycleHookName);
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

/**
 * Whether the task count proves that tasks the drain waits for remain (decide.ts
 * countProvesTasksRemain), reading the cluster's DAEMON services once per round (ListServices,
 * which is not a cluster-resource read). Never in a dry run, which reports the tasks it read.
 */
async function countProves(round: Round, runningTasksCount: number): Promise<boolean> {
  if (runningTasksCount === 0 || round.chain.cluster === undefined) return false;
  round.daemonLookup.names ??= await listDaemonServiceNames(round.ecs, round.chain.cluster);
  const last = round.taskMemory.last;
  const knownStandalone = last ? last.tasks.filter((task) => task.origin === 'standalone' && task.desiredStatus !== 'STOPPED').length : undefined;
  return countProvesTasksRemain({
    tasksCount: runningTasksCount,
    daemonServices: round.daemonLookup.names.size,
    policy: round.config.standaloneTasks,
    ...(knownStandalone !== undefined ? { knownStandalone } : {}),
  });
}

/**
 * The instance's lifecycle state from its group's DescribeAutoScalingGroups, which also lists the
 * group's other instances: the drains in progress (decide.ts fleetOf), on the round for its pacing.
 * An instance the group does not list is in another group or in none: DescribeAutoScalingInstances tells.
 */
export async function readGroup(round: Round): Promise<{ groupState: string; groupName?: string }> {
  const { EC2InstanceId: id, AutoScalingGroupName: group, LifecycleTransition: transition } = round.chain.notification;
  let members: NonNullable<GroupView['members']> = [];
  try {
    const view = (await describeGroups(round.autoScaling, [group], { includeInstances: true })).get(group);
    members = view?.members ?? [];
    // The same answer says whether the group retains abandoned instances (execute.ts reads it after an ABANDON).
    if (view) round.retainsAbandoned = view.retainsAbandoned === true;
  } catch (error) {
    // A refusal (a role without DescribeAutoScalingGroups) only costs the pacing: the drain goes on
    // as if alone in its group. Throttling and 5xx are the round's to retry.
    if (classifyAwsError(error) === 'retryable') throw error;
    round.telemetry.log('WARN', 'group not read; pacing this drain as if alone in its group', { autoScalingGroupName: group, ...describeError(error) });
  }
  const member = members.find((candidate) => candidate.instanceId === id);
  if (member) {
    round.fleet = fleetOf(members, id, transition);
    return { groupState: member.lifecycleState, groupName: group };
  }
  const found = (await describeGroupInstances(round.autoScaling, [id])).get(id);
  return { groupState: found?.lifecycleState ?? 'absent', ...(found ? { groupName: found.autoScalingGroupName } : {}) };
}

/**
 * The group's view for this round, read once per round and only where it decides something: the
 * first round of a termination chain (Auto Scaling's own notification), unless MANAGED_DRAINING is
 * `drain-anyway`. Later rounds continue what the first one chose. A failed read is logged and
 * counted, and the drain goes on as without a capacity provider.
 */
async function managedDrainingForRound(round: Round): Promise<ManagedDrainingView | undefined> {
  if (round.managedDraining !== undefined) return round.managedDraining;
  const { chain, config, capacityProviders, telemetry } = round;
  if (!capacityProviders || config.managedDraining === 'drain-anyway' || round.signal.kind !== 'notification') return undefined;
  if (chain.cluster === undefined || chain.notification.LifecycleTransition !== 'autoscaling:EC2_INSTANCE_TERMINATING') return undefined;
  const group = chain.notification.AutoScalingGroupName;
  const read = await readManagedDraining(capacityProviders, round.ecs, chain.cluster, group, round.clock.now());
  round.managedDraining = read.view;
  if (read.error) {
    telemetry.log('WARN', 'capacity providers not read; draining as without managed draining', { cluster: chain.cluster, autoScalingGroupName: group, ...read.error });
    telemetry.count('CapacityProviderReadFailed', { function: 'lifecycleHook', errorClass: read.error.errorClass });
  } else {
    telemetry.log('DEBUG', 'capacity providers read', { cluster: clusterName(chain.cluster), autoScalingGroupName: group, managedDraining: read.view, cached: read.cached, reads: capacityProviders.reads });
  }
  return read.view;
}
