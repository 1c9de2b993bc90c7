import { NOW, SweeperWorld } from './world';
import { fixture } from '../../fixtures';

const scheduled = fixture('scheduled-sweep.json');
const RUN_INTERVAL_MS = 30 * 60_000;

/**
 * ECS stops daemon tasks on a DRAINING instance last (docs/aws-behaviour.md §2, taught to the
 * simulator's world): an idle instance terminated in the run that drains it takes its daemons down
 * with it unless a termination hook waits for them.
 */
function setup(env: Record<string, string> = {}) {
  const aws = new SweeperWorld();
  // The handler's clock is the world's, so drain markers and the world's events share one time.
  // The next run's side of the grace; finish-within-run.test.ts covers the run that waits for it.
  const { handler, telemetry } = aws.sweeper({ DRAIN_WAIT_SECONDS: '0', ...env });
  aws.daemons('prod', ['log-router']);
  aws.addInstances('prod', 'asg', 2, { tasksPerInstance: 2 });
  return { aws, handler, telemetry, nextRun: () => aws.clock.advance(RUN_INTERVAL_MS) };
}

describe('sweeper: daemon tasks get their stop before a termination', () => {
  it('without a termination hook: drains now, terminates in a later run once the daemon task is STOPPED', async () => {
    const { aws, handler, telemetry, nextRun } = setup();
    const [idle] = aws.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 45 });
    const daemon = aws.world.tasksOn(aws.instance(idle!.ec2InstanceId)).find((task) => task.daemon)!;
    expect(daemon.lastStatus).toBe('RUNNING');

    const first = await handler(scheduled);

    expect(first.clusters[0]?.execution).toMatchObject({
      drained: [idle!.ec2InstanceId],
      terminated: [],
      awaitingDaemons: [{ ec2InstanceId: idle!.ec2InstanceId, reason: 'daemons-stopping' }],
    });
    expect(aws.aws.inputs('autoscaling:DescribeLifecycleHooks')).toEqual([{ AutoScalingGroupName: 'asg' }]);
    expect(aws.aws.calls('autoscaling:TerminateInstanceInAutoScalingGroup')).toHaveLength(0);
    expect(aws.instance(idle!.ec2InstanceId).status).toBe('DRAINING');
    expect(aws.attributes(idle!.ec2InstanceId)['ecs-ec2-keeper.drained-at']).toBe(new Date(NOW).toISOString());

    await nextRun();
    // ECS stopped the daemon after the drain, before the next run.
    expect(daemon.lastStatus).toBe('STOPPED');
    const second = await handler(scheduled);

    expect(second.clusters[0]?.execution.terminated).toEqual([idle!.ec2InstanceId]);
    const termination = aws.world.terminations.find((entry) => entry.ec2InstanceId === idle!.ec2InstanceId);
    expect(termination).toMatchObject({ unstoppedTasks: 0, unstoppedDaemonTasks: 0 });
    expect(daemon.stoppedAt).toBeLessThan(termination!.at);
    // The daemon task was STOPPED when the run looked: no hook lookup was needed the second time.
    expect(aws.aws.calls('autoscaling:DescribeLifecycleHooks')).toHaveLength(1);
    const finishing = telemetry.logs.filter((entry) => entry.message === 'sweep decision').map((entry) => entry.fields.finishing);
    expect(finishing[0]).toEqual([]);
    expect(JSON.stringify(finishing[1])).toContain('"reason":"drained"');
  });

  it('when the hooks cannot be read: the group is treated as having none, so the daemons keep their stop and the sweep goes on', async () => {
    const { aws, handler, telemetry } = setup();
    aws.terminationHook('asg');
    const [idle] = aws.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 45 });
    aws.aws.fail({ operation: 'autoscaling:DescribeLifecycleHooks', error: 'AccessDenied', status: 403 });

    const result = await handler(scheduled);

    expect(result.clusters[0]?.execution).toMatchObject({
      drained: [idle!.ec2InstanceId],
      terminated: [],
      awaitingDaemons: [{ ec2InstanceId: idle!.ec2InstanceId, reason: 'daemons-stopping' }],
    });
    expect(aws.aws.calls('autoscaling:TerminateInstanceInAutoScalingGroup')).toHaveLength(0);
    expect(telemetry.messages('WARN')).toContain('termination hooks not read; the group is treated as having none');
    expect(telemetry.metricTotal('SweepFailed')).toBe(0);
  });

  it('without a termination hook: a finished drain whose daemon is still stopping waits, logged as daemons-stopping', async () => {
    const { aws, handler, telemetry } = setup();
    const [idle] = aws.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 45 });
    // An earlier run drained it a minute ago; its daemon task is still running.
    const instance = aws.instance(idle!.ec2InstanceId);
    instance.attributes.set('ecs-ec2-keeper.drained-at', new Date(NOW - 60_000).toISOString());
    instance.status = 'DRAINING';

    const result = await handler(scheduled);

    expect(result.clusters[0]?.execution).toMatchObject({ terminated: [], awaitingDaemons: [{ ec2InstanceId: idle!.ec2InstanceId, reason: 'daemons-stopping' }] });
    expect(aws.aws.calls('autoscaling:TerminateInstanceInAutoScalingGroup')).toHaveLength(0);
    const decision = telemetry.logs.find((entry) => entry.message === 'sweep decision')!;
    expect(JSON.stringify(decision.fields.finishing)).toContain('"action":"wait","reason":"daemons-stopping"');
  });

  it('with a termination hook: terminates in the same run (the hook waits for the daemons), one lookup per group', async () => {
    const { aws, handler } = setup({ MAX_REMOVALS_PER_RUN: '2' });
    const idle = aws.addInstances('prod', 'asg', 2, { idleSinceMinutesAgo: 45 });
    aws.terminationHook('asg');

    const result = await handler(scheduled);

    const ids = idle.map((entry) => entry.ec2InstanceId).sort();
    expect([...(result.clusters[0]?.execution.terminated ?? [])].sort()).toEqual(ids);
    expect(result.clusters[0]?.execution.awaitingDaemons).toEqual([]);
    // Two instances of one group about to be terminated: the group is asked once.
    expect(aws.aws.inputs('autoscaling:DescribeLifecycleHooks')).toEqual([{ AutoScalingGroupName: 'asg' }]);
    for (const id of ids) expect(aws.world.groups.get('asg')?.instances.get(id)?.lifecycleState).toBe('Terminating:Wait');
  });
});
