import { RetryableError } from '../../../lib/errors';
import { REQUEUE_KIND } from '../../../lib/events/lifecycle';
import { INVOCATION_SAFETY_MARGIN_MS, MAX_CONSECUTIVE_POLL_FAILURES } from '../../../lib/lifecycle/handler';
import { LEASE_ATTRIBUTE, leaseValue } from '../../../lib/lifecycle/lease';
import { jitterOf } from '../../../lib/lifecycle/round';
import { CLUSTER, GROUP, HOOK, INSTANCE_ID, LifecycleWorld, OPS_TOPIC, S, T0, TOPIC, fixture, snsEvent } from './world';

/**
 * The lifecycle drainer's handler against the simulator's world (test/handlers/lifecycle/world.ts):
 * the fixtures' group, hook and instance, a lifecycle action the world started at T0, and task stop
 * times that follow from the world's rules. Every call, its input and its answer is the world's.
 */
const decisionLines = (telemetry: { logs: { message: string; level: string; fields: Record<string, unknown> }[] }) =>
  telemetry.logs.filter((entry) => entry.message === 'lifecycle decision');

const actionOf = (h: LifecycleWorld) => ({ AutoScalingGroupName: GROUP, LifecycleHookName: HOOK, LifecycleActionToken: h.token });

describe('lifecycle hook handler: messages that need no AWS call', () => {
  it.each([
    ['lifecycle-test-notification.json', 'ignored', 'test-notification'],
    ['lifecycle-malformed.json', 'invalid', 'malformed-notification'],
  ])('%s: %s (%s), no call to any service', async (file, outcome, reason) => {
    const h = new LifecycleWorld();
    const { result, telemetry } = await h.invoke(fixture(file));
    expect(result.records).toEqual([expect.objectContaining({ outcome, reason })]);
    expect(h.aws.calls()).toHaveLength(0);
    if (outcome === 'invalid') {
      expect(telemetry.metricTotal('InvalidEvent', { function: 'lifecycleHook', reason })).toBe(1);
      expect(telemetry.messages('ERROR')).toEqual(['invalid event']);
    } else {
      expect(telemetry.metricTotal('EventIgnored', { reason })).toBe(1);
    }
  });

  it.each([[null], [{}], [{ Records: [] }], ['{"Records":[]}']])('rejects the non-SNS event %j', async (event) => {
    const h = new LifecycleWorld();
    const { result, telemetry } = await h.invoke(event);
    expect(result.records[0]?.outcome).toBe('invalid');
    expect(telemetry.metricTotal('InvalidEvent')).toBe(1);
    expect(h.aws.calls()).toHaveLength(0);
  });

  it('rejects a requeue message of an unknown version', async () => {
    const h = new LifecycleWorld();
    const { result, telemetry } = await h.invoke(snsEvent(h.requeued({ version: 3 })));
    expect(result.records).toEqual([{ outcome: 'invalid', reason: 'unsupported-version' }]);
    expect(telemetry.metricTotal('InvalidEvent', { reason: 'unsupported-version' })).toBe(1);
    expect(h.aws.calls()).toHaveLength(0);
  });

  it('ignores groups outside AUTO_SCALING_GROUPS', async () => {
    const h = new LifecycleWorld();
    const { result } = await h.invoke(h.terminating(), { AUTO_SCALING_GROUPS: 'another-asg' });
    expect(result.records).toEqual([{ outcome: 'ignored', kind: 'notification', reason: 'unmanaged-group' }]);
    expect(h.aws.calls()).toHaveLength(0);
    expect(h.action).toMatchObject({ state: 'active' });
  });
});

describe('lifecycle hook handler: draining', () => {
  it('completes with CONTINUE at once when the instance is no container instance (3 calls)', async () => {
    const h = new LifecycleWorld({ unregistered: true });
    const { result, telemetry } = await h.invoke(h.terminating());

    expect(result.records).toEqual([
      expect.objectContaining({ outcome: 'completed', reason: 'not-a-container-instance', result: 'CONTINUE', ec2InstanceId: INSTANCE_ID }),
    ]);
    // The group first: the instance's lifecycle state (Terminating:Wait) and the drains it paces with
    // (itself alone, so no wait); then the lookup, which finds no container instance.
    expect(h.aws.operations()).toEqual(['DescribeAutoScalingGroups', 'ListContainerInstances', 'CompleteLifecycleAction']);
    expect(h.aws.inputs('ecs:ListContainerInstances')).toEqual([{ cluster: CLUSTER, filter: `ec2InstanceId == ${INSTANCE_ID}` }]);
    expect(h.aws.inputs('autoscaling:CompleteLifecycleAction')).toEqual([{ ...actionOf(h), LifecycleActionResult: 'CONTINUE' }]);
    expect(h.action).toMatchObject({ state: 'completed', result: 'CONTINUE' });
    expect(telemetry.metricTotal('LifecycleCompleted', { cluster: 'none', result: 'CONTINUE', reason: 'not-a-container-instance' })).toBe(1);
  });

  it('drains an instance with only daemon tasks and completes once the daemon task has STOPPED, with the exact calls', async () => {
    const h = new LifecycleWorld({ daemons: ['agent'] });
    const [daemon] = h.tasksOnVictim();
    expect(daemon!.group).toBe('service:agent');
    expect(h.tasksOnVictim()).toHaveLength(1);
    let daemonAtCompletion: string | undefined;
    let instanceAtCompletion: string | undefined;
    let completedAt: number | undefined;
    h.aws.before('autoscaling:CompleteLifecycleAction', () => {
      completedAt = h.clock.now();
      daemonAtCompletion = daemon!.lastStatus;
      instanceAtCompletion = h.victim!.status;
    });
    const { result, telemetry } = await h.invoke(h.terminating());

    // The world stops a daemon task last: its scheduler pass 1 s after DRAINING (at T0) finds only
    // daemon tasks left, stops them 5 s later (T0 + 6 s), and the task takes its 30 s stop time.
    expect(daemon).toMatchObject({ stoppingAt: T0 + 6 * S, stoppedAt: T0 + 36 * S, lastStatus: 'STOPPED' });
    // The drain waits for it (daemon grace, 120 s by default) and completes at the first poll after
    // it stopped: polls every 10 s, so at T0 + 40 s.
    expect(daemonAtCompletion).toBe('STOPPED');
    expect(completedAt).toBe(T0 + 40 * S);
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained', result: 'CONTINUE', cluster: CLUSTER, containerInstanceArn: h.ciArn, polls: 6 });
    // runningTasksCount counts tasks whose desired status is RUNNING (aws-behaviour.md §1.6, §2):
    // 1 while the daemon task runs, 0 once it is told to stop (T0 + 6 s). A poll whose count is
    // unchanged describes only the tasks being stopped; a drain is found finished only on a full
    // read (both ListTasks), so with no counted task that shortcut always falls through to one.
    // Before the first ECS read: the group (lifecycle state Terminating:Wait; the only drain, so no wait).
    // Poll 1 (T0): lookup (2 ECS reads), hook read, DRAINING, read again at once.
    // Poll 2 (T0): the one ListServices (a DAEMON service: a count of 1 proves nothing), then the
    // first task read, full (4 reads): no counted task, one daemon; an empty answer right after this
    // round's DRAINING request is believed only a poll later (settling, 10 s).
    // Poll 3 (T0 + 10 s): the count went 1 → 0: full read (4); the daemon task stopping: lease written, wait.
    // Polls 4, 5 (T0 + 20 s, 30 s): count unchanged: DescribeTasks of the stopping daemon task, no
    // counted task, so a full read follows (5 reads each).
    // Poll 6 (T0 + 40 s): its DescribeTasks finds it STOPPED (remembered), the full read lists it
    // but describes nothing: 4 reads.
    // ECS: 2 + 1 (DRAINING) + 4 + 1 ListServices + 4 + 1 lease write + 5 + 5 + 4 = 27.
    expect(result.records[0]?.awsCalls).toEqual({ ecs: 27, autoScaling: 3 });
    const full = ['DescribeContainerInstances', 'ListTasks', 'ListTasks', 'DescribeTasks'];
    const shortcutThenFull = ['DescribeContainerInstances', 'DescribeTasks', 'ListTasks', 'ListTasks', 'DescribeTasks'];
    expect(h.aws.operations()).toEqual([
      // The lifecycle state is read before the first ECS read: Terminating:Wait for this hook.
      'DescribeAutoScalingGroups',
      'ListContainerInstances',
      'DescribeContainerInstances',
      'DescribeLifecycleHooks',
      'UpdateContainerInstancesState',
      'DescribeContainerInstances',
      'ListServices',
      'ListTasks',
      'ListTasks',
      'DescribeTasks',
      ...full,
      'PutAttributes',
      ...shortcutThenFull,
      ...shortcutThenFull,
      'DescribeContainerInstances',
      'DescribeTasks',
      'ListTasks',
      'ListTasks',
      'CompleteLifecycleAction',
    ]);
    // The STOPPED daemon task, listed by the last poll's ListTasks, was described once, not again.
    expect(h.aws.inputs('ecs:DescribeTasks').at(-1)).toEqual(expect.objectContaining({ tasks: [daemon!.arn] }));
    expect(h.aws.inputs('ecs:UpdateContainerInstancesState')).toEqual([{ cluster: CLUSTER, containerInstances: [h.ciArn], status: 'DRAINING' }]);
    expect(h.aws.inputs('ecs:ListTasks').slice(0, 2)).toEqual([
      expect.objectContaining({ cluster: CLUSTER, containerInstance: h.ciArn, desiredStatus: 'RUNNING' }),
      expect.objectContaining({ cluster: CLUSTER, containerInstance: h.ciArn, desiredStatus: 'STOPPED' }),
    ]);
    // The one daemon lookup: the cluster's DAEMON services (lib/aws/tasks.ts), once per round.
    expect(h.aws.inputs('ecs:ListServices')).toEqual([expect.objectContaining({ cluster: CLUSTER, schedulingStrategy: 'DAEMON' })]);
    expect(h.aws.inputs('autoscaling:DescribeLifecycleHooks')).toEqual([{ AutoScalingGroupName: GROUP }]);
    expect(h.aws.inputs('autoscaling:CompleteLifecycleAction')).toEqual([{ ...actionOf(h), LifecycleActionResult: 'CONTINUE' }]);
    expect(h.sleeps).toEqual([10 * S, 10 * S, 10 * S, 10 * S]);
    expect(h.action).toMatchObject({ state: 'completed', result: 'CONTINUE', unstoppedTasksAtEnd: 0, unstoppedDaemonTasksAtEnd: 0, heartbeats: 0 });
    expect(instanceAtCompletion).toBe('DRAINING');
    // No heartbeat (not due within 40 s of a 600 s timeout), no publish.
    expect(h.aws.calls('sns')).toHaveLength(0);
    expect(decisionLines(telemetry)).toHaveLength(1);
    expect(decisionLines(telemetry)[0]?.fields).toMatchObject({ outcome: 'completed', reason: 'drained', elapsedSeconds: 40, tasks: { counted: 0, daemon: 0 } });
  });

  it('never completes while a task is still stopping; completes within one poll of it stopping', async () => {
    const h = new LifecycleWorld({ draining: true, service: { count: 2, stopSeconds: 37 } });
    const web = h.webTasks();
    // Both service tasks are told to stop at T0 (say, by a deployment): STOPPED at T0 + 37 s.
    for (const task of web) h.world.stopTask(task, 'Scaling activity initiated by deployment');
    expect(web.map((task) => task.lastStatus)).toEqual(['DEACTIVATING', 'DEACTIVATING']);
    let completedAt: number | undefined;
    h.aws.before('autoscaling:CompleteLifecycleAction', () => (completedAt = h.clock.now()));
    const { result } = await h.invoke(h.terminating());

    const stopsAt = T0 + 37 * S;
    expect(web.map((task) => task.stoppedAt)).toEqual([stopsAt, stopsAt]);
    // Polls at 0, 10, 20, 30 s see the tasks stopping; the poll at 40 s sees them STOPPED. This
    // round made no DRAINING request (the instance already was), so the empty answer is not held
    // back a poll (no settling): it completes at that very poll.
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained', polls: 5 });
    expect(completedAt).toBe(T0 + 40 * S);
    expect(completedAt! - stopsAt).toBeLessThanOrEqual(10 * S);
    expect(h.sleeps).toEqual([10 * S, 10 * S, 10 * S, 10 * S]);
    // Already DRAINING: no update. Waiting: one lease write, after the lifecycle state was read (first of all).
    // Both tasks were told to stop before the first poll, so runningTasksCount (desired RUNNING) is 0
    // at every poll: after the first full read, each poll is 1 DescribeContainerInstances and 1
    // DescribeTasks of the 2 stopping tasks, never a ListTasks, until the poll at 40 s finds them
    // STOPPED and confirms it with a full read (both ListTasks; the STOPPED tasks are not described again).
    const shortcut = ['DescribeContainerInstances', 'DescribeTasks'];
    expect(h.aws.operations()).toEqual([
      'DescribeAutoScalingGroups',
      'ListContainerInstances',
      'DescribeContainerInstances',
      'DescribeLifecycleHooks',
      'ListTasks',
      'ListTasks',
      'DescribeTasks',
      'ListServices',
      'PutAttributes',
      ...shortcut,
      ...shortcut,
      ...shortcut,
      ...shortcut,
      'ListTasks',
      'ListTasks',
      'CompleteLifecycleAction',
    ]);
    const webArns = web.map((task) => task.arn).sort();
    for (const input of h.aws.inputs('ecs:DescribeTasks').slice(1)) expect([...(input as { tasks: string[] }).tasks].sort()).toEqual(webArns);
    expect(h.aws.calls('ecs:UpdateContainerInstancesState')).toHaveLength(0);
    expect(h.aws.operations('autoscaling')).toEqual(['DescribeAutoScalingGroups', 'DescribeLifecycleHooks', 'CompleteLifecycleAction']);
    expect(h.aws.operations().indexOf('DescribeAutoScalingGroups')).toBeLessThan(h.aws.operations().indexOf('PutAttributes'));
    // The lease value: write time (13 digits of ms), chain id (newId #1), round id (newId #2).
    const lease = `${T0}.00000000-0000-4000-8000-000000000001.00000000-0000-4000-8000-000000000002`;
    expect(lease).toBe(leaseValue(T0, '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002'));
    expect(h.aws.inputs('ecs:PutAttributes')).toEqual([
      { cluster: CLUSTER, attributes: [{ name: LEASE_ATTRIBUTE, value: lease, targetType: 'container-instance', targetId: h.ciArn }] },
    ]);
    expect(h.victim!.attributes.get(LEASE_ATTRIBUTE)).toBe(lease);
    // ECS: 2 (lookup) + 3 (tasks) + 1 ListServices + 1 lease + 4 polls × 2 + 2 ListTasks = 17.
    expect(result.records[0]?.awsCalls).toEqual({ ecs: 17, autoScaling: 3 });
    expect(h.aws.calls('ecs:ListServices')).toHaveLength(1);
    expect(h.aws.calls('ecs:DescribeContainerInstances')).toHaveLength(5);
    expect(h.aws.calls('ecs:DescribeTasks')).toHaveLength(5);
    expect(h.aws.calls('ecs:ListTasks')).toHaveLength(4);
    expect(h.action).toMatchObject({ state: 'completed', result: 'CONTINUE', unstoppedTasksAtEnd: 0 });
  });

  it('a drain that outlasts the invocation heartbeats, requeues once, and the next invocation completes it', async () => {
    // One service task; drained at T0, it is stopped at T0 + 7 s and STOPPED at T0 + 75 s.
    const h = new LifecycleWorld({ service: { count: 1, stopSeconds: 68 } });
    const [web] = h.webTasks();
    const { handler, telemetry } = h.handler();
    // The invocation may start no poll after T0 + 30 s. Polls: T0 (lookup, DRAINING), T0 again
    // (tasks read after DRAINING, the task still counted: no settling), 10 s, 20 s, 30 s; at 30 s
    // a poll 10 s later would pass the end, so the round hops.
    const [first] = await h.run(() => handler(h.terminating(), h.context(30 * S + INVOCATION_SAFETY_MARGIN_MS)));

    expect(first!.records[0]).toMatchObject({ outcome: 'requeued', reason: 'invocation-ending', attempt: 0, polls: 5 });
    expect(h.clock.now()).toBe(T0 + 30 * S);
    expect(h.sleeps).toEqual([10 * S, 10 * S, 10 * S]);
    // runningTasksCount (desired RUNNING) is 1 at T0 and 0 from T0 + 7 s, when the task is told to
    // stop. Poll 2 (T0): 1 task and no DAEMON service (ListServices) prove a counted task remains, so
    // that poll is 1 DescribeContainerInstances and no task read. Poll 3 (10 s): the count is 0 and
    // proves nothing: a full read (3 + 1). Polls 4 and 5 (20 s, 30 s) see it unchanged:
    // 1 DescribeContainerInstances + 1 DescribeTasks of the stopping task each.
    // ECS: 2 (lookup) + 1 DRAINING + 1 + 1 ListServices + 1 lease write + 4 + 2 + 2 = 14;
    // Auto Scaling: the group (before the first read), the hook, the pre-hop heartbeat.
    expect(first!.records[0]?.awsCalls).toEqual({ ecs: 14, autoScaling: 3, sns: 1 });
    expect(h.aws.operations().slice(-6, -2)).toEqual(['DescribeContainerInstances', 'DescribeTasks', 'DescribeContainerInstances', 'DescribeTasks']);
    expect(h.aws.calls('ecs:ListTasks')).toHaveLength(2);
    expect(h.aws.inputs('autoscaling:DescribeAutoScalingGroups')).toEqual([expect.objectContaining({ AutoScalingGroupNames: [GROUP], IncludeInstances: true })]);
    expect(h.aws.operations().indexOf('DescribeAutoScalingGroups')).toBeLessThan(h.aws.operations().indexOf('UpdateContainerInstancesState'));
    // Before the hop, a heartbeat for this hook and token: it confirms this very action is still
    // open (and restarts its heartbeat window); then the publish, the last call of the round.
    expect(h.aws.operations().slice(-2)).toEqual(['RecordLifecycleActionHeartbeat', 'Publish']);
    expect(h.aws.inputs('autoscaling:RecordLifecycleActionHeartbeat')).toEqual([actionOf(h)]);
    expect(h.heartbeats).toEqual([T0 + 30 * S]);
    expect(h.action).toMatchObject({ state: 'active', heartbeats: 1, heartbeatDeadline: T0 + 630 * S });
    expect(web).toMatchObject({ lastStatus: 'STOPPING' });
    expect(h.published()).toHaveLength(1);
    const published = h.published()[0]!;
    expect(published.TopicArn).toBe(TOPIC);
    expect(published.Subject!.length).toBeLessThan(100);
    const message = JSON.parse(published.Message!);
    expect(message).toEqual({
      kind: REQUEUE_KIND,
      version: 2,
      chainId: '00000000-0000-4000-8000-000000000001',
      attempt: 1,
      firstSeenAt: new Date(T0).toISOString(),
      // The pre-hop heartbeat's time: the next round counts the heartbeat window from it.
      lastHeartbeatAt: new Date(T0 + 30 * S).toISOString(),
      heartbeatTimeoutSeconds: 600,
      globalTimeoutSeconds: 60_000,
      cluster: CLUSTER,
      containerInstanceArn: h.ciArn,
      notification: h.notification(),
    });
    // No task was seen STOPPED yet: the message carries no stoppedTaskArns (toEqual above).
    expect(telemetry.metricTotal('LifecycleRequeued', { cluster: CLUSTER })).toBe(1);
    expect(telemetry.metricTotal('HeartbeatRecorded', { cluster: CLUSTER })).toBe(1);

    // The requeued message arrives: no lookup, no hook read; the lifecycle state is read again
    // before this round's lease write; completes once the task stops.
    h.aws.reset();
    const [second] = await h.run(() => handler(snsEvent(message), h.context()));
    // Polls at 30, 40, 50, 60, 70 s see the task stopping; at 80 s it is STOPPED (since 75 s). This
    // round made no DRAINING request, so the empty answer is believed at once.
    expect(second!.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained', kind: 'requeue', attempt: 1, polls: 6 });
    expect(h.clock.now()).toBe(T0 + 80 * S);
    // A new round remembers only the STOPPED tasks the message carries (none): its first poll reads
    // in full (4 reads + its own ListServices), then the lease. The count stays 0, so the polls at
    // 40 to 70 s are 1 DescribeContainerInstances + 1 DescribeTasks each; at 80 s the DescribeTasks
    // finds the task STOPPED and the full read that confirms it (2 ListTasks) describes nothing.
    // ECS: 4 + 1 + 1 lease + 4 × 2 + (2 + 2) = 18.
    expect(second!.records[0]?.awsCalls).toEqual({ ecs: 18, autoScaling: 2 });
    expect(h.aws.operations().slice(-5)).toEqual(['DescribeContainerInstances', 'DescribeTasks', 'ListTasks', 'ListTasks', 'CompleteLifecycleAction']);
    // No heartbeat: the carried one (T0 + 30 s) is due only at T0 + 330 s.
    expect(h.aws.operations('autoscaling')).toEqual(['DescribeAutoScalingGroups', 'CompleteLifecycleAction']);
    expect(h.action).toMatchObject({ state: 'completed', result: 'CONTINUE', unstoppedTasksAtEnd: 0, heartbeats: 1 });
    expect(h.aws.calls('ecs:ListContainerInstances')).toHaveLength(0);
    expect(h.aws.calls('autoscaling:DescribeLifecycleHooks')).toHaveLength(0);
    expect(h.aws.calls('sns')).toHaveLength(0);
    expect(web!.stoppedAt).toBe(T0 + 75 * S);
    expect(h.clock.now() - web!.stoppedAt!).toBeLessThanOrEqual(10 * S);
  });

  it('sends heartbeats at half the heartbeat timeout, also between polls of one invocation', async () => {
    const h = new LifecycleWorld({ draining: true, heartbeatTimeout: 60 });
    h.standalone('web', 100);
    const { result, telemetry } = await h.invoke(h.terminating());

    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained' });
    expect(h.heartbeats).toEqual([T0 + 30 * S, T0 + 60 * S, T0 + 90 * S]);
    expect(h.aws.inputs('autoscaling:RecordLifecycleActionHeartbeat')).toEqual([actionOf(h), actionOf(h), actionOf(h)]);
    expect(h.action).toMatchObject({ state: 'completed', heartbeats: 3 });
    expect(telemetry.metricTotal('HeartbeatRecorded')).toBe(3);
  });

  it('STANDALONE_TASKS=stop stops standalone tasks once the service tasks are gone', async () => {
    // The service task is stopped by the scheduler at T0 + 7 s and STOPPED at T0 + 15 s.
    const h = new LifecycleWorld({ draining: true, service: { count: 1, stopSeconds: 8 } });
    const [web] = h.webTasks();
    const batch = h.standalone('batch', undefined, 5);
    const stopTaskAt: number[] = [];
    h.aws.before('ecs:StopTask', () => stopTaskAt.push(h.clock.now()));
    const { result } = await h.invoke(h.terminating(), { STANDALONE_TASKS: 'stop' });

    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained' });
    expect(h.aws.inputs('ecs:StopTask')).toEqual([{ cluster: CLUSTER, task: batch.arn, reason: 'Auto Scaling is terminating the container instance' }]);
    // Stopped only once the service task had stopped (at 15 s), by the poll at 20 s.
    expect(web!.stoppedAt).toBe(T0 + 15 * S);
    expect(stopTaskAt).toEqual([T0 + 20 * S]);
    expect(batch).toMatchObject({ lastStatus: 'STOPPED', stoppedAt: T0 + 25 * S });
    expect(h.action).toMatchObject({ state: 'completed', result: 'CONTINUE', unstoppedTasksAtEnd: 0 });
  });

  it('STANDALONE_TASKS=wait never stops a task and the deadline ends the drain', async () => {
    const h = new LifecycleWorld({ draining: true });
    const batch = h.standalone('batch');
    const { result, telemetry } = await h.invoke(h.terminating(), { DRAIN_TIMEOUT_SECONDS: '60', OPS_TOPIC_ARN: OPS_TOPIC });

    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'deadline', result: 'CONTINUE' });
    expect(h.clock.now()).toBe(T0 + 60 * S);
    expect(h.aws.calls('ecs:StopTask')).toHaveLength(0);
    expect(h.aws.inputs('autoscaling:CompleteLifecycleAction')).toEqual([{ ...actionOf(h), LifecycleActionResult: 'CONTINUE' }]);
    expect(h.action).toMatchObject({ state: 'completed', result: 'CONTINUE', unstoppedTasksAtEnd: 1 });
    expect(telemetry.metricTotal('LifecycleDeadline', { reason: 'deadline' })).toBe(1);
    const line = decisionLines(telemetry)[0]!;
    expect(line.level).toBe('WARN');
    // The operators' notice, human-readable, naming the instance and the task left behind.
    expect(h.published()).toHaveLength(1);
    const notice = h.published()[0]!;
    expect(notice.TopicArn).toBe(OPS_TOPIC);
    expect(notice.Subject).toBe(`ECS drain of ${INSTANCE_ID} cut short (deadline), completed with CONTINUE`);
    expect(notice.Message).toContain('did not finish within 60 seconds (DRAIN_TIMEOUT_SECONDS)');
    expect(notice.Message).toContain(batch.arn);
  });

  it('DEADLINE_RESULT=ABANDON at the hop cap, without a further requeue', async () => {
    const h = new LifecycleWorld({ draining: true });
    h.standalone('web');
    const { result, telemetry } = await h.invoke(
      snsEvent(h.requeued({ attempt: 3 })),
      { MAX_HOPS: '3', DEADLINE_RESULT: 'ABANDON' },
      20 * S + INVOCATION_SAFETY_MARGIN_MS,
    );

    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'hop-cap', result: 'ABANDON' });
    expect(h.action).toMatchObject({ state: 'completed', result: 'ABANDON' });
    expect(h.aws.calls('sns')).toHaveLength(0);
    expect(telemetry.metricTotal('LifecycleDeadline', { reason: 'hop-cap' })).toBe(1);
  });

  it('treats ValidationError "No active Lifecycle Action found" on completion as the end, not a failure', async () => {
    const h = new LifecycleWorld({ unregistered: true });
    // The action ends elsewhere after this round read the group (Terminating:Wait) and before it completes.
    h.aws.before('ecs:ListContainerInstances', () => h.world.rules.autoScaling.completeAction(h.action!, 'CONTINUE'));
    const { result, telemetry } = await h.invoke(h.terminating());
    expect(result.records[0]).toMatchObject({ outcome: 'ended', reason: 'action-over' });
    expect(h.aws.calls('autoscaling:CompleteLifecycleAction').map((call) => call.outcome)).toEqual(['ValidationError']);
    expect(telemetry.metricTotal('LifecycleEnded', { reason: 'action-over' })).toBe(1);
    expect(telemetry.metricTotal('LifecycleFailed')).toBe(0);
  });

  it('ends the loop when a heartbeat finds the action gone (completed elsewhere), with no requeue', async () => {
    const h = new LifecycleWorld({ draining: true, heartbeatTimeout: 30 });
    h.standalone('web');
    // Another party completes the action just before the first heartbeat reaches Auto Scaling.
    h.aws.before('autoscaling:RecordLifecycleActionHeartbeat', () => {
      if (h.action!.state === 'active') h.world.rules.autoScaling.completeAction(h.action!, 'CONTINUE');
    });
    const { result } = await h.invoke(h.terminating());
    expect(result.records[0]).toMatchObject({ outcome: 'ended', reason: 'action-over' });
    expect(h.clock.now()).toBe(T0 + 15 * S);
    expect(h.aws.calls('autoscaling:RecordLifecycleActionHeartbeat').map((call) => call.outcome)).toEqual(['ValidationError']);
    expect(h.aws.calls('autoscaling:CompleteLifecycleAction')).toHaveLength(0);
    expect(h.aws.calls('sns')).toHaveLength(0);
  });

  it('does not requeue when the action ended meanwhile: the heartbeat before the hop finds it over', async () => {
    const h = new LifecycleWorld({ draining: true });
    h.standalone('web');
    // The action ends elsewhere (a duplicate chain, an operator) after this round's last poll read
    // ECS (at T0 + 10 s) and before its heartbeat ahead of the hop reaches Auto Scaling.
    const heartbeatAt: number[] = [];
    h.aws.before('autoscaling:RecordLifecycleActionHeartbeat', (_input, callNumber) => {
      heartbeatAt.push(h.clock.now());
      if (callNumber === 1) h.world.rules.autoScaling.completeAction(h.action!, 'CONTINUE');
    });
    const { result, telemetry } = await h.invoke(h.terminating(), {}, 15 * S + INVOCATION_SAFETY_MARGIN_MS);
    expect(result.records[0]).toMatchObject({ outcome: 'ended', reason: 'action-over', polls: 2 });
    // Lifecycle state read first. Poll at T0: runningTasksCount 1 and no DAEMON service prove a
    // counted task (no task read), lease written, wait. Poll at T0 + 10 s: the same, so the poll is
    // the one DescribeContainerInstances; a poll 10 s later would pass the invocation's end
    // (T0 + 15 s), so a heartbeat goes out first.
    // The heartbeat timeout is 600 s: this heartbeat is the pre-hop one, not a due one.
    expect(h.clock.now()).toBe(T0 + 10 * S);
    expect(heartbeatAt).toEqual([T0 + 10 * S]);
    expect(h.aws.inputs('autoscaling:RecordLifecycleActionHeartbeat')).toEqual([actionOf(h)]);
    expect(h.aws.calls('autoscaling:RecordLifecycleActionHeartbeat').map((call) => call.outcome)).toEqual(['ValidationError']);
    expect(h.aws.operations()).toEqual([
      'DescribeAutoScalingGroups',
      'ListContainerInstances',
      'DescribeContainerInstances',
      'DescribeLifecycleHooks',
      'ListServices',
      'PutAttributes',
      'DescribeContainerInstances',
      'RecordLifecycleActionHeartbeat',
    ]);
    // The lifecycle state is read once, before the first read: the pre-hop check is the heartbeat.
    expect(h.aws.calls('autoscaling:DescribeAutoScalingGroups')).toHaveLength(1);
    // No hop and no completion of its own: the action stays as the other party completed it.
    expect(h.aws.calls('sns')).toHaveLength(0);
    expect(h.aws.calls('autoscaling:CompleteLifecycleAction')).toHaveLength(0);
    expect(h.action).toMatchObject({ state: 'completed', result: 'CONTINUE', heartbeats: 0 });
    expect(telemetry.metricTotal('LifecycleEnded', { cluster: CLUSTER, reason: 'action-over' })).toBe(1);
    expect(telemetry.metricTotal('LifecycleRequeued')).toBe(0);
    expect(telemetry.metricTotal('HeartbeatRecorded')).toBe(0);
  });

  it('duplicate deliveries: the chain whose lease was overwritten ends within one poll', async () => {
    const h = new LifecycleWorld({ draining: true });
    h.standalone('web');
    const { handler: first } = h.handler();
    const { handler: second, telemetry } = h.handler();
    // Two concurrent deliveries of the same notification. Each takes the lease before waiting;
    // the later writer keeps it.
    const event = h.terminating();
    const results = await h.run(
      () => first(event, h.context(60 * S)),
      () => second(event, h.context(60 * S)),
    );
    const outcomes = results.map((result) => `${result.records[0]?.outcome}:${result.records[0]?.reason}`).sort();
    expect(outcomes).toEqual(['ended:superseded', 'requeued:invocation-ending']);
    expect(h.published()).toHaveLength(1);
    expect(telemetry.metricTotal('LifecycleEnded') + telemetry.metricTotal('LifecycleRequeued')).toBe(1);
  });

  it('a second chain finds the action over once the first completed it', async () => {
    const h = new LifecycleWorld({ draining: true });
    h.standalone('web', 5);
    const event = h.terminating();
    const { result: a } = await h.invoke(event);
    const { result: b } = await h.invoke(event);
    expect(a.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained' });
    expect(b.records[0]).toMatchObject({ outcome: 'ended', reason: 'action-over' });
    // The second chain reads the group first: the instance is past Terminating:Wait, so it ends
    // with no ECS read and no completion of its own.
    expect(h.aws.calls('autoscaling:CompleteLifecycleAction').map((call) => call.outcome)).toEqual(['ok']);
    expect(b.records[0]?.awsCalls).toEqual({ autoScaling: 1 });
  });
});

describe('lifecycle hook handler: only what is terminating is drained', () => {
  it('a notification for an InService instance makes no write', async () => {
    const h = new LifecycleWorld({ terminating: false });
    h.standalone('web');
    const { result, telemetry } = await h.invoke(h.terminating());

    expect(result.records[0]).toMatchObject({ outcome: 'ended', reason: 'not-in-transition', ec2InstanceId: INSTANCE_ID });
    expect(h.writes()).toEqual([]);
    expect(h.victim!.status).toBe('ACTIVE');
    expect(h.world.drains).toEqual([]);
    expect(h.world.groupOf(INSTANCE_ID)?.instance.lifecycleState).toBe('InService');
    expect(decisionLines(telemetry)[0]).toMatchObject({ level: 'WARN', fields: { outcome: 'ended', reason: 'not-in-transition' } });
    // The group, read before anything else, shows the instance InService: not even ECS is read.
    expect(h.aws.operations()).toEqual(['DescribeAutoScalingGroups']);
    expect(telemetry.metricTotal('LifecycleEnded', { cluster: 'none', reason: 'not-in-transition' })).toBe(1);
  });

  it('a requeue message for an InService instance already DRAINING takes no lease and stops no task', async () => {
    const h = new LifecycleWorld({ terminating: false, draining: true });
    h.standalone('batch');
    const { result } = await h.invoke(snsEvent(h.requeued()), { STANDALONE_TASKS: 'stop' });
    expect(result.records[0]).toMatchObject({ outcome: 'ended', reason: 'not-in-transition', kind: 'requeue' });
    expect(h.writes()).toEqual([]);
    expect(h.tasksOnVictim().map((task) => task.desiredStatus)).toEqual(['RUNNING']);
  });

  it('a notification naming another group than the instance is in makes no write', async () => {
    const h = new LifecycleWorld();
    h.world.createGroup({ name: 'another-asg', cluster: CLUSTER, minSize: 0, maxSize: 1, desiredCapacity: 0, instanceCpu: 2048, instanceMemory: 4096 });
    h.world.putLifecycleHook({ groupName: 'another-asg', name: HOOK, heartbeatTimeout: 600, topicArn: TOPIC });
    const { result } = await h.invoke(snsEvent({ ...h.notification(), AutoScalingGroupName: 'another-asg' }));
    expect(result.records[0]).toMatchObject({ outcome: 'ended', reason: 'not-in-transition' });
    expect(h.writes()).toEqual([]);
    expect(h.action).toMatchObject({ state: 'active' });
  });
});

describe('lifecycle hook handler: later rounds and the lease', () => {
  it('a requeued round whose container instance is gone (MISSING) completes CONTINUE in 3 calls', async () => {
    const h = new LifecycleWorld({ unregistered: true });
    const message = h.requeued();
    const { result } = await h.invoke(snsEvent(message));
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'instance-gone', result: 'CONTINUE' });
    // The group first (Terminating:Wait), then the instance, gone: complete.
    expect(h.aws.operations()).toEqual(['DescribeAutoScalingGroups', 'DescribeContainerInstances', 'CompleteLifecycleAction']);
    expect(h.aws.inputs('ecs:DescribeContainerInstances')).toEqual([
      expect.objectContaining({ cluster: CLUSTER, containerInstances: [message.containerInstanceArn] }),
    ]);
    expect(h.action).toMatchObject({ state: 'completed', result: 'CONTINUE' });
  });

  it('carries the last heartbeat into the requeue message', async () => {
    const h = new LifecycleWorld({ draining: true, heartbeatTimeout: 60 });
    h.standalone('web');
    const { result } = await h.invoke(h.terminating(), {}, 65 * S + INVOCATION_SAFETY_MARGIN_MS);
    expect(result.records[0]).toMatchObject({ outcome: 'requeued' });
    expect(h.heartbeats).toEqual([T0 + 30 * S, T0 + 60 * S]);
    const message = JSON.parse(h.published()[0]!.Message!);
    expect(message).toMatchObject({ attempt: 1, heartbeatTimeoutSeconds: 60, lastHeartbeatAt: new Date(T0 + 60 * S).toISOString() });
  });

  it('a requeued round heartbeats at once when the carried heartbeat is due', async () => {
    const h = new LifecycleWorld({ draining: true });
    h.standalone('web', 400);
    await h.clock.advance(350 * S);
    const { result } = await h.invoke(snsEvent(h.requeued({ heartbeatTimeoutSeconds: 600 })));
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained' });
    expect(h.heartbeats).toEqual([T0 + 350 * S]);
  });

  it('drains on without a lease when the instance cannot take another attribute', async () => {
    const h = new LifecycleWorld({ draining: true });
    h.standalone('web', 15);
    // The world does not model ECS's limit of 10 custom attributes per resource; the refusal ECS
    // gives at that limit is injected in front of it.
    h.aws.fail({ operation: 'ecs:PutAttributes', error: 'AttributeLimitExceededException', message: 'limit' });
    const { result, telemetry } = await h.invoke(h.terminating());
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained' });
    expect(h.aws.calls('ecs:PutAttributes')).toHaveLength(1);
    expect(telemetry.metricTotal('LeaseUnavailable', { cluster: CLUSTER })).toBe(1);
    expect(telemetry.messages('WARN')).toContain('lifecycle lease unavailable');
  });

  it('a chain whose lease another round overwrote ends at its next poll without requeueing', async () => {
    const h = new LifecycleWorld({ draining: true });
    h.standalone('web');
    // Another round writes its own lease while this one sleeps.
    h.onSleep = () =>
      h.world.callSync('ecs', 'PutAttributes', { cluster: CLUSTER, attributes: [{ name: LEASE_ATTRIBUTE, value: 'another-round', targetType: 'container-instance', targetId: h.ciArn }] });
    const { result, telemetry } = await h.invoke(h.terminating());
    expect(result.records[0]).toMatchObject({ outcome: 'ended', reason: 'superseded', polls: 2 });
    expect(h.clock.now()).toBe(T0 + 10 * S);
    expect(h.aws.calls('sns')).toHaveLength(0);
    expect(h.aws.calls('autoscaling:CompleteLifecycleAction')).toHaveLength(0);
    expect(telemetry.metricTotal('LifecycleEnded', { reason: 'superseded' })).toBe(1);
  });
});

describe('lifecycle hook handler: dry run', () => {
  it('reads and reports, writes nothing', async () => {
    const h = new LifecycleWorld({ daemons: ['agent'] });
    h.standalone('web');
    const { result, telemetry } = await h.invoke(h.terminating(), { DRY_RUN: 'true' });

    expect(result.records[0]).toMatchObject({ outcome: 'dry-run', reason: 'instance-active', wouldDo: 'drain' });
    expect(h.writes()).toEqual([]);
    expect(h.victim!.status).toBe('ACTIVE');
    expect(h.action).toMatchObject({ state: 'active', heartbeats: 0 });
    expect(h.sleeps).toEqual([]);
    expect(decisionLines(telemetry)[0]?.fields).toMatchObject({ dryRun: true, tasks: { counted: 1, daemon: 1 } });
  });

  it('reports the completion it would make for an instance that is not a container instance', async () => {
    const h = new LifecycleWorld({ unregistered: true });
    const { result } = await h.invoke(h.terminating(), { DRY_RUN: 'true' });
    expect(result.records[0]).toMatchObject({ outcome: 'dry-run', wouldDo: 'complete CONTINUE (not-a-container-instance)' });
    // Reads only: the group (the instance's lifecycle state) and the lookup.
    expect(h.aws.operations()).toEqual(['DescribeAutoScalingGroups', 'ListContainerInstances']);
  });
});

describe('lifecycle hook handler: faults', () => {
  it('rides out a throttled poll and completes', async () => {
    const h = new LifecycleWorld({ draining: true });
    h.standalone('web', 25);
    h.aws.fail({ operation: 'ecs:DescribeTasks', error: 'throttling', times: 1 });
    const { result, telemetry } = await h.invoke(h.terminating());
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained' });
    expect(h.aws.calls('ecs:DescribeTasks')[0]?.outcome).toBe('ThrottlingException');
    expect(telemetry.metricTotal('PollFailed', { errorClass: 'retryable' })).toBe(1);
    expect(h.action).toMatchObject({ state: 'completed', result: 'CONTINUE', unstoppedTasksAtEnd: 0 });
  });

  it(`rides out more than ${MAX_CONSECUTIVE_POLL_FAILURES} throttled ECS polls while Auto Scaling answers, pausing twice as long each time`, async () => {
    const h = new LifecycleWorld({ draining: true });
    h.standalone('web', 5);
    h.aws.fail({ operation: 'ecs:DescribeContainerInstances', error: 'throttling', times: 4 });
    const message = h.requeued();
    const { result, telemetry } = await h.invoke(snsEvent(message));
    // The pause after the n-th failure in a row: the 10 s poll × min(2^(n-1), 4), times 0.5 + the
    // chain's deterministic jitter for that poll (decide.ts retryPauseMs); the heartbeat (due at
    // T0 + 300 s) and the deadline (T0 + 900 s) are further away, so they cap nothing here.
    const pauses = [1, 2, 3, 4].map((n) => Math.round(10 * S * Math.min(2 ** (n - 1), 4) * (0.5 + jitterOf(message.chainId as string, n))));
    expect(h.sleeps).toEqual(pauses);
    // Not given up after 3 failures: the 5th poll reads the instance, finds the task STOPPED (since
    // T0 + 5 s) and completes, believed at once since this round made no DRAINING request.
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained', polls: 5 });
    expect(h.clock.now()).toBe(T0 + pauses.reduce((sum, pause) => sum + pause, 0));
    expect(h.aws.calls('ecs:DescribeContainerInstances').map((call) => call.outcome)).toEqual(['ThrottlingException', 'ThrottlingException', 'ThrottlingException', 'ThrottlingException', 'ok']);
    // The group (Terminating:Wait) is read before the first poll, so no check comes before a write.
    expect(h.aws.operations()).toEqual(['DescribeAutoScalingGroups', ...Array<string>(5).fill('DescribeContainerInstances'), 'ListTasks', 'ListTasks', 'DescribeTasks', 'CompleteLifecycleAction']);
    expect(telemetry.metricTotal('PollFailed', { errorClass: 'retryable' })).toBe(4);
    expect(telemetry.metricTotal('LifecycleFailed')).toBe(0);
    expect(h.heartbeats).toEqual([]);
    expect(h.action).toMatchObject({ state: 'completed', result: 'CONTINUE', unstoppedTasksAtEnd: 0 });
  });

  it(`throws after ${MAX_CONSECUTIVE_POLL_FAILURES} throttled polls in a row when Auto Scaling fails too, so Lambda retries the message`, async () => {
    const h = new LifecycleWorld({ draining: true });
    h.aws.fail({ operation: 'ecs:DescribeContainerInstances', error: 'throttling' });
    h.aws.fail({ operation: 'autoscaling:RecordLifecycleActionHeartbeat', error: 'throttling' });
    // Past half of the 600 s heartbeat timeout since the last heartbeat: one is due.
    await h.clock.advance(400 * S);
    const { handler, telemetry } = h.handler();
    const message = h.requeued();
    await expect(h.run(() => handler(snsEvent(message), h.context()))).rejects.toBeInstanceOf(RetryableError);
    // Failure 1 (T0 + 400 s): Auto Scaling has not failed yet, so it is ridden out: the due heartbeat
    // goes out with the retry, and the pause is the back-off (the overdue heartbeat caps it only at
    // three quarters of its timeout, T0 + 450 s). The heartbeat fails: from failure 2 the old rules
    // hold: one poll's pause (±50 % jitter), the heartbeat tried again (still due), and at failure 3
    // the round gives up after a last heartbeat attempt.
    const jitter = (poll: number) => 0.5 + jitterOf(message.chainId as string, poll);
    const pauses = [Math.round(10 * S * jitter(1)), Math.round(10 * S * jitter(2))];
    expect(h.sleeps).toEqual(pauses);
    expect(h.aws.calls('ecs:DescribeContainerInstances')).toHaveLength(MAX_CONSECUTIVE_POLL_FAILURES);
    expect(h.heartbeats).toEqual([T0 + 400 * S, T0 + 400 * S + pauses[0]!, T0 + 400 * S + pauses[0]! + pauses[1]!]);
    expect(h.aws.calls('autoscaling:RecordLifecycleActionHeartbeat').map((call) => call.outcome)).toEqual(['Throttling', 'Throttling', 'Throttling']);
    expect(h.aws.calls('autoscaling:CompleteLifecycleAction')).toHaveLength(0);
    expect(h.aws.calls('sns')).toHaveLength(0);
    expect(telemetry.metricTotal('LifecycleFailed', { errorClass: 'retryable' })).toBe(1);
    expect(h.action).toMatchObject({ state: 'active', heartbeats: 0 });
  });

  it('still throws the original fault when the last-chance heartbeat fails too', async () => {
    const h = new LifecycleWorld();
    h.aws.fail({ operation: 'ecs:ListContainerInstances', error: 'throttling' });
    h.aws.fail({ operation: 'autoscaling:RecordLifecycleActionHeartbeat', error: 'throttling' });
    const { handler, telemetry } = h.handler();
    const thrown = await h.run(() => handler(h.terminating(), h.context())).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(thrown).toBeInstanceOf(RetryableError);
    expect(h.aws.calls('autoscaling:RecordLifecycleActionHeartbeat').map((call) => call.outcome)).toEqual(['Throttling']);
    // The record's own error, not the heartbeat's, is what the invocation reports.
    expect(((thrown as Error).cause as Error).message).toMatch(/failed: ThrottlingException$/);
    expect(telemetry.messages('WARN')).toContain('lifecycle heartbeat after a failed poll failed');
  });

  it('keeps the action alive with a due heartbeat while ECS polls fail, and requeues at the invocation end after a heartbeat', async () => {
    const h = new LifecycleWorld({ draining: true });
    h.aws.fail({ operation: 'ecs:DescribeContainerInstances', error: 'throttling' });
    // Past half of the 600 s heartbeat timeout since the last heartbeat: one is due.
    await h.clock.advance(400 * S);
    const { handler, telemetry } = h.handler();
    const message = h.requeued();
    const chainId = message.chainId as string;
    // The invocation may start no poll after T0 + 520 s.
    const [result] = await h.run(() => handler(snsEvent(message), h.context(120 * S + INVOCATION_SAFETY_MARGIN_MS)));
    const endsAt = T0 + 520 * S;

    // The rules (decide.ts retryPauseMs), replayed: after the n-th failure the pause is 10 s ×
    // min(2^(n-1), 4) × (0.5 + jitter(n)), capped by the next heartbeat, or by three quarters of the
    // timeout when one is overdue (a cap already behind caps nothing; at least 1 s); a due heartbeat
    // goes out with the retry; when the
    // pause would pass the invocation's end, the chain is handed over: a heartbeat confirms the
    // action is still open, then the requeue.
    const expectedSleeps: number[] = [];
    const expectedHeartbeats: number[] = [];
    let now = T0 + 400 * S;
    let lastHeartbeat = T0;
    for (let n = 1; ; n += 1) {
      const backoff = 10 * S * Math.min(2 ** (n - 1), 4) * (0.5 + jitterOf(chainId, n));
      const dueAt = lastHeartbeat + 300 * S;
      const limit = dueAt > now ? dueAt - now : lastHeartbeat + 450 * S - now;
      const pause = Math.max(1 * S, Math.round(limit > 0 ? Math.min(backoff, limit) : backoff));
      if (now + pause > endsAt) break;
      if (now >= lastHeartbeat + 300 * S) {
        expectedHeartbeats.push(now);
        lastHeartbeat = now;
      }
      expectedSleeps.push(pause);
      now += pause;
    }
    expectedHeartbeats.push(now);
    expect(h.sleeps).toEqual(expectedSleeps);
    expect(h.heartbeats).toEqual(expectedHeartbeats);
    // The first failure finds the heartbeat overdue: it goes out with the retry, after which the
    // pause is the back-off. Only the due heartbeat and the pre-hop one: not one per failed poll.
    expect(expectedHeartbeats[0]).toBe(T0 + 400 * S);
    expect(expectedHeartbeats).toHaveLength(2);
    expect(h.aws.calls('ecs:DescribeContainerInstances')).toHaveLength(expectedSleeps.length + 1);
    expect(h.aws.calls('ecs:DescribeContainerInstances').length).toBeGreaterThan(MAX_CONSECUTIVE_POLL_FAILURES);
    expect(h.aws.operations().slice(-2)).toEqual(['RecordLifecycleActionHeartbeat', 'Publish']);
    expect(result!.records[0]).toMatchObject({ outcome: 'requeued', reason: 'invocation-ending', attempt: 1, polls: expectedSleeps.length + 1 });
    const requeued = JSON.parse(h.published()[0]!.Message!);
    expect(requeued).toMatchObject({ version: 2, chainId, attempt: 2, lastHeartbeatAt: new Date(now).toISOString() });
    expect(telemetry.metricTotal('LifecycleFailed')).toBe(0);
    expect(telemetry.metricTotal('PollFailed', { errorClass: 'retryable' })).toBe(expectedSleeps.length + 1);
    expect(h.action).toMatchObject({ state: 'active', heartbeats: 2, heartbeatDeadline: now + 600 * S });
  });

  it('sends no heartbeat before giving up in a dry run', async () => {
    const h = new LifecycleWorld();
    h.aws.fail({ operation: 'ecs:ListContainerInstances', error: 'throttling' });
    const { handler } = h.handler({ DRY_RUN: 'true' });
    await expect(h.run(() => handler(h.terminating(), h.context()))).rejects.toBeInstanceOf(RetryableError);
    expect(h.aws.calls('autoscaling:RecordLifecycleActionHeartbeat')).toHaveLength(0);
  });

  it('throws when Auto Scaling throttles the completion (name "Throttling")', async () => {
    const h = new LifecycleWorld({ unregistered: true });
    h.aws.fail({ operation: 'autoscaling:CompleteLifecycleAction', error: 'throttling' });
    const { handler } = h.handler();
    await expect(h.run(() => handler(h.terminating(), h.context(35 * S)))).rejects.toThrow(/lifecycle records failed: RetryableError/);
    expect(h.aws.calls('autoscaling:CompleteLifecycleAction').map((call) => call.outcome)).toEqual(['Throttling']);
    expect(h.action).toMatchObject({ state: 'active' });
  });

  it('past the deadline, completes even while ECS cannot be read', async () => {
    // A heartbeat timeout long enough for the action to outlive the 900 s drain timeout.
    const h = new LifecycleWorld({ draining: true, heartbeatTimeout: 3600 });
    h.aws.fail({ operation: 'ecs:DescribeContainerInstances', error: 'throttling' });
    await h.clock.advance(901 * S);
    const { result } = await h.invoke(snsEvent(h.requeued({ lastHeartbeatAt: new Date(T0 + 900 * S).toISOString() })), { DEADLINE_RESULT: 'ABANDON' });
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'deadline', result: 'ABANDON' });
    expect(h.action).toMatchObject({ state: 'completed', result: 'ABANDON' });
  });

  it('an access error is not retried inside the invocation', async () => {
    const h = new LifecycleWorld();
    h.aws.fail({ operation: 'ecs:ListContainerInstances', error: 'AccessDeniedException', message: 'not authorized' });
    const { handler, telemetry } = h.handler();
    await expect(h.run(() => handler(h.terminating(), h.context()))).rejects.toBeInstanceOf(RetryableError);
    expect(h.aws.calls('ecs:ListContainerInstances')).toHaveLength(1);
    expect(telemetry.metricTotal('LifecycleFailed', { errorClass: 'fatal' })).toBe(1);
  });
});

describe('lifecycle hook handler: several records', () => {
  it('processes every record independently', async () => {
    const h = new LifecycleWorld({ unregistered: true });
    const test = JSON.parse(fixture('lifecycle-test-notification.json').Records[0]!.Sns.Message);
    const { result, telemetry } = await h.invoke(snsEvent(test, 'not json', h.notification()));
    expect(result.records.map((record) => `${record.outcome}:${record.reason}`)).toEqual([
      'ignored:test-notification',
      'invalid:message-not-json',
      'completed:not-a-container-instance',
    ]);
    expect(h.aws.calls('autoscaling:CompleteLifecycleAction')).toHaveLength(1);
    expect(telemetry.metricTotal('InvalidEvent')).toBe(1);
  });

  it('a fault in one record throws only after the other records were handled', async () => {
    const h = new LifecycleWorld({ unregistered: true });
    const other = { ...h.notification(), EC2InstanceId: 'i-0aaaaaaaaaaaaaaaa', LifecycleActionToken: 'aaaaaaaa-0000-4000-8000-000000000000' };
    // The other instance is not in the group the message names: its group is looked up, and fails.
    h.aws.fail({ operation: 'autoscaling:DescribeAutoScalingInstances', error: 'server' });
    const { handler } = h.handler();
    await expect(h.run(() => handler(snsEvent(other, h.notification()), h.context(35 * S)))).rejects.toThrow(/1 of 2 lifecycle records failed/);
    expect(h.aws.inputs('autoscaling:CompleteLifecycleAction')).toEqual([{ ...actionOf(h), LifecycleActionResult: 'CONTINUE' }]);
    expect(h.action).toMatchObject({ state: 'completed', result: 'CONTINUE' });
  });
});
