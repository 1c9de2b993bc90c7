import { TerminateInstanceInAutoScalingGroupCommand, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DeleteAttributesCommand,
  DescribeContainerInstancesCommand,
  ListContainerInstancesCommand,
  ListTasksCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../../lib/clock';
import { RetryableError } from '../../../lib/errors';
import { loadSweeperConfig } from '../../../lib/sweeper/config';
import { makeScaleInSweeperHandler } from '../../../lib/sweeper/handler';
import { MemoryTelemetry } from '../../../lib/telemetry';
import { FakeAws } from './fake-aws';

const NOW = Date.parse('2026-03-04T10:30:00.000Z');
const scheduled = JSON.parse(readFileSync(join(__dirname, '../../../events/scheduled-sweep.json'), 'utf8')) as unknown;
const WRITE_OPERATIONS = ['PutAttributes', 'DeleteAttributes', 'UpdateContainerInstancesState', 'TerminateInstanceInAutoScalingGroup'];

const fake = new FakeAws();
afterAll(() => fake.restore());

function virtualClock(start = NOW): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
    advance(ms) {
      now += ms;
    },
  };
}

function setup(env: Record<string, string> = {}) {
  fake.clear();
  fake.throttle.clear();
  const telemetry = new MemoryTelemetry();
  const clock = virtualClock();
  const config = loadSweeperConfig({ CLUSTERS: 'prod', MIN_FREE_CPU: '0', MIN_FREE_MEMORY: '0', ...env });
  const handler = makeScaleInSweeperHandler({ config, clients: fake.clients(), telemetry, clock });
  return { handler, telemetry, clock };
}

const decision = (telemetry: MemoryTelemetry) => telemetry.logs.filter((entry) => entry.message === 'sweep decision');

describe('scale-in sweeper handler', () => {
  it('reads a cluster over several pages: every nextToken followed, exact inputs, batches of 100 and 50', async () => {
    const { handler } = setup({ MAX_REMOVALS_PER_RUN: '0' });
    fake.addInstances('prod', 'asg', 250, { tasksPerInstance: 1 });

    const result = await handler(scheduled);

    expect(result.clusters[0]).toMatchObject({ cluster: 'prod', outcome: 'executed', instances: 250 });
    expect(fake.ecsMock).toHaveReceivedCommandTimes(ListContainerInstancesCommand, 3);
    expect(fake.ecsMock).toHaveReceivedNthCommandWith(1, ListContainerInstancesCommand, { cluster: 'prod', maxResults: 100 });
    expect(fake.requests.filter((request) => request.operation === 'ListContainerInstances').map((request) => request.input)).toEqual([
      { cluster: 'prod', maxResults: 100 },
      { cluster: 'prod', maxResults: 100, nextToken: 'token-100' },
      { cluster: 'prod', maxResults: 100, nextToken: 'token-200' },
    ]);
    const describeSizes = fake.ecsMock.commandCalls(DescribeContainerInstancesCommand).map((call) => call.args[0].input.containerInstances?.length);
    expect(describeSizes).toEqual([100, 100, 50]);
    const asgSizes = fake.autoScalingMock.commandCalls(DescribeAutoScalingInstancesCommand).map((call) => call.args[0].input.InstanceIds?.length);
    expect(asgSizes).toEqual([50, 50, 50, 50, 50]);
    // Every instance runs a service task and the cluster has no daemon service: no task read at all.
    expect(fake.ecsMock).toHaveReceivedCommandTimes(ListTasksCommand, 0);
  });

  it('reads tasks cluster-wide when that is cheaper, and sees through daemon tasks', async () => {
    const { handler } = setup({ MAX_REMOVALS_PER_RUN: '1' });
    fake.daemonServices.set('prod', ['log-router']);
    const instances = fake.addInstances('prod', 'asg', 3, { idleSinceMinutesAgo: 60, now: NOW });

    const result = await handler(scheduled);

    // Three instances with one task each (the daemon): 3 lists + 1 describe per instance, or
    // 1 list + 1 describe for the whole cluster.
    expect(fake.requests.filter((request) => request.operation === 'ListTasks').map((request) => request.input)).toEqual([
      { cluster: 'prod', desiredStatus: 'RUNNING', maxResults: 100 },
      // The re-check lists the chosen instance's tasks of both desired statuses.
      { cluster: 'prod', containerInstance: fake.arn('prod', instances[0]!.id), desiredStatus: 'RUNNING' },
      { cluster: 'prod', containerInstance: fake.arn('prod', instances[0]!.id), desiredStatus: 'STOPPED' },
    ]);
    expect(result.clusters[0]?.idleInstances).toBe(3);
    expect(result.clusters[0]?.execution.terminated).toEqual([instances[0]!.ec2InstanceId]);
  });

  it('removes an instance idle long enough: marks it, drains it, then terminates it with the desired capacity lowered', async () => {
    const { handler, telemetry } = setup();
    fake.daemonServices.set('prod', ['log-router']);
    fake.addInstances('prod', 'asg', 2, { tasksPerInstance: 2 });
    const [idle] = fake.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 45, now: NOW });

    const result = await handler(scheduled);

    expect(result.clusters[0]?.execution).toMatchObject({ drained: [idle!.ec2InstanceId], terminated: [idle!.ec2InstanceId], dropped: [] });
    expect(fake.ecsMock).toHaveReceivedCommandWith(UpdateContainerInstancesStateCommand, {
      cluster: 'prod',
      containerInstances: [fake.arn('prod', idle!.id)],
      status: 'DRAINING',
    });
    expect(fake.autoScalingMock).toHaveReceivedCommandWith(TerminateInstanceInAutoScalingGroupCommand, {
      InstanceId: idle!.ec2InstanceId,
      ShouldDecrementDesiredCapacity: true,
    });
    // Order: the drain marker, then DRAINING, then the termination.
    const writes = fake.requests.map((request) => request.operation).filter((operation) => WRITE_OPERATIONS.includes(operation));
    expect(writes).toEqual(['PutAttributes', 'UpdateContainerInstancesState', 'TerminateInstanceInAutoScalingGroup']);
    expect(fake.instance('prod', idle!.ec2InstanceId)?.attributes['ecs-ec2-keeper.drained-at']).toBe(new Date(NOW).toISOString());
    expect(fake.groups.get('asg')?.desired).toBe(2);
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

  it('keeps the decision line bounded and lists the instances with a reason other than busy first', async () => {
    const { handler, telemetry } = setup({ MAX_REMOVALS_PER_RUN: '0' });
    fake.addInstances('prod', 'asg', 60, { tasksPerInstance: 1 });
    const [waiting] = fake.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 120, now: NOW });

    await handler(scheduled);

    const fields = decision(telemetry)[0]!.fields as { skipped: { ec2InstanceId: string; reason: string }[]; skippedOmitted: number; skippedByReason: unknown };
    expect(fields.skipped).toHaveLength(50);
    expect(fields.skippedOmitted).toBe(11);
    expect(fields.skipped[0]).toEqual({ ec2InstanceId: waiting!.ec2InstanceId, reason: 'budget-used' });
    expect(fields.skippedByReason).toEqual({ busy: 60, 'budget-used': 1 });
  });

  it('publishes the capacity metrics per cluster with the ClusterName dimension and the clock time', async () => {
    const { handler } = setup({ SCHEDULABLE_TASK_CPU: '512', SCHEDULABLE_TASK_MEMORY: '1024', MIN_IDLE_MINUTES: '30' });
    fake.addInstances('prod', 'asg', 2, { tasksPerInstance: 2 }); // each 1536 CPU / 3072 MiB free
    fake.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 10, now: NOW }); // 2048 / 4096 free, not idle long enough

    await handler(scheduled);

    expect(fake.cloudWatchMock).toHaveReceivedCommandTimes(PutMetricDataCommand, 1);
    const [published] = fake.metricData;
    expect(published?.namespace).toBe('EcsEc2Keeper');
    const values = Object.fromEntries((published?.data ?? []).map((datum) => [datum.MetricName, datum.Value]));
    expect(values).toEqual({
      FreeCpu: 1536 * 2 + 2048,
      FreeMemory: 3072 * 2 + 4096,
      IdleInstances: 1,
      InstancesRemoved: 0,
      // min(3, 3) + min(3, 3) + min(4, 4)
      SchedulableTasks: 10,
    });
    for (const datum of published?.data ?? []) {
      expect(datum.Dimensions).toEqual([{ Name: 'ClusterName', Value: 'prod' }]);
      expect(datum.Timestamp).toEqual(new Date(NOW));
    }
  });

  it('re-checks before acting and drops an instance that became busy in between', async () => {
    const { handler, telemetry } = setup();
    const [idle] = fake.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 120, now: NOW });
    fake.addInstances('prod', 'asg', 1, { tasksPerInstance: 1 });
    // A task lands on the idle instance between the snapshot and the re-check.
    fake.hooks.set('DescribeContainerInstances', (call) => {
      if (call === 2) {
        fake.tasks.get('prod')!.push({ id: 'late', instanceId: idle!.id, group: 'service:web', cpu: 256, memory: 512, desiredStatus: 'RUNNING', lastStatus: 'PENDING' });
      }
    });

    const result = await handler(scheduled);

    expect(result.clusters[0]?.selected.map((entry) => entry.ec2InstanceId)).toEqual([idle!.ec2InstanceId]);
    expect(result.clusters[0]?.execution.dropped).toEqual([
      { containerInstanceArn: fake.arn('prod', idle!.id), ec2InstanceId: idle!.ec2InstanceId, reason: 'busy' },
    ]);
    expect(fake.ecsMock).toHaveReceivedCommandTimes(UpdateContainerInstancesStateCommand, 0);
    expect(fake.autoScalingMock).toHaveReceivedCommandTimes(TerminateInstanceInAutoScalingGroupCommand, 0);
    expect(telemetry.messages()).toContain('sweep candidate changed; dropped');
  });

  it('does not terminate an instance that got a task between the re-check and DRAINING; a later run does once it is empty', async () => {
    const { handler, telemetry } = setup();
    const [idle] = fake.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 120, now: NOW });
    fake.addInstances('prod', 'asg', 1, { tasksPerInstance: 1 });
    fake.hooks.set('UpdateContainerInstancesState', (call) => {
      if (call === 1) {
        fake.tasks.get('prod')!.push({ id: 'racer', instanceId: idle!.id, group: 'service:web', cpu: 256, memory: 512, desiredStatus: 'RUNNING', lastStatus: 'RUNNING' });
      }
    });

    const first = await handler(scheduled);
    expect(first.clusters[0]?.execution).toMatchObject({ drained: [idle!.ec2InstanceId], postponed: [idle!.ec2InstanceId], terminated: [] });
    expect(fake.autoScalingMock).toHaveReceivedCommandTimes(TerminateInstanceInAutoScalingGroupCommand, 0);
    expect(telemetry.messages()).toContain('termination postponed: a task arrived before DRAINING');

    const waiting = await handler(scheduled);
    expect(waiting.clusters[0]?.execution.terminated).toEqual([]);

    fake.tasks.get('prod')!.find((task) => task.id === 'racer')!.lastStatus = 'STOPPED';
    const done = await handler(scheduled);
    expect(done.clusters[0]?.execution.terminated).toEqual([idle!.ec2InstanceId]);
  });

  it('re-checks before acting and drops an instance protected from scale in meanwhile', async () => {
    const { handler } = setup();
    const [idle] = fake.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 120, now: NOW });
    fake.hooks.set('DescribeAutoScalingInstances', (call) => {
      if (call === 2) fake.members.get(idle!.ec2InstanceId)!.protectedFromScaleIn = true;
    });

    const result = await handler(scheduled);

    expect(result.clusters[0]?.execution.dropped.map((entry) => entry.reason)).toEqual(['protected']);
    expect(fake.ecsMock).toHaveReceivedCommandTimes(UpdateContainerInstancesStateCommand, 0);
  });

  it('DRY_RUN: snapshot, plan and log, but no write to ECS or Auto Scaling; metrics are still published', async () => {
    const { handler, telemetry } = setup({ DRY_RUN: 'true' });
    fake.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 120, now: NOW });
    fake.addInstances('prod', 'asg', 1, {}); // newly idle: would get an idle-since attribute
    fake.addInstances('prod', 'asg', 1, { tasksPerInstance: 1 });

    const result = await handler(scheduled);

    expect(result.dryRun).toBe(true);
    expect(result.clusters[0]?.selected).toHaveLength(1);
    expect(fake.requests.filter((request) => WRITE_OPERATIONS.includes(request.operation))).toEqual([]);
    expect(fake.cloudWatchMock).toHaveReceivedCommandTimes(PutMetricDataCommand, 1);
    expect(decision(telemetry)[0]?.fields).toMatchObject({ dryRun: true, outcome: 'planned', terminated: [], idleSinceNotSet: 1 });
  });

  it('remembers idle-since across runs and removes the instance once it has been idle for MIN_IDLE_MINUTES', async () => {
    const { handler, clock } = setup({ MIN_IDLE_MINUTES: '30' });
    const [instance] = fake.addInstances('prod', 'asg', 1, {});
    fake.addInstances('prod', 'asg', 1, { tasksPerInstance: 1 });

    const first = await handler(scheduled);
    expect(first.clusters[0]?.skippedByReason).toMatchObject({ 'not-idle-long-enough': 1 });
    expect(fake.instance('prod', instance!.ec2InstanceId)?.attributes['ecs-ec2-keeper.idle-since']).toBe(new Date(NOW).toISOString());

    clock.advance(30 * 60_000);
    const second = await handler(scheduled);
    expect(second.clusters[0]?.execution.terminated).toEqual([instance!.ec2InstanceId]);
  });

  it('goes on sweeping when the idle clock cannot be recorded', async () => {
    const { handler, telemetry } = setup();
    fake.addInstances('prod', 'asg', 1, {});
    fake.addInstances('prod', 'asg', 1, { tasksPerInstance: 1 });
    fake.throttle.add('PutAttributes');

    const result = await handler(scheduled);

    expect(result.clusters[0]).toMatchObject({ outcome: 'executed', idleInstances: 1 });
    expect(telemetry.metricTotal('IdleSinceNotRecorded', { cluster: 'prod' })).toBe(1);
    expect(decision(telemetry)[0]?.fields).toMatchObject({ idleSinceNotSet: 1 });
    expect(fake.cloudWatchMock).toHaveReceivedCommandTimes(PutMetricDataCommand, 1);
  });

  it('clears idle-since when the instance is busy again', async () => {
    const { handler } = setup();
    const [instance] = fake.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 10, now: NOW });
    fake.tasks.get('prod')!.push({ id: 't', instanceId: instance!.id, group: 'service:web', cpu: 256, memory: 512, desiredStatus: 'RUNNING', lastStatus: 'RUNNING' });

    await handler(scheduled);

    expect(fake.ecsMock).toHaveReceivedCommandWith(DeleteAttributesCommand, {
      cluster: 'prod',
      attributes: [{ name: 'ecs-ec2-keeper.idle-since', targetType: 'container-instance', targetId: fake.arn('prod', instance!.id) }],
    });
    expect(fake.instance('prod', instance!.ec2InstanceId)?.attributes).toEqual({});
  });

  it('a refused termination is logged and counted, not thrown; the next run sets the instance ACTIVE again', async () => {
    const { handler, telemetry } = setup();
    const [idle] = fake.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 120, now: NOW });
    fake.addInstances('prod', 'asg', 1, { tasksPerInstance: 1 });
    // The group's minimum is raised between the re-check and the termination.
    fake.autoScalingMock.on(TerminateInstanceInAutoScalingGroupCommand).callsFakeOnce(() => {
      throw Object.assign(new Error("Currently, desiredSize equals minSize (2). Terminating instance without replacement will violate group's min size constraint."), { name: 'ValidationError' });
    });

    const result = await handler(scheduled);
    expect(result.clusters[0]?.execution.refused).toEqual([{ ec2InstanceId: idle!.ec2InstanceId, reason: 'ValidationError' }]);
    expect(telemetry.metricTotal('TerminationRefused', { cluster: 'prod' })).toBe(1);
    expect(fake.instance('prod', idle!.ec2InstanceId)?.status).toBe('DRAINING');

    fake.groups.get('asg')!.min = 2;
    const next = await handler(scheduled);
    expect(next.clusters[0]?.execution.reactivated).toEqual([idle!.ec2InstanceId]);
    expect(fake.instance('prod', idle!.ec2InstanceId)?.status).toBe('ACTIVE');
    expect(fake.instance('prod', idle!.ec2InstanceId)?.attributes).toEqual({});
  });

  it('consolidation drains a lightly used instance now and terminates it on a later run, once empty', async () => {
    const { handler } = setup({ CONSOLIDATE: 'true' });
    const [light] = fake.addInstances('prod', 'asg', 1, { tasksPerInstance: 1 });
    fake.addInstances('prod', 'asg', 2, { tasksPerInstance: 3 });

    const first = await handler(scheduled);
    expect(first.clusters[0]?.selected).toEqual([expect.objectContaining({ ec2InstanceId: light!.ec2InstanceId, reason: 'consolidate' })]);
    expect(first.clusters[0]?.execution).toMatchObject({ drained: [light!.ec2InstanceId], terminated: [] });
    expect(fake.autoScalingMock).toHaveReceivedCommandTimes(TerminateInstanceInAutoScalingGroupCommand, 0);

    // Still moving: the next run waits.
    const waiting = await handler(scheduled);
    expect(waiting.clusters[0]?.execution.terminated).toEqual([]);

    // ECS has moved the task.
    for (const task of fake.tasks.get('prod')!) if (task.instanceId === light!.id) task.lastStatus = 'STOPPED';
    const done = await handler(scheduled);
    expect(done.clusters[0]?.execution.terminated).toEqual([light!.ec2InstanceId]);
  });

  it('an invalid event is logged and counted once, with no AWS call', async () => {
    const { handler, telemetry } = setup();
    const result = await handler({ source: 'aws.ec2', 'detail-type': 'EC2 Spot Instance Interruption Warning', detail: {} });
    expect(result).toEqual({ outcome: 'invalid', reason: 'unexpected-source', dryRun: false, clusters: [] });
    expect(fake.ecsMock.calls()).toHaveLength(0);
    expect(fake.autoScalingMock.calls()).toHaveLength(0);
    expect(fake.cloudWatchMock.calls()).toHaveLength(0);
    expect(telemetry.metricTotal('InvalidEvent', { function: 'scaleInSweeper', reason: 'unexpected-source' })).toBe(1);
  });

  it('no event but the scheduled one or {} ever reaches AWS', async () => {
    const { handler } = setup();
    fake.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 120, now: NOW });
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
          expect(fake.requests).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('starts no write with less than the safety margin of the invocation left', async () => {
    const { handler } = setup();
    const [idle] = fake.addInstances('prod', 'asg', 1, { idleSinceMinutesAgo: 120, now: NOW });
    fake.addInstances('prod', 'asg', 1, { tasksPerInstance: 1 });
    const result = await handler(scheduled, { getRemainingTimeInMillis: () => 5_000 });
    expect(result.clusters[0]?.selected.map((entry) => entry.ec2InstanceId)).toEqual([idle!.ec2InstanceId]);
    expect(result.clusters[0]?.execution.deferred).toBe(1);
    expect(fake.requests.filter((request) => ['UpdateContainerInstancesState', 'TerminateInstanceInAutoScalingGroup'].includes(request.operation))).toEqual([]);
    expect(fake.instance('prod', idle!.ec2InstanceId)?.status).toBe('ACTIVE');
  });

  it('accepts a manual invocation with an empty object', async () => {
    const { handler } = setup();
    fake.addInstances('prod', 'asg', 1, { tasksPerInstance: 1 });
    await expect(handler({})).resolves.toMatchObject({ outcome: 'swept' });
  });

  it('a failing cluster does not stop the others; the invocation fails after their metrics are out', async () => {
    const { handler, telemetry } = setup({ CLUSTERS: 'prod,staging,gone' });
    fake.addInstances('prod', 'asg', 1, { tasksPerInstance: 1 });
    fake.addInstances('staging', 'asg-staging', 1, { tasksPerInstance: 1 });
    let lists = 0;
    fake.ecsMock.on(ListContainerInstancesCommand).callsFake((input) => {
      lists += 1;
      if (input.cluster === 'prod') throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
      if (input.cluster === 'gone') throw Object.assign(new Error('Cluster not found.'), { name: 'ClusterNotFoundException' });
      return { containerInstanceArns: [fake.arn('staging', fake.instances.get('staging')![0]!.id)] };
    });

    await expect(handler(scheduled)).rejects.toThrow(RetryableError);
    expect(lists).toBe(3);
    expect(fake.metricData.flatMap((entry) => entry.data).every((datum) => datum.Dimensions?.[0]?.Value === 'staging')).toBe(true);
    expect(fake.metricData.flatMap((entry) => entry.data)).toHaveLength(5);
    expect(telemetry.metricTotal('SweepFailed', { cluster: 'prod', errorClass: 'retryable' })).toBe(1);
    expect(telemetry.metricTotal('ClusterNotFound', { cluster: 'gone' })).toBe(1);
  });
});

