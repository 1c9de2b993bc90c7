import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { describeGroupInstances, describeGroups, type GroupView } from '../aws/autoscaling';
import { describeClusterCapacityProviders } from '../aws/capacity-providers';
import { classifyAwsError, describeError } from '../errors';
import { describeContainerInstances, listContainerInstanceArns } from '../aws/ecs';
import { classifyTasks, describeTasks, listClusterTaskArns, listDaemonServiceNames, listTaskArns, workloadOf, type TaskView } from '../aws/tasks';
import { instancesToInspect, taskCount } from './plan';
import type { ClusterSnapshot, PlanSettings, SnapshotInstance, Workload } from './types';

const PAGE = 100;

/** Pure: a task read's cost either way, so the snapshot can take the cheaper one. */
export function taskReadCost(inspected: readonly SnapshotInstance[], all: readonly SnapshotInstance[]) {
  const inspectedTasks = inspected.reduce((sum, instance) => sum + taskCount(instance), 0);
  const allTasks = all.reduce((sum, instance) => sum + taskCount(instance), 0);
  return {
    // One ListTasks per instance (a page holds 100 tasks), then DescribeTasks by 100.
    perInstance: inspected.length + Math.ceil(inspectedTasks / PAGE),
    // ListTasks of the whole cluster by 100, then DescribeTasks of every task by 100.
    wholeCluster: 2 * Math.ceil(allTasks / PAGE),
  };
}

/**
 * Pure: whether to read the whole cluster's tasks. At equal cost the whole cluster wins: it brings
 * every instance's tasks, and consolidation can then weigh every busy instance.
 */
export const readsWholeCluster = (cost: ReturnType<typeof taskReadCost>): boolean => cost.wholeCluster <= cost.perInstance;

/** Pure: each instance's tasks, classified (lib/aws/tasks.ts), as the planner's workloads. */
export function toWorkloads(
  tasksByInstance: ReadonlyMap<string, readonly TaskView[]>,
  daemonServices: ReadonlySet<string>,
): Map<string, Workload> {
  return new Map([...tasksByInstance].map(([arn, tasks]) => [arn, workloadOf(classifyTasks(tasks, daemonServices))]));
}

async function readTasks(
  ecs: ECSClient,
  cluster: string,
  inspected: readonly SnapshotInstance[],
  all: readonly SnapshotInstance[],
): Promise<Map<string, TaskView[]>> {
  const byInstance = new Map<string, TaskView[]>(inspected.map((instance) => [instance.containerInstanceArn, []]));
  if (inspected.length === 0) return byInstance;
  if (readsWholeCluster(taskReadCost(inspected, all))) {
    // Every instance's tasks come with this read: all of them are kept, so consolidation can weigh
    // every busy instance, not only the few least used ones (at no extra call).
    for (const instance of all) if (!byInstance.has(instance.containerInstanceArn)) byInstance.set(instance.containerInstanceArn, []);
    const tasks = await describeTasks(ecs, cluster, await listClusterTaskArns(ecs, cluster, 'RUNNING'));
    for (const task of tasks) if (task.containerInstanceArn) byInstance.get(task.containerInstanceArn)?.push(task);
    return byInstance;
  }
  const owner = new Map<string, string>();
  for (const instance of inspected) {
    for (const taskArn of await listTaskArns(ecs, cluster, instance.containerInstanceArn, 'RUNNING')) {
      owner.set(taskArn, instance.containerInstanceArn);
    }
  }
  for (const task of await describeTasks(ecs, cluster, [...owner.keys()])) {
    const arn = owner.get(task.taskArn);
    if (arn) byInstance.get(arn)?.push(task);
  }
  return byInstance;
}

/**
 * Everything the planner needs about one cluster, read with calls that grow with the cluster's size
 * in steps of 100 (container instances, tasks), 50 (Auto Scaling instances) or one per cluster
 * (daemon services), plus one task list per instance that might be idle.
 */
export async function takeSnapshot(
  clients: { ecs: ECSClient; autoScaling: AutoScalingClient },
  cluster: string,
  settings: Pick<PlanSettings, 'consolidate' | 'autoScalingGroups' | 'capacityProviderMode'>,
): Promise<ClusterSnapshot> {
  const { ecs, autoScaling } = clients;
  const arns = await listContainerInstanceArns(ecs, cluster);
  // Instances deregistered between the list and the describe come back in failures[]: gone, ignored.
  const described = arns.length > 0 ? await describeContainerInstances(ecs, cluster, arns) : { instances: [], failures: [] };
  const memberships = await describeGroupInstances(
    autoScaling,
    described.instances.map((instance) => instance.ec2InstanceId).filter(Boolean),
  );
  const instances: SnapshotInstance[] = described.instances.map((instance) => {
    const group = memberships.get(instance.ec2InstanceId);
    return group ? { ...instance, group } : { ...instance };
  });
  const groupNames = [...new Set([...memberships.values()].map((member) => member.autoScalingGroupName).filter(Boolean))];
  // With their instances, at no extra call: zone balance counts every instance of a group, also
  // those not (yet) registered in this cluster or serving another one.
  const groups: Record<string, GroupView> = groupNames.length > 0 ? Object.fromEntries(await describeGroups(autoScaling, groupNames, { includeInstances: true })) : {};
  const providers = await readCapacityProviders(ecs, cluster, groups, settings.capacityProviderMode);
  const daemonServices = await listDaemonServiceNames(ecs, cluster);

  const inspect = new Set(instancesToInspect(instances, groups, daemonServices.size, settings));
  const inspected = instances.filter((instance) => inspect.has(instance.containerInstanceArn));
  const workloads = toWorkloads(await readTasks(ecs, cluster, inspected, instances), daemonServices);
  return {
    cluster,
    instances: instances.map((instance) => {
      const workload = workloads.get(instance.containerInstanceArn);
      return workload ? { ...instance, workload } : instance;
    }),
    groups,
    daemonServices: [...daemonServices].sort(),
    ...(providers.error ? { capacityProviderReadError: providers.error } : {}),
  };
}

/**
 * Attaches each group's capacity-provider settings (docs/aws-behaviour.md §3.5), read only when a
 * group carries ECS's `AmazonECSManaged` tag (the mark of a capacity provider's group) and the
 * sweeper stands down for them: one DescribeClusters and one DescribeCapacityProviders per 10
 * providers. A failed read leaves the tag to decide (capacity-providers.ts).
 */
async function readCapacityProviders(
  ecs: ECSClient,
  cluster: string,
  groups: Record<string, GroupView>,
  mode: PlanSettings['capacityProviderMode'],
): Promise<{ error?: { errorClass: string; errorName: string; errorMessage: string } }> {
  if (mode === 'cooperate' || !Object.values(groups).some((group) => group.ecsManaged)) return {};
  try {
    for (const provider of await describeClusterCapacityProviders(ecs, cluster)) {
      const group = groups[provider.autoScalingGroupName];
      if (group) groups[provider.autoScalingGroupName] = { ...group, capacityProvider: provider };
    }
    return {};
  } catch (error) {
    const { errorName, errorMessage } = describeError(error);
    return { error: { errorClass: classifyAwsError(error), errorName, errorMessage } };
  }
}
