import {
  DescribeContainerInstancesCommand,
  ECSClient,
  ListContainerInstancesCommand,
  UpdateContainerInstancesStateCommand,
  type ContainerInstance,
} from '@aws-sdk/client-ecs';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { loadSpotConfig } from '../../lib/spot/config';
import { makeSpotInterruptionHandler, type SqsBatchEvent } from '../../lib/spot/handler';
import { MemoryTelemetry } from '../../lib/telemetry';
import { VirtualClock } from '../../simulator/clock';
import { InProcessAws } from '../../simulator/inprocess';
import { World } from '../../simulator/world/world';
import { fixture } from '../fixtures';

/** The Spot drainer fed by the SQS event source mapping: batches, partial failures, the lookup plan and the ARN cache. */

function warning(id: string) {
  const base = fixture('spot-interruption-terminate.json') as Record<string, unknown>;
  return { ...base, id: `event-${id}`, detail: { 'instance-id': id, 'instance-action': 'terminate' } };
}

function record(messageId: string, body: unknown) {
  return {
    messageId,
    receiptHandle: `r-${messageId}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: { ApproximateReceiveCount: '1' },
    eventSource: 'aws:sqs' as const,
  };
}

function batch(...records: ReturnType<typeof record>[]): SqsBatchEvent {
  return { Records: records };
}

/** The handler on the simulator's world, answered in process: cluster `prod` with `size` ACTIVE container instances. */
function setup(size = 0) {
  const world = new World(new VirtualClock(), { seed: 1 });
  world.createCluster({ name: 'prod' });
  const instances = Array.from({ length: size }, () => world.addInstance({ cluster: 'prod', cpu: 2048, memory: 4096 }));
  const aws = new InProcessAws(world);
  const telemetry = new MemoryTelemetry();
  const handler = makeSpotInterruptionHandler({ config: loadSpotConfig({ CLUSTERS: 'prod' }), ecs: aws.clients().ecs, telemetry });
  const id = (index: number) => instances[index]!.ec2InstanceId;
  const drainedArns = () => aws.inputs('ecs:UpdateContainerInstancesState').flatMap((input) => input.containerInstances as string[]);
  return { aws, instances, id, handler, telemetry, drainedArns };
}

describe('Spot drainer, SQS batches', () => {
  it('pages a cluster once for a storm, drains 10 per call and acknowledges every message', async () => {
    const { aws, instances, id, handler, telemetry, drainedArns } = setup(2000);
    const wanted = Array.from({ length: 500 }, (_unused, index) => index * 4 + 1);

    const result = await handler(batch(...wanted.map((n) => record(`m-${n}`, warning(id(n))))));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(aws.calls('ecs:DescribeClusters')).toHaveLength(1);
    // Paging: 20 list pages and at most 20 describes beat 500 filtered lists.
    expect(aws.calls('ecs:ListContainerInstances')).toHaveLength(20);
    expect(aws.inputs('ecs:ListContainerInstances').every((input) => input.filter === undefined)).toBe(true);
    expect(aws.calls('ecs:DescribeContainerInstances').length).toBeLessThanOrEqual(20);
    expect(aws.calls('ecs:UpdateContainerInstancesState')).toHaveLength(50);
    expect(aws.inputs('ecs:UpdateContainerInstancesState').every((input) => (input.containerInstances as string[]).length <= 10)).toBe(true);
    expect(new Set(drainedArns())).toEqual(new Set(wanted.map((n) => instances[n]!.arn)));
    expect(telemetry.metricTotal('InstanceDrained', { kind: 'spot-interruption', cluster: 'prod' })).toBe(500);
  });

  it('uses filtered lookups for a couple of warnings, without measuring the cluster', async () => {
    const { aws, id, handler } = setup(2000);
    await expect(handler(batch(record('a', warning(id(7))), record('b', warning(id(9)))))).resolves.toEqual({ batchItemFailures: [] });
    expect(aws.calls('ecs:DescribeClusters')).toHaveLength(0);
    expect(aws.inputs('ecs:ListContainerInstances').map((input) => input.filter)).toEqual([`ec2InstanceId == ${id(7)}`, `ec2InstanceId == ${id(9)}`]);
    expect(aws.calls('ecs:DescribeContainerInstances')).toHaveLength(1);
    expect(aws.calls('ecs:UpdateContainerInstancesState')).toHaveLength(1);
  });

  it('acknowledges malformed records (counted once each, never retried) and drains the good ones', async () => {
    const { instances, id, handler, telemetry, drainedArns } = setup(10);
    const event = {
      Records: [
        record('good', warning(id(2))),
        record('not-json', '{"detail-type": '),
        record('unknown', { ...warning(id(3)), 'detail-type': 'EC2 Something Else' }),
        record('no-detail', fixture('malformed-spot-missing-detail.json')),
        { eventSource: 'aws:sqs', body: JSON.stringify(warning(id(4))) },
      ],
    };
    const result = await handler(event as unknown as SqsBatchEvent);
    expect(result).toEqual({ batchItemFailures: [] });
    expect(drainedArns()).toEqual([instances[2]!.arn]);
    expect(telemetry.logs.filter((entry) => entry.message === 'invalid event')).toHaveLength(4);
    expect(telemetry.metricTotal('InvalidEvent', { function: 'spotInterruption', reason: 'body-not-json' })).toBe(1);
    expect(telemetry.metricTotal('InvalidEvent', { function: 'spotInterruption', reason: 'unknown-detail-type' })).toBe(1);
    expect(telemetry.metricTotal('InvalidEvent', { function: 'spotInterruption', reason: 'malformed-envelope' })).toBe(1);
    expect(telemetry.metricTotal('InvalidEvent', { function: 'spotInterruption', reason: 'malformed-sqs-record' })).toBe(1);
  });

  it('makes no ECS call for a batch of malformed records', async () => {
    const { aws, handler } = setup();
    await expect(handler(batch(record('x', 'nope'), record('y', { hello: 'world' })))).resolves.toEqual({ batchItemFailures: [] });
    expect(aws.calls()).toHaveLength(0);
  });

  it('names exactly the messages whose drain ECS refused', async () => {
    const { aws, instances, id, handler, telemetry } = setup(10);
    // Between the handler's look and its update, instance 5 leaves ACTIVE: ECS refuses it in failures[].
    aws.before('ecs:UpdateContainerInstancesState', () => {
      instances[5]!.status = 'REGISTERING';
    });
    const result = await handler(batch(record('m4', warning(id(4))), record('m5', warning(id(5))), record('m6', warning(id(6)))));
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm5' }] });
    expect(telemetry.metricTotal('InstanceDrained', { kind: 'spot-interruption', cluster: 'prod' })).toBe(2);
    expect(telemetry.metricTotal('DrainFailed', { kind: 'spot-interruption', errorClass: 'retryable' })).toBe(1);
  });

  it('names every warning of a throttled cluster, and none of the malformed records', async () => {
    const { aws, id, handler } = setup(10);
    aws.fail({ operation: 'ecs:ListContainerInstances', error: 'throttling', times: 50 });
    const result = await handler(batch(record('a', warning(id(1))), record('bad', 'not json'), record('b', warning(id(2)))));
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'a' }, { itemIdentifier: 'b' }] });
    expect(aws.calls('ecs:UpdateContainerInstancesState')).toHaveLength(0);
  });

  it('drains a duplicated warning once and acknowledges both copies', async () => {
    const { instances, id, handler, drainedArns } = setup(10);
    await expect(handler(batch(record('one', warning(id(3))), record('two', warning(id(3)))))).resolves.toEqual({ batchItemFailures: [] });
    expect(drainedArns()).toEqual([instances[3]!.arn]);
  });

  it('acknowledges instances that are no container instance and instances already DRAINING, writing nothing for them', async () => {
    const { aws, instances, id, handler, telemetry } = setup(10);
    instances[2]!.status = 'DRAINING';
    await expect(handler(batch(record('gone', warning('i-0ffffffffffffffff')), record('draining', warning(id(2)))))).resolves.toEqual({ batchItemFailures: [] });
    expect(aws.calls('ecs:UpdateContainerInstancesState')).toHaveLength(0);
    expect(telemetry.metricTotal('DrainSkipped', { kind: 'spot-interruption', cluster: 'none', reason: 'not-a-container-instance' })).toBe(1);
    expect(telemetry.metricTotal('DrainSkipped', { kind: 'spot-interruption', cluster: 'prod', reason: 'already-draining' })).toBe(1);
  });

  it('looks an instance up once per execution environment: a later warning for it costs a describe and the update', async () => {
    const { aws, id, handler } = setup(300);
    await handler(batch(...[1, 2, 3, 4, 5].map((n) => record(`m${n}`, warning(id(n))))));
    expect(aws.calls('ecs:ListContainerInstances').length).toBeGreaterThan(0);
    aws.reset();
    // The first batch's lookups taught this execution environment the ARNs.
    await expect(handler(warning(id(2)))).resolves.toMatchObject({ outcome: 'no-action', reason: 'already-draining' });
    expect(aws.calls('ecs:ListContainerInstances')).toHaveLength(0);
    expect(aws.calls('ecs:DescribeContainerInstances')).toHaveLength(1);
  });
});

/**
 * Answers the world does not give on its own, so these stay on aws-sdk-client-mock: filtered
 * pages that come back empty before the one with the instance, and an ARN that went stale
 * between two warnings (the instance deregistered and registered again).
 */
describe('Spot drainer, scripted ECS answers', () => {
  let ecsMock: AwsClientStub<ECSClient>;
  const ec2Id = (n: number) => `i-0${n.toString(16).padStart(16, '0')}`;
  const arnOf = (n: number) => `arn:aws:ecs:us-east-1:123456789012:container-instance/prod/${n.toString(16).padStart(32, '0')}`;
  const instance = (n: number, overrides: Partial<ContainerInstance> = {}): ContainerInstance => ({
    containerInstanceArn: arnOf(n),
    ec2InstanceId: ec2Id(n),
    status: 'ACTIVE',
    agentConnected: true,
    ...overrides,
  });
  const mocked = () =>
    makeSpotInterruptionHandler({ config: loadSpotConfig({ CLUSTERS: 'prod' }), ecs: new ECSClient({ region: 'us-east-1' }), telemetry: new MemoryTelemetry() });
  beforeAll(() => {
    ecsMock = mockClient(ECSClient);
  });
  beforeEach(() => ecsMock.reset());
  afterAll(() => ecsMock.restore());

  it('follows nextToken past empty filtered pages until the instance is found', async () => {
    ecsMock
      .on(ListContainerInstancesCommand)
      .resolvesOnce({ containerInstanceArns: [], nextToken: 't1' })
      .resolvesOnce({ containerInstanceArns: [], nextToken: 't2' })
      .resolvesOnce({ containerInstanceArns: [arnOf(3)] });
    ecsMock.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [instance(3)] });
    ecsMock.on(UpdateContainerInstancesStateCommand).resolves({ containerInstances: [instance(3, { status: 'DRAINING' })] });
    await expect(mocked()(warning(ec2Id(3)))).resolves.toMatchObject({ outcome: 'drained', containerInstanceArn: arnOf(3) });
    expect(ecsMock.commandCalls(ListContainerInstancesCommand).map((call) => call.args[0].input.nextToken)).toEqual([undefined, 't1', 't2']);
    expect(ecsMock.commandCalls(ListContainerInstancesCommand).every((call) => call.args[0].input.filter === `ec2InstanceId == ${ec2Id(3)}`)).toBe(true);
  });

  it('drops a stale ARN (the instance deregistered and registered again) and looks the instance up afresh', async () => {
    const fresh = 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/ffffffffffffffffffffffffffffffff';
    ecsMock.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [arnOf(8)] });
    ecsMock.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [instance(8)] });
    ecsMock.on(UpdateContainerInstancesStateCommand).resolves({ containerInstances: [instance(8, { status: 'DRAINING' })] });
    const handler = mocked();
    await expect(handler(warning(ec2Id(8)))).resolves.toMatchObject({ outcome: 'drained' });

    ecsMock.reset();
    ecsMock
      .on(DescribeContainerInstancesCommand)
      .resolvesOnce({ containerInstances: [], failures: [{ arn: arnOf(8), reason: 'MISSING' }] })
      .resolves({ containerInstances: [instance(8, { containerInstanceArn: fresh })] });
    ecsMock.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [fresh] });
    ecsMock.on(UpdateContainerInstancesStateCommand).resolves({ containerInstances: [instance(8, { containerInstanceArn: fresh, status: 'DRAINING' })] });
    await expect(handler(warning(ec2Id(8)))).resolves.toMatchObject({ outcome: 'drained', containerInstanceArn: fresh });
    expect(ecsMock.commandCalls(DescribeContainerInstancesCommand)[0]?.args[0].input.containerInstances).toEqual([arnOf(8)]);
    expect(ecsMock).toHaveReceivedCommandWith(ListContainerInstancesCommand, { filter: `ec2InstanceId == ${ec2Id(8)}` });
    expect(ecsMock).toHaveReceivedCommandWith(UpdateContainerInstancesStateCommand, { containerInstances: [fresh] });
  });
});
