import { MemoryTelemetry } from '../../../lib/telemetry';
import { NOW, SweeperWorld } from './world';
import { fixture } from '../../fixtures';

const scheduled = fixture('scheduled-sweep.json');

/**
 * A drained instance is empty within a minute or two: the service scheduler starts its tasks
 * elsewhere and stops them there, and ECS stops the daemon tasks last (docs/aws-behaviour.md §2,
 * taught to the simulator's world). The run watches its drains for up to DRAIN_WAIT_SECONDS and
 * terminates each one as soon as it is empty, instead of paying for it until the next run.
 * The handler's clock is the world's: while the run waits, ECS moves tasks and stops daemons.
 */
function setup(env: Record<string, string> = {}, remainingMs?: number) {
  const aws = new SweeperWorld();
  const { handler, telemetry } = aws.sweeper(env);
  aws.daemons('prod', ['log-router']);
  const context = remainingMs === undefined ? undefined : { getRemainingTimeInMillis: () => remainingMs };
  const run = () => handler(scheduled, context);
  return { aws, telemetry, run };
}

const line = (telemetry: MemoryTelemetry, message: string) => telemetry.logs.filter((entry) => entry.message === message).map((entry) => entry.fields);
const removed = (aws: SweeperWorld) => aws.world.metrics.find((datum) => datum.metricName === 'InstancesRemoved')?.value;

describe('sweeper: drains finished within the run', () => {
  it('an idle instance of a group without a termination hook is terminated in the run that drains it, once its daemon task has STOPPED', async () => {
    const { aws, telemetry, run } = setup();
    aws.addInstances('prod', 'asg', 2, { tasksPerInstance: 2 });
    const [idle] = aws.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 45 });
    const daemon = aws.world.tasksOn(aws.instance(idle!.ec2InstanceId)).find((task) => task.daemon)!;

    const result = await run();

    expect(result.clusters[0]?.execution).toMatchObject({ drained: [idle!.ec2InstanceId], terminated: [idle!.ec2InstanceId], awaitingDaemons: [] });
    const termination = aws.world.terminations.find((entry) => entry.ec2InstanceId === idle!.ec2InstanceId)!;
    // The daemon had its stop: nothing was killed with the instance, and it went at the first look.
    expect(termination).toMatchObject({ cause: 'terminate-api', unstoppedTasks: 0, unstoppedDaemonTasks: 0 });
    expect(daemon.stoppedAt).toBeLessThan(termination.at);
    // At the first look after the daemon's stop (one every 15 s), well within the two minutes.
    expect((termination.at - NOW) % 15_000).toBe(0);
    expect(termination.at - daemon.stoppedAt!).toBeLessThanOrEqual(15_000);
    expect(termination.at - NOW).toBeLessThan(120_000);
    // The decision line still says what the plan found; the finishing line says what followed.
    expect(line(telemetry, 'sweep decision')[0]).toMatchObject({ awaitingDaemons: [{ ec2InstanceId: idle!.ec2InstanceId, reason: 'daemons-stopping' }] });
    expect(line(telemetry, 'drains finished within the run')).toEqual([
      expect.objectContaining({ cluster: 'prod', terminated: [idle!.ec2InstanceId], leftToNextRun: [], waitedSeconds: (termination.at - NOW) / 1000 }),
    ]);
    expect(removed(aws)).toBe(1);
    // The hook lookup of the first pass is not repeated: its answer is the run's.
    expect(aws.aws.calls('autoscaling:DescribeLifecycleHooks')).toHaveLength(1);
  });

  it('a consolidated instance is terminated in the same run once the service has moved its tasks, without killing one', async () => {
    const { aws, run } = setup({ CONSOLIDATE: 'true' });
    aws.addInstances('prod', 'asg', 2, { serviceTasks: 3 });
    const [light] = aws.addInstances('prod', 'asg', 1, { serviceTasks: 1 });
    const moving = aws.workOn(light!.ec2InstanceId)[0]!;

    const result = await run();

    expect(result.clusters[0]?.selected).toEqual([expect.objectContaining({ ec2InstanceId: light!.ec2InstanceId, reason: 'consolidate' })]);
    expect(result.clusters[0]?.execution).toMatchObject({ drained: [light!.ec2InstanceId], terminated: [light!.ec2InstanceId] });
    expect(moving.lastStatus).toBe('STOPPED');
    const web = [...aws.world.clusters.get('prod')!.tasks.values()].filter((task) => task.serviceName === 'web' && task.desiredStatus === 'RUNNING');
    expect(web).toHaveLength(7);
    expect(web.every((task) => task.lastStatus === 'RUNNING' && task.ec2InstanceId !== light!.ec2InstanceId)).toBe(true);
    expect(aws.world.terminations).toEqual([expect.objectContaining({ ec2InstanceId: light!.ec2InstanceId, unstoppedTasks: 0, unstoppedDaemonTasks: 0 })]);
    expect(aws.world.killedTasks).toEqual([]);
    expect(removed(aws)).toBe(1);
  });

  it('applies the rules a later run would: a group whose minimum was raised meanwhile gets the instance back ACTIVE', async () => {
    const { aws, run } = setup({ CONSOLIDATE: 'true' });
    aws.addInstances('prod', 'asg', 2, { serviceTasks: 3 });
    const [light] = aws.addInstances('prod', 'asg', 1, { serviceTasks: 1 });
    // An operator raises the minimum while the tasks move.
    aws.aws.before('ecs:DescribeContainerInstances', () => {
      if (aws.instance(light!.ec2InstanceId).status === 'DRAINING') aws.world.groups.get('asg')!.minSize = 3;
    });

    const result = await run();

    expect(result.clusters[0]?.execution).toMatchObject({ drained: [light!.ec2InstanceId], terminated: [], reactivated: [light!.ec2InstanceId] });
    expect(aws.instance(light!.ec2InstanceId).status).toBe('ACTIVE');
    expect(aws.attributes(light!.ec2InstanceId)['ecs-ec2-keeper.drained-at']).toBeUndefined();
    expect(aws.world.terminations).toEqual([]);
  });

  it('leaves the drain to the next run when the invocation has no time for one more look', async () => {
    // 29 s left: one look (15 s) would leave less than the 15 s every write needs.
    const { aws, telemetry, run } = setup({}, 29_000);
    aws.addInstances('prod', 'asg', 2, { tasksPerInstance: 2 });
    const [idle] = aws.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 45 });
    const describes = () => aws.aws.calls('ecs:DescribeContainerInstances').length;

    const result = await run();

    expect(result.clusters[0]?.execution).toMatchObject({ terminated: [], awaitingDaemons: [{ ec2InstanceId: idle!.ec2InstanceId, reason: 'daemons-stopping' }] });
    expect(aws.world.now()).toBe(NOW);
    // The snapshot, the re-check and the look after DRAINING: no look of the wait.
    expect(describes()).toBe(3);
    expect(line(telemetry, 'drains finished within the run')).toEqual([expect.objectContaining({ waitedSeconds: 0, terminated: [], leftToNextRun: [idle!.ec2InstanceId] })]);
    expect(aws.instance(idle!.ec2InstanceId).status).toBe('DRAINING');
  });

  it('with DRAIN_WAIT_SECONDS=0 the run ends at once and the next run terminates the instance', async () => {
    const { aws, telemetry, run } = setup({ DRAIN_WAIT_SECONDS: '0' });
    aws.addInstances('prod', 'asg', 2, { tasksPerInstance: 2 });
    const [idle] = aws.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 45 });

    const first = await run();
    expect(first.clusters[0]?.execution).toMatchObject({ terminated: [], awaitingDaemons: [{ ec2InstanceId: idle!.ec2InstanceId }] });
    expect(aws.world.now()).toBe(NOW);
    expect(line(telemetry, 'drains finished within the run')).toEqual([]);

    await aws.clock.advance(30 * 60_000);
    const second = await run();
    expect(second.clusters[0]?.execution.terminated).toEqual([idle!.ec2InstanceId]);
  });

  it('waits no longer than DRAIN_WAIT_SECONDS for tasks that cannot move, and says what it left to the next run', async () => {
    const { aws, telemetry, run } = setup({ CONSOLIDATE: 'true', DRAIN_WAIT_SECONDS: '45' });
    aws.addInstances('prod', 'asg', 2, { serviceTasks: 3 });
    const [light] = aws.addInstances('prod', 'asg', 1, { serviceTasks: 1 });
    // The service cannot start the replacement anywhere: every other agent disconnects after the plan.
    aws.aws.before('ecs:UpdateContainerInstancesState', () => {
      for (const instance of aws.world.clusters.get('prod')!.instances.values()) if (instance.ec2InstanceId !== light!.ec2InstanceId) instance.agentConnected = false;
    });

    const result = await run();

    expect(result.clusters[0]?.execution).toMatchObject({ drained: [light!.ec2InstanceId], terminated: [] });
    expect(aws.world.now()).toBe(NOW + 45_000);
    expect(line(telemetry, 'drains finished within the run')).toEqual([expect.objectContaining({ leftToNextRun: [light!.ec2InstanceId], terminated: [], waitedSeconds: 45 })]);
    expect(aws.workOn(light!.ec2InstanceId)).toHaveLength(1);
  });
});
