import {
  DescribeContainerInstancesCommand,
  ECSClient,
  ListContainerInstancesCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { RetryableError } from '../../lib/errors';
import { loadSpotConfig } from '../../lib/spot/config';
import { makeSpotInterruptionHandler } from '../../lib/spot/handler';
import { MemoryTelemetry } from '../../lib/telemetry';
import { fixture } from '../fixtures';

const ecsMock = mockClient(ECSClient);

const VALID = [
  'spot-interruption-terminate.json',
  'spot-interruption-stop.json',
  'spot-interruption-hibernate.json',
  'rebalance-recommendation.json',
  'state-change-shutting-down.json',
  'state-change-stopping.json',
].map(fixture);

/** A valid event with one field replaced, removed or retyped: the malformed events a user meets. */
const mutatedEvent = fc
  .tuple(
    fc.constantFrom(...VALID),
    fc.constantFrom('version', 'id', 'detail-type', 'source', 'account', 'time', 'region', 'resources', 'detail', 'detail.instance-id', 'detail.instance-action', 'detail.state'),
    fc.oneof(fc.constant(undefined), fc.anything()),
  )
  .map(([event, path, value]) => {
    const copy = structuredClone(event) as Record<string, unknown>;
    const [head, tail] = path.split('.') as [string, string | undefined];
    const target = tail ? (copy[head] as Record<string, unknown>) : copy;
    const key = tail ?? head;
    if (value === undefined) delete target[key];
    else target[key] = value;
    return copy;
  });

beforeEach(() => {
  ecsMock.reset();
  // The instance is in the cluster and ACTIVE, so any event that passes validation would drain it.
  ecsMock.on(ListContainerInstancesCommand).callsFake((input: { filter?: string }) => ({
    containerInstanceArns: [`arn:aws:ecs:us-east-1:123456789012:container-instance/prod/${input.filter?.split(' ').pop()}`],
  }));
  ecsMock.on(DescribeContainerInstancesCommand).callsFake((input: { containerInstances: string[] }) => ({
    containerInstances: input.containerInstances.map((arn) => ({ containerInstanceArn: arn, ec2InstanceId: arn.split('/').pop(), status: 'ACTIVE' })),
  }));
  ecsMock.on(UpdateContainerInstancesStateCommand).callsFake((input: { containerInstances: string[] }) => ({
    containerInstances: input.containerInstances.map((arn) => ({ containerInstanceArn: arn, status: 'DRAINING' })),
  }));
});

describe('spot interruption handler under fuzzed input', () => {
  const handler = () =>
    makeSpotInterruptionHandler({
      config: loadSpotConfig({ CLUSTERS: 'prod', REBALANCE_DRAIN: 'true', STATE_CHANGE_DRAIN: 'true' }),
      ecs: new ECSClient({ region: 'us-east-1' }),
      telemetry: new MemoryTelemetry(),
    });

  it('never throws anything but a RetryableError, and invalid or ignored input makes no AWS call', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutatedEvent, fc.anything()), async (event) => {
        ecsMock.resetHistory();
        let result: Awaited<ReturnType<ReturnType<typeof handler>>> | undefined;
        try {
          result = await handler()(event);
        } catch (error) {
          expect(error).toBeInstanceOf(RetryableError);
          return;
        }
        if (result.outcome === 'invalid' || result.outcome === 'ignored') expect(ecsMock.calls()).toHaveLength(0);
        if (result.outcome === 'drained') {
          // Only a well-formed instance id reaches ECS, and only in the filter it was given.
          const filter = ecsMock.commandCalls(ListContainerInstancesCommand)[0]?.args[0].input.filter;
          expect(filter).toMatch(/^ec2InstanceId == i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/);
        }
      }),
      { numRuns: 400 },
    );
  });
});
