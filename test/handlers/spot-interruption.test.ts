import {
  DescribeContainerInstancesCommand,
  ECSClient,
  ListClustersCommand,
  ListContainerInstancesCommand,
  UpdateContainerInstancesStateCommand,
  ECSServiceException,
  ClusterNotFoundException,
  type ContainerInstance,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RetryableError } from '../../lib/errors';
import { loadSpotConfig } from '../../lib/spot/config';
import { makeSpotInterruptionHandler } from '../../lib/spot/handler';
import { MemoryTelemetry } from '../../lib/telemetry';

const ecsMock = mockClient(ECSClient);
const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(__dirname, '../../events', name), 'utf8')) as Record<string, unknown>;

const INSTANCE_ID = 'i-0b662ef9931388ba0';
const CI_ARN = 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/0d3cf3c5a4b84e7b9a3d1e2f4b5c6d7e';

function containerInstance(overrides: Partial<ContainerInstance> = {}): ContainerInstance {
  return {
    containerInstanceArn: CI_ARN,
    ec2InstanceId: INSTANCE_ID,
    status: 'ACTIVE',
    agentConnected: true,
    runningTasksCount: 3,
    pendingTasksCount: 0,
    registeredResources: [
      { name: 'CPU', type: 'INTEGER', integerValue: 2048 },
      { name: 'MEMORY', type: 'INTEGER', integerValue: 7680 },
    ],
    remainingResources: [
      { name: 'CPU', type: 'INTEGER', integerValue: 1024 },
      { name: 'MEMORY', type: 'INTEGER', integerValue: 3072 },
    ],
    ...overrides,
  };
}

function setup(env: Record<string, string> = { CLUSTERS: 'prod' }) {
  const telemetry = new MemoryTelemetry();
  const handler = makeSpotInterruptionHandler({
    config: loadSpotConfig(env),
    ecs: new ECSClient({ region: 'us-east-1' }),
    telemetry,
  });
  return { handler, telemetry };
}

const decisionLines = (telemetry: MemoryTelemetry) => telemetry.logs.filter((entry) => entry.message === 'spot decision');

beforeEach(() => ecsMock.reset());

describe('spot interruption handler', () => {
  it('drains an ACTIVE container instance in exactly three ECS calls', async () => {
    ecsMock.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [CI_ARN] });
    ecsMock.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [containerInstance()], failures: [] });
    ecsMock
      .on(UpdateContainerInstancesStateCommand)
      .resolves({ containerInstances: [containerInstance({ status: 'DRAINING' })], failures: [] });
    const { handler, telemetry } = setup();

    const result = await handler(fixture('spot-interruption-terminate.json'));

    expect(result).toEqual({
      outcome: 'drained',
      reason: 'drained',
      kind: 'spot-interruption',
      ec2InstanceId: INSTANCE_ID,
      cluster: 'prod',
      containerInstanceArn: CI_ARN,
    });
    expect(ecsMock.calls()).toHaveLength(3);
    expect(ecsMock).toHaveReceivedNthCommandWith(1, ListContainerInstancesCommand, {
      cluster: 'prod',
      filter: `ec2InstanceId == ${INSTANCE_ID}`,
    });
    expect(ecsMock).toHaveReceivedNthCommandWith(2, DescribeContainerInstancesCommand, {
      cluster: 'prod',
      containerInstances: [CI_ARN],
    });
    expect(ecsMock).toHaveReceivedNthCommandWith(3, UpdateContainerInstancesStateCommand, {
      cluster: 'prod',
      containerInstances: [CI_ARN],
      status: 'DRAINING',
    });
    expect(decisionLines(telemetry)).toHaveLength(1);
    expect(decisionLines(telemetry)[0]?.fields).toMatchObject({ outcome: 'drained', instanceAction: 'terminate' });
    expect(telemetry.metricTotal('InstanceDrained', { kind: 'spot-interruption', cluster: 'prod' })).toBe(1);
  });

  it.each(['spot-interruption-stop.json', 'spot-interruption-hibernate.json'])('drains for %s too', async (file) => {
    const event = fixture(file);
    const instanceId = (event.detail as Record<string, string>)['instance-id'];
    ecsMock.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [CI_ARN] });
    ecsMock
      .on(DescribeContainerInstancesCommand)
      .resolves({ containerInstances: [containerInstance({ ec2InstanceId: instanceId })] });
    ecsMock
      .on(UpdateContainerInstancesStateCommand)
      .resolves({ containerInstances: [containerInstance({ ec2InstanceId: instanceId, status: 'DRAINING' })] });
    const { handler } = setup();
    await expect(handler(event)).resolves.toMatchObject({ outcome: 'drained' });
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateContainerInstancesStateCommand, 1);
  });

  it('makes no write when the instance is already DRAINING', async () => {
    ecsMock.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [CI_ARN] });
    ecsMock.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [containerInstance({ status: 'DRAINING' })] });
    const { handler, telemetry } = setup();

    await expect(handler(fixture('spot-interruption-terminate.json'))).resolves.toMatchObject({
      outcome: 'no-action',
      reason: 'already-draining',
    });
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateContainerInstancesStateCommand, 0);
    expect(ecsMock.calls()).toHaveLength(2);
    expect(telemetry.metricTotal('DrainSkipped', { reason: 'already-draining' })).toBe(1);
  });

  it('does not try to drain an instance that is not ACTIVE yet', async () => {
    ecsMock.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [CI_ARN] });
    ecsMock.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [containerInstance({ status: 'REGISTERING' })] });
    const { handler } = setup();
    await expect(handler(fixture('spot-interruption-terminate.json'))).resolves.toMatchObject({ reason: 'not-active' });
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateContainerInstancesStateCommand, 0);
  });

  it('succeeds without a write when no managed cluster has the instance, after one list per cluster', async () => {
    ecsMock.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [] });
    const { handler, telemetry } = setup({ CLUSTERS: 'a,b,c' });

    await expect(handler(fixture('spot-interruption-terminate.json'))).resolves.toMatchObject({
      outcome: 'no-action',
      reason: 'not-a-container-instance',
    });
    expect(ecsMock.commandCalls(ListContainerInstancesCommand).map((call) => call.args[0].input.cluster)).toEqual(['a', 'b', 'c']);
    expect(ecsMock).toHaveReceivedCommandTimes(DescribeContainerInstancesCommand, 0);
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateContainerInstancesStateCommand, 0);
    expect(decisionLines(telemetry)[0]?.fields).toMatchObject({ clustersSearched: 3, reason: 'not-a-container-instance' });
  });

  it('stops searching at the cluster that has the instance: k clusters cost at most k + 2 calls', async () => {
    ecsMock.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [] });
    ecsMock.on(ListContainerInstancesCommand, { cluster: 'b' }).resolves({ containerInstanceArns: [CI_ARN] });
    ecsMock.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [containerInstance()] });
    ecsMock.on(UpdateContainerInstancesStateCommand).resolves({ containerInstances: [containerInstance({ status: 'DRAINING' })] });
    const { handler } = setup({ CLUSTERS: 'a,b,c,d' });

    await expect(handler(fixture('spot-interruption-terminate.json'))).resolves.toMatchObject({ outcome: 'drained', cluster: 'b' });
    expect(ecsMock.commandCalls(ListContainerInstancesCommand)).toHaveLength(2);
    expect(ecsMock).toHaveReceivedCommandWith(UpdateContainerInstancesStateCommand, { cluster: 'b' });
    expect(ecsMock.calls().length).toBeLessThanOrEqual(4 + 2);
  });

  it('never drains a container instance whose EC2 instance id does not match', async () => {
    ecsMock.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [CI_ARN] });
    ecsMock.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [containerInstance({ ec2InstanceId: 'i-0aaaaaaaaaaaaaaaa' })] });
    const { handler, telemetry } = setup();

    await expect(handler(fixture('spot-interruption-terminate.json'))).resolves.toMatchObject({
      outcome: 'no-action',
      reason: 'not-a-container-instance',
    });
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateContainerInstancesStateCommand, 0);
    expect(telemetry.metricTotal('LookupMismatch', { cluster: 'prod' })).toBe(1);
    expect(telemetry.messages('WARN')).toContain('container instance lookup returned a different EC2 instance; ignored');
  });

  it('accepts a refused update when ECS reports the instance DRAINING on a second look', async () => {
    ecsMock.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [CI_ARN] });
    ecsMock
      .on(DescribeContainerInstancesCommand)
      .resolvesOnce({ containerInstances: [containerInstance()] })
      .resolves({ containerInstances: [containerInstance({ status: 'DRAINING' })] });
    ecsMock.on(UpdateContainerInstancesStateCommand).resolves({
      containerInstances: [],
      failures: [{ arn: CI_ARN, reason: 'INVALID_STATE', detail: 'already draining' }],
    });
    const { handler } = setup();

    await expect(handler(fixture('spot-interruption-terminate.json'))).resolves.toMatchObject({ outcome: 'drained' });
    expect(ecsMock).toHaveReceivedCommandTimes(DescribeContainerInstancesCommand, 2);
  });

  it('throws a retryable error when ECS refuses the drain and the instance is still ACTIVE', async () => {
    ecsMock.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [CI_ARN] });
    ecsMock.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [containerInstance()] });
    ecsMock.on(UpdateContainerInstancesStateCommand).resolves({
      containerInstances: [],
      failures: [{ arn: CI_ARN, reason: 'INVALID_STATE' }],
    });
    const { handler, telemetry } = setup();

    await expect(handler(fixture('spot-interruption-terminate.json'))).rejects.toBeInstanceOf(RetryableError);
    expect(telemetry.metricTotal('DrainFailed', { kind: 'spot-interruption' })).toBe(1);
  });

  it('treats an instance that disappeared (MISSING, then INACTIVE) as nothing left to drain', async () => {
    ecsMock.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [CI_ARN] });
    ecsMock
      .on(DescribeContainerInstancesCommand)
      .resolvesOnce({ containerInstances: [containerInstance()] })
      .resolves({ containerInstances: [containerInstance({ status: 'INACTIVE' })] });
    ecsMock.on(UpdateContainerInstancesStateCommand).resolves({ failures: [{ arn: CI_ARN, reason: 'MISSING' }] });
    const { handler } = setup();

    await expect(handler(fixture('spot-interruption-terminate.json'))).resolves.toMatchObject({
      outcome: 'no-action',
      reason: 'deregistered',
    });
  });

  it('rethrows throttling as retryable and writes nothing', async () => {
    ecsMock
      .on(ListContainerInstancesCommand)
      // ThrottlingException is not a modeled ECS error: the SDK raises it as a service exception by name.
      .rejects(
        new ECSServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } }),
      );
    const { handler, telemetry } = setup();

    await expect(handler(fixture('spot-interruption-terminate.json'))).rejects.toBeInstanceOf(RetryableError);
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateContainerInstancesStateCommand, 0);
    expect(telemetry.logs.find((entry) => entry.message === 'spot drain failed')?.fields).toMatchObject({
      errorClass: 'retryable',
      errorName: 'ThrottlingException',
    });
  });

  it('skips a configured cluster that does not exist and goes on with the others', async () => {
    ecsMock
      .on(ListContainerInstancesCommand, { cluster: 'gone' })
      .rejects(new ClusterNotFoundException({ message: 'Cluster not found.', $metadata: {} }));
    ecsMock.on(ListContainerInstancesCommand, { cluster: 'prod' }).resolves({ containerInstanceArns: [CI_ARN] });
    ecsMock.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [containerInstance()] });
    ecsMock.on(UpdateContainerInstancesStateCommand).resolves({ containerInstances: [containerInstance({ status: 'DRAINING' })] });
    const { handler, telemetry } = setup({ CLUSTERS: 'gone,prod' });

    await expect(handler(fixture('spot-interruption-terminate.json'))).resolves.toMatchObject({ outcome: 'drained', cluster: 'prod' });
    expect(telemetry.metricTotal('ClusterNotFound', { cluster: 'gone' })).toBe(1);
  });

  it('discovers clusters with paginated ListClusters when none are configured', async () => {
    const a = 'arn:aws:ecs:us-east-1:123456789012:cluster/a';
    const b = 'arn:aws:ecs:us-east-1:123456789012:cluster/b';
    ecsMock.on(ListClustersCommand).resolvesOnce({ clusterArns: [a], nextToken: 't1' }).resolvesOnce({ clusterArns: [b] });
    ecsMock.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [] });
    ecsMock.on(ListContainerInstancesCommand, { cluster: b }).resolves({ containerInstanceArns: [CI_ARN] });
    ecsMock.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [containerInstance()] });
    ecsMock.on(UpdateContainerInstancesStateCommand).resolves({ containerInstances: [containerInstance({ status: 'DRAINING' })] });
    const { handler, telemetry } = setup({});

    await handler(fixture('spot-interruption-terminate.json'));
    expect(ecsMock).toHaveReceivedNthCommandWith(2, ListClustersCommand, { nextToken: 't1' });
    expect(ecsMock).toHaveReceivedCommandWith(UpdateContainerInstancesStateCommand, { cluster: b });
    expect(telemetry.metricTotal('InstanceDrained', { cluster: 'b' })).toBe(1);
  });

  it('in dry run, looks up and decides but writes nothing', async () => {
    ecsMock.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [CI_ARN] });
    ecsMock.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [containerInstance()] });
    const { handler, telemetry } = setup({ CLUSTERS: 'prod', DRY_RUN: 'true' });

    await expect(handler(fixture('spot-interruption-terminate.json'))).resolves.toMatchObject({ reason: 'dry-run' });
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateContainerInstancesStateCommand, 0);
    expect(decisionLines(telemetry)[0]?.fields).toMatchObject({ dryRun: true, reason: 'dry-run', status: 'ACTIVE' });
  });

  it.each([
    ['malformed-spot-missing-detail.json', 'malformed-envelope'],
    ['ecs-container-instance-state-change.json', 'unexpected-source'],
  ])('acknowledges the invalid event %s with one error line, a metric and no AWS call', async (file, reason) => {
    const { handler, telemetry } = setup();
    await expect(handler(fixture(file))).resolves.toEqual({ outcome: 'invalid', reason });
    expect(ecsMock.calls()).toHaveLength(0);
    expect(telemetry.logs.filter((entry) => entry.level === 'ERROR')).toHaveLength(1);
    expect(telemetry.metricTotal('InvalidEvent', { function: 'spotInterruption', reason })).toBe(1);
  });

  it.each([
    ['rebalance-recommendation.json', 'rebalance-drain-disabled'],
    ['state-change-shutting-down.json', 'state-change-drain-disabled'],
    ['state-change-running.json', 'state-running'],
  ])('ignores %s by default without an AWS call', async (file, reason) => {
    const { handler, telemetry } = setup();
    await expect(handler(fixture(file))).resolves.toMatchObject({ outcome: 'ignored', reason });
    expect(ecsMock.calls()).toHaveLength(0);
    expect(decisionLines(telemetry)).toHaveLength(1);
  });

  it('drains on a rebalance recommendation when enabled', async () => {
    ecsMock.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [CI_ARN] });
    ecsMock.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [containerInstance({ ec2InstanceId: 'i-1234567890abcdef0' })] });
    ecsMock
      .on(UpdateContainerInstancesStateCommand)
      .resolves({ containerInstances: [containerInstance({ ec2InstanceId: 'i-1234567890abcdef0', status: 'DRAINING' })] });
    const { handler, telemetry } = setup({ CLUSTERS: 'prod', REBALANCE_DRAIN: 'true' });
    await expect(handler(fixture('rebalance-recommendation.json'))).resolves.toMatchObject({
      outcome: 'drained',
      kind: 'rebalance-recommendation',
    });
    expect(telemetry.metricTotal('InstanceDrained', { kind: 'rebalance-recommendation' })).toBe(1);
  });
});
