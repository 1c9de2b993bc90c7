import fc from 'fast-check';
import { RetryableError } from '../../../lib/errors';
import { MemoryTelemetry } from '../../../lib/telemetry';
import { NOW, SweeperWorld } from './world';
import { fixture } from '../../fixtures';

const scheduled = fixture('scheduled-sweep.json');

function setup(env: Record<string, string> = {}) {
  const aws = new SweeperWorld();
  return { aws, ...aws.sweeper(env) };
}

const decision = (telemetry: MemoryTelemetry) => telemetry.logs.filter((entry) => entry.message === 'sweep decision');

describe('scale-in sweeper handler', () => {
  it('reads a cluster over several pages: every nextToken followed, exact inputs, batches of 100 and 50', async () => {
    const { aws, handler } = setup({ MAX_REMOVALS_PER_RUN: '0' });
    aws.addInstances('prod', 'asg', 250, { tasksPerInstance: 1 });

    const result = await handler(scheduled);

    expect(result.clusters[0]).toMatchObject({ cluster: 'prod', outcome: 'executed', instances: 250 });
    const lists = aws.aws.inputs('ecs:ListContainerInstances');
    expect(lists).toEqual([
      { cluster: 'prod', maxResults: 100 },
      { cluster: 'prod', maxResults: 100, nextToken: expect.any(String) },
      { cluster: 'prod', maxResults: 100, nextToken: expect.any(String) },
    ]);
    expect(lists[1]?.nextToken).not.toEqual(lists[2]?.nextToken);
    expect(aws.aws.inputs('ecs:DescribeContainerInstances').map((input) => (input.containerInstances as string[]).length)).toEqual([100, 100, 50]);
    expect(aws.aws.inputs('autoscaling:DescribeAutoScalingInstances').map((input) => (input.InstanceIds as string[]).length)).toEqual([50, 50, 50, 50, 50]);
    // Every instance runs a task and the cluster has no daemon service: no task read at all.
    expect(aws.aws.calls('ecs:ListTasks')).toHaveLength(0);
  });

  it('reads tasks cluster-wide when that is cheaper, and sees through daemon tasks', async () => {
    const { aws, handler } = setup({ MAX_REMOVALS_PER_RUN: '1' });
    aws.daemons('prod', ['log-router']);
    const instances = aws.addInstances('prod', 'asg', 3, { idleSinceMinutesAgo: 60 });
    // A hook waits for the daemons, so the idle instance is terminated in this run.
    aws.terminationHook('asg');

    const result = await handler(scheduled);

    // Three instances with one task each (the daemon): 3 lists + 1 describe per instance, or
    // 1 list + 1 describe for the whole cluster.
    expect(result.clusters[0]?.idleInstances).toBe(3);
    const [removed] = result.clusters[0]?.execution.terminated ?? [];
    const chosen = instances.find((instance) => instance.ec2InstanceId === removed);
    expect(chosen).toBeDefined();
    expect(aws.aws.inputs('ecs:ListTasks')).toEqual([
      { cluster: 'prod', desiredStatus: 'RUNNING', maxResults: 100 },
      // The re-check lists the chosen instance's tasks of both desired statuses.
      { cluster: 'prod', containerInstance: chosen!.arn, desiredStatus: 'RUNNING' },
      { cluster: 'prod', containerInstance: chosen!.arn, desiredStatus: 'STOPPED' },
    ]);
    expect(result.clusters[0]?.execution.terminated).toEqual([chosen!.ec2InstanceId]);
  });

  it('removes an instance idle long enough: marks it, drains it, then terminates it with the desired capacity lowered', async () => {
    const { aws, handler, telemetry } = setup();
    aws.daemons('prod', ['log-router']);
    aws.addInstances('prod', 'asg', 2, { tasksPerInstance: 2 });
    const [idle] = aws.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 45 });
    // A hook waits for the daemons, so the idle instance is terminated in this run.
    aws.terminationHook('asg');

    const result = await handler(scheduled);

    expect(result.clusters[0]?.execution).toMatchObject({ drained: [idle!.ec2InstanceId], terminated: [idle!.ec2InstanceId], dropped: [] });
    expect(aws.aws.inputs('ecs:UpdateContainerInstancesState')).toEqual([{ cluster: 'prod', containerInstances: [idle!.arn], status: 'DRAINING' }]);
    expect(aws.aws.inputs('autoscaling:TerminateInstanceInAutoScalingGroup')).toEqual([{ InstanceId: idle!.ec2InstanceId, ShouldDecrementDesiredCapacity: true }]);
    // Order: the drain marker, then DRAINING, then the termination.
    expect(aws.writes()).toEqual(['PutAttributes', 'UpdateContainerInstancesState', 'TerminateInstanceInAutoScalingGroup']);
    expect(aws.attributes(idle!.ec2InstanceId)['ecs-ec2-keeper.drained-at']).toBe(new Date(NOW).toISOString());
    expect(aws.world.groups.get('asg')?.desiredCapacity).toBe(2);
    // The hook holds the instance in Terminating:Wait until its drainer completes the action.
    expect(aws.world.groups.get('asg')?.instances.get(idle!.ec2InstanceId)?.lifecycleState).toBe('Terminating:Wait');
    expect(decision(telemetry)).toHaveLength(1);
    expect(decision(telemetry)[0]?.fields).toMatchObject({
      cluster: 'prod',
      outcome: 'executed',
      instances: 3,
      selected: [{ ec2InstanceId: idle!.ec2InstanceId, group: 'asg', reason: 'idle', idleMinutes: 45 }],
      skippedByReason: { busy: 2 },
      terminated: [idle!.ec2InstanceId],
    });
  });

  it('budgets a group serving two clusters once: one removal when the group has room for one', async () => {
    const { aws, handler } = setup({ CLUSTERS: 'one,two', DRY_RUN: 'true' });
    aws.addInstances('one', 'shared', 1, { idleSinceMinutesAgo: 120 });
    aws.addInstances('two', 'shared', 1, { idleSinceMinutesAgo: 120 });
    aws.world.groups.get('shared')!.minSize = 1;

    const result = await handler({});

    expect(result.clusters.map((entry) => entry.selected.length)).toEqual([1, 0]);
    expect(result.clusters[1]!.skippedByReason).toEqual({ 'group-at-minimum': 1 });
  });

  it('keeps the decision line bounded and lists the instances with a reason other than busy first', async () => {
    const { aws, handler, telemetry } = setup({ MAX_REMOVALS_PER_RUN: '0' });
    aws.addInstances('prod', 'asg', 60, { tasksPerInstance: 1 });
    const [waiting] = aws.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 120 });

    await handler(scheduled);

    const fields = decision(telemetry)[0]!.fields as { skipped: { ec2InstanceId: string; reason: string }[]; skippedOmitted: number; skippedByReason: unknown };
    expect(fields.skipped).toHaveLength(50);
    expect(fields.skippedOmitted).toBe(11);
    expect(fields.skipped[0]).toEqual({ ec2InstanceId: waiting!.ec2InstanceId, reason: 'budget-used' });
    expect(fields.skippedByReason).toEqual({ busy: 60, 'budget-used': 1 });
  });

  it('publishes the capacity metrics per cluster with the cluster dimension and the clock time', async () => {
    const { aws, handler } = setup({ SCHEDULABLE_TASK_CPU: '512', SCHEDULABLE_TASK_MEMORY: '1024', MIN_IDLE_MINUTES: '30' });
    aws.addInstances('prod', 'asg', 2, { tasksPerInstance: 2 }); // each 1536 CPU / 3072 MiB free
    aws.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 10 }); // 2048 / 4096 free, not idle long enough

    await handler(scheduled);

    expect(aws.aws.calls('cloudwatch:PutMetricData')).toHaveLength(1);
    const published = aws.world.metrics;
    expect(new Set(published.map((datum) => datum.namespace))).toEqual(new Set(['EcsEc2Keeper']));
    const values = Object.fromEntries(published.map((datum) => [datum.metricName, datum.value]));
    expect(values).toEqual({
      FreeCpu: 1536 * 2 + 2048,
      FreeMemory: 3072 * 2 + 4096,
      IdleInstances: 1,
      InstancesRemoved: 0,
      // min(3, 3) + min(3, 3) + min(4, 4)
      SchedulableTasks: 10,
    });
    for (const datum of published) {
      expect(datum.dimensions).toEqual({ cluster: 'prod' });
      expect(datum.timestamp).toBe(NOW);
    }
  });

  it('re-checks before acting and drops an instance that became busy in between', async () => {
    const { aws, handler, telemetry } = setup();
    const [idle] = aws.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 120 });
    aws.addInstances('prod', 'asg', 1, { tasksPerInstance: 1 });
    // A task lands on the idle instance between the snapshot and the re-check.
    aws.aws.before('ecs:DescribeContainerInstances', (_input, call) => {
      if (call === 2) aws.runTask('prod', idle!.ec2InstanceId);
    });

    const result = await handler(scheduled);

    expect(result.clusters[0]?.selected.map((entry) => entry.ec2InstanceId)).toEqual([idle!.ec2InstanceId]);
    expect(result.clusters[0]?.execution.dropped).toEqual([{ containerInstanceArn: idle!.arn, ec2InstanceId: idle!.ec2InstanceId, reason: 'busy' }]);
    expect(aws.aws.calls('ecs:UpdateContainerInstancesState')).toHaveLength(0);
    expect(aws.aws.calls('autoscaling:TerminateInstanceInAutoScalingGroup')).toHaveLength(0);
    expect(aws.instance(idle!.ec2InstanceId).status).toBe('ACTIVE');
    expect(telemetry.messages()).toContain('sweep candidate changed; dropped');
  });

  it('does not terminate an instance that got a task between the re-check and DRAINING; a later run does once it is empty', async () => {
    // The later run's side; finish-within-run.test.ts covers the run that waits for its drains.
    const { aws, handler, telemetry } = setup({ DRAIN_WAIT_SECONDS: '0' });
    const [idle] = aws.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 120 });
    aws.addInstances('prod', 'asg', 1, { tasksPerInstance: 1 });
    aws.aws.before('ecs:UpdateContainerInstancesState', (_input, call) => {
      if (call === 1) aws.runTask('prod', idle!.ec2InstanceId);
    });

    const first = await handler(scheduled);
    expect(first.clusters[0]?.execution).toMatchObject({ drained: [idle!.ec2InstanceId], postponed: [idle!.ec2InstanceId], terminated: [] });
    expect(aws.aws.calls('autoscaling:TerminateInstanceInAutoScalingGroup')).toHaveLength(0);
    expect(telemetry.messages()).toContain('termination postponed: a task arrived before DRAINING');

    const waiting = await handler(scheduled);
    expect(waiting.clusters[0]?.execution.terminated).toEqual([]);

    await aws.stopWorkOn(idle!.ec2InstanceId);
    const done = await handler(scheduled);
    expect(done.clusters[0]?.execution.terminated).toEqual([idle!.ec2InstanceId]);
  });

  it('re-checks before acting and drops an instance protected from scale in meanwhile', async () => {
    const { aws, handler } = setup();
    const [idle] = aws.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 120 });
    aws.aws.before('autoscaling:DescribeAutoScalingInstances', (_input, call) => {
      if (call === 2) aws.world.groups.get('asg')!.instances.get(idle!.ec2InstanceId)!.protectedFromScaleIn = true;
    });

    const result = await handler(scheduled);

    expect(result.clusters[0]?.execution.dropped.map((entry) => entry.reason)).toEqual(['protected']);
    expect(aws.aws.calls('ecs:UpdateContainerInstancesState')).toHaveLength(0);
  });

  it('DRY_RUN: snapshot, plan and log, but no write to ECS or Auto Scaling; metrics are still published', async () => {
    const { aws, handler, telemetry } = setup({ DRY_RUN: 'true' });
    aws.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 120 });
    aws.addInstances('prod', 'asg', 1, {}); // newly idle: would get an idle-since attribute
    aws.addInstances('prod', 'asg', 1, { tasksPerInstance: 1 });

    const result = await handler(scheduled);

    expect(result.dryRun).toBe(true);
    expect(result.clusters[0]?.selected).toHaveLength(1);
    expect(aws.writes()).toEqual([]);
    expect(aws.aws.calls('cloudwatch:PutMetricData')).toHaveLength(1);
    expect(decision(telemetry)[0]?.fields).toMatchObject({ dryRun: true, outcome: 'planned', terminated: [], idleSinceNotSet: 1 });
  });

  it('remembers idle-since across runs and removes the instance once it has been idle for MIN_IDLE_MINUTES', async () => {
    const { aws, handler } = setup({ MIN_IDLE_MINUTES: '30' });
    const [instance] = aws.addInstances('prod', 'asg', 1, {});
    aws.addInstances('prod', 'asg', 1, { tasksPerInstance: 1 });

    const first = await handler(scheduled);
    expect(first.clusters[0]?.skippedByReason).toMatchObject({ 'not-idle-long-enough': 1 });
    expect(aws.attributes(instance!.ec2InstanceId)['ecs-ec2-keeper.idle-since']).toBe(new Date(NOW).toISOString());

    await aws.clock.advance(30 * 60_000);
    const second = await handler(scheduled);
    expect(second.clusters[0]?.execution.terminated).toEqual([instance!.ec2InstanceId]);
  });

  it('goes on sweeping when the idle clock cannot be recorded', async () => {
    const { aws, handler, telemetry } = setup();
    aws.addInstances('prod', 'asg', 1, {});
    aws.addInstances('prod', 'asg', 1, { tasksPerInstance: 1 });
    aws.aws.fail({ operation: 'ecs:PutAttributes', error: 'throttling' });

    const result = await handler(scheduled);

    expect(result.clusters[0]).toMatchObject({ outcome: 'executed', idleInstances: 1 });
    expect(telemetry.metricTotal('IdleSinceNotRecorded', { cluster: 'prod' })).toBe(1);
    expect(decision(telemetry)[0]?.fields).toMatchObject({ idleSinceNotSet: 1 });
    expect(aws.aws.calls('cloudwatch:PutMetricData')).toHaveLength(1);
  });

  it('clears idle-since when the instance is busy again', async () => {
    const { aws, handler } = setup();
    const [instance] = aws.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 10 });
    aws.runTask('prod', instance!.ec2InstanceId);

    await handler(scheduled);

    expect(aws.aws.inputs('ecs:DeleteAttributes')).toEqual([
      { cluster: 'prod', attributes: [{ name: 'ecs-ec2-keeper.idle-since', targetType: 'container-instance', targetId: instance!.arn }] },
    ]);
    expect(aws.attributes(instance!.ec2InstanceId)).toEqual({});
  });

  it('a refused termination is logged and counted, not thrown; the next run sets the instance ACTIVE again', async () => {
    const { aws, handler, telemetry } = setup();
    const [idle] = aws.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 120 });
    aws.addInstances('prod', 'asg', 1, { tasksPerInstance: 1 });
    // The group's minimum is raised between the re-check and the termination.
    aws.aws.before('autoscaling:TerminateInstanceInAutoScalingGroup', (_input, call) => {
      if (call === 1) aws.world.groups.get('asg')!.minSize = 2;
    });

    const result = await handler(scheduled);
    expect(result.clusters[0]?.execution.refused).toEqual([{ ec2InstanceId: idle!.ec2InstanceId, reason: 'ValidationError' }]);
    expect(aws.aws.calls('autoscaling:TerminateInstanceInAutoScalingGroup').map((call) => call.outcome)).toEqual(['ValidationError']);
    expect(telemetry.metricTotal('TerminationRefused', { cluster: 'prod' })).toBe(1);
    expect(aws.instance(idle!.ec2InstanceId).status).toBe('DRAINING');

    const next = await handler(scheduled);
    expect(next.clusters[0]?.execution.reactivated).toEqual([idle!.ec2InstanceId]);
    expect(aws.instance(idle!.ec2InstanceId).status).toBe('ACTIVE');
    expect(aws.attributes(idle!.ec2InstanceId)).toEqual({});
  });

  it('consolidation drains a lightly used instance now and terminates it on a later run, once ECS has moved its task', async () => {
    // The later run's side; finish-within-run.test.ts covers the run that waits for its drains.
    const { aws, handler } = setup({ CONSOLIDATE: 'true', DRAIN_WAIT_SECONDS: '0' });
    // Service tasks only: a standalone task blocks consolidation.
    const [light] = aws.addInstances('prod', 'asg', 1, { serviceTasks: 1 });
    aws.addInstances('prod', 'asg', 2, { serviceTasks: 3 });
    expect(aws.workOn(light!.ec2InstanceId)).toHaveLength(1);

    const first = await handler(scheduled);
    expect(first.clusters[0]?.selected).toEqual([expect.objectContaining({ ec2InstanceId: light!.ec2InstanceId, reason: 'consolidate' })]);
    expect(first.clusters[0]?.execution).toMatchObject({ drained: [light!.ec2InstanceId], terminated: [] });
    expect(aws.aws.calls('autoscaling:TerminateInstanceInAutoScalingGroup')).toHaveLength(0);

    // Still moving: the next run waits.
    const waiting = await handler(scheduled);
    expect(waiting.clusters[0]?.execution.terminated).toEqual([]);

    // The service scheduler replaces the task of the DRAINING instance elsewhere, then stops it.
    await aws.clock.advance(5 * 60_000);
    expect(aws.workOn(light!.ec2InstanceId)).toEqual([]);
    const done = await handler(scheduled);
    expect(done.clusters[0]?.execution.terminated).toEqual([light!.ec2InstanceId]);
  });

  it('an invalid event is logged and counted once, with no AWS call', async () => {
    const { aws, handler, telemetry } = setup();
    const result = await handler({ source: 'aws.ec2', 'detail-type': 'EC2 Spot Instance Interruption Warning', detail: {} });
    expect(result).toEqual({ outcome: 'invalid', reason: 'unexpected-source', dryRun: false, clusters: [] });
    expect(aws.aws.calls()).toHaveLength(0);
    expect(telemetry.metricTotal('InvalidEvent', { function: 'scaleInSweeper', reason: 'unexpected-source' })).toBe(1);
  });

  it('no event but the scheduled one or {} ever reaches AWS', async () => {
    const { aws, handler } = setup();
    aws.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 120 });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.anything(),
          fc.record({ source: fc.string(), 'detail-type': fc.string(), detail: fc.anything() }),
          fc.constant({ source: 'aws.events', 'detail-type': 'scheduled event' }),
        ),
        async (event) => {
          fc.pre(!(typeof event === 'object' && event !== null && !Array.isArray(event) && Object.keys(event).length === 0));
          const fields = event as Record<string, unknown> | null | undefined;
          fc.pre(!(fields?.source === 'aws.events' && fields['detail-type'] === 'Scheduled Event'));
          const result = await handler(event);
          expect(result.outcome).toBe('invalid');
          expect(aws.aws.calls()).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('starts no write with less than the safety margin of the invocation left', async () => {
    const { aws, handler } = setup();
    const [idle] = aws.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 120 });
    aws.addInstances('prod', 'asg', 1, { tasksPerInstance: 1 });
    const result = await handler(scheduled, { getRemainingTimeInMillis: () => 5_000 });
    expect(result.clusters[0]?.selected.map((entry) => entry.ec2InstanceId)).toEqual([idle!.ec2InstanceId]);
    expect(result.clusters[0]?.execution.deferred).toBe(1);
    expect(aws.writes().filter((operation) => ['UpdateContainerInstancesState', 'TerminateInstanceInAutoScalingGroup'].includes(operation))).toEqual([]);
    expect(aws.instance(idle!.ec2InstanceId).status).toBe('ACTIVE');
  });

  it('accepts a manual invocation with an empty object', async () => {
    const { aws, handler } = setup();
    aws.addInstances('prod', 'asg', 1, { tasksPerInstance: 1 });
    await expect(handler({})).resolves.toMatchObject({ outcome: 'swept' });
  });

  it('a failing cluster does not stop the others; the invocation fails after their metrics are out', async () => {
    const { aws, handler, telemetry } = setup({ CLUSTERS: 'prod,staging,gone' });
    aws.addInstances('prod', 'asg', 1, { tasksPerInstance: 1 });
    aws.addInstances('staging', 'asg-staging', 1, { tasksPerInstance: 1 });
    aws.aws.fail({ operation: 'ecs:ListContainerInstances', error: 'throttling', when: (input) => input.cluster === 'prod' });

    await expect(handler(scheduled)).rejects.toThrow(RetryableError);
    expect(aws.aws.calls('ecs:ListContainerInstances').map((call) => [call.input.cluster, call.outcome])).toEqual([
      ['prod', 'ThrottlingException'],
      ['staging', 'ok'],
      ['gone', 'ClusterNotFoundException'],
    ]);
    expect(aws.world.metrics.every((datum) => datum.dimensions.cluster === 'staging')).toBe(true);
    expect(aws.world.metrics).toHaveLength(5);
    expect(telemetry.metricTotal('SweepFailed', { cluster: 'prod', errorClass: 'retryable' })).toBe(1);
    expect(telemetry.metricTotal('ClusterNotFound', { cluster: 'gone' })).toBe(1);
  });
});
