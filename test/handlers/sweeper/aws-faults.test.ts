import { MemoryTelemetry } from '../../../lib/telemetry';
import { IDLE_SINCE, NOW, SweeperWorld } from './world';
import { fixture } from '../../fixtures';

/**
 * The sweeper against two things AWS really does (docs/aws-behaviour.md §3.1, §3.2): a container
 * instance whose 10 custom attribute slots are taken fails PutAttributes as a whole call, and Auto
 * Scaling refuses a termination while the group has a scaling activity in progress. Both concern
 * one instance; neither may fail the cluster's sweep.
 */
const scheduled = fixture('scheduled-sweep.json');
const DRAINED_AT = 'ecs-ec2-keeper.drained-at';

function setup(aws = new SweeperWorld()) {
  return { aws, ...aws.sweeper({ MAX_REMOVALS_PER_RUN: '4' }) };
}

/** Operator labels on an instance: `count` custom attributes that are not the suite's. */
function label(aws: SweeperWorld, ec2InstanceId: string, count: number): void {
  for (let index = 0; index < count; index += 1) aws.instance(ec2InstanceId).attributes.set(`team.label-${index}`, 'x');
}

const metric = (telemetry: MemoryTelemetry, name: string) =>
  telemetry.metrics.filter((entry) => entry.name === name).reduce((sum, entry) => sum + entry.value, 0);

describe('scale-in sweeper: attribute slots full', () => {
  it('skips an idle instance with no slot for the drain marker, and removes the others in the same run', async () => {
    const { aws, handler, telemetry } = setup();
    aws.addInstances('prod', 'asg', 1, { tasksPerInstance: 1 });
    const [free, full] = aws.addInstances('prod', 'asg', 2, { idleSinceMinutesAgo: 45 });
    // idle-since and nine labels: ten custom attributes, so drained-at would be the eleventh.
    label(aws, full!.ec2InstanceId, 9);

    const result = await handler(scheduled);

    expect(result.clusters[0]?.outcome).toBe('executed');
    expect(result.clusters[0]?.execution).toMatchObject({
      drained: [free!.ec2InstanceId],
      terminated: [free!.ec2InstanceId],
      dropped: [{ ec2InstanceId: full!.ec2InstanceId, reason: 'attributes-full' }],
      failed: [],
    });
    expect(aws.instance(full!.ec2InstanceId).status).toBe('ACTIVE');
    expect(aws.attributes(full!.ec2InstanceId)[DRAINED_AT]).toBeUndefined();
    expect(metric(telemetry, 'AttributesFull')).toBe(1);
    // The whole batch was refused once, then each instance written alone.
    const [batch, ...single] = aws.aws.calls('ecs:PutAttributes');
    expect(batch?.outcome).toBe('AttributeLimitExceededException');
    expect(single.map((call) => [(call.input.attributes as { targetId: string }[]).map((a) => a.targetId), call.outcome]).sort()).toEqual(
      [[[free!.arn], 'ok'], [[full!.arn], 'AttributeLimitExceededException']].sort(),
    );
  });

  it('starts the idle clock of every other instance when one newly idle instance is full', async () => {
    const { aws, handler, telemetry } = setup();
    aws.addInstances('prod', 'asg', 1, { tasksPerInstance: 1 });
    const [free, full] = aws.addInstances('prod', 'asg', 2);
    label(aws, full!.ec2InstanceId, 10);

    const result = await handler(scheduled);

    expect(result.clusters[0]?.outcome).toBe('executed');
    expect(aws.attributes(free!.ec2InstanceId)[IDLE_SINCE]).toBe(new Date(NOW).toISOString());
    expect(aws.attributes(full!.ec2InstanceId)[IDLE_SINCE]).toBeUndefined();
    expect(metric(telemetry, 'AttributesFull')).toBe(1);
    expect(metric(telemetry, 'IdleSinceNotRecorded')).toBe(0);
    expect(telemetry.logs.find((entry) => entry.message === 'sweep decision')?.fields).toMatchObject({ attributesFull: [full!.ec2InstanceId] });
  });
});

describe('scale-in sweeper: Auto Scaling group busy', () => {
  it('defers the termination refused with ScalingActivityInProgress, goes on with the plan, and finishes it in a later run', async () => {
    const { aws, handler, telemetry } = setup();
    aws.addInstances('prod', 'busy', 1, { tasksPerInstance: 1 });
    aws.addInstances('prod', 'calm', 1, { tasksPerInstance: 1 });
    const [blocked] = aws.addInstances('prod', 'busy', 1, { idleSinceMinutesAgo: 45 });
    const [other] = aws.addInstances('prod', 'calm', 1, { idleSinceMinutesAgo: 45 });
    aws.world.rules.autoScaling.beginActivity('busy', 10 * 60_000);

    const first = await handler(scheduled);

    expect(first.clusters[0]?.outcome).toBe('executed');
    expect(first.clusters[0]?.execution).toMatchObject({
      terminated: [other!.ec2InstanceId],
      deferredTerminations: [{ ec2InstanceId: blocked!.ec2InstanceId, reason: 'ScalingActivityInProgressFault' }],
    });
    expect(first.clusters[0]?.execution.drained.sort()).toEqual([blocked!.ec2InstanceId, other!.ec2InstanceId].sort());
    // Still marked and DRAINING: the next run knows the drain is its own.
    expect(aws.instance(blocked!.ec2InstanceId).status).toBe('DRAINING');
    expect(aws.attributes(blocked!.ec2InstanceId)[DRAINED_AT]).toBeDefined();
    expect(metric(telemetry, 'TerminationDeferred')).toBe(1);

    await aws.clock.advance(11 * 60_000);
    const second = await handler(scheduled);

    expect(second.clusters[0]?.execution.terminated).toEqual([blocked!.ec2InstanceId]);
    expect(aws.world.terminations.map((termination) => termination.ec2InstanceId).sort()).toEqual([blocked!.ec2InstanceId, other!.ec2InstanceId].sort());
  });

  it('treats ResourceContention that outlasts the SDK retries the same way', async () => {
    const { aws, handler, telemetry } = setup();
    aws.addInstances('prod', 'asg', 1, { tasksPerInstance: 1 });
    const [first, second] = aws.addInstances('prod', 'asg', 2, { idleSinceMinutesAgo: 45 });
    aws.aws.fail({
      operation: 'autoscaling:TerminateInstanceInAutoScalingGroup',
      error: 'ResourceContention',
      status: 500,
      when: (input) => input.InstanceId === first!.ec2InstanceId,
    });

    const result = await handler(scheduled);

    expect(result.clusters[0]?.outcome).toBe('executed');
    expect(result.clusters[0]?.execution).toMatchObject({
      terminated: [second!.ec2InstanceId],
      deferredTerminations: [{ ec2InstanceId: first!.ec2InstanceId, reason: 'ResourceContentionFault' }],
    });
    expect(metric(telemetry, 'TerminationDeferred')).toBe(1);
  });
});
