import type { InvocationContext } from '../../../lib/clock';
import { loadLifecycleConfig } from '../../../lib/lifecycle/config';
import { makeLifecycleHookHandler } from '../../../lib/lifecycle/handler';
import { MemoryTelemetry } from '../../../lib/telemetry';
import { VirtualClock } from '../../../simulator/clock';
import { InProcessAws } from '../../../simulator/inprocess';
import type { SnsRecord } from '../../../simulator/world/model';
import { World } from '../../../simulator/world/world';

/**
 * The lifecycle drainer against the simulator's world, answered in process: the notification is
 * the one the world's Auto Scaling publishes for a scale-in, and every answer (tokens, hook
 * timeouts, task states over virtual time) is the world's. lifecycle-hook.test.ts covers the rest
 * of the handler on the same world (world.ts).
 */
function scaleIn() {
  const clock = new VirtualClock();
  const world = new World(clock, { seed: 3 });
  world.createCluster({ name: 'prod' });
  const topic = world.createTopic('lifecycle');
  const notifications: SnsRecord[] = [];
  world.subscribe(topic.arn, (record) => notifications.push(record));
  world.createGroup({ name: 'asg', cluster: 'prod', minSize: 0, maxSize: 3, desiredCapacity: 2, instanceCpu: 2048, instanceMemory: 4096 });
  world.createService({ cluster: 'prod', name: 'web', desiredCount: 2, cpu: 256, memory: 512, stopSeconds: 20 });
  world.placeInitialTasks();
  world.putLifecycleHook({ groupName: 'asg', name: 'drain', heartbeatTimeout: 600, defaultResult: 'ABANDON', topicArn: topic.arn });
  const aws = new InProcessAws(world);
  const { ecs, autoScaling, sns, ec2 } = aws.clients();
  const telemetry = new MemoryTelemetry();
  let ids = 0;
  const handler = makeLifecycleHookHandler({
    config: loadLifecycleConfig({ CLUSTERS: 'prod' }),
    clients: { ecs, autoScaling, sns, ec2 },
    telemetry,
    clock,
    newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
  });
  const context = (remainingMs = 900_000): InvocationContext => {
    const endsAt = clock.now() + remainingMs;
    return { getRemainingTimeInMillis: () => endsAt - clock.now(), awsRequestId: 'request-1' };
  };
  /** Runs one invocation as an activity of the virtual clock, so its sleeps let world time pass. */
  const invoke = (records: SnsRecord[]) => clock.runWhile(clock.track(() => handler({ Records: records }, context())).done);
  return { clock, world, aws, telemetry, notifications, invoke };
}

describe('lifecycle hook handler against the world', () => {
  it('drains the instance a scale-in terminates and completes its action once ECS has moved the tasks', async () => {
    const { clock, world, aws, notifications, invoke } = scaleIn();
    world.setDesiredCapacity('asg', 1);
    await clock.advance(2_000);
    const terminating = notifications.filter((record) => record.Sns.Message.includes('autoscaling:EC2_INSTANCE_TERMINATING'));
    expect(terminating).toHaveLength(1);
    const [action] = [...world.lifecycleActions.values()];
    const victim = world.containerInstanceOf(action!.instanceId)!;

    const result = await invoke(terminating);

    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained', result: 'CONTINUE', ec2InstanceId: action!.instanceId });
    expect(action).toMatchObject({ state: 'completed', result: 'CONTINUE', unstoppedTasksAtEnd: 0 });
    expect(aws.inputs('autoscaling:CompleteLifecycleAction')).toEqual([
      { AutoScalingGroupName: 'asg', LifecycleHookName: 'drain', LifecycleActionToken: action!.token, LifecycleActionResult: 'CONTINUE' },
    ]);
    expect(world.drains.map((drain) => drain.ec2InstanceId)).toEqual([victim.ec2InstanceId]);
    // The service kept its two tasks, now on the other instance, and nothing was killed.
    await clock.advance(60_000);
    const web = [...world.clusters.get('prod')!.tasks.values()].filter((task) => task.serviceName === 'web' && task.lastStatus === 'RUNNING');
    expect(web).toHaveLength(2);
    expect(web.every((task) => task.ec2InstanceId !== victim.ec2InstanceId)).toBe(true);
    expect(world.killedTasks).toEqual([]);
  });

  it('a throttled poll is ridden out: the drain still completes, with the failed call on record', async () => {
    const { clock, world, aws, telemetry, notifications, invoke } = scaleIn();
    aws.fail({ operation: 'ecs:DescribeTasks', error: 'throttling', times: 1 });
    world.setDesiredCapacity('asg', 1);
    await clock.advance(2_000);
    const terminating = notifications.filter((record) => record.Sns.Message.includes('autoscaling:EC2_INSTANCE_TERMINATING'));

    const result = await invoke(terminating);

    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained', result: 'CONTINUE' });
    expect(aws.calls('ecs:DescribeTasks').map((call) => call.outcome)).toContain('ThrottlingException');
    expect(telemetry.metricTotal('PollFailed', { errorClass: 'retryable' })).toBe(1);
    expect([...world.lifecycleActions.values()][0]).toMatchObject({ state: 'completed', result: 'CONTINUE' });
  });
});
