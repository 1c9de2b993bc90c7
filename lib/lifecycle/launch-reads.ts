import { describeGroupInstances, describeLifecycleHook } from '../aws/autoscaling';
import { describeDaemonPlacements, selectsInstance } from '../aws/daemons';
import { describeContainerInstances, findContainerInstance, resolveClusters, type ContainerInstanceView } from '../aws/ecs';
import { describeTasks, listTaskArns } from '../aws/tasks';
import { launchActionOf, launchStage, type LaunchSnapshot, type Readiness } from './launch-decide';
import type { LaunchRound } from './launch-round';
import { FALLBACK_HEARTBEAT_TIMEOUT_SECONDS } from './snapshot';

/**
 * What one poll of a launching instance reads. A round's first poll asks Auto Scaling whether the
 * instance still waits in Pending:Wait (one DescribeAutoScalingInstances, and the hook's timeouts
 * once per chain), so a replayed or finished action costs no ECS read. Then ECS, cheapest first:
 *
 * - until the container instance is found: one filtered ListContainerInstances per managed cluster
 *   (and one DescribeContainerInstances to confirm it), the Spot drainer's lookup;
 * - then one DescribeContainerInstances per poll: status and agent;
 * - once it is ACTIVE and connected, with LAUNCH_WAIT_FOR_DAEMONS: the cluster's DAEMON services
 *   and their placement constraints once per round (ListServices, DescribeServices per 10, one
 *   filtered ListContainerInstances per constrained service), then ListTasks and DescribeTasks of the
 *   instance, once ECS has placed any task on it.
 */
export async function readLaunchSnapshot(round: LaunchRound): Promise<LaunchSnapshot> {
  const base: LaunchSnapshot = { actionOver: false, invocationEndsAt: round.invocationEndsAt };
  const { chain } = round;
  if (!round.groupChecked) {
    const id = chain.notification.EC2InstanceId;
    const found = (await describeGroupInstances(round.autoScaling, [id])).get(id);
    const groupState = found?.lifecycleState ?? 'absent';
    const groupName = found?.autoScalingGroupName;
    if (launchStage(groupState) !== 'waiting' || (groupName !== undefined && groupName !== chain.notification.AutoScalingGroupName)) {
      return { ...base, groupState, ...(groupName !== undefined ? { groupName } : {}) };
    }
    round.groupChecked = true;
    if (chain.heartbeatTimeoutSeconds === undefined || chain.globalTimeoutSeconds === undefined) {
      const action = launchActionOf(chain);
      const { hook } = await describeLifecycleHook(round.autoScaling, action.autoScalingGroupName, action.lifecycleHookName);
      if (!hook) round.telemetry.log('WARN', 'lifecycle hook not found; assuming the shortest heartbeat timeout', { autoScalingGroupName: action.autoScalingGroupName, lifecycleHookName: action.lifecycleHookName });
      chain.heartbeatTimeoutSeconds = hook?.heartbeatTimeoutSeconds ?? FALLBACK_HEARTBEAT_TIMEOUT_SECONDS;
      chain.globalTimeoutSeconds = hook?.globalTimeoutSeconds ?? 100 * FALLBACK_HEARTBEAT_TIMEOUT_SECONDS;
    }
  }
  const readiness = await readReadiness(round);
  round.lastReadiness = readiness;
  return { ...base, readiness };
}

async function readReadiness(round: LaunchRound): Promise<Readiness> {
  const { chain, ecs, config } = round;
  const id = chain.notification.EC2InstanceId;
  let view: ContainerInstanceView | undefined;
  if (chain.cluster === undefined || chain.containerInstanceArn === undefined) {
    const clusters = await resolveClusters(ecs, config.clusters);
    round.clustersSearched = clusters.length;
    view = await findContainerInstance(ecs, clusters, id, round.telemetry);
    if (!view) return { kind: 'not-registered' };
    chain.cluster = view.cluster;
    chain.containerInstanceArn = view.containerInstanceArn;
  } else {
    const described = await describeContainerInstances(ecs, chain.cluster, [chain.containerInstanceArn]);
    view = described.instances.find((candidate) => candidate.containerInstanceArn === chain.containerInstanceArn);
    if (!view || view.status === 'INACTIVE') {
      // Deregistered: an agent that registers again gets a new ARN, which the next poll looks up.
      delete chain.cluster;
      delete chain.containerInstanceArn;
      return { kind: 'not-registered' };
    }
  }
  if (view.status !== 'ACTIVE') return { kind: 'not-active', status: view.status };
  if (!view.agentConnected) return { kind: 'agent-disconnected' };
  if (!config.launchWaitForDaemons) return { kind: 'ready', daemons: 0 };

  const required = await requiredDaemons(round, view.cluster, id);
  if (required.length === 0) return { kind: 'ready', daemons: 0 };
  // A task counts in runningTasksCount from PENDING on: with none placed yet, every daemon is missing.
  if (view.runningTasksCount + view.pendingTasksCount === 0) return { kind: 'daemons-pending', missing: required };
  const taskArns = await listTaskArns(ecs, view.cluster, view.containerInstanceArn, 'RUNNING');
  const tasks = taskArns.length > 0 ? await describeTasks(ecs, view.cluster, taskArns) : [];
  const running = new Set(tasks.filter((task) => task.lastStatus === 'RUNNING').map((task) => task.serviceName));
  const missing = required.filter((name) => !running.has(name));
  return missing.length > 0 ? { kind: 'daemons-pending', missing } : { kind: 'ready', daemons: required.length };
}

/**
 * The DAEMON services that should run on the instance: all of them, less those whose placement
 * constraints ECS says do not select it. A constraint ECS will not evaluate as a filter leaves the
 * service out (logged): waiting for a daemon that may never come would abandon a good instance.
 */
async function requiredDaemons(round: LaunchRound, cluster: string, ec2InstanceId: string): Promise<string[]> {
  round.daemons ??= await describeDaemonPlacements(round.ecs, cluster);
  const required: string[] = [];
  for (const daemon of round.daemons) {
    if (daemon.memberOf.length === 0) {
      required.push(daemon.serviceName);
      continue;
    }
    if (!round.selects.has(daemon.serviceName)) {
      const selects = await selectsInstance(round.ecs, cluster, ec2InstanceId, daemon.memberOf);
      if (selects === undefined) {
        round.telemetry.log('WARN', 'daemon placement constraint not evaluated; the launch does not wait for this daemon', {
          ec2InstanceId,
          cluster,
          serviceName: daemon.serviceName,
          memberOf: daemon.memberOf,
        });
      }
      round.selects.set(daemon.serviceName, selects ?? false);
    }
    if (round.selects.get(daemon.serviceName)) required.push(daemon.serviceName);
  }
  return required;
}

