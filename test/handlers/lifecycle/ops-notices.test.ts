import type { InvocationContext } from '../../../lib/clock';
import { loadLifecycleConfig } from '../../../lib/lifecycle/config';
import { makeLifecycleHookHandler } from '../../../lib/lifecycle/handler';
import type { CustomNotification } from '../../../lib/notify';
import { MemoryTelemetry } from '../../../lib/telemetry';
import { VirtualClock } from '../../../simulator/clock';
import { InProcessAws } from '../../../simulator/inprocess';
import type { SnsRecord } from '../../../simulator/world/model';
import { World } from '../../../simulator/world/world';

/** The operators' topic at each OPS_NOTIFY_LEVEL, for a scale-in the world's Auto Scaling starts. */
function scaleIn(level: string) {
  const clock = new VirtualClock();
  const world = new World(clock, { seed: 5 });
  world.createCluster({ name: 'prod' });
  const topic = world.createTopic('lifecycle');
  const ops = world.createTopic('ops');
  const notifications: SnsRecord[] = [];
  const notices: SnsRecord[] = [];
  world.subscribe(topic.arn, (record) => notifications.push(record));
  world.subscribe(ops.arn, (record) => notices.push(record));
  world.createGroup({ name: 'asg', cluster: 'prod', minSize: 0, maxSize: 3, desiredCapacity: 2, instanceCpu: 2048, instanceMemory: 4096 });
  world.createService({ cluster: 'prod', name: 'web', desiredCount: 2, cpu: 256, memory: 512, stopSeconds: 20 });
  world.placeInitialTasks();
  world.putLifecycleHook({ groupName: 'asg', name: 'drain', heartbeatTimeout: 600, defaultResult: 'ABANDON', topicArn: topic.arn });
  const aws = new InProcessAws(world);
  const { ecs, autoScaling, sns, ec2 } = aws.clients();
  let ids = 0;
  const handler = makeLifecycleHookHandler({
    config: loadLifecycleConfig({ CLUSTERS: 'prod', OPS_TOPIC_ARN: ops.arn, OPS_NOTIFY_LEVEL: level }),
    clients: { ecs, autoScaling, sns, ec2 },
    telemetry: new MemoryTelemetry(),
    clock,
    newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
  });
  const context = (): InvocationContext => {
    const endsAt = clock.now() + 900_000;
    return { getRemainingTimeInMillis: () => endsAt - clock.now(), awsRequestId: 'request-1' };
  };
  const run = async () => {
    world.setDesiredCapacity('asg', 1);
    await clock.advance(2_000);
    const terminating = notifications.filter((record) => record.Sns.Message.includes('autoscaling:EC2_INSTANCE_TERMINATING'));
    const result = await clock.runWhile(clock.track(() => handler({ Records: terminating }, context())).done);
    return { result, instanceId: [...world.lifecycleActions.values()][0]!.instanceId };
  };
  return { notices, run };
}

describe('operators notices (OPS_NOTIFY_LEVEL)', () => {
  it('actions: the drain and the completion each reach the topic as a chat custom notification', async () => {
    const { notices, run } = scaleIn('actions');
    const { result, instanceId } = await run();
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained' });

    const bodies = notices.map((record) => JSON.parse(record.Sns.Message) as CustomNotification);
    expect(bodies.map((body) => body.metadata.eventType)).toEqual(['ecs-ec2-keeper.drained', 'ecs-ec2-keeper.completed']);
    for (const body of bodies) {
      expect(body).toMatchObject({ version: '1.0', source: 'custom', content: { textType: 'client-markdown' } });
      expect(body.metadata.threadId).toBe(`drain-${instanceId}`);
      expect(body.metadata.relatedResources[0]).toBe(instanceId);
      expect(body.metadata.additionalContext).toMatchObject({ function: 'lifecycleHook', ec2InstanceId: instanceId, autoScalingGroupName: 'asg', cluster: 'prod' });
    }
    expect(bodies[1]!.metadata.additionalContext).toMatchObject({ type: 'completed', result: 'CONTINUE', reason: 'drained' });
    expect(notices[1]!.Sns.Subject).toBe(`ECS drain of ${instanceId} done (drained), completed with CONTINUE`);
  });

  it('problems: a drain that finished sends nothing', async () => {
    const { notices, run } = scaleIn('problems');
    const { result } = await run();
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained' });
    expect(notices).toEqual([]);
  });
});
