import type { BusEvent } from '../../../simulator/world/model';
import { asg, errorOf, groupWorld, messageOf, newWorld } from './helpers';

/** Group `g` with a termination hook `drain` that notifies the `lifecycle` topic (none with `hook: false`). */
function hookedWorld(options: { desired?: number; min?: number; heartbeat?: number; defaultResult?: 'CONTINUE' | 'ABANDON'; hook?: boolean } = {}) {
  const built = groupWorld({ minSize: options.min ?? 1, desiredCapacity: options.desired ?? 3 });
  if (options.hook !== false) {
    built.world.putLifecycleHook({ groupName: 'g', name: 'drain', heartbeatTimeout: options.heartbeat ?? 300, defaultResult: options.defaultResult ?? 'ABANDON', topicArn: built.topic.arn });
  }
  return built;
}

describe('Auto Scaling termination lifecycle hooks (aws-behaviour.md §1.4, §1.5, §3.2)', () => {
  it('sends the test notification when the hook is created, then a notification of the exact shape on termination', () => {
    const { world, records, ids } = hookedWorld();
    expect(records).toHaveLength(1);
    expect(records[0]!.Sns.Subject).toBe('Auto Scaling: test notification for group "g"');
    expect(messageOf(records[0])).toMatchObject({ Event: 'autoscaling:TEST_NOTIFICATION', AutoScalingGroupName: 'g' });
    expect(messageOf(records[0]).LifecycleTransition).toBeUndefined();

    asg(world, 'TerminateInstanceInAutoScalingGroup', { InstanceId: ids[0], ShouldDecrementDesiredCapacity: true });
    const notification = records[1]!;
    expect(notification.EventSource).toBe('aws:sns');
    expect(notification.Sns.Subject).toBe(`Auto Scaling:  Lifecycle action 'TERMINATING' for instance ${ids[0]} in progress.`);
    expect(Object.keys(messageOf(notification))).toEqual([
      'Origin',
      'LifecycleHookName',
      'Destination',
      'AccountId',
      'RequestId',
      'LifecycleTransition',
      'AutoScalingGroupName',
      'Service',
      'Time',
      'EC2InstanceId',
      'LifecycleActionToken',
    ]);
    expect(messageOf(notification)).toMatchObject({ LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', EC2InstanceId: ids[0], LifecycleHookName: 'drain' });
    const described = asg(world, 'DescribeAutoScalingInstances', { InstanceIds: [ids[0]] }).AutoScalingInstances as { LifecycleState: string }[];
    expect(described[0]?.LifecycleState).toBe('Terminating:Wait');
  });

  it('holds the instance until CompleteLifecycleAction, then terminates it; a second completion is a ValidationError', async () => {
    const { world, clock, records, ids } = hookedWorld();
    asg(world, 'TerminateInstanceInAutoScalingGroup', { InstanceId: ids[0], ShouldDecrementDesiredCapacity: true });
    const token = messageOf(records[1]).LifecycleActionToken!;
    await clock.advance(200_000);
    expect(world.ec2.get(ids[0]!)?.state).toBe('running');
    asg(world, 'CompleteLifecycleAction', { AutoScalingGroupName: 'g', LifecycleHookName: 'drain', LifecycleActionToken: token, LifecycleActionResult: 'CONTINUE' });
    expect(world.ec2.get(ids[0]!)?.state).toBe('shutting-down');
    expect(world.containerInstanceOf(ids[0]!)?.status).toBe('INACTIVE');
    const byToken = errorOf(() =>
      asg(world, 'CompleteLifecycleAction', { AutoScalingGroupName: 'g', LifecycleHookName: 'drain', LifecycleActionToken: token, LifecycleActionResult: 'CONTINUE' }),
    );
    expect([byToken.code, byToken.message, byToken.httpStatus]).toEqual(['ValidationError', `No active Lifecycle Action found with token ${token}`, 400]);
    const byInstance = errorOf(() => asg(world, 'RecordLifecycleActionHeartbeat', { AutoScalingGroupName: 'g', LifecycleHookName: 'drain', InstanceId: ids[0] }));
    expect(byInstance.message).toBe(`No active Lifecycle Action found with instance ID ${ids[0]}`);
    await clock.advance(20_000);
    expect(world.ec2.get(ids[0]!)?.state).toBe('terminated');
    expect(world.groups.get('g')!.instances.has(ids[0]!)).toBe(false);
  });

  it('expires at the heartbeat timeout with the default result; a heartbeat restarts the window', async () => {
    const { world, clock, records, ids } = hookedWorld({ heartbeat: 300, defaultResult: 'ABANDON' });
    asg(world, 'TerminateInstanceInAutoScalingGroup', { InstanceId: ids[0], ShouldDecrementDesiredCapacity: true });
    const token = messageOf(records[1]).LifecycleActionToken!;
    await clock.advance(250_000);
    asg(world, 'RecordLifecycleActionHeartbeat', { AutoScalingGroupName: 'g', LifecycleHookName: 'drain', LifecycleActionToken: token });
    await clock.advance(250_000);
    // 500 s after the start, but only 250 s after the heartbeat: still waiting.
    expect(world.lifecycleActions.get(token)?.state).toBe('active');
    await clock.advance(60_000);
    const action = world.lifecycleActions.get(token)!;
    expect([action.state, action.result, action.endedAt! - action.startedAt]).toEqual(['expired', 'ABANDON', 550_000]);
    expect(world.ec2.get(ids[0]!)?.state).not.toBe('running');
    expect(errorOf(() => asg(world, 'RecordLifecycleActionHeartbeat', { AutoScalingGroupName: 'g', LifecycleHookName: 'drain', LifecycleActionToken: token })).message).toBe(
      `No active Lifecycle Action found with token ${token}`,
    );
  });

  it('ends at the global timeout, min(48 h, 100 x heartbeat), however many heartbeats arrive', async () => {
    const { world, clock, records, ids } = hookedWorld({ heartbeat: 30, defaultResult: 'CONTINUE' });
    asg(world, 'TerminateInstanceInAutoScalingGroup', { InstanceId: ids[0], ShouldDecrementDesiredCapacity: true });
    const token = messageOf(records[1]).LifecycleActionToken!;
    for (let beat = 0; beat < 120; beat += 1) {
      await clock.advance(25_000);
      if (world.lifecycleActions.get(token)?.state !== 'active') break;
      asg(world, 'RecordLifecycleActionHeartbeat', { AutoScalingGroupName: 'g', LifecycleHookName: 'drain', LifecycleActionToken: token });
    }
    const action = world.lifecycleActions.get(token)!;
    expect(action.state).toBe('global-timeout');
    expect(action.endedAt! - action.startedAt).toBe(3_000_000);
    expect(action.result).toBe('CONTINUE');
  });

  it('refuses to terminate below the minimum with the exact AWS message, and unknown instances as not found', () => {
    const { world, ids } = hookedWorld({ desired: 2, min: 2 });
    const belowMin = errorOf(() => asg(world, 'TerminateInstanceInAutoScalingGroup', { InstanceId: ids[0], ShouldDecrementDesiredCapacity: true }));
    expect(belowMin.message).toBe(
      "Currently, desiredSize equals minSize (2). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.",
    );
    expect(errorOf(() => asg(world, 'TerminateInstanceInAutoScalingGroup', { InstanceId: 'i-00000000000000000', ShouldDecrementDesiredCapacity: true })).message).toBe(
      'Instance Id not found - No managed instance found for instance ID i-00000000000000000',
    );
    // Without decrementing, the group launches a replacement.
    asg(world, 'TerminateInstanceInAutoScalingGroup', { InstanceId: ids[0], ShouldDecrementDesiredCapacity: false });
    expect(world.groups.get('g')!.desiredCapacity).toBe(2);
  });

  it('launches replacements that register with ECS after booting, and scales in skipping protected instances', async () => {
    const { world, clock, ids } = hookedWorld({ desired: 3, hook: false });
    asg(world, 'SetInstanceProtection', { AutoScalingGroupName: 'g', InstanceIds: [ids[0], ids[1]], ProtectedFromScaleIn: true });
    asg(world, 'SetDesiredCapacity', { AutoScalingGroupName: 'g', DesiredCapacity: 1 });
    await clock.advance(30_000);
    const states = () => ids.map((id) => world.groups.get('g')!.instances.get(id)?.lifecycleState ?? 'gone');
    // Only the unprotected instance goes; the group stays above its desired capacity.
    expect(states()).toEqual(['InService', 'InService', 'gone']);
    asg(world, 'SetDesiredCapacity', { AutoScalingGroupName: 'g', DesiredCapacity: 4 });
    await clock.advance(2_000);
    const launched = [...world.groups.get('g')!.instances.values()].filter((instance) => !ids.includes(instance.id));
    expect(launched.map((instance) => instance.lifecycleState)).toEqual(['Pending', 'Pending']);
    expect(world.containerInstanceOf(launched[0]!.id)).toBeUndefined();
    await clock.advance(60_000);
    expect(launched.map((instance) => world.containerInstanceOf(instance.id)?.status)).toEqual(['ACTIVE', 'ACTIVE']);
    expect(errorOf(() => asg(world, 'SetDesiredCapacity', { AutoScalingGroupName: 'g', DesiredCapacity: 11 })).message).toBe(
      'New SetDesiredCapacity value 11 is above max value 10 for the AutoScalingGroup.',
    );
  });

  it('describes instances at most 50 ids at a time and silently leaves unknown ids out', () => {
    const { world, ids } = hookedWorld();
    const out = asg(world, 'DescribeAutoScalingInstances', { InstanceIds: [ids[1], 'i-0123456789abcdef0'] }).AutoScalingInstances as { InstanceId: string }[];
    expect(out.map((instance) => instance.InstanceId)).toEqual([ids[1]]);
    expect(errorOf(() => asg(world, 'DescribeAutoScalingInstances', { InstanceIds: Array.from({ length: 51 }, () => ids[0]) })).code).toBe('ValidationError');
    const page = asg(world, 'DescribeAutoScalingInstances', { MaxRecords: 2 });
    expect((page.AutoScalingInstances as unknown[]).length).toBe(2);
    expect(page.NextToken).toBeDefined();
  });
});

describe('Spot interruptions (aws-behaviour.md §1.1, §3.2)', () => {
  it('emits the warning, then reclaims the instance two minutes later even while a lifecycle hook waits', async () => {
    const { world, clock, records, ids } = hookedWorld({ heartbeat: 3600 });
    const events: BusEvent[] = [];
    world.onBusEvent((event) => events.push(event));
    world.interruptSpot(ids[0]!);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      version: '0',
      'detail-type': 'EC2 Spot Instance Interruption Warning',
      source: 'aws.ec2',
      account: '123456789012',
      region: 'us-east-1',
      resources: [`arn:aws:ec2:us-east-1:123456789012:instance/${ids[0]}`],
      detail: { 'instance-id': ids[0], 'instance-action': 'terminate' },
    });
    await clock.advance(119_000);
    expect(world.ec2.get(ids[0]!)?.state).toBe('running');
    await clock.advance(1_000);
    expect(world.ec2.get(ids[0]!)?.state).toBe('shutting-down');
    expect(world.containerInstanceOf(ids[0]!)?.status).toBe('INACTIVE');
    // The group runs its termination hook on an instance that is already gone.
    expect(messageOf(records.at(-1)).EC2InstanceId).toBe(ids[0]);
    await clock.advance(10_000);
    expect(events.filter((event) => event['detail-type'] === 'EC2 Instance State-change Notification').map((event) => event.detail.state)).toEqual([
      'shutting-down',
      'terminated',
    ]);
  });
});

describe('SNS, EC2 and CloudWatch', () => {
  it('validates Publish like SNS: subject under 100 characters, message at most 256 KB, unknown topic NotFound', () => {
    const { world } = newWorld();
    const topic = world.createTopic('t');
    const publish = (input: Record<string, unknown>) => world.callSync('sns', 'Publish', { TopicArn: topic.arn, Message: 'm', ...input });
    expect(publish({}).MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(errorOf(() => publish({ Subject: 'x'.repeat(100) })).code).toBe('InvalidParameter');
    expect(errorOf(() => publish({ Subject: 'two\nlines' })).code).toBe('InvalidParameter');
    expect(errorOf(() => publish({ Message: 'x'.repeat(262_145) })).message).toBe('Invalid parameter: Message too long');
    const missing = errorOf(() => publish({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:none' }));
    expect([missing.code, missing.httpStatus]).toEqual(['NotFound', 404]);
  });

  it('stores PutMetricData datums and enforces 1000 per request and no AWS/ namespace', () => {
    const { world } = newWorld();
    const put = (input: Record<string, unknown>) => world.callSync('cloudwatch', 'PutMetricData', input);
    put({ Namespace: 'Keeper', MetricData: [{ MetricName: 'FreeCpu', Value: 512, Dimensions: [{ Name: 'ClusterName', Value: 'c' }] }] });
    expect(world.metrics).toEqual([expect.objectContaining({ namespace: 'Keeper', metricName: 'FreeCpu', value: 512, dimensions: { ClusterName: 'c' } })]);
    put({ Namespace: 'Keeper', MetricData: [{ MetricName: 'FreeCpu', Value: 256, Dimensions: [{ Name: 'ClusterName', Value: 'd' }] }] });
    expect(world.queryMetrics('Keeper', 'FreeCpu', { ClusterName: 'd' }).map((datum) => datum.value)).toEqual([256]);
    expect(world.queryMetrics('Keeper', 'FreeCpu')).toHaveLength(2);
    expect(errorOf(() => put({ Namespace: 'AWS/ECS', MetricData: [{ MetricName: 'x', Value: 1 }] })).code).toBe('InvalidParameterValue');
    expect(errorOf(() => put({ Namespace: 'Keeper', MetricData: Array.from({ length: 1001 }, () => ({ MetricName: 'x', Value: 1 })) })).code).toBe(
      'InvalidParameterValue',
    );
  });

  it('describes EC2 instance states and refuses unknown ids', () => {
    const { world } = newWorld();
    world.createCluster({ name: 'c' });
    const instance = world.addInstance({ cluster: 'c', cpu: 1024, memory: 1024, spot: true });
    const out = world.callSync('ec2', 'DescribeInstances', { InstanceIds: [instance.ec2InstanceId] });
    const described = (out.Reservations as { Instances: { State: unknown; InstanceLifecycle: string }[] }[])[0]!.Instances[0]!;
    expect(described.State).toEqual({ Code: 16, Name: 'running' });
    expect(described.InstanceLifecycle).toBe('spot');
    expect(errorOf(() => world.callSync('ec2', 'DescribeInstances', { InstanceIds: ['i-0123456789abcdef0'] })).code).toBe('InvalidInstanceID.NotFound');
  });
});
