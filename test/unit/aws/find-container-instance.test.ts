import { DescribeContainerInstancesCommand, ECSClient, ListContainerInstancesCommand } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { findContainerInstance, MAX_FILTERED_LIST_PAGES } from '../../../lib/aws/ecs';
import { MemoryTelemetry } from '../../../lib/telemetry';

// Answers the simulator's world gives only by chance (a short-page fault drawn from its seed) are
// scripted here: a filtered ListContainerInstances page that is empty but carries a nextToken.
const ecsMock = mockClient(ECSClient);
const INSTANCE = 'i-0b662ef9931388ba0';
const ARN = 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/0f1e2d3c4b5a69788796a5b4c3d2e1f0';

beforeEach(() => {
  ecsMock.reset();
  ecsMock.on(DescribeContainerInstancesCommand).resolves({
    containerInstances: [{ containerInstanceArn: ARN, ec2InstanceId: INSTANCE, status: 'ACTIVE', agentConnected: true }],
    failures: [],
  });
});
afterAll(() => ecsMock.restore());

describe('findContainerInstance follows nextToken (docs/aws-behaviour.md §3.1)', () => {
  it('finds the instance behind empty first pages that carry a nextToken', async () => {
    ecsMock
      .on(ListContainerInstancesCommand)
      .resolvesOnce({ containerInstanceArns: [], nextToken: 'a' })
      .resolvesOnce({ containerInstanceArns: [], nextToken: 'b' })
      .resolvesOnce({ containerInstanceArns: [ARN] });
    const found = await findContainerInstance(new ECSClient({ region: 'us-east-1' }), ['prod'], INSTANCE, new MemoryTelemetry());
    expect(found?.containerInstanceArn).toBe(ARN);
    const lists = ecsMock.commandCalls(ListContainerInstancesCommand).map((call) => call.args[0].input);
    expect(lists).toEqual([
      { cluster: 'prod', filter: `ec2InstanceId == ${INSTANCE}` },
      { cluster: 'prod', filter: `ec2InstanceId == ${INSTANCE}`, nextToken: 'a' },
      { cluster: 'prod', filter: `ec2InstanceId == ${INSTANCE}`, nextToken: 'b' },
    ]);
  });

  it('gives up after a bounded number of pages when every page is empty', async () => {
    ecsMock.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [], nextToken: 'again' });
    const found = await findContainerInstance(new ECSClient({ region: 'us-east-1' }), ['prod'], INSTANCE, new MemoryTelemetry());
    expect(found).toBeUndefined();
    expect(ecsMock.commandCalls(ListContainerInstancesCommand)).toHaveLength(MAX_FILTERED_LIST_PAGES);
    expect(ecsMock.commandCalls(DescribeContainerInstancesCommand)).toHaveLength(0);
  });

  it('stops at the first page without a nextToken', async () => {
    ecsMock.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [] });
    const found = await findContainerInstance(new ECSClient({ region: 'us-east-1' }), ['prod'], INSTANCE, new MemoryTelemetry());
    expect(found).toBeUndefined();
    expect(ecsMock.commandCalls(ListContainerInstancesCommand)).toHaveLength(1);
  });
});
