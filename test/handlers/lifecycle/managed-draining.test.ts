import type { InvocationContext } from '../../../lib/clock';
import { loadLifecycleConfig } from '../../../lib/lifecycle/config';
import { makeLifecycleHookHandler } from '../../../lib/lifecycle/handler';
import type { CustomNotification } from '../../../lib/notify';
import { MemoryTelemetry } from '../../../lib/telemetry';
import { VirtualClock } from '../../../simulator/clock';
import { InProcessAws } from '../../../simulator/inprocess';
import type { SnsRecord } from '../../../simulator/world/model';
import { World } from '../../../simulator/world/world';

/**
 * The lifecycle drainer on groups that are ECS capacity providers with managed draining, and on
 * groups that retain abandoned instances, against the simulator's world in process
 * (docs/aws-behaviour.md §3.4, §3.5). The world's ECS drains managed groups itself.
 */
const S = 1000;

interface Setup {
  /** The group's capacity provider: managed draining on or off; none when unset. */
  managedDraining?: 'ENABLED' | 'DISABLED';
  /** The group retains instances whose termination action is abandoned. */
  retain?: boolean;
  env?: Record<string, string>;
  /** A standalone job on the first instance, running this long. */
  jobSeconds?: number;
  /** The suite's hook's default result. */
  defaultResult?: 'CONTINUE' | 'ABANDON';
}

function setUp(setup: Setup = {}) {
  const clock = new VirtualClock();
  const world = new World(clock, { seed: 5 });
  world.createCluster({ name: 'prod' });
  const topic = world.createTopic('lifecycle');
  const ops = world.createTopic('ops');
  const notifications: SnsRecord[] = [];
  const notices: CustomNotification[] = [];
  world.subscribe(topic.arn, (record) => notifications.push(record));
  world.subscribe(ops.arn, (record) => notices.push(JSON.parse(record.Sns.Message) as CustomNotification));
  const group = world.createGroup({
    name: 'asg',
    cluster: 'prod',
    minSize: 0,
    maxSize: 6,
    desiredCapacity: 4,
    instanceCpu: 2048,
    instanceMemory: 4096,
    ...(setup.retain ? { terminateHookAbandon: 'retain' as const } : {}),
  });
  const ids = [...group.instances.keys()];
  world.createService({ cluster: 'prod', name: 'web', desiredCount: 4, cpu: 256, memory: 512, stopSeconds: 40, minimumHealthyPercent: 50 });
  world.createService({ cluster: 'prod', name: 'agent', strategy: 'DAEMON', cpu: 64, memory: 128, stopSeconds: 5 });
  if (setup.jobSeconds) world.runTask({ cluster: 'prod', ec2InstanceId: ids[0]!, family: 'job', cpu: 128, memory: 128, runSeconds: setup.jobSeconds });
  world.placeInitialTasks();
  world.putLifecycleHook({ groupName: 'asg', name: 'drain', heartbeatTimeout: 600, defaultResult: setup.defaultResult ?? 'CONTINUE', topicArn: topic.arn });
  if (setup.managedDraining) {
    world.createCapacityProvider({ name: 'cp', group: 'asg', managedScaling: 'ENABLED', managedDraining: setup.managedDraining });
    world.putClusterCapacityProviders('prod', ['cp']);
  }
  const aws = new InProcessAws(world);
  const telemetry = new MemoryTelemetry();
  const { ecs, autoScaling, sns, ec2 } = aws.clients();
  let nextId = 0;
  const handler = makeLifecycleHookHandler({
    config: loadLifecycleConfig({ CLUSTERS: 'prod', OPS_TOPIC_ARN: ops.arn, POLL_INTERVAL_SECONDS: '10', ...setup.env }),
    clients: { ecs, autoScaling, sns, ec2 },
    telemetry,
    clock,
    newId: () => `00000000-0000-4000-8000-${String(++nextId).padStart(12, '0')}`,
  });
  const context = (): InvocationContext => {
    const endsAt = clock.now() + 900_000;
    return { getRemainingTimeInMillis: () => endsAt - clock.now(), awsRequestId: 'request-1' };
  };
  const invoke = (event: unknown) => clock.runWhile(clock.track(() => handler(event, context())).done);
  const terminations = () => notifications.filter((record) => record.Sns.Message.includes('autoscaling:EC2_INSTANCE_TERMINATING'));
  /** Terminates instances through the group (decrementing), then delivers the drainer its notifications in one event. */
  const terminate = async (...indexes: number[]) => {
    for (const index of indexes) world.callSync('autoscaling', 'TerminateInstanceInAutoScalingGroup', { InstanceId: ids[index], ShouldDecrementDesiredCapacity: true });
    return invoke({ Records: terminations().slice(-indexes.length) });
  };
  const writes = () => aws.operations().filter((operation) => !/^(Describe|List|Get)/.test(operation));
  return { world, clock, aws, telemetry, ids, notices, notifications, terminate, invoke, writes, terminations };
}

describe('lifecycle drainer: a capacity provider with managed draining (MANAGED_DRAINING=defer)', () => {
  it('completes its own action at once with CONTINUE and writes nothing to ECS; ECS drains and holds the termination; no task is killed', async () => {
    const h = setUp({ managedDraining: 'ENABLED' });
    const result = await h.terminate(0);
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'managed-draining', result: 'CONTINUE' });
    // Reads: the group (lifecycle state, drains in progress), the lookup, the group's hooks (ECS's is
    // there), the cluster's capacity providers.
    expect(h.aws.operations()).toEqual([
      'DescribeAutoScalingGroups',
      'ListContainerInstances',
      'DescribeContainerInstances',
      'DescribeLifecycleHooks',
      'DescribeClusters',
      'DescribeCapacityProviders',
      'CompleteLifecycleAction',
    ]);
    expect(h.writes()).toEqual(['CompleteLifecycleAction']);
    expect(h.telemetry.metricTotal('LifecycleCompleted', { reason: 'managed-draining', result: 'CONTINUE' })).toBe(1);
    expect(h.telemetry.metricTotal('InstanceDrained')).toBe(0);

    // The instance still waits for ECS's hook, which completes once ECS has drained it.
    await h.clock.advance(10 * 60 * S);
    expect(h.world.drains).toEqual([expect.objectContaining({ ec2InstanceId: h.ids[0], by: 'ecs-managed-draining' })]);
    expect(h.world.terminations).toEqual([expect.objectContaining({ ec2InstanceId: h.ids[0], unstoppedTasks: 0 })]);
    expect(h.world.killedTasks.filter((task) => task.origin !== 'daemon')).toEqual([]);
    expect(h.world.drainRequests.filter((request) => request.by === 'api')).toEqual([]);
  });

  it('reads the capacity providers once for the notifications of one scale-in in one execution environment', async () => {
    const h = setUp({ managedDraining: 'ENABLED' });
    const result = await h.terminate(0, 1, 2);
    expect(result.records.map((record) => record.reason)).toEqual(['managed-draining', 'managed-draining', 'managed-draining']);
    expect(h.aws.calls('ecs:DescribeClusters')).toHaveLength(1);
    expect(h.aws.calls('ecs:DescribeCapacityProviders')).toHaveLength(1);
    expect(h.aws.inputs('ecs:DescribeCapacityProviders')).toEqual([{ capacityProviders: ['cp'], maxResults: 10 }]);
    expect(h.writes()).toEqual(['CompleteLifecycleAction', 'CompleteLifecycleAction', 'CompleteLifecycleAction']);
  });

  it('an instance ECS already set DRAINING is completed at once too, its tasks unread', async () => {
    const h = setUp({ managedDraining: 'ENABLED' });
    h.world.callSync('autoscaling', 'TerminateInstanceInAutoScalingGroup', { InstanceId: h.ids[1], ShouldDecrementDesiredCapacity: true });
    await h.clock.advance(3 * S);
    expect(h.world.containerInstanceOf(h.ids[1]!)!.status).toBe('DRAINING');
    const result = await h.invoke({ Records: h.terminations() });
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'managed-draining' });
    expect(h.aws.calls('ecs:ListTasks')).toEqual([]);
    expect(h.aws.calls('ecs:PutAttributes')).toEqual([]);
  });

  it('MANAGED_DRAINING=drain-anyway: drains as in a plain group and never reads the capacity providers; ECS’s hook still holds the termination', async () => {
    const h = setUp({ managedDraining: 'ENABLED', env: { MANAGED_DRAINING: 'drain-anyway' } });
    const result = await h.terminate(0);
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained' });
    expect(h.aws.calls('ecs:DescribeClusters')).toEqual([]);
    expect(h.aws.calls('ecs:DescribeCapacityProviders')).toEqual([]);
    expect(h.aws.inputs('ecs:UpdateContainerInstancesState')).toEqual([expect.objectContaining({ status: 'DRAINING' })]);
    await h.clock.advance(5 * 60 * S);
    expect(h.world.killedTasks.filter((task) => task.origin !== 'daemon')).toEqual([]);
  });

  it('capacity providers that cannot be read (AccessDenied): logged, counted, and the instance drained as before', async () => {
    const h = setUp({ managedDraining: 'ENABLED' });
    h.aws.fail({ operation: 'ecs:DescribeClusters', error: 'AccessDeniedException', message: 'not authorized to perform: ecs:DescribeClusters' });
    const result = await h.terminate(0);
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained', result: 'CONTINUE' });
    expect(h.telemetry.messages('WARN')).toContain('capacity providers not read; draining as without managed draining');
    expect(h.telemetry.metricTotal('CapacityProviderReadFailed', { function: 'lifecycleHook', errorClass: 'fatal' })).toBe(1);
    expect(h.telemetry.metricTotal('InstanceDrained')).toBe(1);
  });

  it('throttled reads, past the SDK’s retries: the drain goes on as before', async () => {
    const h = setUp({ managedDraining: 'ENABLED' });
    h.aws.fail({ operation: 'ecs:DescribeCapacityProviders', error: 'throttling' });
    const result = await h.terminate(0);
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained' });
    const outcomes = h.aws.calls('ecs:DescribeCapacityProviders').map((call) => call.outcome);
    expect(outcomes.length).toBeGreaterThan(0);
    expect(new Set(outcomes)).toEqual(new Set(['ThrottlingException']));
    expect(h.telemetry.metricTotal('CapacityProviderReadFailed', { errorClass: 'retryable' })).toBe(1);
  });

  it('a plain group (no ECS hook on it) costs no capacity-provider read; nor does a provider without managed draining', async () => {
    for (const setup of [{}, { managedDraining: 'DISABLED' as const }]) {
      const h = setUp(setup);
      const result = await h.terminate(0);
      expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained' });
      expect(h.aws.calls('ecs:DescribeClusters')).toEqual([]);
    }
  });
});

describe('lifecycle drainer: retained instances', () => {
  const env = { DEADLINE_RESULT: 'ABANDON', DRAIN_TIMEOUT_SECONDS: '120', STANDALONE_TASKS: 'wait' };

  it('ABANDON at the deadline on a retaining group: the chain ends, the operators hear the instance is retained and drained, a metric counts it', async () => {
    const h = setUp({ retain: true, env, jobSeconds: 3600 });
    const result = await h.terminate(0);
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'deadline', result: 'ABANDON' });
    expect(h.aws.inputs('autoscaling:DescribeAutoScalingGroups')).toEqual([expect.objectContaining({ AutoScalingGroupNames: ['asg'] })]);
    expect(h.notices.map((notice) => notice.metadata.eventType)).toEqual(['ecs-ec2-keeper.deadline', 'ecs-ec2-keeper.retained']);
    expect(h.notices[1]!.content.title).toBe(`${h.ids[0]} is retained by group asg: drained, terminate it yourself`);
    expect(h.telemetry.metricTotal('InstanceRetained')).toBe(1);
    // No requeue: nothing but the notices was published.
    expect(h.aws.inputs('sns:Publish').map((input) => (input as { TopicArn: string }).TopicArn)).toEqual([expect.stringMatching(/:ops$/), expect.stringMatching(/:ops$/)]);
    await h.clock.advance(10 * S);
    const state = (h.world.callSync('autoscaling', 'DescribeAutoScalingInstances', { InstanceIds: [h.ids[0]] }).AutoScalingInstances as { LifecycleState: string }[])[0];
    expect(state?.LifecycleState).toBe('Terminating:Retained');
    expect(h.world.containerInstanceOf(h.ids[0]!)!.status).toBe('DRAINING');
    expect(h.world.terminations).toEqual([]);
  });

  it('ABANDON on a group that does not retain: no retained notice, one policy read', async () => {
    const h = setUp({ env, jobSeconds: 3600 });
    await h.terminate(0);
    expect(h.notices.map((notice) => notice.metadata.eventType)).toEqual(['ecs-ec2-keeper.deadline']);
    expect(h.aws.calls('autoscaling:DescribeAutoScalingGroups')).toHaveLength(1);
    expect(h.telemetry.metricTotal('InstanceRetained')).toBe(0);
  });

  it('the policy cannot be read: a notice that the instance may be retained, not counted as retained', async () => {
    const h = setUp({ retain: true, env, jobSeconds: 3600 });
    h.aws.fail({ operation: 'autoscaling:DescribeAutoScalingGroups', error: 'AccessDenied', status: 403 });
    await h.terminate(0);
    expect(h.notices.map((notice) => notice.metadata.eventType)).toEqual(['ecs-ec2-keeper.deadline', 'ecs-ec2-keeper.retained']);
    expect(h.notices[1]!.content.title).toMatch(/may be retained/);
    expect(h.telemetry.metricTotal('InstanceRetained')).toBe(0);
  });

  it('a requeued round that finds the instance in Terminating:Retained ends the chain with a notice, and writes nothing', async () => {
    const h = setUp({ retain: true, jobSeconds: 3600, env: { DRAIN_TIMEOUT_SECONDS: '3600' } });
    // A drain in progress: its requeue message is published when the invocation runs out.
    h.world.callSync('autoscaling', 'TerminateInstanceInAutoScalingGroup', { InstanceId: h.ids[0], ShouldDecrementDesiredCapacity: true });
    const first = await h.clock.runWhile(h.clock.track(() => makeShortHandler(h)).done);
    expect(first.records[0]).toMatchObject({ outcome: 'requeued' });
    // Meanwhile an operator abandons the action; the group retains the instance.
    h.world.callSync('autoscaling', 'CompleteLifecycleAction', { AutoScalingGroupName: 'asg', LifecycleHookName: 'drain', InstanceId: h.ids[0], LifecycleActionResult: 'ABANDON' });
    await h.clock.advance(2 * S);
    const before = h.writes().length;
    const requeue = h.notifications.at(-1)!;
    const second = await h.invoke({ Records: [requeue] });
    expect(second.records[0]).toMatchObject({ outcome: 'ended', reason: 'retained' });
    expect(h.writes().slice(before)).toEqual(['Publish']);
    expect(h.notices.at(-1)!.metadata.eventType).toBe('ecs-ec2-keeper.retained');
    expect(h.telemetry.metricTotal('LifecycleEnded', { reason: 'retained' })).toBe(1);
  });
});

/** One invocation of 90 s: too short to finish, so it requeues. */
function makeShortHandler(h: ReturnType<typeof setUp>) {
  const { ecs, autoScaling, sns, ec2 } = h.aws.clients();
  const handler = makeLifecycleHookHandler({
    config: loadLifecycleConfig({ CLUSTERS: 'prod', POLL_INTERVAL_SECONDS: '10', DRAIN_TIMEOUT_SECONDS: '3600' }),
    clients: { ecs, autoScaling, sns, ec2 },
    telemetry: new MemoryTelemetry(),
    clock: h.clock,
    newId: () => '00000000-0000-4000-8000-0000000000aa',
  });
  const endsAt = h.clock.now() + 90 * S;
  return handler({ Records: h.terminations() }, { getRemainingTimeInMillis: () => endsAt - h.clock.now(), awsRequestId: 'short' });
}
