import {
  DescribeClustersCommand,
  DescribeContainerInstancesCommand,
  ECSClient,
  ListContainerInstancesCommand,
  ECSServiceException,
  UpdateContainerInstancesStateCommand,
  type ContainerInstance,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { loadSpotConfig } from '../../lib/spot/config';
import { makeSpotInterruptionHandler, type SqsBatchEvent } from '../../lib/spot/handler';
import { MemoryTelemetry } from '../../lib/telemetry';
import { fixture } from '../fixtures';

/** The Spot drainer fed by the SQS event source mapping: batches, partial failures, the lookup plan and the ARN cache. */
const ecsMock = mockClient(ECSClient);

const ec2Id = (n: number) => `i-0${n.toString(16).padStart(16, '0')}`;
const arnOf = (n: number) => `arn:aws:ecs:us-east-1:123456789012:container-instance/prod/${n.toString(16).padStart(32, '0')}`;

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

function instance(n: number, overrides: Partial<ContainerInstance> = {}): ContainerInstance {
  return { containerInstanceArn: arnOf(n), ec2InstanceId: ec2Id(n), status: 'ACTIVE', agentConnected: true, ...overrides };
}

/** A cluster of `size` container instances, answering like ECS (lists paged 100 at a time, describes by ARN). */
function cluster(size: number, options: { draining?: Set<number>; refuse?: Set<number> } = {}) {
  const all = Array.from({ length: size }, (_unused, index) => index + 1);
  ecsMock.on(DescribeClustersCommand).resolves({ clusters: [{ clusterName: 'prod', status: 'ACTIVE', registeredContainerInstancesCount: size }], failures: [] });
  ecsMock.on(ListContainerInstancesCommand).callsFake((input: { filter?: string; nextToken?: string }) => {
    if (input.filter) {
      const id = input.filter.replace('ec2InstanceId == ', '');
      const n = all.find((candidate) => ec2Id(candidate) === id);
      return { containerInstanceArns: n ? [arnOf(n)] : [] };
    }
    const start = Number(input.nextToken ?? 0);
    const page = all.slice(start, start + 100);
    return { containerInstanceArns: page.map(arnOf), ...(start + 100 < all.length ? { nextToken: String(start + 100) } : {}) };
  });
  ecsMock.on(DescribeContainerInstancesCommand).callsFake((input: { containerInstances: string[] }) => ({
    containerInstances: input.containerInstances
      .map((arn) => all.find((n) => arnOf(n) === arn))
      .filter((n): n is number => n !== undefined)
      .map((n) => instance(n, options.draining?.has(n) ? { status: 'DRAINING' } : {})),
    failures: input.containerInstances.filter((arn) => !all.some((n) => arnOf(n) === arn)).map((arn) => ({ arn, reason: 'MISSING' })),
  }));
  ecsMock.on(UpdateContainerInstancesStateCommand).callsFake((input: { containerInstances: string[] }) => {
    const numbers = input.containerInstances.map((arn) => all.find((n) => arnOf(n) === arn) ?? 0);
    for (const n of numbers) if (!options.refuse?.has(n)) options.draining?.add(n);
    return {
      containerInstances: numbers.filter((n) => !options.refuse?.has(n)).map((n) => instance(n, { status: 'DRAINING' })),
      failures: numbers.filter((n) => options.refuse?.has(n)).map((n) => ({ arn: arnOf(n), reason: 'INVALID_STATE' })),
    };
  });
}

function setup(env: Record<string, string> = { CLUSTERS: 'prod' }) {
  const telemetry = new MemoryTelemetry();
  const handler = makeSpotInterruptionHandler({ config: loadSpotConfig(env), ecs: new ECSClient({ region: 'us-east-1' }), telemetry });
  return { handler, telemetry };
}

const calls = (command: Parameters<typeof ecsMock.commandCalls>[0]) => ecsMock.commandCalls(command).length;
const drainedArns = () => ecsMock.commandCalls(UpdateContainerInstancesStateCommand).flatMap((call) => call.args[0].input.containerInstances ?? []);

beforeEach(() => ecsMock.reset());

describe('Spot drainer, SQS batches', () => {
  it('pages a cluster once for a storm, drains 10 per call and acknowledges every message', async () => {
    cluster(2000, { draining: new Set() });
    const { handler, telemetry } = setup();
    const wanted = Array.from({ length: 500 }, (_unused, index) => index * 4 + 1);

    const result = await handler(batch(...wanted.map((n) => record(`m-${n}`, warning(ec2Id(n))))));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(calls(DescribeClustersCommand)).toBe(1);
    // Paging: 20 list pages and at most 20 describes beat 500 filtered lists.
    expect(calls(ListContainerInstancesCommand)).toBe(20);
    expect(ecsMock.commandCalls(ListContainerInstancesCommand).every((call) => call.args[0].input.filter === undefined)).toBe(true);
    expect(calls(DescribeContainerInstancesCommand)).toBeLessThanOrEqual(20);
    expect(calls(UpdateContainerInstancesStateCommand)).toBe(50);
    expect(ecsMock.commandCalls(UpdateContainerInstancesStateCommand).every((call) => (call.args[0].input.containerInstances ?? []).length <= 10)).toBe(true);
    expect(new Set(drainedArns())).toEqual(new Set(wanted.map(arnOf)));
    expect(telemetry.metricTotal('InstanceDrained', { kind: 'spot-interruption', cluster: 'prod' })).toBe(500);
  });

  it('uses filtered lookups for a couple of warnings, without measuring the cluster', async () => {
    cluster(2000, { draining: new Set() });
    const { handler } = setup();
    await expect(handler(batch(record('a', warning(ec2Id(7))), record('b', warning(ec2Id(9)))))).resolves.toEqual({ batchItemFailures: [] });
    expect(calls(DescribeClustersCommand)).toBe(0);
    expect(ecsMock.commandCalls(ListContainerInstancesCommand).map((call) => call.args[0].input.filter)).toEqual([
      `ec2InstanceId == ${ec2Id(7)}`,
      `ec2InstanceId == ${ec2Id(9)}`,
    ]);
    expect(calls(DescribeContainerInstancesCommand)).toBe(1);
    expect(calls(UpdateContainerInstancesStateCommand)).toBe(1);
  });

  it('follows nextToken past empty filtered pages until the instance is found', async () => {
    ecsMock
      .on(ListContainerInstancesCommand)
      .resolvesOnce({ containerInstanceArns: [], nextToken: 't1' })
      .resolvesOnce({ containerInstanceArns: [], nextToken: 't2' })
      .resolvesOnce({ containerInstanceArns: [arnOf(3)] });
    ecsMock.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [instance(3)] });
    ecsMock.on(UpdateContainerInstancesStateCommand).resolves({ containerInstances: [instance(3, { status: 'DRAINING' })] });
    const { handler } = setup();
    await expect(handler(warning(ec2Id(3)))).resolves.toMatchObject({ outcome: 'drained', containerInstanceArn: arnOf(3) });
    expect(ecsMock.commandCalls(ListContainerInstancesCommand).map((call) => call.args[0].input.nextToken)).toEqual([undefined, 't1', 't2']);
    expect(ecsMock.commandCalls(ListContainerInstancesCommand).every((call) => call.args[0].input.filter === `ec2InstanceId == ${ec2Id(3)}`)).toBe(true);
  });

  it('acknowledges malformed records (counted once each, never retried) and drains the good ones', async () => {
    cluster(10, { draining: new Set() });
    const { handler, telemetry } = setup();
    const event = {
      Records: [
        record('good', warning(ec2Id(2))),
        record('not-json', '{"detail-type": '),
        record('unknown', { ...warning(ec2Id(3)), 'detail-type': 'EC2 Something Else' }),
        record('no-detail', fixture('malformed-spot-missing-detail.json')),
        { eventSource: 'aws:sqs', body: JSON.stringify(warning(ec2Id(4))) },
      ],
    };
    const result = await handler(event as unknown as SqsBatchEvent);
    expect(result).toEqual({ batchItemFailures: [] });
    expect(drainedArns()).toEqual([arnOf(2)]);
    expect(telemetry.logs.filter((entry) => entry.message === 'invalid event')).toHaveLength(4);
    expect(telemetry.metricTotal('InvalidEvent', { function: 'spotInterruption', reason: 'body-not-json' })).toBe(1);
    expect(telemetry.metricTotal('InvalidEvent', { function: 'spotInterruption', reason: 'unknown-detail-type' })).toBe(1);
    expect(telemetry.metricTotal('InvalidEvent', { function: 'spotInterruption', reason: 'malformed-envelope' })).toBe(1);
    expect(telemetry.metricTotal('InvalidEvent', { function: 'spotInterruption', reason: 'malformed-sqs-record' })).toBe(1);
  });

  it('makes no ECS call for a batch of malformed records', async () => {
    const { handler } = setup();
    await expect(handler(batch(record('x', 'nope'), record('y', { hello: 'world' })))).resolves.toEqual({ batchItemFailures: [] });
    expect(ecsMock.calls()).toHaveLength(0);
  });

  it('names exactly the messages whose drain ECS refused', async () => {
    cluster(10, { draining: new Set(), refuse: new Set([5]) });
    const { handler, telemetry } = setup();
    const result = await handler(batch(record('m4', warning(ec2Id(4))), record('m5', warning(ec2Id(5))), record('m6', warning(ec2Id(6)))));
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm5' }] });
    expect(telemetry.metricTotal('InstanceDrained', { kind: 'spot-interruption', cluster: 'prod' })).toBe(2);
    expect(telemetry.metricTotal('DrainFailed', { kind: 'spot-interruption', errorClass: 'retryable' })).toBe(1);
  });

  it('names every warning of a throttled cluster, and none of the malformed records', async () => {
    ecsMock.on(ListContainerInstancesCommand).rejects(
      // ThrottlingException is not a modeled ECS error: the SDK raises it as a service exception by name.
      new ECSServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } }),
    );
    const { handler } = setup();
    const result = await handler(batch(record('a', warning(ec2Id(1))), record('bad', 'not json'), record('b', warning(ec2Id(2)))));
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'a' }, { itemIdentifier: 'b' }] });
    expect(calls(UpdateContainerInstancesStateCommand)).toBe(0);
  });

  it('drains a duplicated warning once and acknowledges both copies', async () => {
    cluster(10, { draining: new Set() });
    const { handler } = setup();
    await expect(handler(batch(record('one', warning(ec2Id(3))), record('two', warning(ec2Id(3)))))).resolves.toEqual({ batchItemFailures: [] });
    expect(drainedArns()).toEqual([arnOf(3)]);
  });

  it('acknowledges instances that are no container instance and instances already DRAINING, writing nothing for them', async () => {
    cluster(10, { draining: new Set([2]) });
    const { handler, telemetry } = setup();
    await expect(handler(batch(record('gone', warning('i-0ffffffffffffffff')), record('draining', warning(ec2Id(2)))))).resolves.toEqual({ batchItemFailures: [] });
    expect(calls(UpdateContainerInstancesStateCommand)).toBe(0);
    expect(telemetry.metricTotal('DrainSkipped', { kind: 'spot-interruption', cluster: 'none', reason: 'not-a-container-instance' })).toBe(1);
    expect(telemetry.metricTotal('DrainSkipped', { kind: 'spot-interruption', cluster: 'prod', reason: 'already-draining' })).toBe(1);
  });
});

describe('Spot drainer, ARN cache per execution environment', () => {
  it('looks an instance up once: a later warning for it costs a describe and the update', async () => {
    cluster(300, { draining: new Set() });
    const { handler } = setup();
    await handler(batch(...[1, 2, 3, 4, 5].map((n) => record(`m${n}`, warning(ec2Id(n))))));
    const listsBefore = calls(ListContainerInstancesCommand);
    ecsMock.resetHistory();
    // The first batch's lookups taught this execution environment the ARNs.
    await expect(handler(warning(ec2Id(2)))).resolves.toMatchObject({ outcome: 'no-action', reason: 'already-draining' });
    expect(listsBefore).toBeGreaterThan(0);
    expect(calls(ListContainerInstancesCommand)).toBe(0);
    expect(calls(DescribeContainerInstancesCommand)).toBe(1);
  });

  it('drops a stale ARN (the instance deregistered and registered again) and looks the instance up afresh', async () => {
    const fresh = 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/ffffffffffffffffffffffffffffffff';
    ecsMock.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [arnOf(8)] });
    ecsMock.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [instance(8)] });
    ecsMock.on(UpdateContainerInstancesStateCommand).resolves({ containerInstances: [instance(8, { status: 'DRAINING' })] });
    const { handler } = setup();
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
