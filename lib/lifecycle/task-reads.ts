import type { ECSClient } from '@aws-sdk/client-ecs';
import { classifyTasks, describeTasks, listDaemonServiceNames, listTaskArns, type ClassifiedTask } from '../aws/tasks';

/**
 * What a drain remembers about the tasks of its container instance, so that a poll costs a bounded
 * number of ECS reads however long the host has run and however long the drain takes:
 *
 * - STOPPED is a task's last state (docs/aws-behaviour.md §1.10): a task seen STOPPED is never
 *   described again, although ListTasks keeps listing it for a while.
 * - A task's origin (service, daemon, standalone) never changes: a task listed again under desired
 *   status RUNNING is not described again.
 * - The last full read and the instance's runningTasksCount at that time: while the count is
 *   unchanged no task can have left desired status RUNNING unnoticed (a DRAINING instance gets no
 *   new tasks, §2), so the poll describes only the tasks already told to stop and skips both
 *   listings. That shortcut can only ever lead to waiting: a drain is found finished only by a full
 *   read (both listings), never by the shortcut.
 */
export interface TaskMemory {
  stopped: Set<string>;
  known: Map<string, ClassifiedTask>;
  last?: { runningTasksCount: number; tasks: readonly ClassifiedTask[] };
}

/** Most STOPPED task ARNs kept per instance (and carried in a requeue message). */
export const MAX_REMEMBERED_STOPPED = 200;

export function newTaskMemory(stopped: readonly string[] = []): TaskMemory {
  return { stopped: new Set(stopped.slice(-MAX_REMEMBERED_STOPPED)), known: new Map() };
}

export function rememberStopped(memory: TaskMemory, taskArn: string): void {
  memory.stopped.delete(taskArn);
  memory.stopped.add(taskArn);
  memory.known.delete(taskArn);
  while (memory.stopped.size > MAX_REMEMBERED_STOPPED) memory.stopped.delete(memory.stopped.values().next().value as string);
}

export interface TaskReadContext {
  ecs: ECSClient;
  cluster: string;
  containerInstanceArn: string;
  memory: TaskMemory;
  /** The cluster's DAEMON service names, read once (ListServices) when the first service task is seen. */
  daemons: { names?: ReadonlySet<string> };
}

export interface TaskRead {
  tasks: ClassifiedTask[];
  /** True when both listings were read (the only read a drain may be found finished on). */
  full: boolean;
}

/**
 * The instance's unstopped tasks. `runningTasksCount` is what DescribeContainerInstances reported
 * in the same poll (runningTasksCount + pendingTasksCount; undefined: unknown, read everything). A
 * shortcut read that finds nothing counted left is followed at once by a full read.
 */
export async function readTasks(
  context: TaskReadContext,
  runningTasksCount: number | undefined,
  isCounted: (tasks: readonly ClassifiedTask[]) => boolean,
): Promise<TaskRead> {
  const { memory } = context;
  const last = memory.last;
  if (last !== undefined && runningTasksCount !== undefined && runningTasksCount === last.runningTasksCount) {
    const stopping = last.tasks.filter((task) => task.desiredStatus === 'STOPPED' && !memory.stopped.has(task.taskArn));
    const stillRunning = last.tasks.filter((task) => task.desiredStatus !== 'STOPPED');
    const described = await describeAndRemember(context, stopping.map((task) => task.taskArn));
    const tasks = [...stillRunning, ...described];
    if (isCounted(tasks)) {
      memory.last = { runningTasksCount, tasks };
      return { tasks, full: false };
    }
  }
  return fullRead(context, runningTasksCount);
}

async function fullRead(context: TaskReadContext, runningTasksCount: number | undefined): Promise<TaskRead> {
  const { ecs, cluster, containerInstanceArn, memory } = context;
  // ListTasks defaults to desired status RUNNING, which hides tasks told to stop but still shutting
  // down: both desired statuses are listed (docs/aws-behaviour.md §2).
  const running = await listTaskArns(ecs, cluster, containerInstanceArn, 'RUNNING');
  const stopping = await listTaskArns(ecs, cluster, containerInstanceArn, 'STOPPED');
  const tasks: ClassifiedTask[] = [];
  const toDescribe: string[] = [];
  for (const arn of running) {
    const known = memory.known.get(arn);
    if (known && !memory.stopped.has(arn)) tasks.push({ ...known, desiredStatus: 'RUNNING' });
    else if (!memory.stopped.has(arn)) toDescribe.push(arn);
  }
  for (const arn of stopping) if (!memory.stopped.has(arn)) toDescribe.push(arn);
  tasks.push(...(await describeAndRemember(context, toDescribe)));
  if (runningTasksCount !== undefined) memory.last = { runningTasksCount, tasks };
  else delete memory.last;
  return { tasks, full: true };
}

/** DescribeTasks (100 per call) of the given ARNs: STOPPED ones are remembered and left out. */
async function describeAndRemember(context: TaskReadContext, taskArns: readonly string[]): Promise<ClassifiedTask[]> {
  if (taskArns.length === 0) return [];
  const { ecs, cluster, memory, daemons } = context;
  const views = await describeTasks(ecs, cluster, taskArns);
  const unstopped = [];
  for (const view of views) {
    if (view.lastStatus === 'STOPPED') rememberStopped(memory, view.taskArn);
    else unstopped.push(view);
  }
  // Only service tasks can be daemons: a scheduling strategy never changes, so one read serves the chain.
  if (daemons.names === undefined && unstopped.some((task) => task.serviceName !== undefined)) {
    daemons.names = await listDaemonServiceNames(ecs, cluster);
  }
  const classified = classifyTasks(unstopped, daemons.names ?? new Set());
  for (const task of classified) memory.known.set(task.taskArn, task);
  return classified;
}
