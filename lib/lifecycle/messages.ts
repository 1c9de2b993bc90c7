import type { ClassifiedTask } from '../aws/tasks';
import { REQUEUE_KIND, REQUEUE_VERSION, type LifecycleSignal, type RequeueMessage } from '../events/lifecycle';
import type { LifecycleResult } from './config';
import type { ChainState, CompleteReason } from './decide';
import { MAX_REMEMBERED_STOPPED } from './task-reads';

/** SNS rejects messages over 256 KB (aws-behaviour.md §4); requeue messages stay far below. */
export const SNS_MAX_MESSAGE_BYTES = 262_144;

/** The chain a signal continues (a requeue message) or starts (Auto Scaling's notification). */
export function chainFromSignal(signal: LifecycleSignal, now: number, newId: () => string): ChainState {
  if (signal.kind === 'requeue') {
    const message = signal.message;
    return {
      chainId: message.chainId,
      attempt: message.attempt,
      firstSeenAt: Date.parse(message.firstSeenAt),
      lastHeartbeatAt: Date.parse(message.lastHeartbeatAt),
      heartbeatTimeoutSeconds: message.heartbeatTimeoutSeconds,
      globalTimeoutSeconds: message.globalTimeoutSeconds,
      cluster: message.cluster,
      containerInstanceArn: message.containerInstanceArn,
      ...(message.countedGoneAt !== undefined ? { countedGoneAt: Date.parse(message.countedGoneAt) } : {}),
      notification: message.notification,
    };
  }
  const start = actionStartedAt(signal.notification.Time, now);
  return { chainId: newId(), attempt: 0, firstSeenAt: start, lastHeartbeatAt: start, notification: signal.notification };
}

/**
 * When a lifecycle action (and its heartbeat window) started: when Auto Scaling sent the
 * notification, not when it reached us; a timestamp in the future (clock skew) is not trusted.
 */
export function actionStartedAt(notificationTime: string | undefined, now: number): number {
  const sent = notificationTime === undefined ? Number.NaN : Date.parse(notificationTime);
  return Number.isNaN(sent) ? now : Math.min(sent, now);
}

/** The message that carries a chain to its next invocation. */
export function buildRequeueMessage(chain: ChainState, stoppedTaskArns: readonly string[] = []): RequeueMessage {
  const { cluster, containerInstanceArn, heartbeatTimeoutSeconds, globalTimeoutSeconds } = chain;
  if (cluster === undefined || containerInstanceArn === undefined || heartbeatTimeoutSeconds === undefined || globalTimeoutSeconds === undefined) {
    // The decision only requeues after the instance and the hook were read.
    throw new Error('a chain is requeued only once its container instance and hook are known');
  }
  return {
    kind: REQUEUE_KIND,
    version: REQUEUE_VERSION,
    chainId: chain.chainId,
    attempt: chain.attempt + 1,
    firstSeenAt: new Date(chain.firstSeenAt).toISOString(),
    lastHeartbeatAt: new Date(chain.lastHeartbeatAt).toISOString(),
    heartbeatTimeoutSeconds,
    globalTimeoutSeconds,
    cluster,
    containerInstanceArn,
    ...(chain.countedGoneAt !== undefined ? { countedGoneAt: new Date(chain.countedGoneAt).toISOString() } : {}),
    notification: chain.notification,
    ...(stoppedTaskArns.length > 0 ? { stoppedTaskArns: stoppedTaskArns.slice(-MAX_REMEMBERED_STOPPED) } : {}),
  };
}

/** SNS subjects must be under 100 characters, without line breaks. */
export function requeueSubject(chain: ChainState): string {
  return `ECS drain of ${chain.notification.EC2InstanceId} continues (hop ${chain.attempt + 1})`.slice(0, 99);
}

const MAX_TASKS_LISTED = 20;

/** A notice for operators when a drain is cut short by the deadline or the hop cap. */
export function opsNotice(input: {
  chain: ChainState;
  result: LifecycleResult;
  reason: CompleteReason;
  now: number;
  tasks: readonly ClassifiedTask[];
  config: { drainTimeoutSeconds: number; maxHops: number; standaloneTasks: string };
}): { subject: string; message: string } {
  const { chain, result, reason, now, tasks, config } = input;
  const instanceId = chain.notification.EC2InstanceId;
  const minutes = Math.round((now - chain.firstSeenAt) / 60_000);
  const why =
    reason === 'hop-cap'
      ? `the drain used all ${config.maxHops} requeue hops (MAX_HOPS)`
      : `the drain did not finish within ${config.drainTimeoutSeconds} seconds (DRAIN_TIMEOUT_SECONDS)`;
  const waiting = tasks.filter((task) => task.lastStatus !== 'STOPPED' && task.origin !== 'daemon');
  const lines = [
    `The ECS drain of EC2 instance ${instanceId} was cut short: ${why}.`,
    `The lifecycle action was completed with ${result}, so Auto Scaling terminates the instance now.`,
    '',
    `Auto Scaling group: ${chain.notification.AutoScalingGroupName}`,
    `Lifecycle hook:     ${chain.notification.LifecycleHookName}`,
    `Cluster:            ${chain.cluster ?? '(unknown)'}`,
    `Container instance: ${chain.containerInstanceArn ?? '(unknown)'}`,
    `Drain started:      ${new Date(chain.firstSeenAt).toISOString()} (${minutes} min ago, ${chain.attempt} requeue hops)`,
    '',
    waiting.length === 0
      ? 'Tasks still running at the last successful read: none known.'
      : `Tasks still running at the last successful read (${waiting.length}):`,
    ...waiting.slice(0, MAX_TASKS_LISTED).map((task) => `  ${task.taskArn}  ${task.group || task.origin}  ${task.lastStatus} (desired ${task.desiredStatus})`),
    ...(waiting.length > MAX_TASKS_LISTED ? [`  … and ${waiting.length - MAX_TASKS_LISTED} more`] : []),
    '',
    'Usual causes: a service whose minimumHealthyPercent and maximumPercent are both 100, replacement',
    'tasks that cannot be placed (no free capacity), or standalone tasks while STANDALONE_TASKS=wait' +
      (config.standaloneTasks === 'wait' ? ' (the current setting).' : '.'),
  ];
  const subject = `ECS drain of ${instanceId} cut short (${reason}), completed with ${result}`.slice(0, 99);
  return { subject, message: lines.join('\n') };
}
