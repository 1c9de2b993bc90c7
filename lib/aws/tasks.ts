import {
  DescribeTasksCommand,
  StopTaskCommand,
  paginateListServices,
  paginateListTasks,
  type DesiredStatus,
  type ECSClient,
  type Task,
} from '@aws-sdk/client-ecs';
import { chunk } from './batch';

/** AWS limits (botocore ECS model): docs/aws-behaviour.md §3.1. */
export const DESCRIBE_TASKS_BATCH = 100;

/** Who started a task, which decides whether a drain waits for it. */
export type TaskOrigin = 'service' | 'daemon' | 'standalone';

export interface TaskView {
  taskArn: string;
  lastStatus: string;
  desiredStatus: string;
  /** `service:<name>` for service tasks, `family:<name>` for standalone ones. */
  group: string;
  startedBy?: string;
  /** The service name when the task belongs to a service. */
  serviceName?: string;
  cpu: number;
  memory: number;
  stoppedAt?: string;
  /** The container instance the task was placed on (EC2 launch type). */
  containerInstanceArn?: string;
  /** GPUs assigned to its containers, static host ports bound ("tcp/80"), and whether it has its own ENI (awsvpc). */
  gpu?: number;
  hostPorts?: string[];
  eni?: boolean;
}

export interface ClassifiedTask extends TaskView {
  origin: TaskOrigin;
}

/** What a task reserves on its instance (0 CPU / MiB when unknown). */
export interface TaskShape {
  cpu: number;
  memory: number;
  gpu?: number;
  /** awsvpc network mode: the task needs an elastic network interface of the instance. */
  eni?: boolean;
  /** Static host ports, as "tcp/80" or "udp/53". */
  hostPorts?: readonly string[];
}

/** A non-daemon task on an instance: one a drain waits for (by policy) and a placement must fit. */
export interface TaskLoad extends TaskShape {
  taskArn: string;
  origin: 'service' | 'standalone';
}

/** An instance's unstopped tasks as the sweeper plans with them: the non-daemon ones, and the daemon count. */
export interface Workload {
  nonDaemon: TaskLoad[];
  daemonTasks: number;
}

/** Pure: the workload of classified tasks; STOPPED ones hold nothing. */
export function workloadOf(tasks: readonly ClassifiedTask[]): Workload {
  const workload: Workload = { nonDaemon: [], daemonTasks: 0 };
  for (const task of tasks) {
    if (task.lastStatus === 'STOPPED') continue;
    if (task.origin === 'daemon') {
      workload.daemonTasks += 1;
      continue;
    }
    workload.nonDaemon.push({
      taskArn: task.taskArn,
      origin: task.origin,
      cpu: task.cpu,
      memory: task.memory,
      ...(task.gpu ? { gpu: task.gpu } : {}),
      ...(task.hostPorts ? { hostPorts: task.hostPorts } : {}),
      ...(task.eni ? { eni: true } : {}),
    });
  }
  return workload;
}

export function serviceNameOf(group: string | undefined): string | undefined {
  return group?.startsWith('service:') ? group.slice('service:'.length) : undefined;
}

/**
 * What else a task holds on its instance: GPU ids of its containers, host ports of its network
 * bindings (bridge/host mode) and an ElasticNetworkInterface attachment (awsvpc):
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html
 */
function placementNeeds(task: Task): Pick<TaskView, 'gpu' | 'hostPorts' | 'eni'> {
  const gpu = (task.containers ?? []).reduce((sum, container) => sum + (container.gpuIds?.length ?? 0), 0);
  const hostPorts = (task.containers ?? []).flatMap((container) =>
    (container.networkBindings ?? [])
      .filter((binding) => binding.hostPort !== undefined && binding.hostPort > 0)
      .map((binding) => `${binding.protocol ?? 'tcp'}/${binding.hostPort}`),
  );
  const eni = (task.attachments ?? []).some((attachment) => attachment.type === 'ElasticNetworkInterface');
  return { ...(gpu > 0 ? { gpu } : {}), ...(hostPorts.length > 0 ? { hostPorts: [...new Set(hostPorts)].sort() } : {}), ...(eni ? { eni } : {}) };
}

function toTaskView(task: Task): TaskView {
  const serviceName = serviceNameOf(task.group);
  return {
    taskArn: task.taskArn ?? '',
    lastStatus: task.lastStatus ?? 'UNKNOWN',
    desiredStatus: task.desiredStatus ?? 'UNKNOWN',
    group: task.group ?? '',
    ...(task.startedBy ? { startedBy: task.startedBy } : {}),
    ...(serviceName ? { serviceName } : {}),
    cpu: Number(task.cpu ?? 0) || 0,
    memory: Number(task.memory ?? 0) || 0,
    ...(task.stoppedAt ? { stoppedAt: task.stoppedAt.toISOString() } : {}),
    ...(task.containerInstanceArn ? { containerInstanceArn: task.containerInstanceArn } : {}),
    ...placementNeeds(task),
  };
}

/** ListTasks for one container instance and desired status, every page. */
export async function listTaskArns(
  ecs: ECSClient,
  cluster: string,
  containerInstance: string,
  desiredStatus: DesiredStatus,
): Promise<string[]> {
  const arns: string[] = [];
  for await (const page of paginateListTasks({ client: ecs }, { cluster, containerInstance, desiredStatus })) {
    arns.push(...(page.taskArns ?? []));
  }
  return arns;
}

/** DescribeTasks in batches of 100; tasks ECS no longer knows are left out. */
export async function describeTasks(ecs: ECSClient, cluster: string, taskArns: readonly string[]): Promise<TaskView[]> {
  const tasks: TaskView[] = [];
  for (const batch of chunk([...new Set(taskArns)], DESCRIBE_TASKS_BATCH)) {
    const response = await ecs.send(new DescribeTasksCommand({ cluster, tasks: batch }));
    for (const task of response.tasks ?? []) tasks.push(toTaskView(task));
  }
  return tasks;
}

/**
 * Every task on a container instance that has not yet reached STOPPED.
 *
 * ListTasks defaults to desiredStatus RUNNING, which hides tasks ECS has already told to stop but
 * whose containers are still shutting down (DEACTIVATING, STOPPING): counting only those is how
 * existing drainers terminate instances mid-shutdown (aws-behaviour.md §2). So both desired
 * statuses are listed and the tasks described; STOPPED ones are dropped.
 */
export async function listUnstoppedTasks(ecs: ECSClient, cluster: string, containerInstance: string): Promise<TaskView[]> {
  const running = await listTaskArns(ecs, cluster, containerInstance, 'RUNNING');
  const stopping = await listTaskArns(ecs, cluster, containerInstance, 'STOPPED');
  if (running.length + stopping.length === 0) return [];
  const tasks = await describeTasks(ecs, cluster, [...running, ...stopping]);
  return tasks.filter((task) => task.lastStatus !== 'STOPPED');
}

/** Pure: labels each task with its origin, given the set of DAEMON service names. */
export function classifyTasks(tasks: readonly TaskView[], daemonServices: ReadonlySet<string>): ClassifiedTask[] {
  return tasks.map((task) => ({
    ...task,
    origin: task.serviceName === undefined ? 'standalone' : daemonServices.has(task.serviceName) ? 'daemon' : 'service',
  }));
}

export async function stopTask(ecs: ECSClient, cluster: string, taskArn: string, reason: string): Promise<void> {
  await ecs.send(new StopTaskCommand({ cluster, task: taskArn, reason: reason.slice(0, 255) }));
}

/** The last segment of a service ARN (long `service/<cluster>/<name>` or short `service/<name>` format). */
export function serviceNameFromArn(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

/**
 * The one daemon lookup: names of every DAEMON service of a cluster, by ListServices filtered on
 * scheduling strategy, 100 per page, every page. Usually one call per cluster, however many tasks,
 * instances and services it has (DescribeServices would take one call per 10 services seen).
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListServices.html
 */
export async function listDaemonServiceNames(ecs: ECSClient, cluster: string): Promise<Set<string>> {
  const names = new Set<string>();
  const pages = paginateListServices({ client: ecs, pageSize: 100 }, { cluster, schedulingStrategy: 'DAEMON', maxResults: 100 });
  for await (const page of pages) for (const arn of page.serviceArns ?? []) names.add(serviceNameFromArn(arn));
  return names;
}

/** ListTasks for a whole cluster and one desired status, 100 per page, every page. */
export async function listClusterTaskArns(ecs: ECSClient, cluster: string, desiredStatus: DesiredStatus): Promise<string[]> {
  const arns: string[] = [];
  const pages = paginateListTasks({ client: ecs, pageSize: 100 }, { cluster, desiredStatus, maxResults: 100 });
  for await (const page of pages) arns.push(...(page.taskArns ?? []));
  return arns;
}
