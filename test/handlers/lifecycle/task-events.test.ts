import type { InvocationContext } from '../../../lib/clock';
import { loadLifecycleConfig } from '../../../lib/lifecycle/config';
import { makeLifecycleHookHandler } from '../../../lib/lifecycle/handler';
import { MemoryTelemetry } from '../../../lib/telemetry';
import { VirtualClock } from '../../../simulator/clock';
import { InProcessAws } from '../../../simulator/inprocess';
import type { BusEvent, SnsRecord } from '../../../simulator/world/model';
import { World } from '../../../simulator/world/world';

/**
 * The event path against the world: ECS task STOPPED events, emitted by the world's ECS, reach
 * the same handler as the lifecycle notifications. Every answer is the world's.
 */
function scaleIn(env: Record<string, string> = {}) {
  const clock = new VirtualClock();
  const world = new World(clock, { seed: 5 });
  world.createCluster({ name: 'prod' });
  const topic = world.createTopic('lifecycle');
  const notifications: SnsRecord[] = [];
  world.subscribe(topic.arn, (record) => notifications.push(record));
  world.createGroup({ name: 'asg', cluster: 'prod', minSize: 0, maxSize: 3, desiredCapacity: 2, instanceCpu: 2048, instanceMemory: 4096 });
  world.createService({ cluster: 'prod', name: 'web', desiredCount: 4, cpu: 256, memory: 512, minimumHealthyPercent: 50, maximumPercent: 200, stopSeconds: 240 });
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
  return { clock, world, aws, telemetry, notifications, stopped, handler, context, start };
}

describe('lifecycle drainer: ECS task STOPPED events', () => {
  it('completes the drain within a second of its last task STOPPED, long before the next poll; the polling round then ends', async () => {
    const { clock, world, aws, telemetry, notifications, stopped, start } = scaleIn({ POLL_INTERVAL_SECONDS: '300', DRAIN_TIMEOUT_SECONDS: '3600' });
    world.setDesiredCapacity('asg', 1);
    await clock.advance(2_000);
    const terminating = notifications.filter((record) => record.Sns.Message.includes('autoscaling:EC2_INSTANCE_TERMINATING'));
    const [action] = [...world.lifecycleActions.values()];
    const round = start({ Records: terminating });
    // The rule delivers each STOPPED event half a second later, as the runner does.
    const delivered: Promise<unknown>[] = [];
    let handled = 0;
    world.onBusEvent((event) => {
      if (event.source !== 'aws.ecs' || event.detail.lastStatus !== 'STOPPED') return;
      clock.schedule(clock.now() + 500, () => {
        delivered.push(start(event));
        handled += 1;
      });
    });
    const result = await clock.runWhile(round);
    await clock.runWhile(Promise.all(delivered));

    expect(action).toMatchObject({ state: 'completed', result: 'CONTINUE', unstoppedTasksAtEnd: 0 });
    const onVictim = stopped.filter((event) => event.detail.containerInstanceArn === world.containerInstanceOf(action!.instanceId)!.arn);
    const lastStop = Math.max(...onVictim.map((event) => Date.parse(String(event.detail.stoppedAt))));
    expect(action!.endedAt! - lastStop).toBeLessThanOrEqual(1_000);
    expect(telemetry.metricTotal('LifecycleCompleted', { reason: 'drained-on-event' })).toBe(1);
    expect(handled).toBeGreaterThan(0);
    // The polling round learnt at its next poll that the action was over, and ended without a second completion.
    expect(result.records[0]).toMatchObject({ outcome: 'ended', reason: 'action-over' });
    expect(aws.calls('autoscaling:CompleteLifecycleAction').filter((call) => call.outcome === 'ok')).toHaveLength(1);
  });

  it('an event of an instance that is not draining costs one ECS read and no write; a duplicate costs nothing', async () => {
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
    expect(aws.calls().map((call) => `${call.service}:${call.operation}`)).toEqual(['ecs:DescribeContainerInstances']);

    const again = await handler(event, context());
    expect(again.records[0]).toMatchObject({ outcome: 'ignored', reason: 'duplicate-or-older' });
    const older = await handler({ ...event, id: 'another-id', detail: { ...event.detail, version: (event.detail.version as number) - 1 } }, context());
    expect(older.records[0]).toMatchObject({ outcome: 'ignored', reason: 'duplicate-or-older' });
    expect(aws.calls()).toHaveLength(1);
    expect(telemetry.metricTotal('TaskEvent', { outcome: 'ignored', reason: 'duplicate-or-older' })).toBe(2);
  });

  it('a malformed task event: one log line, InvalidEvent, acknowledged, no call', async () => {
    const { aws, telemetry, handler, context } = scaleIn();
    const result = await handler({ version: '0', id: 'x', 'detail-type': 'ECS Task State Change', source: 'aws.ecs', account: '123456789012', time: '2026-03-04T10:00:00Z', region: 'us-east-1', detail: { lastStatus: 'STOPPED' } }, context());
    expect(result.records).toEqual([{ outcome: 'invalid', reason: 'malformed-detail' }]);
    expect(telemetry.metricTotal('InvalidEvent', { function: 'lifecycleHook', reason: 'malformed-detail' })).toBe(1);
    expect(telemetry.messages('ERROR')).toEqual(['invalid event']);
    expect(aws.calls()).toHaveLength(0);
  });
});
