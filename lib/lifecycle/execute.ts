import { completeLifecycleAction, describeGroups, recordLifecycleHeartbeat, type LifecycleActionRef } from '../aws/autoscaling';
import { clusterName, setDraining } from '../aws/ecs';
import { publish } from '../aws/sns';
import { notifyOpsSafely, type OpsEvent } from '../notify';
import { stopTask } from '../aws/tasks';
import { RetryableError, classifyAwsError, describeError } from '../errors';
import { isOverdue, stageOf, type LifecycleSnapshot, type LifecycleStep } from './decide';
import { writeLease } from './lease';
import { buildRequeueMessage, opsNotice, requeueSubject } from './messages';
import { retainedNotice, type RetainedHow } from './retained';
import { clusterDimension, fields, finish, type LifecycleRecordResult, type Round } from './round';
import { readGroup } from './snapshot';
import { readTasks } from './task-reads';

/** What comes after a step: the round's result, another step on the same snapshot, or a new poll. */
export type StepOutcome =
  | { kind: 'finished'; result: LifecycleRecordResult }
  | { kind: 'next-step'; snapshot: LifecycleSnapshot }
  /** Woken for a heartbeat only: decide again on the same snapshot, with no ECS read. */
  | { kind: 'same-poll'; snapshot: LifecycleSnapshot }
  | { kind: 'next-poll' };

const NEXT_POLL: StepOutcome = { kind: 'next-poll' };

/**
 * Carries out one decided step: the drainer's only AWS writes and sleeps. A step changes what the
 * round knows (chain, lease, the snapshot it acted on) and reports its result; it never chooses
 * what comes next. `now` is the time the step was decided at.
 */
export async function executeStep(round: Round, step: LifecycleStep, snapshot: LifecycleSnapshot, now: number): Promise<StepOutcome> {
  const { telemetry, clock } = round;
  switch (step.kind) {
    case 'complete':
      return { kind: 'finished', result: await complete(round, step, snapshot) };
    case 'drain': {
      const outcome = await setDraining(round.ecs, step.cluster, [step.containerInstanceArn]);
      if (outcome.failed.length > 0) {
        throw new RetryableError(`could not set DRAINING: ${outcome.failed.map((failure) => failure.reason).join(', ')}`);
      }
      round.drainRequests += 1;
      round.lastDrainAt = now;
      telemetry.count('InstanceDrained', { kind: 'lifecycle-hook', cluster: clusterDimension(round) });
      await tellOps(round, drainedEvent(round, step.cluster, step.containerInstanceArn));
      await pause(round, step.pauseAfterMs);
      return NEXT_POLL;
    }
    case 'stop-standalone': {
      for (const taskArn of step.taskArns) {
        await stopTask(round.ecs, step.cluster, taskArn, 'Auto Scaling is terminating the container instance');
      }
      telemetry.count('StandaloneTasksStopped', { cluster: clusterDimension(round) }, step.taskArns.length);
      const stopped = new Set(step.taskArns);
      const tasks = snapshot.tasks.map((task) => (stopped.has(task.taskArn) ? { ...task, desiredStatus: 'STOPPED' } : task));
      return { kind: 'next-step', snapshot: { ...snapshot, tasks } };
    }
    case 'heartbeat': {
      const answer = await recordLifecycleHeartbeat(round.autoScaling, step.action);
      if (answer === 'no-active-action') return { kind: 'next-step', snapshot: { ...snapshot, actionOver: true } };
      round.chain.lastHeartbeatAt = now;
      telemetry.count('HeartbeatRecorded', { cluster: clusterDimension(round) });
      // Accepted for this hook and token: this very action is still open.
      return { kind: 'next-step', snapshot: { ...snapshot, actionConfirmed: true } };
    }
    case 'claim-lease': {
      await claimLease(round, step);
      const current = round.lease.written ?? snapshot.lease.current;
      return { kind: 'next-step', snapshot: { ...snapshot, lease: { ...round.lease, ...(current !== undefined ? { current } : {}) } } };
    }
    case 'check-group': {
      const checked = { ...snapshot, ...(await readGroup(round)) };
      if (stageOf(checked, round.chain) === 'waiting') round.waitConfirmed = true;
      return { kind: 'next-step', snapshot: checked };
    }
    case 'requeue':
      return { kind: 'finished', result: await requeue(round, step.topicArn) };
    case 'wait':
      await clock.sleep(Math.max(0, step.until - now));
      // A heartbeat of long ago says nothing about the action now: the hop re-checks it.
      if (step.read === false) return { kind: 'same-poll', snapshot: { ...snapshot, actionConfirmed: false } };
      return NEXT_POLL;
    case 'retry':
      if (step.heartbeat) await bestEffortHeartbeat(round, step.heartbeat);
      await clock.sleep(step.pauseMs);
      return NEXT_POLL;
    case 'give-up':
      return giveUp(round, step);
    case 'end':
      if (step.reason === 'retained') await noteRetained(round, 'found');
      return {
        kind: 'finished',
        // A message for an instance not in the hook's transition is suspect (forged, replayed): louder.
        result: finish(round, step.reason === 'not-in-transition' || step.reason === 'retained' ? 'WARN' : 'INFO', { outcome: 'ended', reason: step.reason }, () =>
          telemetry.count('LifecycleEnded', { cluster: clusterDimension(round), reason: step.reason }),
        ),
      };
    case 'dry-run':
      return {
        kind: 'finished',
        result: finish(round, 'INFO', { outcome: 'dry-run', reason: step.reason, wouldDo: describeStep(step.wouldDo) }, () =>
          telemetry.count('LifecycleDryRun', { cluster: clusterDimension(round), step: step.wouldDo.kind }),
        ),
      };
  }
}

/** Sleeps as long as the decision asked; no sleep at all when it asked for none. */
async function pause(round: Round, ms: number): Promise<void> {
  if (ms > 0) await round.clock.sleep(ms);
}

async function claimLease(round: Round, step: Extract<LifecycleStep, { kind: 'claim-lease' }>): Promise<void> {
  try {
    await writeLease(round.ecs, step.cluster, step.containerInstanceArn, step.value);
    round.lease = { ...round.lease, claimed: true, written: step.value };
  } catch (error) {
    if (classifyAwsError(error) === 'retryable') throw error;
    // Without a lease duplicate chains still end when the action ends; the drain itself goes on.
    round.lease = { ...round.lease, unavailable: true };
    round.telemetry.log('WARN', 'lifecycle lease unavailable', { ...fields(round), ...describeError(error) });
    round.telemetry.count('LeaseUnavailable', { cluster: clusterDimension(round) });
  }
}

async function complete(
  round: Round,
  step: Extract<LifecycleStep, { kind: 'complete' }>,
  snapshot: LifecycleSnapshot,
): Promise<LifecycleRecordResult> {
  const { telemetry } = round;
  const { result, reason } = step;
  // Cut short while the task count alone said tasks remain: which ones is worth a read for the
  // operators, made before the completion (the instance's tasks die with it).
  const reported = isOverdue(reason) && snapshot.tasksRemain && round.config.opsTopicArn !== undefined ? await tasksForNotice(round, snapshot) : snapshot;
  const answer = await completeLifecycleAction(round.autoScaling, step.action, result);
  if (answer === 'no-active-action') {
    return finish(round, 'INFO', { outcome: 'ended', reason: 'action-over' }, () =>
      telemetry.count('LifecycleEnded', { cluster: clusterDimension(round), reason: 'action-over' }),
    );
  }
  const overdue = isOverdue(reason);
  const finished = finish(round, overdue ? 'WARN' : 'INFO', { outcome: 'completed', reason, result }, () => {
    telemetry.count('LifecycleCompleted', { cluster: clusterDimension(round), result, reason });
    if (overdue) telemetry.count('LifecycleDeadline', { cluster: clusterDimension(round), reason });
  });
  await tellOps(round, completedEvent(round, step, reported));
  // An abandoned instance is not terminated where the group retains it (aws-behaviour.md §3.4).
  if (result === 'ABANDON') {
    const retention = await retentionAfterAbandon(round);
    if (retention !== 'terminates') await noteRetained(round, retention === 'retains' ? 'abandoned' : 'possibly');
  }
  return finished;
}

/**
 * After the drainer's own ABANDON: whether the group retains the instance (aws-behaviour.md §3.4).
 * Its lifecycle state shows Terminating:Proceed for a while first (how long is not documented), so
 * the group's policy is read instead: from the round's own DescribeAutoScalingGroups when it made
 * one, else with one more; unknown when that fails.
 */
async function retentionAfterAbandon(round: Round): Promise<'retains' | 'terminates' | 'unknown'> {
  if (round.retainsAbandoned !== undefined) return round.retainsAbandoned ? 'retains' : 'terminates';
  const group = round.chain.notification.AutoScalingGroupName;
  try {
    return (await describeGroups(round.autoScaling, [group])).get(group)?.retainsAbandoned ? 'retains' : 'terminates';
  } catch (error) {
    round.telemetry.log('WARN', 'instance lifecycle policy not read', { ...fields(round), ...describeError(error) });
    return 'unknown';
  }
}

/** A retained instance needs an operator: logged, counted when certain, and the notice sent. */
async function noteRetained(round: Round, how: RetainedHow): Promise<void> {
  round.telemetry.log('WARN', how === 'possibly' ? 'instance may be retained' : 'instance retained', { ...fields(round), how });
  if (how !== 'possibly') round.telemetry.count('InstanceRetained', { cluster: clusterDimension(round) });
  const { EC2InstanceId, AutoScalingGroupName } = round.chain.notification;
  await tellOps(round, retainedNotice({ ec2InstanceId: EC2InstanceId, autoScalingGroupName: AutoScalingGroupName }, how, opsContext(round)));
}

/** The instance's tasks for the operators' notice; best effort, a failed read names none. */
async function tasksForNotice(round: Round, snapshot: LifecycleSnapshot): Promise<LifecycleSnapshot> {
  const { cluster, containerInstanceArn } = round.chain;
  if (cluster === undefined || containerInstanceArn === undefined) return snapshot;
  try {
    const context = { ecs: round.ecs, cluster, containerInstanceArn, memory: round.taskMemory, daemons: round.daemonLookup };
    const read = await readTasks(context, undefined, () => true);
    round.lastTasks = read.tasks;
    return { ...snapshot, tasks: read.tasks };
  } catch (error) {
    round.telemetry.log('WARN', 'tasks for the operators notice not read', { ...fields(round), ...describeError(error) });
    return snapshot;
  }
}

/** A notice for people (lib/notify.ts), best effort. */
function tellOps(round: Round, event: OpsEvent): Promise<void> {
  return notifyOpsSafely(round.sns, round.config, round.telemetry, event, { cluster: clusterDimension(round), fields: fields(round) });
}

async function requeue(round: Round, topicArn: string | undefined): Promise<LifecycleRecordResult> {
  if (!topicArn) throw new Error('no topic to requeue to: LIFECYCLE_TOPIC_ARN is unset and the record names no TopicArn');
  const message = buildRequeueMessage(round.chain, [...round.taskMemory.stopped]);
  await publish(round.sns, { topicArn, subject: requeueSubject(round.chain), message: JSON.stringify(message) });
  return finish(round, 'INFO', { outcome: 'requeued', reason: 'invocation-ending', nextAttempt: message.attempt }, () =>
    round.telemetry.count('LifecycleRequeued', { cluster: clusterDimension(round) }),
  );
}

/** Hands the round to Lambda's retry: the record's own error is what the invocation reports. */
async function giveUp(round: Round, step: Extract<LifecycleStep, { kind: 'give-up' }>): Promise<never> {
  const error = round.failure?.error;
  round.telemetry.log('ERROR', 'lifecycle round failed', { ...fields(round), reason: step.reason, errorClass: step.errorClass, ...describeError(error) });
  round.telemetry.count('LifecycleFailed', { cluster: clusterDimension(round), errorClass: step.errorClass });
  if (step.heartbeat) await bestEffortHeartbeat(round, step.heartbeat);
  if (error instanceof RetryableError) throw error;
  throw new RetryableError(`lifecycle drain of ${round.chain.notification.EC2InstanceId} failed: ${describeError(error).errorName}`, {
    cause: error,
  });
}

/** Best effort: a failure here changes nothing about the fault being handled. */
async function bestEffortHeartbeat(round: Round, action: LifecycleActionRef): Promise<void> {
  try {
    if ((await recordLifecycleHeartbeat(round.autoScaling, action)) === 'recorded') {
      round.chain.lastHeartbeatAt = round.clock.now();
      round.telemetry.count('HeartbeatRecorded', { cluster: clusterDimension(round) });
    }
  } catch (heartbeatError) {
    round.telemetry.log('WARN', 'lifecycle heartbeat after a failed poll failed', { ...fields(round), ...describeError(heartbeatError) });
  }
}

function describeStep(step: LifecycleStep): string {
  switch (step.kind) {
    case 'complete':
      return `complete ${step.result} (${step.reason})`;
    case 'stop-standalone':
      return `stop ${step.taskArns.length} standalone task(s)`;
    default:
      return step.kind;
  }
}

function opsContext(round: Round): Pick<OpsEvent, 'function' | 'resources' | 'context' | 'threadId'> {
  const { chain } = round;
  const { EC2InstanceId, AutoScalingGroupName, LifecycleHookName } = chain.notification;
  return {
    function: 'lifecycleHook',
    resources: [EC2InstanceId, ...(chain.containerInstanceArn ? [chain.containerInstanceArn] : [])],
    context: {
      ec2InstanceId: EC2InstanceId,
      autoScalingGroupName: AutoScalingGroupName,
      lifecycleHookName: LifecycleHookName,
      cluster: clusterDimension(round),
      chainId: chain.chainId,
    },
    threadId: `drain-${EC2InstanceId}`,
  };
}

function drainedEvent(round: Round, cluster: string, containerInstanceArn: string): OpsEvent {
  const id = round.chain.notification.EC2InstanceId;
  const base = opsContext(round);
  return {
    ...base,
    type: 'drained',
    title: `ECS drain of ${id} started (Auto Scaling is terminating it)`,
    description: [`Container instance \`${containerInstanceArn}\` in cluster \`${clusterName(cluster)}\` is DRAINING.`],
    resources: [id, containerInstanceArn],
  };
}

function completedEvent(round: Round, step: Extract<LifecycleStep, { kind: 'complete' }>, snapshot: LifecycleSnapshot): OpsEvent {
  const { result, reason } = step;
  if (isOverdue(reason)) {
    const notice = opsNotice({ chain: round.chain, result, reason, now: round.clock.now(), tasks: snapshot.tasks, config: round.config });
    return { ...opsContext(round), type: 'deadline', title: notice.subject, description: notice.message.split('\n') };
  }
  const id = round.chain.notification.EC2InstanceId;
  const base = opsContext(round);
  return {
    ...base,
    type: 'completed',
    title: `ECS drain of ${id} done (${reason}), completed with ${result}`,
    description: [
      reason === 'managed-draining'
        ? `ECS's managed instance draining drains it; its own lifecycle hook holds the termination until the tasks are gone. Completed with ${result}, without a write of the drainer's.`
        : `The lifecycle action was completed with ${result}; Auto Scaling goes on with the termination.`,
    ],
    context: { ...base.context, result, reason },
  };
}
