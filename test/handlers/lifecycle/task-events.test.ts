import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InvocationContext } from '../../../lib/clock';
import { loadLifecycleConfig } from '../../../lib/lifecycle/config';
import { eventReadSpacingMs } from '../../../lib/lifecycle/decide';
import { makeLifecycleHookHandler } from '../../../lib/lifecycle/handler';
import { LEASE_ATTRIBUTE, isCompletionMarker } from '../../../lib/lifecycle/lease';
import { MemoryTelemetry } from '../../../lib/telemetry';
import { VirtualClock } from '../../../simulator/clock';
import { InProcessAws } from '../../../simulator/inprocess';
import { SqsEventSourceMapping } from '../../../simulator/runner/sqs-mapping';
import type { BusEvent, SnsRecord } from '../../../simulator/world/model';
import { World } from '../../../simulator/world/world';

/**
 * The event path against the world: ECS task STOPPED events, emitted by the world's ECS, reach the
 * same handler as the lifecycle notifications, through the task-event queue and its event source
 * mapping as serverless.yml deploys them (batches gathered for 1 s, two at once), or one by one as
 * EventBridge delivers a single event directly. Every answer is the world's.
 */
function scaleIn(env: Record<string, string> = {}, instances = 2) {
  const clock = new VirtualClock();
  const world = new World(clock, { seed: 5 });
  world.createCluster({ name: 'prod' });
  const topic = world.createTopic('lifecycle');
  const notifications: SnsRecord[] = [];
  world.subscribe(topic.arn, (record) => notifications.push(record));
  world.createGroup({ name: 'asg', cluster: 'prod', minSize: 0, maxSize: instances + 1, desiredCapacity: instances, instanceCpu: 2048, instanceMemory: 4096 });
  world.createService({ cluster: 'prod', name: 'web', desiredCount: 2 * instances, cpu: 256, memory: 512, minimumHealthyPercent: 50, maximumPercent: 200, stopSeconds: 240 });
  world.placeInitialTasks();
  world.putLifecycleHook({ groupName: 'asg', name: 'drain', heartbeatTimeout: 600, defaultResult: 'ABANDON', topicArn: topic.arn });
  const stopped: BusEvent[] = [];
  world.onBusEvent((event) => {
    if (event.source === 'aws.ecs' && event.detail.lastStatus === 'STOPPED') stopped.push(event);
  });
  const aws = new InProcessAws(world);
  const telemetry = new MemoryTelemetry();
  let ids = 0;
  const handler = makeLifecycleHookHandler({
    config: loadLifecycleConfig({ CLUSTERS: 'prod', ...env }),
    clients: aws.clients(),
    telemetry,
    clock,
    newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
  });
  const context = (remainingMs = 900_000): InvocationContext => {
    const endsAt = clock.now() + remainingMs;
    return { getRemainingTimeInMillis: () => endsAt - clock.now(), awsRequestId: 'request-1' };
  };
  const start = (event: unknown) => clock.track(() => handler(event, context())).done;
  /** The task rule's target: the queue, read by the mapping (simulator/runner/sqs-mapping.ts). */
  const batches: { size: number; result: unknown }[] = [];
  const pending: Promise<unknown>[] = [];
  const queue = new SqsEventSourceMapping(clock, { batchSize: 1000, batchWindowMs: 1000, maximumConcurrency: 2, visibilityTimeoutMs: 900_000, maxReceiveCount: 3 }, (event, done) => {
    const run = start(event).then(
      (result) => {
        batches.push({ size: event.Records.length, result });
        done({ outcome: 'ok', result });
      },
      () => done({ outcome: 'error' }),
    );
    pending.push(run);
  });
  /** EventBridge puts every STOPPED event in the queue half a second later. */
  const routeToQueue = () =>
    world.onBusEvent((event) => {
      if (event.source !== 'aws.ecs' || event.detail.lastStatus !== 'STOPPED') return;
      clock.schedule(clock.now() + 500, () => queue.send(JSON.stringify(event)));
    });
  return { clock, world, aws, telemetry, notifications, stopped, handler, context, start, queue, batches, pending, routeToQueue };
}

const sqsBatch = (...events: unknown[]) => ({
  Records: events.map((event, index) => ({
    messageId: `m-${index + 1}`,
    receiptHandle: `r-${index + 1}`,
    body: typeof event === 'string' ? event : JSON.stringify(event),
    attributes: { ApproximateReceiveCount: '1' },
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:lifecycle-task-events',
    awsRegion: 'us-east-1',
  })),
});

describe('lifecycle drainer: ECS task STOPPED events', () => {
  it('completes the drain seconds after its last task STOPPED, long before the next poll; the polling round then ends on the mark, with no second completion', async () => {
    const { clock, world, aws, telemetry, notifications, stopped, start, batches, pending, routeToQueue } = scaleIn({ POLL_INTERVAL_SECONDS: '300', DRAIN_TIMEOUT_SECONDS: '3600' });
    world.setDesiredCapacity('asg', 1);
    await clock.advance(2_000);
    const terminating = notifications.filter((record) => record.Sns.Message.includes('autoscaling:EC2_INSTANCE_TERMINATING'));
    const [action] = [...world.lifecycleActions.values()];
    const round = start({ Records: terminating });
    routeToQueue();
    const result = await clock.runWhile(round);
    await clock.runWhile(Promise.all(pending));

    expect(action).toMatchObject({ state: 'completed', result: 'CONTINUE', unstoppedTasksAtEnd: 0 });
    const victimArn = world.containerInstanceOf(action!.instanceId)!.arn;
    const lastStop = Math.max(...stopped.filter((event) => event.detail.containerInstanceArn === victimArn).map((event) => Date.parse(String(event.detail.stoppedAt))));
    // EventBridge (0.5 s), the batching window (1 s), then one DescribeContainerInstances and the full
    // task read (both ListTasks, DescribeTasks of tasks not yet seen STOPPED), spaced as the event path
    // reads (decide.ts eventReadSpacingMs).
    const spacing = eventReadSpacingMs({ readBudgetPerSecond: 10 });
    expect(action!.endedAt! - lastStop).toBeGreaterThanOrEqual(500 + 1000 + 2 * spacing);
    expect(action!.endedAt! - lastStop).toBeLessThanOrEqual(500 + 1000 + 3 * spacing);
    expect(telemetry.metricTotal('LifecycleCompleted', { reason: 'drained-on-event' })).toBe(1);
    // Every batch was acknowledged whole: a task event never asks for a redelivery.
    expect(batches.length).toBeGreaterThan(0);
    for (const batch of batches) expect(batch.result).toMatchObject({ batchItemFailures: [] });
    // The instance was marked before the completion; the polling round read the mark at its next
    // poll and ended without a task read or a completion of its own.
    expect(isCompletionMarker(world.containerInstanceOf(action!.instanceId)!.attributes.get(LEASE_ATTRIBUTE) ?? '')).toBe(true);
    expect(result.records[0]).toMatchObject({ outcome: 'ended', reason: 'action-over' });
    expect(aws.calls('autoscaling:CompleteLifecycleAction').map((call) => call.outcome)).toEqual(['ok']);
  });

  it('a batch describes its instances together: one DescribeContainerInstances for events of several instances, no write', async () => {
    const { clock, world, aws, telemetry, handler, context } = scaleIn({}, 3);
    const instances = [...world.clusters.get('prod')!.instances.values()];
    const tasks = instances.map((instance) => world.tasksOn(instance)[0]!);
    for (const task of tasks) world.rules.ecs.stopTask(task, 'test');
    const events: BusEvent[] = [];
    world.onBusEvent((event) => events.push(event));
    await clock.advance(300_000);
    const stoppedEvents = tasks.map((task) => events.find((candidate) => candidate.detail.taskArn === task.arn && candidate.detail.lastStatus === 'STOPPED')!);

    const result = await handler(sqsBatch(...stoppedEvents, stoppedEvents[0]), context());
    expect(result.batchItemFailures).toEqual([]);
    expect(result.records.map((record) => `${record.outcome}:${record.reason}`)).toEqual([
      'ignored:not-draining',
      'ignored:not-draining',
      'ignored:not-draining',
      'ignored:duplicate-or-older',
    ]);
    expect(aws.operations()).toEqual(['DescribeContainerInstances']);
    expect(aws.inputs('ecs:DescribeContainerInstances')).toEqual([expect.objectContaining({ containerInstances: instances.map((instance) => instance.arn) })]);
    expect(telemetry.metricTotal('TaskEvent', { outcome: 'ignored', reason: 'not-draining' })).toBe(3);
  });

  it('an instance draining under our drain with tasks of desired status RUNNING left costs the shared describe and no task read', async () => {
    const { clock, world, aws, handler, context, notifications, start } = scaleIn({ POLL_INTERVAL_SECONDS: '300', DRAIN_TIMEOUT_SECONDS: '3600' });
    world.setDesiredCapacity('asg', 1);
    await clock.advance(2_000);
    const [action] = [...world.lifecycleActions.values()];
    const victim = world.containerInstanceOf(action!.instanceId)!;
    // The drain takes its lease (DRAINING); a standalone task on the victim keeps desired status RUNNING.
    const standalone = world.runTask({ cluster: 'prod', ec2InstanceId: action!.instanceId, family: 'batch', cpu: 64, memory: 64 });
    void start({ Records: notifications.filter((record) => record.Sns.Message.includes('autoscaling:EC2_INSTANCE_TERMINATING')) });
    await clock.advance(1_000);
    expect(victim.status).toBe('DRAINING');
    expect(victim.attributes.get(LEASE_ATTRIBUTE)).toBeDefined();
    const events: BusEvent[] = [];
    world.onBusEvent((event) => events.push(event));
    await clock.advance(250_000);
    const serviceStopped = events.find((event) => event.detail.containerInstanceArn === victim.arn && event.detail.lastStatus === 'STOPPED')!;
    expect(standalone.desiredStatus).toBe('RUNNING');

    aws.reset();
    const result = await clock.runWhile(clock.track(() => handler(sqsBatch(serviceStopped), context())).done);
    expect(result.records[0]).toMatchObject({ outcome: 'ignored', reason: 'tasks-remaining' });
    expect(aws.operations()).toEqual(['DescribeContainerInstances']);
  });

  it('a direct EventBridge event is a batch of one; a duplicate or older version costs nothing', async () => {
    const { clock, world, aws, telemetry, handler, context } = scaleIn();
    const instance = [...world.clusters.get('prod')!.instances.values()][0]!;
    const task = world.tasksOn(instance)[0]!;
    world.rules.ecs.stopTask(task, 'test');
    const events: BusEvent[] = [];
    world.onBusEvent((event) => events.push(event));
    await clock.advance(300_000);
    const event = events.find((candidate) => candidate.detail.taskArn === task.arn && candidate.detail.lastStatus === 'STOPPED')!;
    expect(event).toBeDefined();

    const first = await handler(event, context());
    expect(first.records[0]).toMatchObject({ outcome: 'ignored', reason: 'not-draining', kind: 'task-stopped' });
    expect(first.batchItemFailures).toBeUndefined();
    expect(aws.calls().map((call) => `${call.service}:${call.operation}`)).toEqual(['ecs:DescribeContainerInstances']);

    const again = await handler(event, context());
    expect(again.records[0]).toMatchObject({ outcome: 'ignored', reason: 'duplicate-or-older' });
    const older = await handler({ ...event, id: 'another-id', detail: { ...event.detail, version: (event.detail.version as number) - 1 } }, context());
    expect(older.records[0]).toMatchObject({ outcome: 'ignored', reason: 'duplicate-or-older' });
    expect(aws.calls()).toHaveLength(1);
    expect(telemetry.metricTotal('TaskEvent', { outcome: 'ignored', reason: 'duplicate-or-older' })).toBe(2);
  });

  it('an ECS fault is logged and the batch acknowledged: the polling round covers it, a redelivery would only add load', async () => {
    const { clock, world, aws, telemetry, handler, context } = scaleIn();
    const instance = [...world.clusters.get('prod')!.instances.values()][0]!;
    const task = world.tasksOn(instance)[0]!;
    world.rules.ecs.stopTask(task, 'test');
    const events: BusEvent[] = [];
    world.onBusEvent((event) => events.push(event));
    await clock.advance(300_000);
    const event = events.find((candidate) => candidate.detail.taskArn === task.arn && candidate.detail.lastStatus === 'STOPPED')!;
    aws.fail({ operation: 'ecs:DescribeContainerInstances', error: 'throttling' });

    const result = await clock.runWhile(clock.track(() => handler(sqsBatch(event), context())).done);
    expect(result.batchItemFailures).toEqual([]);
    expect(result.records[0]).toMatchObject({ outcome: 'failed', reason: 'ThrottlingException' });
    expect(telemetry.messages('WARN')).toContain('task event check failed; the polling round covers it');
    expect(aws.operations().every((operation) => operation === 'DescribeContainerInstances')).toBe(true);
  });

  it('malformed input: one log line and InvalidEvent each, acknowledged, no call', async () => {
    const { aws, telemetry, handler, context } = scaleIn();
    const malformedDetail = { version: '0', id: 'x', 'detail-type': 'ECS Task State Change', source: 'aws.ecs', account: '123456789012', time: '2026-03-04T10:00:00Z', region: 'us-east-1', detail: { lastStatus: 'STOPPED' } };
    const direct = await handler(malformedDetail, context());
    expect(direct.records).toEqual([{ outcome: 'invalid', reason: 'malformed-detail' }]);

    const batch = { Records: [...sqsBatch(malformedDetail, 'not json', { source: 'aws.ec2', 'detail-type': 'x' }).Records, { eventSource: 'aws:sqs', body: '{}' }] };
    const result = await handler(batch, context());
    expect(result.batchItemFailures).toEqual([]);
    expect(result.records.map((record) => record.reason).sort()).toEqual(['body-not-json', 'malformed-detail', 'malformed-sqs-record', 'not-an-ecs-task-event']);
    expect(telemetry.metricTotal('InvalidEvent', { function: 'lifecycleHook' })).toBe(5);
    expect(telemetry.messages('ERROR')).toEqual(Array<string>(5).fill('invalid event'));
    expect(aws.calls()).toHaveLength(0);
  });
});

describe('lifecycle drainer: the invoke-local fixture of a task-event batch', () => {
  it('events/ecs-task-stopped-sqs-batch.json: two events of one instance checked once, the repeated delivery dropped', async () => {
    const fixture = JSON.parse(readFileSync(join(__dirname, '../../../events/ecs-task-stopped-sqs-batch.json'), 'utf8')) as { Records: { messageId: string }[] };
    const clock = new VirtualClock();
    const world = new World(clock, { seed: 5 });
    world.createCluster({ name: 'prod-ecs' });
    const aws = new InProcessAws(world);
    const handler = makeLifecycleHookHandler({ config: loadLifecycleConfig({ CLUSTERS: 'prod-ecs' }), clients: aws.clients(), telemetry: new MemoryTelemetry(), clock });
    const result = await handler(fixture, { getRemainingTimeInMillis: () => 900_000, awsRequestId: 'local' });
    expect(result.batchItemFailures).toEqual([]);
    // The fixture's container instance is not in this world: one describe answers MISSING for both events.
    expect(result.records.map((record) => [record.messageId, `${record.outcome}:${record.reason}`])).toEqual([
      [fixture.Records[0]!.messageId, 'ignored:instance-gone'],
      [fixture.Records[1]!.messageId, 'ignored:same-instance-in-batch'],
      [fixture.Records[2]!.messageId, 'ignored:duplicate-or-older'],
    ]);
    expect(aws.operations()).toEqual(['DescribeContainerInstances']);
  });
});
