import type { InvocationContext } from '../../../lib/clock';
import { LAUNCH_REQUEUE_KIND } from '../../../lib/events/launch';
import { loadLifecycleConfig } from '../../../lib/lifecycle/config';
import { makeLifecycleHookHandler } from '../../../lib/lifecycle/handler';
import { MemoryTelemetry } from '../../../lib/telemetry';
import { VirtualClock } from '../../../simulator/clock';
import { InProcessAws } from '../../../simulator/inprocess';
import type { ServiceSpec } from '../../../simulator/world/ecs';
import type { SnsRecord } from '../../../simulator/world/model';
import { World } from '../../../simulator/world/world';

/**
 * The launch hook of the lifecycle function against the simulator's world, answered in process:
 * a group with a launch hook scales out, the world publishes the launch notification, boots the
 * instance (its agent registers 60 s after launch, the daemon tasks start 5 s later), and the
 * handler decides when Auto Scaling may put it InService. Every answer is the world's.
 */
const S = 1000;
const GROUP = 'ecs-cluster-asg';
const HOOK = 'ecs-launch-hook';

function launchWorld(options: { daemons?: Omit<ServiceSpec, 'cluster' | 'strategy'>[]; heartbeat?: number; hook?: boolean } = {}) {
  const clock = new VirtualClock();
  const world = new World(clock, { seed: 11, timings: { bootMs: 60_000 } });
  world.createCluster({ name: 'prod' });
  const topic = world.createTopic('ecs-ec2-keeper-dev-lifecycle');
  const ops = world.createTopic('ops');
  const published: SnsRecord[] = [];
  world.subscribe(topic.arn, (record) => published.push(record));
  const opsNotices: SnsRecord[] = [];
  world.subscribe(ops.arn, (record) => opsNotices.push(record));
  world.createGroup({ name: GROUP, cluster: 'prod', minSize: 1, maxSize: 4, desiredCapacity: 1, instanceCpu: 2048, instanceMemory: 4096 });
  for (const daemon of options.daemons ?? [{ name: 'log-router', cpu: 128, memory: 256 }]) world.createService({ cluster: 'prod', strategy: 'DAEMON', ...daemon });
  world.createService({ cluster: 'prod', name: 'web', desiredCount: 2, cpu: 256, memory: 512 });
  world.placeInitialTasks();
  if (options.hook !== false) {
    world.putLifecycleHook({ groupName: GROUP, name: HOOK, transition: 'autoscaling:EC2_INSTANCE_LAUNCHING', heartbeatTimeout: options.heartbeat ?? 300, defaultResult: 'CONTINUE', topicArn: topic.arn });
  }
  const aws = new InProcessAws(world);
  let ids = 0;
  const handler = (env: Record<string, string> = {}) => {
    const telemetry = new MemoryTelemetry();
    const { ecs, autoScaling, sns, ec2 } = aws.clients();
    const fn = makeLifecycleHookHandler({
      config: loadLifecycleConfig({ CLUSTERS: 'prod', OPS_TOPIC_ARN: ops.arn, ...env }),
      clients: { ecs, autoScaling, sns, ec2 },
      telemetry,
      clock,
      newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
    });
    return { fn, telemetry };
  };
  const context = (remainingMs = 900_000): InvocationContext => {
    const endsAt = clock.now() + remainingMs;
    return { getRemainingTimeInMillis: () => endsAt - clock.now(), awsRequestId: 'request-1' };
  };
  /** Scales the group out by one and returns the launched instance and its notification. */
  const scaleOut = async () => {
    world.setDesiredCapacity(GROUP, world.groups.get(GROUP)!.desiredCapacity + 1);
    await clock.advance(1_500);
    const record = published.find((candidate) => candidate.Sns.Message.includes('autoscaling:EC2_INSTANCE_LAUNCHING'))!;
    const id = (JSON.parse(record?.Sns.Message ?? '{}') as { EC2InstanceId: string }).EC2InstanceId;
    return { id, record };
  };
  const invoke = async (records: SnsRecord[], env: Record<string, string> = {}, remainingMs?: number) => {
    const { fn, telemetry } = handler(env);
    const result = await clock.runWhile(clock.track(() => fn({ Records: records }, context(remainingMs))).done);
    return { result, telemetry };
  };
  const state = (id: string) => world.groupOf(id)?.instance.lifecycleState ?? 'gone';
  return { clock, world, aws, published, opsNotices, scaleOut, invoke, handler, context, state };
}

const launchDecision = (telemetry: MemoryTelemetry) => telemetry.logs.find((entry) => entry.message === 'launch decision')!.fields;

describe('launch hook: the instance waits until ECS can place on it', () => {
  it('completes CONTINUE once the container instance is ACTIVE with its daemon RUNNING, and not before', async () => {
    const h = launchWorld();
    const { id, record } = await h.scaleOut();
    const launchedAt = h.world.ec2.get(id)!.launchedAt;
    expect(h.state(id)).toBe('Pending:Wait');

    const { result, telemetry } = await h.invoke([record]);

    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'ready', result: 'CONTINUE', kind: 'launch-notification', ec2InstanceId: id, cluster: 'prod' });
    const daemonRunningAt = h.world.tasksOn(h.world.containerInstanceOf(id)!).find((task) => task.daemon)!.startedAt!;
    const action = [...h.world.lifecycleActions.values()].find((candidate) => candidate.instanceId === id)!;
    // Registered at launch + 60 s, daemon RUNNING 5 s after the next scheduler pass; completed at the first poll after that.
    expect(daemonRunningAt - launchedAt).toBe(66 * S);
    expect(action.endedAt!).toBeGreaterThanOrEqual(daemonRunningAt);
    expect(action.endedAt! - daemonRunningAt).toBeLessThanOrEqual(15 * S);
    expect(action).toMatchObject({ state: 'completed', result: 'CONTINUE', transition: 'autoscaling:EC2_INSTANCE_LAUNCHING' });
    await h.clock.advance(2_000);
    expect(h.state(id)).toBe('InService');
    expect(h.world.inService.at(-1)).toMatchObject({ ec2InstanceId: id, containerInstance: 'ACTIVE', daemonsNotRunning: [] });
    expect(telemetry.metricTotal('LaunchCompleted', { cluster: 'prod', result: 'CONTINUE', reason: 'ready' })).toBe(1);
    expect(launchDecision(telemetry)).toMatchObject({ outcome: 'completed', readiness: 'ready', heldSeconds: Math.round((action.endedAt! - action.startedAt) / 1000) });
    // No ECS write, ever: the launch only reads ECS.
    expect(h.aws.operations('ecs').filter((operation) => !/^(List|Describe)/.test(operation))).toEqual([]);
    expect(h.aws.operations('autoscaling')).toEqual(['DescribeAutoScalingInstances', 'DescribeLifecycleHooks', 'CompleteLifecycleAction']);
  });

  it('costs one filtered lookup per poll until registration, then one describe; daemons and tasks are read once it can be ready', async () => {
    const h = launchWorld();
    const { record } = await h.scaleOut();
    const { result } = await h.invoke([record]);
    const ecs = h.aws.operations('ecs');
    const count = (operation: string) => ecs.filter((candidate) => candidate === operation).length;
    const polls = result.records[0]!.polls!;
    // Polls 15 s apart: four (t ≈ 1.5 … 46.5 s) before the agent registered at 61 s, the fifth finds
    // it with no task placed yet (one describe confirms the lookup), the sixth finds the daemon RUNNING.
    expect(polls).toBe(6);
    expect(count('ListContainerInstances')).toBe(4 + 1);
    expect(count('DescribeContainerInstances')).toBe(1 + 1);
    expect([count('ListServices'), count('DescribeServices'), count('ListTasks'), count('DescribeTasks')]).toEqual([1, 1, 1, 1]);
    expect(result.records[0]!.awsCalls).toEqual({ autoScaling: 3, ecs: ecs.length });
  });

  it('abandons at LAUNCH_TIMEOUT_SECONDS when a daemon never runs, tells operators, and Auto Scaling replaces the instance', async () => {
    // The daemon asks for more memory than the instance has: ECS never places it.
    const h = launchWorld({ daemons: [{ name: 'log-router', cpu: 128, memory: 256 }, { name: 'greedy-agent', cpu: 128, memory: 8192 }] });
    const { id, record } = await h.scaleOut();
    const { result, telemetry } = await h.invoke([record], { LAUNCH_TIMEOUT_SECONDS: '300' });

    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'deadline', result: 'ABANDON' });
    const action = [...h.world.lifecycleActions.values()].find((candidate) => candidate.instanceId === id)!;
    expect(action.endedAt! - action.startedAt).toBeGreaterThanOrEqual(300 * S);
    expect(action.endedAt! - action.startedAt).toBeLessThan(301 * S);
    expect(telemetry.metricTotal('LaunchAbandoned', { cluster: 'prod', reason: 'deadline' })).toBe(1);
    expect(launchDecision(telemetry)).toMatchObject({ readiness: 'daemons-pending', daemonsMissing: ['greedy-agent'] });
    expect(h.opsNotices).toHaveLength(1);
    const notice = JSON.parse(h.opsNotices[0]!.Sns.Message) as { content: { title: string; description: string }; metadata: { eventType: string; threadId: string } };
    expect(notice.content.title).toBe(`ECS launch of ${id} abandoned (deadline): not ready for ECS`);
    expect(notice.content.description).toContain('daemon services not RUNNING on it: greedy-agent');
    expect(notice.metadata).toMatchObject({ eventType: 'ecs-ec2-keeper.deadline', threadId: `launch-${id}` });
    // A heartbeat at half the 300 s heartbeat timeout kept the action open until the decision.
    expect(action.heartbeats).toBe(1);
    expect(h.world.terminations.at(-1)).toMatchObject({ ec2InstanceId: id, cause: 'launch-abandoned' });
    await h.clock.advance(15_000);
    expect(h.state(id)).toBe('gone');
    expect([...h.world.groups.get(GROUP)!.instances.values()].filter((member) => member.lifecycleState === 'Pending:Wait')).toHaveLength(1);
  });

  it('does not wait for a daemon whose placement constraint leaves the instance out, nor for one ECS cannot evaluate as a filter', async () => {
    const h = launchWorld({
      daemons: [
        { name: 'log-router', cpu: 128, memory: 256 },
        { name: 'gpu-exporter', cpu: 64, memory: 64, placementConstraints: [{ type: 'memberOf', expression: 'attribute:ecs.instance-type == g4dn.xlarge' }] },
        { name: 'm5-agent', cpu: 64, memory: 64, placementConstraints: [{ type: 'memberOf', expression: 'attribute:ecs.instance-type == m5.large' }] },
      ],
    });
    const { id, record } = await h.scaleOut();
    const { result, telemetry } = await h.invoke([record]);
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'ready', result: 'CONTINUE' });
    // Waited for the two daemons that run on an m5.large, which are RUNNING; the GPU one was never placed.
    const daemons = h.world.tasksOn(h.world.containerInstanceOf(id)!).filter((task) => task.daemon);
    expect(daemons.map((task) => [task.serviceName, task.lastStatus]).sort()).toEqual([['log-router', 'RUNNING'], ['m5-agent', 'RUNNING']]);
    const filters = (h.aws.inputs('ecs:ListContainerInstances') as { filter: string }[]).map((input) => input.filter);
    expect(filters).toContain(`ec2InstanceId == ${id} and (attribute:ecs.instance-type == g4dn.xlarge)`);
    expect(telemetry.messages('WARN')).toEqual([]);
  });

  it('with LAUNCH_WAIT_FOR_DAEMONS=false completes as soon as the container instance is ACTIVE and connected', async () => {
    const h = launchWorld();
    const { id, record } = await h.scaleOut();
    const { result } = await h.invoke([record], { LAUNCH_WAIT_FOR_DAEMONS: 'false' });
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'ready', result: 'CONTINUE' });
    expect(h.aws.operations('ecs').filter((operation) => ['ListServices', 'ListTasks', 'DescribeTasks'].includes(operation))).toEqual([]);
    const registeredAt = h.world.containerInstanceOf(id)!.registeredAt;
    const action = [...h.world.lifecycleActions.values()].find((candidate) => candidate.instanceId === id)!;
    expect(action.endedAt! - registeredAt).toBeLessThanOrEqual(15 * S);
  });
});

describe('launch hook: messages it must not act on', () => {
  it('a notification replayed after the instance went InService ends with one Auto Scaling read and no ECS call', async () => {
    const h = launchWorld();
    const { id, record } = await h.scaleOut();
    await h.invoke([record]);
    await h.clock.advance(5_000);
    expect(h.state(id)).toBe('InService');
    const before = h.aws.calls().length;
    const { result, telemetry } = await h.invoke([record]);
    expect(result.records[0]).toMatchObject({ outcome: 'ended', reason: 'action-over' });
    expect(h.aws.calls().slice(before).map((call) => call.operation)).toEqual(['DescribeAutoScalingInstances']);
    expect(telemetry.metricTotal('LifecycleEnded', { reason: 'action-over' })).toBe(1);
  });

  it('a group outside AUTO_SCALING_GROUPS is acknowledged without a call', async () => {
    const h = launchWorld();
    const { id, record } = await h.scaleOut();
    const { result, telemetry } = await h.invoke([record], { AUTO_SCALING_GROUPS: 'another-asg' });
    expect(result.records).toEqual([{ outcome: 'ignored', kind: 'launch-notification', reason: 'unmanaged-group' }]);
    expect(h.aws.calls()).toEqual([]);
    expect(telemetry.metricTotal('EventIgnored', { kind: 'launch-notification', reason: 'unmanaged-group' })).toBe(1);
    expect(h.state(id)).toBe('Pending:Wait');
  });

  it('a malformed launch notification is invalid: logged, counted, no call', async () => {
    const h = launchWorld();
    const { record } = await h.scaleOut();
    const broken = structuredClone(record);
    broken.Sns.Message = JSON.stringify({ ...JSON.parse(record.Sns.Message), EC2InstanceId: 'i-nope' });
    const { result, telemetry } = await h.invoke([broken]);
    expect(result.records).toEqual([{ outcome: 'invalid', reason: 'malformed-launch-notification' }]);
    expect(telemetry.metricTotal('InvalidEvent', { function: 'lifecycleHook', reason: 'malformed-launch-notification' })).toBe(1);
    expect(h.aws.calls()).toEqual([]);
  });

  it('DRY_RUN reports the completion it would make and writes nothing', async () => {
    const h = launchWorld();
    const { id, record } = await h.scaleOut();
    await h.clock.advance(70_000);
    const { result } = await h.invoke([record], { DRY_RUN: 'true' });
    expect(result.records[0]).toMatchObject({ outcome: 'dry-run', reason: 'ready', wouldDo: 'complete CONTINUE (ready)' });
    expect(h.aws.operations().filter((operation) => !/^(List|Describe)/.test(operation))).toEqual([]);
    expect(h.state(id)).toBe('Pending:Wait');
  });
});

describe('launch hook: duplicates and the requeue loop', () => {
  it('two deliveries of one notification: one completes, the other ends when Auto Scaling says the action is over', async () => {
    const h = launchWorld();
    const { id, record } = await h.scaleOut();
    const first = h.handler();
    const second = h.handler();
    const results = await h.clock.runWhile(
      Promise.all([first, second].map(({ fn }) => h.clock.track(() => fn({ Records: [record] }, h.context())).done)),
    );
    const outcomes = results.map((result) => `${result.records[0]!.outcome}:${result.records[0]!.reason}`).sort();
    expect(outcomes).toEqual(['completed:ready', 'ended:action-over']);
    expect(h.aws.inputs('autoscaling:CompleteLifecycleAction')).toHaveLength(2);
    expect([...h.world.lifecycleActions.values()].find((action) => action.instanceId === id)).toMatchObject({ state: 'completed', result: 'CONTINUE' });
  });

  it('an invocation too short to wait for the agent hops with a launch requeue message, and the next round completes', async () => {
    const h = launchWorld();
    const { id, record } = await h.scaleOut();
    // 50 s of invocation: 30 s are kept back, so the round can poll only until 20 s.
    const { result } = await h.invoke([record], {}, 50_000);
    expect(result.records[0]).toMatchObject({ outcome: 'requeued', reason: 'invocation-ending' });
    expect(h.aws.operations('autoscaling')).toEqual(['DescribeAutoScalingInstances', 'DescribeLifecycleHooks', 'RecordLifecycleActionHeartbeat']);
    const requeued = h.published.filter((candidate) => candidate.Sns.Message.includes(LAUNCH_REQUEUE_KIND));
    expect(requeued).toHaveLength(1);
    const message = JSON.parse(requeued[0]!.Sns.Message) as Record<string, unknown>;
    expect(message).toMatchObject({ kind: LAUNCH_REQUEUE_KIND, version: 1, attempt: 1, heartbeatTimeoutSeconds: 300, notification: JSON.parse(record.Sns.Message) });
    expect(message.containerInstanceArn).toBeUndefined();

    const next = await h.invoke(requeued);
    expect(next.result.records[0]).toMatchObject({ outcome: 'completed', reason: 'ready', result: 'CONTINUE', kind: 'launch-requeue', attempt: 1 });
    // The next round read the hook's timeouts from the message, not from Auto Scaling.
    expect(h.aws.operations('autoscaling').filter((operation) => operation === 'DescribeLifecycleHooks')).toHaveLength(1);
    await h.clock.advance(2_000);
    expect(h.state(id)).toBe('InService');
  });
});
