import { AutoScalingServiceException, TerminateInstanceInAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeContainerInstancesCommand, ECSServiceException, ListContainerInstancesCommand, UpdateContainerInstancesStateCommand } from '@aws-sdk/client-ecs';
import { PublishCommand } from '@aws-sdk/client-sns';
import { buildClients } from '../../lib/clients';
import { startServer } from '../../simulator/http/server';
import { InProcessAws } from '../../simulator/inprocess';
import { rejection } from '../fixtures';
import { clusterWith, newWorld } from './world/helpers';

/** A world with a cluster `c` of `count` container instances. */
function worldWithInstances(count: number) {
  const { world } = newWorld();
  return { world, instances: clusterWith(world, count, 2048, 4096) };
}

const failure = (promise: Promise<unknown>) => rejection<Error & { $metadata?: { httpStatusCode?: number } }>(promise);

describe('InProcessAws: SDK clients answered from a World without a socket', () => {
  it('answers exactly what the HTTP endpoint answers for the same world', async () => {
    const { world, instances } = worldWithInstances(3);
    const aws = new InProcessAws(world);
    const server = await startServer(world);
    const overHttp = buildClients({ endpoint: server.url, maxAttempts: 1, retryMode: 'standard', region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    try {
      const input = { cluster: 'c', containerInstances: instances.map((instance) => instance.arn) };
      const { $metadata: _a, ...inProcess } = await aws.clients().ecs.send(new DescribeContainerInstancesCommand(input));
      const { $metadata: _b, ...http } = await overHttp.ecs.send(new DescribeContainerInstancesCommand(input));
      expect(inProcess).toEqual(http);
      expect(inProcess.containerInstances?.map((instance) => instance.ec2InstanceId)).toEqual(instances.map((instance) => instance.ec2InstanceId));
    } finally {
      overHttp.ecs.destroy();
      await server.close();
    }
  });

  it('records each call with the input the service decoded and its outcome', async () => {
    const { world, instances } = worldWithInstances(1);
    const aws = new InProcessAws(world);
    const { ecs } = aws.clients();
    await ecs.send(new ListContainerInstancesCommand({ cluster: 'c', filter: `ec2InstanceId == ${instances[0]!.ec2InstanceId}` }));
    await failure(ecs.send(new ListContainerInstancesCommand({ cluster: 'nope' })));
    expect(aws.calls()).toEqual([
      { service: 'ecs', operation: 'ListContainerInstances', input: { cluster: 'c', filter: `ec2InstanceId == ${instances[0]!.ec2InstanceId}` }, outcome: 'ok' },
      { service: 'ecs', operation: 'ListContainerInstances', input: { cluster: 'nope' }, outcome: 'ClusterNotFoundException' },
    ]);
  });

  it('surfaces the world’s errors as the SDK’s own exception classes, query protocol included', async () => {
    const { world } = worldWithInstances(0);
    const { autoScaling } = new InProcessAws(world).clients();
    const error = await failure(autoScaling.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: 'i-0123456789abcdef0', ShouldDecrementDesiredCapacity: false })));
    expect(error).toBeInstanceOf(AutoScalingServiceException);
    expect(error).toMatchObject({ name: 'ValidationError', $metadata: { httpStatusCode: 400 } });
  });

  it('fails the next N calls of an operation, and a failed call changes nothing in the world', async () => {
    const { world, instances } = worldWithInstances(1);
    const aws = new InProcessAws(world).fail({ operation: 'ecs:UpdateContainerInstancesState', error: 'throttling', times: 2 });
    const { ecs } = aws.clients();
    const drain = () => ecs.send(new UpdateContainerInstancesStateCommand({ cluster: 'c', containerInstances: [instances[0]!.arn], status: 'DRAINING' }));
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const error = await failure(drain());
      expect(error).toBeInstanceOf(ECSServiceException);
      expect(error.name).toBe('ThrottlingException');
      expect(instances[0]!.status).toBe('ACTIVE');
    }
    await drain();
    expect(instances[0]!.status).toBe('DRAINING');
    expect(aws.calls('ecs:UpdateContainerInstancesState').map((call) => call.outcome)).toEqual(['ThrottlingException', 'ThrottlingException', 'ok']);
  });

  it('fails by predicate, with any code and status', async () => {
    const { world, instances } = worldWithInstances(2);
    const aws = new InProcessAws(world).fail({
      operation: 'DescribeContainerInstances',
      error: 'ServerException',
      status: 500,
      when: (input) => (input.containerInstances as string[]).includes(instances[1]!.arn),
    });
    const { ecs } = aws.clients();
    await expect(ecs.send(new DescribeContainerInstancesCommand({ cluster: 'c', containerInstances: [instances[0]!.arn] }))).resolves.toBeDefined();
    const error = await failure(ecs.send(new DescribeContainerInstancesCommand({ cluster: 'c', containerInstances: [instances[1]!.arn] })));
    expect(error).toMatchObject({ name: 'ServerException', $metadata: { httpStatusCode: 500 } });
  });

  it('lets the SDK retry an injected transient fault when the client allows attempts', async () => {
    const { world } = worldWithInstances(1);
    const aws = new InProcessAws(world).fail({ operation: 'ecs:ListContainerInstances', error: 'server', times: 1 });
    const output = await aws.clients({ maxAttempts: 2 }).ecs.send(new ListContainerInstancesCommand({ cluster: 'c' }));
    expect(output.containerInstanceArns).toHaveLength(1);
    expect(output.$metadata.attempts).toBe(2);
  });

  it('runs a hook before the world answers, with the call number', async () => {
    const { world, instances } = worldWithInstances(2);
    const aws = new InProcessAws(world).before('ecs:ListContainerInstances', (_input, callNumber) => {
      if (callNumber === 2) world.setContainerInstanceStatus(instances[0]!, 'DRAINING');
    });
    const { ecs } = aws.clients();
    const list = () => ecs.send(new ListContainerInstancesCommand({ cluster: 'c', status: 'ACTIVE' }));
    expect((await list()).containerInstanceArns).toHaveLength(2);
    expect((await list()).containerInstanceArns).toEqual([instances[1]!.arn]);
  });

  it('delivers SNS publishes to subscribers and takes gzip-compressed CloudWatch bodies', async () => {
    const { world } = worldWithInstances(0);
    const topic = world.createTopic('t');
    const received: string[] = [];
    world.subscribe(topic.arn, (record) => received.push(record.Sns.Message));
    const { sns, cloudWatch } = new InProcessAws(world).clients();
    await sns.send(new PublishCommand({ TopicArn: topic.arn, Message: 'hello' }));
    expect(received).toEqual(['hello']);
    // 1000 datums are far above the client's 10 KB compression threshold.
    const data = Array.from({ length: 1000 }, (_, index) => ({ MetricName: 'M', Value: index, Dimensions: [{ Name: 'n', Value: String(index) }] }));
    await cloudWatch.send(new PutMetricDataCommand({ Namespace: 'Test', MetricData: data }));
    expect(world.queryMetrics('Test', 'M')).toHaveLength(1000);
  });
});
