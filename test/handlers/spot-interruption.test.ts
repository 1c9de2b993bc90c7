import {
  DescribeContainerInstancesCommand,
  ECSClient,
  ListContainerInstancesCommand,
  UpdateContainerInstancesStateCommand,
  type ContainerInstance,
} from '@aws-sdk/client-ecs';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { RetryableError } from '../../lib/errors';
import { loadSpotConfig } from '../../lib/spot/config';
import { makeSpotInterruptionHandler } from '../../lib/spot/handler';
import { MemoryTelemetry } from '../../lib/telemetry';
import { VirtualClock } from '../../simulator/clock';
import { InProcessAws } from '../../simulator/inprocess';
import { World } from '../../simulator/world/world';
import { fixture } from '../fixtures';

const INSTANCE_ID = 'i-0b662ef9931388ba0';
const REBALANCE_INSTANCE_ID = 'i-1234567890abcdef0';

/**
 * The handler against the simulator's world, answered in process: clusters named in `clusters`
 * exist, and the event's instance is registered in `home` (unless it is undefined).
 */
function setup(options: { env?: Record<string, string>; clusters?: string[]; home?: string | undefined; instanceId?: string; drainingToDraining?: 'succeed' | 'failure' } = {}) {
  const world = new World(new VirtualClock(), { seed: 1, drainingToDraining: options.drainingToDraining ?? 'succeed' });
  for (const name of options.clusters ?? ['prod']) world.createCluster({ name });
  const home = 'home' in options ? options.home : (options.clusters ?? ['prod'])[0];
  // A neighbour in every cluster, so that a lookup by filter has something else to skip.
  for (const name of options.clusters ?? ['prod']) world.addInstance({ cluster: name, cpu: 2048, memory: 7680 });
  const instance = home ? world.addInstance({ cluster: home, cpu: 2048, memory: 7680, id: options.instanceId ?? INSTANCE_ID, spot: true }) : undefined;
  const aws = new InProcessAws(world);
  const telemetry = new MemoryTelemetry();
  const handler = makeSpotInterruptionHandler({ config: loadSpotConfig(options.env ?? { CLUSTERS: 'prod' }), ecs: aws.clients().ecs, telemetry });
  return { world, aws, instance, handler, telemetry };
}

const decisionLines = (telemetry: MemoryTelemetry) => telemetry.logs.filter((entry) => entry.message === 'spot decision');

describe('spot interruption handler', () => {
  it('drains an ACTIVE container instance in exactly three ECS calls (no record for a termination)', async () => {
    const { aws, instance, handler, telemetry } = setup();

    const result = await handler(fixture('spot-interruption-terminate.json'));

    expect(result).toEqual({
      outcome: 'drained',
      reason: 'drained',
      kind: 'spot-interruption',
      ec2InstanceId: INSTANCE_ID,
      cluster: 'prod',
      containerInstanceArn: instance!.arn,
    });
    expect(aws.calls()).toEqual([
      { service: 'ecs', operation: 'ListContainerInstances', input: { cluster: 'prod', filter: `ec2InstanceId == ${INSTANCE_ID}` }, outcome: 'ok' },
      { service: 'ecs', operation: 'DescribeContainerInstances', input: { cluster: 'prod', containerInstances: [instance!.arn] }, outcome: 'ok' },
      { service: 'ecs', operation: 'UpdateContainerInstancesState', input: { cluster: 'prod', containerInstances: [instance!.arn], status: 'DRAINING' }, outcome: 'ok' },
    ]);
    expect(instance!.status).toBe('DRAINING');
    expect(instance!.attributes.has('ecs-ec2-keeper.drained-for')).toBe(false);
    expect(decisionLines(telemetry)).toHaveLength(1);
    expect(decisionLines(telemetry)[0]?.fields).toMatchObject({ outcome: 'drained', instanceAction: 'terminate' });
    expect(telemetry.metricTotal('InstanceDrained', { kind: 'spot-interruption', cluster: 'prod' })).toBe(1);
  });

  it.each(['spot-interruption-stop.json', 'spot-interruption-hibernate.json'])('drains for %s too', async (file) => {
    const event = fixture(file);
    const instanceId = (event.detail as Record<string, string>)['instance-id'];
    const { aws, instance, handler } = setup({ instanceId });
    await expect(handler(event)).resolves.toMatchObject({ outcome: 'drained' });
    expect(aws.calls('ecs:UpdateContainerInstancesState')).toHaveLength(1);
    expect(instance!.status).toBe('DRAINING');
  });

  it('makes no write when the instance is already DRAINING', async () => {
    const { world, aws, instance, handler, telemetry } = setup();
    world.setContainerInstanceStatus(instance!, 'DRAINING');

    await expect(handler(fixture('spot-interruption-terminate.json'))).resolves.toMatchObject({ outcome: 'no-action', reason: 'already-draining' });
    expect(aws.operations()).toEqual(['ListContainerInstances', 'DescribeContainerInstances']);
    expect(telemetry.metricTotal('DrainSkipped', { reason: 'already-draining' })).toBe(1);
  });

  it('does not try to drain an instance that is not ACTIVE yet', async () => {
    const { aws, instance, handler } = setup();
    instance!.status = 'REGISTERING';
    await expect(handler(fixture('spot-interruption-terminate.json'))).resolves.toMatchObject({ reason: 'not-active' });
    expect(aws.calls('ecs:UpdateContainerInstancesState')).toHaveLength(0);
  });

  it('succeeds without a write when no managed cluster has the instance, after one list per cluster', async () => {
    const { aws, handler, telemetry } = setup({ env: { CLUSTERS: 'a,b,c' }, clusters: ['a', 'b', 'c'], home: undefined });

    await expect(handler(fixture('spot-interruption-terminate.json'))).resolves.toMatchObject({
      outcome: 'no-action',
      reason: 'not-a-container-instance',
    });
    expect(aws.inputs('ecs:ListContainerInstances').map((input) => input.cluster)).toEqual(['a', 'b', 'c']);
    expect(aws.operations()).toEqual(['ListContainerInstances', 'ListContainerInstances', 'ListContainerInstances']);
    expect(decisionLines(telemetry)[0]?.fields).toMatchObject({ clustersSearched: 3, reason: 'not-a-container-instance' });
  });

  it('stops searching at the cluster that has the instance: k clusters cost at most k + 2 calls', async () => {
    const { aws, handler } = setup({ env: { CLUSTERS: 'a,b,c,d' }, clusters: ['a', 'b', 'c', 'd'], home: 'b' });

    await expect(handler(fixture('spot-interruption-terminate.json'))).resolves.toMatchObject({ outcome: 'drained', cluster: 'b' });
    expect(aws.inputs('ecs:ListContainerInstances').map((input) => input.cluster)).toEqual(['a', 'b']);
    expect(aws.inputs('ecs:UpdateContainerInstancesState')).toEqual([expect.objectContaining({ cluster: 'b' })]);
    expect(aws.calls().length).toBeLessThanOrEqual(4 + 2);
  });

  it('accepts a refused update when ECS reports the instance DRAINING on a second look', async () => {
    // Someone else drains the instance between the handler's look and its update; this world
    // refuses DRAINING → DRAINING with a failure (aws-behaviour.md §2, the UNVERIFIED variant).
    const { world, aws, instance, handler } = setup({ drainingToDraining: 'failure' });
    aws.before('ecs:UpdateContainerInstancesState', () => world.setContainerInstanceStatus(instance!, 'DRAINING'));

    await expect(handler(fixture('spot-interruption-terminate.json'))).resolves.toMatchObject({ outcome: 'drained' });
    expect(aws.calls('ecs:DescribeContainerInstances')).toHaveLength(2);
  });

  it('treats an instance that disappeared (INACTIVE on the update and on a second look) as nothing left to drain', async () => {
    const { world, aws, handler } = setup();
    aws.before('ecs:UpdateContainerInstancesState', () => world.shutDown(INSTANCE_ID, 'spot-interruption'));

    await expect(handler(fixture('spot-interruption-terminate.json'))).resolves.toMatchObject({ outcome: 'no-action', reason: 'deregistered' });
    expect(aws.calls('ecs:DescribeContainerInstances')).toHaveLength(2);
  });

  it('rethrows throttling as retryable and writes nothing', async () => {
    const { aws, instance, handler, telemetry } = setup();
    aws.fail({ operation: 'ecs:ListContainerInstances', error: 'throttling' });

    await expect(handler(fixture('spot-interruption-terminate.json'))).rejects.toBeInstanceOf(RetryableError);
    expect(aws.calls('ecs:UpdateContainerInstancesState')).toHaveLength(0);
    expect(instance!.status).toBe('ACTIVE');
    expect(telemetry.logs.find((entry) => entry.message === 'spot drain failed')?.fields).toMatchObject({
      errorClass: 'retryable',
      errorName: 'ThrottlingException',
    });
  });

  it('skips a configured cluster that does not exist and goes on with the others', async () => {
    const { aws, handler, telemetry } = setup({ env: { CLUSTERS: 'gone,prod' }, clusters: ['prod'] });

    await expect(handler(fixture('spot-interruption-terminate.json'))).resolves.toMatchObject({ outcome: 'drained', cluster: 'prod' });
    expect(aws.calls('ecs:ListContainerInstances').map((call) => [call.input.cluster, call.outcome])).toEqual([
      ['gone', 'ClusterNotFoundException'],
      ['prod', 'ok'],
    ]);
    expect(telemetry.metricTotal('ClusterNotFound', { cluster: 'gone' })).toBe(1);
  });

  it('discovers clusters with paginated ListClusters when none are configured', async () => {
    // ListClusters answers 100 clusters a page: the instance lives in the 101st.
    const clusters = Array.from({ length: 101 }, (_, index) => `c${String(index).padStart(3, '0')}`);
    const { aws, instance, handler, telemetry } = setup({ env: {}, clusters, home: 'c100' });

    await handler(fixture('spot-interruption-terminate.json'));
    const pages = aws.inputs('ecs:ListClusters');
    expect(pages).toHaveLength(2);
    expect(pages[0]?.nextToken).toBeUndefined();
    expect(typeof pages[1]?.nextToken).toBe('string');
    expect(aws.inputs('ecs:UpdateContainerInstancesState')).toEqual([expect.objectContaining({ cluster: 'arn:aws:ecs:us-east-1:123456789012:cluster/c100' })]);
    expect(instance!.status).toBe('DRAINING');
    expect(telemetry.metricTotal('InstanceDrained', { cluster: 'c100' })).toBe(1);
  });

  it('in dry run, looks up and decides but writes nothing', async () => {
    const { aws, instance, handler, telemetry } = setup({ env: { CLUSTERS: 'prod', DRY_RUN: 'true' } });

    await expect(handler(fixture('spot-interruption-terminate.json'))).resolves.toMatchObject({ reason: 'dry-run' });
    expect(aws.calls('ecs:UpdateContainerInstancesState')).toHaveLength(0);
    expect(instance!.status).toBe('ACTIVE');
    expect(decisionLines(telemetry)[0]?.fields).toMatchObject({ dryRun: true, reason: 'dry-run', status: 'ACTIVE' });
  });

  it.each([
    ['malformed-spot-missing-detail.json', 'malformed-envelope'],
    ['ecs-container-instance-state-change.json', 'unexpected-source'],
  ])('acknowledges the invalid event %s with one error line, a metric and no AWS call', async (file, reason) => {
    const { aws, handler, telemetry } = setup();
    await expect(handler(fixture(file))).resolves.toEqual({ outcome: 'invalid', reason });
    expect(aws.calls()).toHaveLength(0);
    expect(telemetry.logs.filter((entry) => entry.level === 'ERROR')).toHaveLength(1);
    expect(telemetry.metricTotal('InvalidEvent', { function: 'spotInterruption', reason })).toBe(1);
  });

  it.each([
    ['rebalance-recommendation.json', 'rebalance-drain-disabled'],
    ['state-change-shutting-down.json', 'state-change-drain-disabled'],
    ['state-change-running.json', 'undrain-disabled'],
  ])('ignores %s by default without an AWS call', async (file, reason) => {
    const { aws, handler, telemetry } = setup();
    await expect(handler(fixture(file))).resolves.toMatchObject({ outcome: 'ignored', reason });
    expect(aws.calls()).toHaveLength(0);
    expect(decisionLines(telemetry)).toHaveLength(1);
  });

  it('drains on a rebalance recommendation when enabled', async () => {
    const { instance, handler, telemetry } = setup({ env: { CLUSTERS: 'prod', REBALANCE_DRAIN: 'true' }, instanceId: REBALANCE_INSTANCE_ID });
    await expect(handler(fixture('rebalance-recommendation.json'))).resolves.toMatchObject({ outcome: 'drained', kind: 'rebalance-recommendation' });
    expect(instance!.status).toBe('DRAINING');
    expect(telemetry.metricTotal('InstanceDrained', { kind: 'rebalance-recommendation' })).toBe(1);
  });
});

/**
 * Answers the world cannot give, so these two stay on aws-sdk-client-mock: a lookup by
 * `ec2InstanceId ==` filter that returns another instance (ECS's filter never does; the handler
 * guards against it anyway), and a drain refused with INVALID_STATE while the instance stays ACTIVE.
 */
describe('spot interruption handler: answers no world gives', () => {
  // mockClient(ECSClient) replaces send() of every ECSClient: only while these tests run.
  let ecsMock: AwsClientStub<ECSClient>;
  const CI_ARN = 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/0d3cf3c5a4b84e7b9a3d1e2f4b5c6d7e';
  const containerInstance = (overrides: Partial<ContainerInstance> = {}): ContainerInstance => ({
    containerInstanceArn: CI_ARN,
    ec2InstanceId: INSTANCE_ID,
    status: 'ACTIVE',
    agentConnected: true,
    runningTasksCount: 3,
    pendingTasksCount: 0,
    ...overrides,
  });
  const mocked = () => {
    const telemetry = new MemoryTelemetry();
    const handler = makeSpotInterruptionHandler({ config: loadSpotConfig({ CLUSTERS: 'prod' }), ecs: new ECSClient({ region: 'us-east-1' }), telemetry });
    return { handler, telemetry };
  };
  beforeAll(() => { ecsMock = mockClient(ECSClient); });
  beforeEach(() => ecsMock.reset());
  afterAll(() => ecsMock.restore());

  it('never drains a container instance whose EC2 instance id does not match', async () => {
    ecsMock.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [CI_ARN] });
    ecsMock.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [containerInstance({ ec2InstanceId: 'i-0aaaaaaaaaaaaaaaa' })] });
    const { handler, telemetry } = mocked();

    await expect(handler(fixture('spot-interruption-terminate.json'))).resolves.toMatchObject({
      outcome: 'no-action',
      reason: 'not-a-container-instance',
    });
    expect(ecsMock).toHaveReceivedCommandTimes(UpdateContainerInstancesStateCommand, 0);
    expect(telemetry.metricTotal('LookupMismatch', { cluster: 'prod' })).toBe(1);
    expect(telemetry.messages('WARN')).toContain('container instance lookup returned a different EC2 instance; ignored');
  });

  it('throws a retryable error when ECS refuses the drain and the instance is still ACTIVE', async () => {
    ecsMock.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [CI_ARN] });
    ecsMock.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [containerInstance()] });
    ecsMock.on(UpdateContainerInstancesStateCommand).resolves({ containerInstances: [], failures: [{ arn: CI_ARN, reason: 'INVALID_STATE' }] });
    const { handler, telemetry } = mocked();

    await expect(handler(fixture('spot-interruption-terminate.json'))).rejects.toBeInstanceOf(RetryableError);
    expect(telemetry.metricTotal('DrainFailed', { kind: 'spot-interruption' })).toBe(1);
  });
});
