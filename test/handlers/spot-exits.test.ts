import { loadSpotConfig } from '../../lib/spot/config';
import { makeSpotInterruptionHandler, type SpotResult } from '../../lib/spot/handler';
import { DRAINED_FOR } from '../../lib/spot/record';
import { MemoryTelemetry } from '../../lib/telemetry';
import { VirtualClock } from '../../simulator/clock';
import { InProcessAws } from '../../simulator/inprocess';
import type { BusEvent } from '../../simulator/world/model';
import { World } from '../../simulator/world/world';
import { fixture } from '../fixtures';

const START = Date.UTC(2026, 2, 4, 10, 0, 0);

/**
 * The Spot function on the in-process world with a standalone instance `lone` (outside any group)
 * and a group `asg` of two instances with a termination hook, all in cluster `prod`.
 */
function setup(env: Record<string, string> = {}) {
  const clock = new VirtualClock(START);
  const world = new World(clock, { seed: 7, timings: { shutdownMs: 5_000, bootMs: 20_000 } });
  world.createCluster({ name: 'prod' });
  const lone = world.addInstance({ cluster: 'prod', cpu: 2048, memory: 4096, id: 'i-0c1d2e3f4a5b6c7d8' });
  const topic = world.createTopic('hooks');
  world.createGroup({ name: 'asg', cluster: 'prod', minSize: 1, maxSize: 4, desiredCapacity: 2, instanceCpu: 2048, instanceMemory: 4096, instanceIds: ['i-0a0a0a0a0a0a0a0a1'] });
  world.putLifecycleHook({ groupName: 'asg', name: 'drain', heartbeatTimeout: 600, defaultResult: 'CONTINUE', topicArn: topic.arn });
  const member = world.containerInstanceOf('i-0a0a0a0a0a0a0a0a1')!;
  const aws = new InProcessAws(world);
  const telemetry = new MemoryTelemetry();
  const config = loadSpotConfig({ CLUSTERS: 'prod', STATE_CHANGE_DRAIN: 'true', SCHEDULED_EVENT_DRAIN: 'true', ...env });
  const clients = aws.clients();
  const handler = makeSpotInterruptionHandler({ config, ecs: clients.ecs, autoScaling: clients.autoScaling, telemetry, clock });
  const events: BusEvent[] = [];
  world.onBusEvent((event) => events.push(event));
  const stateEvent = (id: string, state: string) => events.filter((event) => event.detail['instance-id'] === id && event.detail.state === state).at(-1)!;
  return { clock, world, lone, member, aws, telemetry, handler, events, stateEvent };
}

const writes = (aws: InProcessAws) =>
  aws.calls().filter((call) => /^(Update|Put|Delete|Terminate|Detach|SetDesired)/.test(call.operation));

describe('undrain survivors: an instance running again after a drain it survived', () => {
  it('drains on stopping (with the record), and on running again sets it ACTIVE and removes the record', async () => {
    const { clock, world, lone, aws, handler, stateEvent } = setup();
    world.stopInstance(lone.ec2InstanceId);
    await expect(handler(stateEvent(lone.ec2InstanceId, 'stopping'))).resolves.toMatchObject({ outcome: 'drained' });
    expect(lone.status).toBe('DRAINING');
    expect(lone.attributes.get(DRAINED_FOR)).toBe(`stopping@${Math.floor(START / 1000)}`);
    await clock.advance(6_000);
    world.startInstance(lone.ec2InstanceId);
    await clock.advance(21_000);
    expect(lone.status).toBe('DRAINING');

    await expect(handler(stateEvent(lone.ec2InstanceId, 'running'))).resolves.toMatchObject({ outcome: 'undrained', kind: 'instance-running' });
    expect(lone.status).toBe('ACTIVE');
    expect(lone.attributes.has(DRAINED_FOR)).toBe(false);
    // A duplicate delivery of the running event finds nothing to undo.
    const before = writes(aws).length;
    await expect(handler(stateEvent(lone.ec2InstanceId, 'running'))).resolves.toMatchObject({ outcome: 'no-action', reason: 'not-drained-by-suite' });
    expect(writes(aws).length).toBe(before);
  });

  it('undoes a Spot stop drain and a rebalance drain', async () => {
    for (const [fixtureName, reason] of [['spot-interruption-stop.json', 'spot-stop'], ['rebalance-recommendation.json', 'rebalance']] as const) {
      const { world, lone, handler, clock } = setup({ REBALANCE_DRAIN: 'true' });
      const warning = { ...fixture(fixtureName), detail: { ...(fixture(fixtureName).detail as object), 'instance-id': lone.ec2InstanceId } };
      await expect(handler(warning)).resolves.toMatchObject({ outcome: 'drained' });
      expect(lone.attributes.get(DRAINED_FOR)).toMatch(new RegExp(`^${reason}@`));
      world.stopInstance(lone.ec2InstanceId);
      await clock.advance(6_000);
      world.startInstance(lone.ec2InstanceId);
      await clock.advance(21_000);
      const running = { ...fixture('state-change-running.json'), detail: { 'instance-id': lone.ec2InstanceId, state: 'running' } };
      await expect(handler(running)).resolves.toMatchObject({ outcome: 'undrained' });
      expect(lone.status).toBe('ACTIVE');
    }
  });

  it('never undoes a drain it did not start (no record: no write)', async () => {
    const { world, lone, aws, handler, telemetry } = setup();
    world.setContainerInstanceStatus(lone, 'DRAINING');
    const running = { ...fixture('state-change-running.json'), detail: { 'instance-id': lone.ec2InstanceId, state: 'running' } };
    await expect(handler(running)).resolves.toMatchObject({ outcome: 'no-action', reason: 'not-drained-by-suite' });
    expect(lone.status).toBe('DRAINING');
    expect(writes(aws)).toEqual([]);
    expect(aws.calls('autoscaling:DescribeAutoScalingInstances')).toHaveLength(0);
    expect(telemetry.metricTotal('DrainSkipped', { kind: 'instance-running', reason: 'not-drained-by-suite' })).toBe(1);
  });

  it('never undoes a drain for a termination: a Spot terminate drain carries no record, a scheduled-event record is not undone', async () => {
    const { lone, aws, handler } = setup();
    const warning = { ...fixture('spot-interruption-terminate.json'), detail: { 'instance-id': lone.ec2InstanceId, 'instance-action': 'terminate' } };
    await expect(handler(warning)).resolves.toMatchObject({ outcome: 'drained' });
    expect(lone.attributes.has(DRAINED_FOR)).toBe(false);
    expect(aws.calls('ecs:PutAttributes')).toEqual([]);
    const before = writes(aws).length;
    const running = { ...fixture('state-change-running.json'), detail: { 'instance-id': lone.ec2InstanceId, state: 'running' } };
    await expect(handler(running)).resolves.toMatchObject({ outcome: 'no-action', reason: 'not-drained-by-suite' });
    lone.attributes.set(DRAINED_FOR, 'scheduled-event@1700000000');
    await expect(handler(running)).resolves.toMatchObject({ outcome: 'no-action', reason: 'termination-drain' });
    expect(writes(aws).length).toBe(before);
    expect(lone.status).toBe('DRAINING');
  });

  it('never undoes a drain while the group is terminating the instance', async () => {
    const { world, member, aws, handler } = setup({ REBALANCE_DRAIN: 'true' });
    const rebalance = { ...fixture('rebalance-recommendation.json'), detail: { 'instance-id': member.ec2InstanceId } };
    await expect(handler(rebalance)).resolves.toMatchObject({ outcome: 'drained' });
    world.callSync('autoscaling', 'TerminateInstanceInAutoScalingGroup', { InstanceId: member.ec2InstanceId, ShouldDecrementDesiredCapacity: false });
    expect(world.groupOf(member.ec2InstanceId)!.instance.lifecycleState).toBe('Terminating:Wait');
    const before = writes(aws).length;
    const running = { ...fixture('state-change-running.json'), detail: { 'instance-id': member.ec2InstanceId, state: 'running' } };
    await expect(handler(running)).resolves.toMatchObject({ outcome: 'no-action', reason: 'termination-under-way' });
    expect(writes(aws).length).toBe(before);
    expect(member.status).toBe('DRAINING');
  });

  it('still drains when the record cannot be written (attribute limit): logged and counted, no retry', async () => {
    const { lone, aws, handler, telemetry } = setup();
    aws.fail({ operation: 'ecs:PutAttributes', error: 'AttributeLimitExceededException', times: 5 });
    const stopping = { ...fixture('state-change-stopping.json'), detail: { 'instance-id': lone.ec2InstanceId, state: 'stopping' } };
    await expect(handler(stopping)).resolves.toMatchObject({ outcome: 'drained' });
    expect(lone.status).toBe('DRAINING');
    expect(lone.attributes.has(DRAINED_FOR)).toBe(false);
    expect(telemetry.metricTotal('DrainRecordSkipped', { reason: 'AttributeLimitExceededException' })).toBe(1);
    expect(telemetry.logs.filter((entry) => entry.message === 'drain record skipped')).toHaveLength(1);
  });

  it('a running event is ignored without any call when neither drain switch is on', async () => {
    const { lone, aws, handler } = setup({ STATE_CHANGE_DRAIN: 'false' });
    const running = { ...fixture('state-change-running.json'), detail: { 'instance-id': lone.ec2InstanceId, state: 'running' } };
    await expect(handler(running)).resolves.toEqual({ outcome: 'ignored', kind: 'instance-running', reason: 'undrain-disabled' });
    expect(aws.calls()).toEqual([]);
  });
});

describe('AWS Health scheduled events', () => {
  const health = (ids: string[], startsInMs: number, statusCode = 'upcoming') => {
    const event = fixture('health-retirement-scheduled.json');
    const detail = event.detail as Record<string, unknown>;
    return {
      ...event,
      resources: ids,
      detail: { ...detail, statusCode, startTime: new Date(START + startsInMs).toUTCString(), affectedEntities: ids.map((entityValue) => ({ entityValue })) },
    };
  };

  it('terminates a group instance through its group without lowering desired capacity, once across repeated notices', async () => {
    const { world, member, aws, handler } = setup();
    const group = world.groups.get('asg')!;
    const result = (await handler(health([member.ec2InstanceId], 3_600_000))) as SpotResult;
    expect(result).toMatchObject({ outcome: 'replacing', kind: 'scheduled-event', ec2InstanceId: member.ec2InstanceId });
    expect(aws.calls('autoscaling:TerminateInstanceInAutoScalingGroup').map((call) => call.input)).toEqual([
      { InstanceId: member.ec2InstanceId, ShouldDecrementDesiredCapacity: false },
    ]);
    expect(group.desiredCapacity).toBe(2);
    expect(world.groupOf(member.ec2InstanceId)!.instance.lifecycleState).toBe('Terminating:Wait');
    // Health repeats the event (upcoming, open, updates): no second write.
    const before = writes(aws).length;
    await expect(handler(health([member.ec2InstanceId], 3_600_000, 'open'))).resolves.toMatchObject({ outcome: 'no-action', reason: 'termination-under-way' });
    expect(writes(aws).length).toBe(before);
  });

  it('drains an instance outside any group (with the record), once across repeated notices', async () => {
    const { lone, aws, handler } = setup();
    await expect(handler(health([lone.ec2InstanceId], 3_600_000))).resolves.toMatchObject({ outcome: 'drained', kind: 'scheduled-event' });
    expect(lone.status).toBe('DRAINING');
    expect(lone.attributes.get(DRAINED_FOR)).toMatch(/^scheduled-event@/);
    expect(aws.calls('autoscaling:TerminateInstanceInAutoScalingGroup')).toHaveLength(0);
    const before = writes(aws).length;
    await expect(handler(health([lone.ec2InstanceId], 3_600_000))).resolves.toMatchObject({ outcome: 'no-action', reason: 'already-draining' });
    expect(writes(aws).length).toBe(before);
  });

  it('names several instances in one event: one result each', async () => {
    const { lone, member, handler } = setup();
    const result = (await handler(health([lone.ec2InstanceId, member.ec2InstanceId], 60_000))) as SpotResult;
    expect([result, ...(result.others ?? [])].map((entry) => [entry.ec2InstanceId, entry.outcome])).toEqual([
      [lone.ec2InstanceId, 'drained'],
      [member.ec2InstanceId, 'replacing'],
    ]);
  });

  it('does nothing (no AWS call) while the window is further away than the lead time', async () => {
    const { lone, aws, handler } = setup({ SCHEDULED_EVENT_LEAD_MINUTES: '60' });
    await expect(handler(health([lone.ec2InstanceId], 2 * 3_600_000))).resolves.toMatchObject({ outcome: 'no-action', reason: 'outside-lead-time' });
    expect(aws.calls()).toEqual([]);
    await expect(handler(health([lone.ec2InstanceId], 30 * 60_000))).resolves.toMatchObject({ outcome: 'drained' });
  });

  it('writes nothing for an instance the suite does not manage', async () => {
    const { aws, handler } = setup();
    await expect(handler(health(['i-0fffffffffffffff0'], 60_000))).resolves.toMatchObject({ outcome: 'no-action', reason: 'not-a-container-instance' });
    expect(writes(aws)).toEqual([]);
  });

  it('drains instead of terminating when the group is not one it may act on', async () => {
    const { member, aws, handler } = setup({ AUTO_SCALING_GROUPS: 'other-asg' });
    await expect(handler(health([member.ec2InstanceId], 60_000))).resolves.toMatchObject({ outcome: 'drained' });
    expect(aws.calls('autoscaling:TerminateInstanceInAutoScalingGroup')).toHaveLength(0);
  });

  it('is ignored without any call when SCHEDULED_EVENT_DRAIN is off, and a malformed event is one error line and a metric', async () => {
    const { lone, aws, handler, telemetry } = setup({ SCHEDULED_EVENT_DRAIN: 'false' });
    await expect(handler(health([lone.ec2InstanceId], 60_000))).resolves.toMatchObject({ outcome: 'ignored', reason: 'scheduled-event-drain-disabled' });
    const broken = { ...health([lone.ec2InstanceId], 60_000), detail: { service: 'EC2' } };
    await expect(handler(broken)).resolves.toMatchObject({ outcome: 'invalid', reason: 'malformed-health-event' });
    expect(aws.calls()).toEqual([]);
    expect(telemetry.logs.filter((entry) => entry.level === 'ERROR')).toHaveLength(1);
    expect(telemetry.metricTotal('InvalidEvent', { function: 'spotInterruption', reason: 'malformed-health-event' })).toBe(1);
  });

  it('retries (throws) when Auto Scaling fails, and writes nothing', async () => {
    const { member, aws, handler } = setup();
    aws.fail({ operation: 'autoscaling:DescribeAutoScalingInstances', error: 'server', times: 50 });
    await expect(handler(health([member.ec2InstanceId], 60_000))).rejects.toThrow();
    expect(writes(aws)).toEqual([]);
  });
});

describe('early Spot replacement', () => {
  const terminate = (id: string) => ({ ...fixture('spot-interruption-terminate.json'), detail: { 'instance-id': id, 'instance-action': 'terminate' } });

  it('detaches the warned instance without lowering desired capacity and drains it directly; a duplicate warning detaches nothing', async () => {
    const { world, clock, member, aws, handler, telemetry } = setup({ SPOT_EARLY_REPLACEMENT: 'true' });
    await expect(handler(terminate(member.ec2InstanceId))).resolves.toMatchObject({ outcome: 'drained' });
    expect(aws.calls('autoscaling:DetachInstances').map((call) => call.input)).toEqual([
      { AutoScalingGroupName: 'asg', InstanceIds: [member.ec2InstanceId], ShouldDecrementDesiredCapacity: false },
    ]);
    expect(member.status).toBe('DRAINING');
    expect(world.groupOf(member.ec2InstanceId)).toBeUndefined();
    expect(telemetry.metricTotal('EarlyReplacementRequested', { group: 'asg' })).toBe(1);
    await expect(handler(terminate(member.ec2InstanceId))).resolves.toMatchObject({ outcome: 'no-action', reason: 'already-draining' });
    expect(aws.calls('autoscaling:DetachInstances')).toHaveLength(1);
    // The group launches the replacement now: back at desired capacity with a new instance.
    await clock.advance(25_000);
    const group = world.groups.get('asg')!;
    expect(group.desiredCapacity).toBe(2);
    expect([...group.instances.values()].filter((entry) => entry.lifecycleState === 'InService')).toHaveLength(2);
  });

  it('is off by default: no Auto Scaling call at all', async () => {
    const { member, aws, handler } = setup();
    await expect(handler(terminate(member.ec2InstanceId))).resolves.toMatchObject({ outcome: 'drained' });
    expect(aws.calls().filter((call) => call.service === 'autoscaling')).toEqual([]);
  });

  it('leaves instances outside any group, in other groups, and stop/hibernate warnings alone', async () => {
    const { lone, member, aws, handler } = setup({ SPOT_EARLY_REPLACEMENT: 'true', AUTO_SCALING_GROUPS: 'other' });
    await handler(terminate(lone.ec2InstanceId));
    await handler(terminate(member.ec2InstanceId));
    const stop = { ...fixture('spot-interruption-stop.json'), detail: { 'instance-id': member.ec2InstanceId, 'instance-action': 'stop' } };
    await handler(stop);
    expect(aws.calls('autoscaling:DetachInstances')).toEqual([]);
    expect(lone.status).toBe('DRAINING');
    expect(member.status).toBe('DRAINING');
  });

  it('still drains when the detach fails; the failure is logged and counted, not retried', async () => {
    const { member, aws, handler, telemetry } = setup({ SPOT_EARLY_REPLACEMENT: 'true' });
    aws.fail({ operation: 'autoscaling:DetachInstances', error: 'server', times: 50 });
    await expect(handler(terminate(member.ec2InstanceId))).resolves.toMatchObject({ outcome: 'drained' });
    expect(member.status).toBe('DRAINING');
    expect(telemetry.metricTotal('EarlyReplacementSkipped', { reason: 'failed' })).toBe(1);
  });
});

describe('rebalance drains past their grace period', () => {
  const rebalance = (id: string) => ({ ...fixture('rebalance-recommendation.json'), detail: { 'instance-id': id } });

  it('are undone at the first event acted on after the grace period, at most once per interval; a stopped instance is left alone', async () => {
    const { world, clock, lone, member, aws, handler, telemetry } = setup({ REBALANCE_DRAIN: 'true', UNDRAIN_GRACE_MINUTES: '30' });
    await expect(handler(rebalance(lone.ec2InstanceId))).resolves.toMatchObject({ outcome: 'drained' });
    await expect(handler(rebalance(member.ec2InstanceId))).resolves.toMatchObject({ outcome: 'drained' });
    // member is stopped: its agent disconnects, so the check must not undo its drain.
    world.stopInstance(member.ec2InstanceId);
    expect(aws.calls('ecs:ListAttributes')).toHaveLength(1);
    await clock.advance(31 * 60_000);
    // An ignored event triggers nothing.
    const ignored = { ...fixture('state-change-running.json'), detail: { 'instance-id': 'i-0fffffffffffffff0', state: 'pending' } };
    await handler(ignored);
    expect(aws.calls('ecs:ListAttributes')).toHaveLength(1);
    expect(lone.status).toBe('DRAINING');
    // Any event acted on (here a no-op for an unknown instance) runs the check.
    await handler(rebalance('i-0fffffffffffffff0'));
    expect(lone.status).toBe('ACTIVE');
    expect(lone.attributes.has(DRAINED_FOR)).toBe(false);
    expect(member.status).toBe('DRAINING');
    expect(member.attributes.get(DRAINED_FOR)).toMatch(/^rebalance@/);
    expect(telemetry.metricTotal('InstanceUndrained', { kind: 'rebalance-grace' })).toBe(1);
    // Within the interval: no second check.
    await handler(rebalance('i-0fffffffffffffff0'));
    expect(aws.calls('ecs:ListAttributes')).toHaveLength(2);
  });

  it('never undoes a young rebalance drain, nor one the group is terminating', async () => {
    const { world, clock, lone, member, aws, handler } = setup({ REBALANCE_DRAIN: 'true', UNDRAIN_GRACE_MINUTES: '30' });
    await handler(rebalance(member.ec2InstanceId));
    world.callSync('autoscaling', 'TerminateInstanceInAutoScalingGroup', { InstanceId: member.ec2InstanceId, ShouldDecrementDesiredCapacity: false });
    await clock.advance(11 * 60_000);
    await handler(rebalance(lone.ec2InstanceId));
    expect(lone.status).toBe('DRAINING');
    await clock.advance(31 * 60_000);
    await handler(rebalance('i-0fffffffffffffff0'));
    expect(lone.status).toBe('ACTIVE');
    // The group's termination went ahead (the hook timed out); the check never set the member ACTIVE.
    expect(member.status).not.toBe('ACTIVE');
    const activated = aws.calls('ecs:UpdateContainerInstancesState').filter((call) => call.input.status === 'ACTIVE');
    expect(activated.flatMap((call) => call.input.containerInstances as string[])).toEqual([lone.arn]);
  });

  it('a failing check is logged and counted, and never fails the event', async () => {
    const { clock, lone, aws, handler, telemetry } = setup({ REBALANCE_DRAIN: 'true', UNDRAIN_GRACE_MINUTES: '30' });
    await handler(rebalance(lone.ec2InstanceId));
    await clock.advance(31 * 60_000);
    aws.fail({ operation: 'ecs:ListAttributes', error: 'AccessDeniedException', times: 5 });
    await expect(handler(rebalance('i-0fffffffffffffff0'))).resolves.toMatchObject({ outcome: 'no-action' });
    expect(telemetry.metricTotal('GraceCheckFailed', { cluster: 'prod' })).toBe(1);
    expect(lone.status).toBe('DRAINING');
  });
});
