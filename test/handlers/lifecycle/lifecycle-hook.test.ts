import {
  CompleteLifecycleActionCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeLifecycleHooksCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSServiceException,
  ListContainerInstancesCommand,
  ListTasksCommand,
  PutAttributesCommand,
  StopTaskCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { PublishCommand } from '@aws-sdk/client-sns';
import { AutoScalingServiceException } from '@aws-sdk/client-auto-scaling';
import { RetryableError } from '../../../lib/errors';
import { REQUEUE_KIND } from '../../../lib/events/lifecycle';
import { INVOCATION_SAFETY_MARGIN_MS, MAX_CONSECUTIVE_POLL_FAILURES } from '../../../lib/lifecycle/handler';
import {
  CI_ARN,
  CLUSTER,
  GROUP,
  HOOK,
  INSTANCE_ID,
  LEASE_ATTRIBUTE,
  OPS_TOPIC,
  T0,
  TOKEN,
  TOPIC,
  autoScalingMock,
  commandNames,
  contextFor,
  ecsMock,
  fixture,
  makeWorld,
  setup,
  snsEvent,
  snsMock,
  task,
  terminatingMessage,
  validationError,
} from './fake-world';

const S = 1000;
const action = { AutoScalingGroupName: GROUP, LifecycleHookName: HOOK, LifecycleActionToken: TOKEN };
const decisionLines = (telemetry: { logs: { message: string; level: string; fields: Record<string, unknown> }[] }) =>
  telemetry.logs.filter((entry) => entry.message === 'lifecycle decision');

function throttling(name: 'ThrottlingException' | 'Throttling') {
  const options = { name, $fault: 'client' as const, message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } };
  return name === 'Throttling' ? new AutoScalingServiceException(options) : new ECSServiceException(options);
}

describe('lifecycle hook handler: messages that need no AWS call', () => {
  it.each([
    ['lifecycle-test-notification.json', 'ignored', 'test-notification'],
    ['lifecycle-launching.json', 'ignored', 'launching-transition'],
    ['lifecycle-malformed.json', 'invalid', 'malformed-notification'],
  ])('%s: %s (%s), no call to any service', async (file, outcome, reason) => {
    const world = makeWorld();
    const { handler, telemetry } = setup(world);
    const result = await handler(fixture(file), contextFor(world.clock));
    expect(result.records).toEqual([expect.objectContaining({ outcome, reason })]);
    expect(ecsMock.calls()).toHaveLength(0);
    expect(autoScalingMock.calls()).toHaveLength(0);
    expect(snsMock.calls()).toHaveLength(0);
    if (outcome === 'invalid') {
      expect(telemetry.metricTotal('InvalidEvent', { function: 'lifecycleHook', reason })).toBe(1);
      expect(telemetry.messages('ERROR')).toEqual(['invalid event']);
    } else {
      expect(telemetry.metricTotal('EventIgnored', { reason })).toBe(1);
    }
  });

  it.each([[null], [{}], [{ Records: [] }], ['{"Records":[]}']])('rejects the non-SNS event %j', async (event) => {
    const world = makeWorld();
    const { handler, telemetry } = setup(world);
    const result = await handler(event, contextFor(world.clock));
    expect(result.records[0]?.outcome).toBe('invalid');
    expect(telemetry.metricTotal('InvalidEvent')).toBe(1);
    expect(ecsMock.calls().length + autoScalingMock.calls().length + snsMock.calls().length).toBe(0);
  });

  it('rejects a requeue message of an unknown version', async () => {
    const world = makeWorld();
    const { handler, telemetry } = setup(world);
    const message = { ...JSON.parse(fixture('lifecycle-requeue.json').Records[0]!.Sns.Message), version: 3 };
    const result = await handler(snsEvent(message), contextFor(world.clock));
    expect(result.records).toEqual([{ outcome: 'invalid', reason: 'unsupported-version' }]);
    expect(telemetry.metricTotal('InvalidEvent', { reason: 'unsupported-version' })).toBe(1);
    expect(ecsMock.calls().length + autoScalingMock.calls().length + snsMock.calls().length).toBe(0);
  });

  it('ignores groups outside AUTO_SCALING_GROUPS', async () => {
    const world = makeWorld();
    const { handler } = setup(world, { AUTO_SCALING_GROUPS: 'another-asg' });
    const result = await handler(fixture('lifecycle-terminating.json'), contextFor(world.clock));
    expect(result.records).toEqual([{ outcome: 'ignored', kind: 'notification', reason: 'unmanaged-group' }]);
    expect(ecsMock.calls()).toHaveLength(0);
  });
});

describe('lifecycle hook handler: draining', () => {
  it('completes with CONTINUE at once when the instance is no container instance (2 calls)', async () => {
    const world = makeWorld({ instance: undefined });
    const { handler, telemetry } = setup(world);
    const result = await handler(fixture('lifecycle-terminating.json'), contextFor(world.clock));

    expect(result.records).toEqual([
      expect.objectContaining({ outcome: 'completed', reason: 'not-a-container-instance', result: 'CONTINUE', ec2InstanceId: INSTANCE_ID }),
    ]);
    expect(commandNames(ecsMock)).toEqual(['ListContainerInstancesCommand']);
    expect(ecsMock).toHaveReceivedCommandWith(ListContainerInstancesCommand, { cluster: CLUSTER, filter: `ec2InstanceId == ${INSTANCE_ID}` });
    expect(commandNames(autoScalingMock)).toEqual(['CompleteLifecycleActionCommand']);
    expect(autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, { ...action, LifecycleActionResult: 'CONTINUE' });
    expect(snsMock.calls()).toHaveLength(0);
    expect(telemetry.metricTotal('LifecycleCompleted', { cluster: 'none', result: 'CONTINUE', reason: 'not-a-container-instance' })).toBe(1);
  });

  it('drains an instance with only daemon tasks and completes at once, with the exact calls', async () => {
    const world = makeWorld({ tasks: [task('agent-1', 'service:agent')], daemonServices: ['agent'] });
    const { handler, telemetry } = setup(world);
    const result = await handler(fixture('lifecycle-terminating.json'), contextFor(world.clock));

    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained', result: 'CONTINUE', cluster: CLUSTER, containerInstanceArn: CI_ARN });
    expect(result.records[0]?.awsCalls).toEqual({ ecs: 8, autoScaling: 2 });
    expect(commandNames(ecsMock)).toEqual([
      'ListContainerInstancesCommand',
      'DescribeContainerInstancesCommand',
      'UpdateContainerInstancesStateCommand',
      'DescribeContainerInstancesCommand',
      'ListTasksCommand',
      'ListTasksCommand',
      'DescribeTasksCommand',
      'DescribeServicesCommand',
    ]);
    expect(ecsMock).toHaveReceivedCommandWith(UpdateContainerInstancesStateCommand, { cluster: CLUSTER, containerInstances: [CI_ARN], status: 'DRAINING' });
    expect(ecsMock).toHaveReceivedCommandWith(ListTasksCommand, { cluster: CLUSTER, containerInstance: CI_ARN, desiredStatus: 'RUNNING' });
    expect(ecsMock).toHaveReceivedCommandWith(ListTasksCommand, { cluster: CLUSTER, containerInstance: CI_ARN, desiredStatus: 'STOPPED' });
    expect(ecsMock).toHaveReceivedCommandWith(DescribeServicesCommand, { cluster: CLUSTER, services: ['agent'] });
    expect(commandNames(autoScalingMock)).toEqual(['DescribeLifecycleHooksCommand', 'CompleteLifecycleActionCommand']);
    expect(autoScalingMock).toHaveReceivedCommandWith(DescribeLifecycleHooksCommand, { AutoScalingGroupName: GROUP, LifecycleHookNames: [HOOK] });
    expect(world.completed).toBe('CONTINUE');
    expect(world.clock.sleeps).toEqual([]);
    // No lease, no heartbeat, no publish on the fast path.
    expect(ecsMock).not.toHaveReceivedCommand(PutAttributesCommand);
    expect(snsMock.calls()).toHaveLength(0);
    expect(decisionLines(telemetry)).toHaveLength(1);
    expect(decisionLines(telemetry)[0]?.fields).toMatchObject({ outcome: 'completed', reason: 'drained', tasks: { counted: 0, daemon: 1 } });
  });

  it('never completes while a task is still stopping; completes within one poll of it stopping', async () => {
    const stopsAt = T0 + 37 * S;
    const world = makeWorld({
      instance: { status: 'DRAINING', attributes: {} },
      tasks: [task('web-1', 'service:web', 'STOPPING', 'STOPPED', stopsAt), task('web-2', 'service:web', 'DEACTIVATING', 'STOPPED', stopsAt)],
    });
    let completedAt: number | undefined;
    autoScalingMock.on(CompleteLifecycleActionCommand).callsFake(() => {
      completedAt = world.clock.now();
      world.completed = 'CONTINUE';
      return {};
    });
    const { handler } = setup(world);
    const result = await handler(fixture('lifecycle-terminating.json'), contextFor(world.clock));

    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained', polls: 5 });
    expect(completedAt).toBeGreaterThanOrEqual(stopsAt);
    expect(completedAt! - stopsAt).toBeLessThanOrEqual(10 * S);
    expect(world.clock.sleeps).toEqual([10 * S, 10 * S, 10 * S, 10 * S]);
    // Already DRAINING: no update. Waiting: one lease write.
    expect(ecsMock).not.toHaveReceivedCommand(UpdateContainerInstancesStateCommand);
    expect(ecsMock).toHaveReceivedCommandTimes(PutAttributesCommand, 1);
    expect(ecsMock).toHaveReceivedCommandWith(PutAttributesCommand, {
      cluster: CLUSTER,
      attributes: [{ name: LEASE_ATTRIBUTE, value: '00000000-0000-4000-8000-000000000002', targetType: 'container-instance', targetId: CI_ARN }],
    });
    // Polls after the first cost 4 ECS reads: the service's strategy is remembered.
    expect(ecsMock).toHaveReceivedCommandTimes(DescribeServicesCommand, 1);
    expect(ecsMock).toHaveReceivedCommandTimes(DescribeContainerInstancesCommand, 5);
    expect(ecsMock).toHaveReceivedCommandTimes(DescribeTasksCommand, 5);
  });

  it('a drain that outlasts the invocation requeues once, and the next invocation completes it', async () => {
    const world = makeWorld({ tasks: [task('web-1', 'service:web', 'RUNNING', 'RUNNING', T0 + 75 * S)] });
    const { handler, telemetry } = setup(world);
    // 60 s left: polls at 0, 10, 20 and 30 s fit before the safety margin, then a requeue.
    const first = await handler(fixture('lifecycle-terminating.json'), contextFor(world.clock, 30 * S + INVOCATION_SAFETY_MARGIN_MS));

    expect(first.records[0]).toMatchObject({ outcome: 'requeued', reason: 'invocation-ending', attempt: 0 });
    expect(world.completed).toBeUndefined();
    expect(autoScalingMock).toHaveReceivedCommandWith(DescribeAutoScalingInstancesCommand, { InstanceIds: [INSTANCE_ID] });
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    const published = world.published[0]!;
    expect(published.TopicArn).toBe(TOPIC);
    expect(published.Subject!.length).toBeLessThan(100);
    const message = JSON.parse(published.Message!);
    expect(message).toEqual({
      kind: REQUEUE_KIND,
      version: 2,
      chainId: '00000000-0000-4000-8000-000000000001',
      attempt: 1,
      firstSeenAt: new Date(T0).toISOString(),
      lastHeartbeatAt: new Date(T0).toISOString(),
      heartbeatTimeoutSeconds: 600,
      globalTimeoutSeconds: 60_000,
      cluster: CLUSTER,
      containerInstanceArn: CI_ARN,
      notification: terminatingMessage(),
    });
    expect(telemetry.metricTotal('LifecycleRequeued', { cluster: CLUSTER })).toBe(1);

    // The requeued message arrives: no lookup, no hook read; completes once the task stops.
    ecsMock.resetHistory();
    autoScalingMock.resetHistory();
    const second = await handler(snsEvent(message), contextFor(world.clock));
    expect(second.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained', kind: 'requeue', attempt: 1 });
    // The first poll reads everything (instance, 2 task lists, tasks, the service's strategy: 5), then
    // while the instance's runningTasksCount stays the same a poll reads only the instance (1); the
    // poll after the task stopped lists again (instance, 2 lists, the stopped task: 4); 1 lease write.
    const polls = second.records[0]!.polls!;
    expect(polls).toBeGreaterThan(3);
    expect(second.records[0]?.awsCalls).toEqual({ ecs: 5 + (polls - 2) + 4 + 1, autoScaling: 1 });
    expect(ecsMock).toHaveReceivedCommandTimes(ListTasksCommand, 4);
    expect(world.completed).toBe('CONTINUE');
    expect(ecsMock).not.toHaveReceivedCommand(ListContainerInstancesCommand);
    expect(autoScalingMock).not.toHaveReceivedCommand(DescribeLifecycleHooksCommand);
    expect(world.clock.now() - (T0 + 75 * S)).toBeLessThanOrEqual(10 * S);
  });

  it('sends heartbeats at half the heartbeat timeout, also between polls of one invocation', async () => {
    const world = makeWorld({
      instance: { status: 'DRAINING', attributes: {} },
      hook: { HeartbeatTimeout: 60 },
      tasks: [task('web-1', 'service:web', 'RUNNING', 'RUNNING', T0 + 100 * S)],
    });
    const { handler, telemetry } = setup(world);
    const result = await handler(fixture('lifecycle-terminating.json'), contextFor(world.clock));

    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained' });
    expect(world.heartbeats).toEqual([T0 + 30 * S, T0 + 60 * S, T0 + 90 * S]);
    expect(autoScalingMock).toHaveReceivedCommandWith(RecordLifecycleActionHeartbeatCommand, action);
    expect(telemetry.metricTotal('HeartbeatRecorded')).toBe(3);
  });

  it('STANDALONE_TASKS=stop stops standalone tasks once the service tasks are gone', async () => {
    const world = makeWorld({
      instance: { status: 'DRAINING', attributes: {} },
      tasks: [task('web-1', 'service:web', 'RUNNING', 'RUNNING', T0 + 15 * S), task('batch-1', 'family:batch')],
    });
    const { handler } = setup(world, { STANDALONE_TASKS: 'stop' });
    const result = await handler(fixture('lifecycle-terminating.json'), contextFor(world.clock));

    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained' });
    expect(ecsMock).toHaveReceivedCommandTimes(StopTaskCommand, 1);
    expect(ecsMock).toHaveReceivedCommandWith(StopTaskCommand, {
      cluster: CLUSTER,
      task: 'arn:aws:ecs:us-east-1:123456789012:task/prod/batch-1',
      reason: 'Auto Scaling is terminating the container instance',
    });
    // Stopped only once the service task had stopped (at 15 s), by the poll at 20 s; the fake
    // world stops a task 5 s after StopTask.
    expect(world.stopped).toEqual(['arn:aws:ecs:us-east-1:123456789012:task/prod/batch-1']);
    const stoppedAt = world.tasks.find((fake) => fake.arn.endsWith('batch-1'))!.stopAt! - 5 * S;
    expect(stoppedAt).toBe(T0 + 20 * S);
    expect(world.completed).toBe('CONTINUE');
  });

  it('STANDALONE_TASKS=wait never stops a task and the deadline ends the drain', async () => {
    const world = makeWorld({ instance: { status: 'DRAINING', attributes: {} }, tasks: [task('batch-1', 'family:batch')] });
    const { handler, telemetry } = setup(world, { DRAIN_TIMEOUT_SECONDS: '60', OPS_TOPIC_ARN: OPS_TOPIC });
    const result = await handler(fixture('lifecycle-terminating.json'), contextFor(world.clock));

    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'deadline', result: 'CONTINUE' });
    expect(world.clock.now()).toBe(T0 + 60 * S);
    expect(ecsMock).not.toHaveReceivedCommand(StopTaskCommand);
    expect(autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, { ...action, LifecycleActionResult: 'CONTINUE' });
    expect(telemetry.metricTotal('LifecycleDeadline', { reason: 'deadline' })).toBe(1);
    const line = decisionLines(telemetry)[0]!;
    expect(line.level).toBe('WARN');
    // The operators' notice, human-readable, naming the instance and the task left behind.
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    const notice = world.published[0]!;
    expect(notice.TopicArn).toBe(OPS_TOPIC);
    expect(notice.Subject).toBe(`ECS drain of ${INSTANCE_ID} cut short (deadline), completed with CONTINUE`);
    expect(notice.Message).toContain('did not finish within 60 seconds (DRAIN_TIMEOUT_SECONDS)');
    expect(notice.Message).toContain('task/prod/batch-1');
  });

  it('DEADLINE_RESULT=ABANDON at the hop cap, without a further requeue', async () => {
    const world = makeWorld({ instance: { status: 'DRAINING', attributes: {} }, tasks: [task('web-1', 'service:web')] });
    const { handler, telemetry } = setup(world, { MAX_HOPS: '3', DEADLINE_RESULT: 'ABANDON' });
    const message = { ...JSON.parse(fixture('lifecycle-requeue.json').Records[0]!.Sns.Message), attempt: 3, cluster: CLUSTER, containerInstanceArn: CI_ARN, firstSeenAt: new Date(T0).toISOString(), lastHeartbeatAt: new Date(T0).toISOString() };
    const result = await handler(snsEvent(message), contextFor(world.clock, 20 * S + INVOCATION_SAFETY_MARGIN_MS));

    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'hop-cap', result: 'ABANDON' });
    expect(world.completed).toBe('ABANDON');
    expect(snsMock.calls()).toHaveLength(0);
    expect(telemetry.metricTotal('LifecycleDeadline', { reason: 'hop-cap' })).toBe(1);
  });

  it('treats ValidationError "No active Lifecycle Action found" on completion as the end, not a failure', async () => {
    const world = makeWorld({ actionOver: true, instance: undefined });
    const { handler, telemetry } = setup(world);
    const result = await handler(fixture('lifecycle-terminating.json'), contextFor(world.clock));
    expect(result.records[0]).toMatchObject({ outcome: 'ended', reason: 'action-over' });
    expect(autoScalingMock).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
    expect(telemetry.metricTotal('LifecycleEnded', { reason: 'action-over' })).toBe(1);
    expect(telemetry.metricTotal('LifecycleFailed')).toBe(0);
  });

  it('ends the loop when a heartbeat finds the action gone (completed elsewhere), with no requeue', async () => {
    const world = makeWorld({
      instance: { status: 'DRAINING', attributes: {} },
      hook: { HeartbeatTimeout: 30 },
      tasks: [task('web-1', 'service:web')],
    });
    autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).rejects(validationError(`No active Lifecycle Action found with instance ID ${INSTANCE_ID}`));
    const { handler } = setup(world);
    const result = await handler(fixture('lifecycle-terminating.json'), contextFor(world.clock));
    expect(result.records[0]).toMatchObject({ outcome: 'ended', reason: 'action-over' });
    expect(world.clock.now()).toBe(T0 + 15 * S);
    expect(autoScalingMock).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(snsMock.calls()).toHaveLength(0);
  });

  it('does not requeue when the instance left Terminating:Wait meanwhile', async () => {
    const world = makeWorld({ instance: { status: 'DRAINING', attributes: {} }, tasks: [task('web-1', 'service:web')], groupState: 'Terminating:Proceed' });
    const { handler } = setup(world);
    const result = await handler(fixture('lifecycle-terminating.json'), contextFor(world.clock, 5 * S + INVOCATION_SAFETY_MARGIN_MS));
    expect(result.records[0]).toMatchObject({ outcome: 'ended', reason: 'action-over' });
    expect(autoScalingMock).toHaveReceivedCommandTimes(DescribeAutoScalingInstancesCommand, 1);
    expect(snsMock.calls()).toHaveLength(0);
    expect(world.completed).toBeUndefined();
  });

  it('duplicate deliveries: the chain whose lease was overwritten ends within one poll', async () => {
    const world = makeWorld({ instance: { status: 'DRAINING', attributes: {} }, tasks: [task('web-1', 'service:web')] });
    const { handler: first } = setup(world);
    const { handler: second, telemetry } = setup(world);
    // Two concurrent deliveries of the same notification. Each takes the lease before waiting;
    // the later writer keeps it.
    const event = fixture('lifecycle-terminating.json');
    const results = await Promise.all([first(event, contextFor(world.clock, 60 * S)), second(event, contextFor(world.clock, 60 * S))]);
    const outcomes = results.map((result) => `${result.records[0]?.outcome}:${result.records[0]?.reason}`).sort();
    expect(outcomes).toEqual(['ended:superseded', 'requeued:invocation-ending']);
    expect(world.published).toHaveLength(1);
    expect(telemetry.metricTotal('LifecycleEnded') + telemetry.metricTotal('LifecycleRequeued')).toBe(1);
  });

  it('a second chain finds the action over once the first completed it', async () => {
    const world = makeWorld({ instance: { status: 'DRAINING', attributes: {} }, tasks: [task('web-1', 'service:web', 'RUNNING', 'RUNNING', T0 + 5 * S)] });
    const { handler } = setup(world);
    const event = fixture('lifecycle-terminating.json');
    const a = await handler(event, contextFor(world.clock));
    const b = await handler(event, contextFor(world.clock));
    expect(a.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained' });
    expect(b.records[0]).toMatchObject({ outcome: 'ended', reason: 'action-over' });
    expect(autoScalingMock).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 2);
  });
});

describe('lifecycle hook handler: later rounds and the lease', () => {
  const requeued = (overrides: Record<string, unknown> = {}) => ({
    ...JSON.parse(fixture('lifecycle-requeue.json').Records[0]!.Sns.Message),
    cluster: CLUSTER,
    containerInstanceArn: CI_ARN,
    firstSeenAt: new Date(T0).toISOString(),
    lastHeartbeatAt: new Date(T0).toISOString(),
    ...overrides,
  });

  it('a requeued round whose container instance is gone (MISSING) completes CONTINUE in 2 calls', async () => {
    const world = makeWorld({ instance: undefined });
    const { handler } = setup(world);
    const result = await handler(snsEvent(requeued()), contextFor(world.clock));
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'instance-gone', result: 'CONTINUE' });
    expect(commandNames(ecsMock)).toEqual(['DescribeContainerInstancesCommand']);
    expect(ecsMock).toHaveReceivedCommandWith(DescribeContainerInstancesCommand, { cluster: CLUSTER, containerInstances: [CI_ARN] });
    expect(commandNames(autoScalingMock)).toEqual(['CompleteLifecycleActionCommand']);
  });

  it('carries the last heartbeat into the requeue message', async () => {
    const world = makeWorld({ instance: { status: 'DRAINING', attributes: {} }, hook: { HeartbeatTimeout: 60 }, tasks: [task('web-1', 'service:web')] });
    const { handler } = setup(world);
    const result = await handler(fixture('lifecycle-terminating.json'), contextFor(world.clock, 65 * S + INVOCATION_SAFETY_MARGIN_MS));
    expect(result.records[0]).toMatchObject({ outcome: 'requeued' });
    expect(world.heartbeats).toEqual([T0 + 30 * S, T0 + 60 * S]);
    const message = JSON.parse(world.published[0]!.Message!);
    expect(message).toMatchObject({ attempt: 1, heartbeatTimeoutSeconds: 60, lastHeartbeatAt: new Date(T0 + 60 * S).toISOString() });
  });

  it('a requeued round heartbeats at once when the carried heartbeat is due', async () => {
    const world = makeWorld({ instance: { status: 'DRAINING', attributes: {} }, tasks: [task('web-1', 'service:web', 'RUNNING', 'RUNNING', T0 + 400 * S)] });
    world.clock.time = T0 + 350 * S;
    const { handler } = setup(world);
    const result = await handler(snsEvent(requeued({ heartbeatTimeoutSeconds: 600 })), contextFor(world.clock));
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained' });
    expect(world.heartbeats).toEqual([T0 + 350 * S]);
  });

  it('drains on without a lease when the instance cannot take another attribute', async () => {
    const world = makeWorld({ instance: { status: 'DRAINING', attributes: {} }, tasks: [task('web-1', 'service:web', 'RUNNING', 'RUNNING', T0 + 15 * S)] });
    ecsMock
      .on(PutAttributesCommand)
      .rejects(new ECSServiceException({ name: 'AttributeLimitExceededException', $fault: 'client', message: 'limit', $metadata: { httpStatusCode: 400 } }));
    const { handler, telemetry } = setup(world);
    const result = await handler(fixture('lifecycle-terminating.json'), contextFor(world.clock));
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained' });
    expect(ecsMock).toHaveReceivedCommandTimes(PutAttributesCommand, 1);
    expect(telemetry.metricTotal('LeaseUnavailable', { cluster: CLUSTER })).toBe(1);
    expect(telemetry.messages('WARN')).toContain('lifecycle lease unavailable');
  });

  it("a chain whose lease another round overwrote ends at its next poll without requeueing", async () => {
    const world = makeWorld({ instance: { status: 'DRAINING', attributes: {} }, tasks: [task('web-1', 'service:web')] });
    const { handler, telemetry } = setup(world);
    // Another round writes its own lease while this one sleeps.
    const sleep = world.clock.sleep.bind(world.clock);
    world.clock.sleep = async (ms: number) => {
      world.instance!.attributes[LEASE_ATTRIBUTE] = 'another-round';
      await sleep(ms);
    };
    const result = await handler(fixture('lifecycle-terminating.json'), contextFor(world.clock));
    expect(result.records[0]).toMatchObject({ outcome: 'ended', reason: 'superseded', polls: 2 });
    expect(world.clock.now()).toBe(T0 + 10 * S);
    expect(snsMock.calls()).toHaveLength(0);
    expect(autoScalingMock).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(telemetry.metricTotal('LifecycleEnded', { reason: 'superseded' })).toBe(1);
  });
});

describe('lifecycle hook handler: dry run', () => {
  it('reads and reports, writes nothing', async () => {
    const world = makeWorld({ tasks: [task('web-1', 'service:web'), task('agent-1', 'service:agent')], daemonServices: ['agent'] });
    const { handler, telemetry } = setup(world, { DRY_RUN: 'true' });
    const result = await handler(fixture('lifecycle-terminating.json'), contextFor(world.clock));

    expect(result.records[0]).toMatchObject({ outcome: 'dry-run', reason: 'instance-active', wouldDo: 'drain' });
    const writes = ['UpdateContainerInstancesStateCommand', 'PutAttributesCommand', 'StopTaskCommand'];
    expect(commandNames(ecsMock).filter((name) => writes.includes(name))).toEqual([]);
    expect(autoScalingMock).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(autoScalingMock).not.toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);
    expect(snsMock.calls()).toHaveLength(0);
    expect(world.clock.sleeps).toEqual([]);
    expect(decisionLines(telemetry)[0]?.fields).toMatchObject({ dryRun: true, tasks: { counted: 1, daemon: 1 } });
  });

  it('reports the completion it would make for an instance that is not a container instance', async () => {
    const world = makeWorld({ instance: undefined });
    const { handler } = setup(world, { DRY_RUN: 'true' });
    const result = await handler(fixture('lifecycle-terminating.json'), contextFor(world.clock));
    expect(result.records[0]).toMatchObject({ outcome: 'dry-run', wouldDo: 'complete CONTINUE (not-a-container-instance)' });
    expect(autoScalingMock.calls()).toHaveLength(0);
  });
});

describe('lifecycle hook handler: faults', () => {
  it('rides out a throttled poll and completes', async () => {
    const world = makeWorld({ instance: { status: 'DRAINING', attributes: {} }, tasks: [task('web-1', 'service:web', 'RUNNING', 'RUNNING', T0 + 25 * S)] });
    const { handler, telemetry } = setup(world);
    ecsMock.on(DescribeTasksCommand).rejectsOnce(throttling('ThrottlingException')).callsFake((input: { tasks: string[] }) => ({
      tasks: input.tasks.map((taskArn) => ({
        taskArn,
        group: 'service:web',
        lastStatus: world.clock.now() >= T0 + 25 * S ? 'STOPPED' : 'RUNNING',
        desiredStatus: world.clock.now() >= T0 + 25 * S ? 'STOPPED' : 'RUNNING',
      })),
    }));
    const result = await handler(fixture('lifecycle-terminating.json'), contextFor(world.clock));
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained' });
    expect(telemetry.metricTotal('PollFailed', { errorClass: 'retryable' })).toBe(1);
  });

  it('rides out a throttled lookup while Auto Scaling answers: growing jittered pauses, then Lambda retries when the invocation ends', async () => {
    const world = makeWorld();
    ecsMock.on(ListContainerInstancesCommand).rejects(throttling('ThrottlingException'));
    const { handler, telemetry } = setup(world);
    await expect(handler(fixture('lifecycle-terminating.json'), contextFor(world.clock))).rejects.toBeInstanceOf(RetryableError);
    const lookups = ecsMock.commandCalls(ListContainerInstancesCommand).length;
    // Not given up after MAX_CONSECUTIVE_POLL_FAILURES: ECS alone failing is ridden out.
    expect(lookups).toBeGreaterThan(MAX_CONSECUTIVE_POLL_FAILURES);
    const pauses = world.clock.sleeps;
    expect(pauses).toHaveLength(lookups - 1);
    // Doubling per failure (up to 4 intervals) with ±50 % jitter: 5–15 s, 10–30 s, 20–60 s, then 20–60 s.
    expect(pauses[0]).toBeGreaterThanOrEqual(5_000);
    expect(pauses[0]).toBeLessThanOrEqual(15_000);
    expect(pauses[2]).toBeGreaterThanOrEqual(20_000);
    expect(Math.max(...pauses)).toBeLessThanOrEqual(60_000);
    expect(new Set(pauses).size).toBeGreaterThan(1);
    expect(autoScalingMock).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(telemetry.metricTotal('LifecycleFailed', { errorClass: 'retryable' })).toBe(1);
    // Before handing over, the hook's heartbeat window is restarted so Lambda's retry finds it alive.
    expect(autoScalingMock).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
    expect(autoScalingMock).toHaveReceivedCommandWith(RecordLifecycleActionHeartbeatCommand, {
      AutoScalingGroupName: 'ecs-cluster-asg',
      LifecycleHookName: 'ecs-drain-hook',
      LifecycleActionToken: '465e0162-e6af-4786-b4e8-bb544ae58790',
    });
  });

  it(`gives up after ${MAX_CONSECUTIVE_POLL_FAILURES} failed polls in a row when Auto Scaling fails too`, async () => {
    const world = makeWorld();
    autoScalingMock.on(DescribeLifecycleHooksCommand).rejects(throttling('Throttling'));
    const { handler } = setup(world);
    await expect(handler(fixture('lifecycle-terminating.json'), contextFor(world.clock))).rejects.toBeInstanceOf(RetryableError);
    expect(autoScalingMock).toHaveReceivedCommandTimes(DescribeLifecycleHooksCommand, MAX_CONSECUTIVE_POLL_FAILURES);
  });

  it('still throws the original fault when the last-chance heartbeat fails too', async () => {
    const world = makeWorld();
    ecsMock.on(ListContainerInstancesCommand).rejects(throttling('ThrottlingException'));
    autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).rejects(throttling('Throttling'));
    const { handler, telemetry } = setup(world);
    const thrown = await handler(fixture('lifecycle-terminating.json'), contextFor(world.clock)).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(thrown).toBeInstanceOf(RetryableError);
    // The record's own error, not the heartbeat's, is what the invocation reports.
    expect(((thrown as Error).cause as Error).message).toMatch(/failed: ThrottlingException$/);
    expect(telemetry.messages('WARN')).toContain('lifecycle heartbeat after a failed poll failed');
  });

  it('keeps heartbeating while ECS polls fail, then requeues the chain instead of giving it up', async () => {
    const world = makeWorld();
    ecsMock.on(DescribeContainerInstancesCommand).rejects(throttling('ThrottlingException'));
    const { handler } = setup(world, { DRAIN_TIMEOUT_SECONDS: '7200' });
    const message = JSON.parse(fixture('lifecycle-requeue.json').Records[0]!.Sns.Message);
    // Past half of the 600 s heartbeat timeout since the last heartbeat: one is due.
    world.clock.time = Date.parse(message.lastHeartbeatAt) + 400 * S;
    const result = await handler(snsEvent(message), contextFor(world.clock));
    expect(result.records[0]).toMatchObject({ outcome: 'requeued', reason: 'invocation-ending' });
    const failedPolls = ecsMock.commandCalls(DescribeContainerInstancesCommand).length;
    expect(failedPolls).toBeGreaterThan(MAX_CONSECUTIVE_POLL_FAILURES);
    // Heartbeats at most half the heartbeat timeout apart, not one per failed poll.
    expect(world.heartbeats.length).toBeGreaterThanOrEqual(2);
    expect(world.heartbeats.length).toBeLessThan(failedPolls);
    const gaps = world.heartbeats.slice(1).map((at, index) => at - world.heartbeats[index]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(300 * S);
    expect(autoScalingMock).toHaveReceivedCommand(DescribeAutoScalingInstancesCommand);
    const requeued = JSON.parse(world.published[0]!.Message!);
    expect(requeued).toMatchObject({ attempt: message.attempt + 1, lastHeartbeatAt: new Date(world.heartbeats.at(-1)!).toISOString() });
  });

  it('sends no heartbeat before giving up in a dry run', async () => {
    const world = makeWorld();
    ecsMock.on(ListContainerInstancesCommand).rejects(throttling('ThrottlingException'));
    const { handler } = setup(world, { DRY_RUN: 'true' });
    await expect(handler(fixture('lifecycle-terminating.json'), contextFor(world.clock))).rejects.toBeInstanceOf(RetryableError);
    expect(autoScalingMock).not.toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);
  });

  it('throws when Auto Scaling throttles the completion (name "Throttling")', async () => {
    const world = makeWorld({ instance: undefined });
    autoScalingMock.on(CompleteLifecycleActionCommand).rejects(throttling('Throttling'));
    const { handler } = setup(world);
    await expect(handler(fixture('lifecycle-terminating.json'), contextFor(world.clock, 35 * S))).rejects.toThrow(
      /lifecycle records failed: RetryableError/,
    );
    expect(autoScalingMock).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
  });

  it('past the deadline, completes even while ECS cannot be read', async () => {
    const world = makeWorld();
    ecsMock.on(DescribeContainerInstancesCommand).rejects(throttling('ThrottlingException'));
    const { handler } = setup(world, { DEADLINE_RESULT: 'ABANDON' });
    const message = JSON.parse(fixture('lifecycle-requeue.json').Records[0]!.Sns.Message);
    world.clock.time = Date.parse(message.firstSeenAt) + 901 * S;
    const result = await handler(snsEvent(message), contextFor(world.clock));
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'deadline', result: 'ABANDON' });
    expect(world.completed).toBe('ABANDON');
  });

  it('an access error is not retried inside the invocation', async () => {
    const world = makeWorld();
    ecsMock
      .on(ListContainerInstancesCommand)
      .rejects(new ECSServiceException({ name: 'AccessDeniedException', $fault: 'client', message: 'not authorized', $metadata: { httpStatusCode: 400 } }));
    const { handler, telemetry } = setup(world);
    await expect(handler(fixture('lifecycle-terminating.json'), contextFor(world.clock))).rejects.toBeInstanceOf(RetryableError);
    expect(ecsMock).toHaveReceivedCommandTimes(ListContainerInstancesCommand, 1);
    expect(telemetry.metricTotal('LifecycleFailed', { errorClass: 'fatal' })).toBe(1);
  });
});

describe('lifecycle hook handler: several records', () => {
  it('processes every record independently', async () => {
    const world = makeWorld({ instance: undefined });
    const { handler, telemetry } = setup(world);
    const test = JSON.parse(fixture('lifecycle-test-notification.json').Records[0]!.Sns.Message);
    const event = snsEvent(test, 'not json', terminatingMessage());
    const result = await handler(event, contextFor(world.clock));
    expect(result.records.map((record) => `${record.outcome}:${record.reason}`)).toEqual([
      'ignored:test-notification',
      'invalid:message-not-json',
      'completed:not-a-container-instance',
    ]);
    expect(autoScalingMock).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
    expect(telemetry.metricTotal('InvalidEvent')).toBe(1);
  });

  it('a fault in one record throws only after the other records were handled', async () => {
    const world = makeWorld({ instance: undefined });
    const other = { ...terminatingMessage(), EC2InstanceId: 'i-0aaaaaaaaaaaaaaaa', LifecycleActionToken: 'aaaaaaaa-0000-4000-8000-000000000000' };
    ecsMock.on(ListContainerInstancesCommand, { filter: 'ec2InstanceId == i-0aaaaaaaaaaaaaaaa' }).rejects(
      new ECSServiceException({ name: 'ServerException', $fault: 'server', message: 'internal', $metadata: { httpStatusCode: 500 } }),
    );
    const { handler } = setup(world);
    await expect(handler(snsEvent(other, terminatingMessage()), contextFor(world.clock, 35 * S))).rejects.toThrow(
      /1 of 2 lifecycle records failed/,
    );
    expect(autoScalingMock).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
    expect(autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, { ...action, LifecycleActionResult: 'CONTINUE' });
  });
});
