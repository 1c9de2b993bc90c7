import { CompleteLifecycleActionCommand, DescribeAutoScalingGroupsCommand, RecordLifecycleActionHeartbeatCommand } from '@aws-sdk/client-auto-scaling';
import { InvalidParameterValueException, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { ClusterNotFoundException, ListClustersCommand, ListContainerInstancesCommand, ServerException, UpdateContainerInstancesStateCommand } from '@aws-sdk/client-ecs';
import { PublishCommand } from '@aws-sdk/client-sns';
import { classifyAwsError, isNoActiveLifecycleAction } from '../../../lib/errors';
import { AwsApiError } from '../../../simulator/api';
import { serverError, throttlingError } from '../../../simulator/faults';
import { rejection } from '../../fixtures';
import { startHarness, type Harness } from './harness';

interface SdkError {
  name: string;
  message: string;
  $fault: 'client' | 'server';
  $metadata: { httpStatusCode?: number; attempts?: number; requestId?: string };
}

const failure = (promise: Promise<unknown>) => rejection<SdkError>(promise);

// Errors as the SDK sees them: name, message, status, fault, and what its standard retry does.
describe('errors through the wire', () => {
  let h: Harness;
  const internalErrors: unknown[] = [];
  beforeAll(async () => { h = await startHarness({ maxAttempts: 3, onInternalError: (error) => internalErrors.push(error) }); });
  afterAll(() => h.close());
  beforeEach(() => {
    h.plane.calls.length = 0;
    // Standard retry waits random() × backoff; zero jitter keeps the retry tests fast without changing how many attempts are made.
    jest.spyOn(Math, 'random').mockReturnValue(0);
  });

  const attemptsAt = (operation: string) => h.plane.calls.filter((call) => call.operation === operation).length;

  describe('ECS (JSON)', () => {
    it('a modelled client error becomes its typed exception and is not retried', async () => {
      h.plane.fails('ecs:ListContainerInstances', new AwsApiError('ClusterNotFoundException', 'Cluster not found.', 400));
      const error = await failure(h.clients.ecs.send(new ListContainerInstancesCommand({ cluster: 'nope' })));
      expect(error).toBeInstanceOf(ClusterNotFoundException);
      expect(error).toMatchObject({ name: 'ClusterNotFoundException', message: 'Cluster not found.', $fault: 'client', $metadata: { httpStatusCode: 400 } });
      expect(error.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(attemptsAt('ListContainerInstances')).toBe(1);
      expect(classifyAwsError(error)).toBe('fatal');
    });

    it('ThrottlingException "Rate exceeded" is retried by the SDK and then succeeds', async () => {
      h.plane.on('ecs:UpdateContainerInstancesState', (_input, attempt) => {
        if (attempt === 1) throw throttlingError('ecs');
        return { containerInstances: [], failures: [] };
      });
      const out = await h.clients.ecs.send(new UpdateContainerInstancesStateCommand({ cluster: 'c', containerInstances: ['a'], status: 'DRAINING' }));
      expect(attemptsAt('UpdateContainerInstancesState')).toBe(2);
      expect(out.$metadata.attempts).toBe(2);
    });

    it('a ThrottlingException that persists surfaces after maxAttempts, classified retryable', async () => {
      h.plane.fails('ecs:ListContainerInstances', throttlingError('ecs'));
      const error = await failure(h.clients.ecs.send(new ListContainerInstancesCommand({ cluster: 'c' })));
      expect(error).toMatchObject({ name: 'ThrottlingException', message: 'Rate exceeded', $fault: 'client', $metadata: { httpStatusCode: 400 } });
      expect(attemptsAt('ListContainerInstances')).toBe(3);
      expect(classifyAwsError(error)).toBe('retryable');
    });

    it('ServerException (500) is a server fault, retried, classified retryable', async () => {
      h.plane.fails('ecs:ListContainerInstances', serverError('ecs'));
      const error = await failure(h.clients.ecs.send(new ListContainerInstancesCommand({ cluster: 'c' })));
      expect(error).toBeInstanceOf(ServerException);
      expect(error).toMatchObject({ name: 'ServerException', $fault: 'server', $metadata: { httpStatusCode: 500 } });
      expect(attemptsAt('ListContainerInstances')).toBe(3);
      expect(classifyAwsError(error)).toBe('retryable');
    });

    it('a control-plane bug answers 500 InternalFailure and is reported, not hidden', async () => {
      internalErrors.length = 0;
      h.plane.fails('ecs:ListContainerInstances', new TypeError('world bug'));
      const error = await failure(h.clients.ecs.send(new ListContainerInstancesCommand({ cluster: 'c' })));
      expect(error).toMatchObject({ name: 'InternalFailure', $fault: 'server', $metadata: { httpStatusCode: 500 } });
      expect(internalErrors).toHaveLength(3);
      expect(String(internalErrors[0])).toContain('world bug');
    });
  });

  it('an output the server cannot encode is a 500 InternalFailure too, not a reset connection', async () => {
    internalErrors.length = 0;
    const unencodable = { get clusterArns(): string[] { throw new RangeError('cannot read'); } };
    h.plane.on('ecs:ListClusters', () => unencodable);
    const error = await failure(h.clients.ecs.send(new ListClustersCommand({})));
    expect(error).toMatchObject({ name: 'InternalFailure', $fault: 'server', $metadata: { httpStatusCode: 500 } });
    expect(internalErrors.map(String)).toContain('RangeError: cannot read');
  });

  describe('Auto Scaling (query)', () => {
    it('ValidationError "No active Lifecycle Action found" reaches isNoActiveLifecycleAction', async () => {
      const token = '3f7a9c9e-1b2c-4d5e-8f90-123456789abc';
      h.plane.on('autoscaling:CompleteLifecycleAction', (input) => {
        throw new AwsApiError('ValidationError', `No active Lifecycle Action found with token ${String(input.LifecycleActionToken)}`, 400);
      });
      h.plane.on('autoscaling:RecordLifecycleActionHeartbeat', (input) => {
        throw new AwsApiError('ValidationError', `No active Lifecycle Action found with instance ID ${String(input.InstanceId)}`, 400);
      });
      const completed = await failure(
        h.clients.autoScaling.send(
          new CompleteLifecycleActionCommand({ AutoScalingGroupName: 'g', LifecycleHookName: 'h', LifecycleActionResult: 'CONTINUE', LifecycleActionToken: token }),
        ),
      );
      const heartbeat = await failure(
        h.clients.autoScaling.send(new RecordLifecycleActionHeartbeatCommand({ AutoScalingGroupName: 'g', LifecycleHookName: 'h', InstanceId: 'i-1' })),
      );
      expect(completed).toMatchObject({ name: 'ValidationError', message: `No active Lifecycle Action found with token ${token}`, $fault: 'client', $metadata: { httpStatusCode: 400 } });
      expect(isNoActiveLifecycleAction(completed)).toBe(true);
      expect(isNoActiveLifecycleAction(heartbeat)).toBe(true);
      expect(classifyAwsError(completed)).toBe('non-actionable');
      expect(attemptsAt('CompleteLifecycleAction')).toBe(1);
    });

    it('Throttling "Rate exceeded" is retried by the SDK', async () => {
      h.plane.on('autoscaling:DescribeAutoScalingGroups', (_input, attempt) => {
        if (attempt <= 2) throw throttlingError('autoscaling');
        return { AutoScalingGroups: [] };
      });
      const out = await h.clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({}));
      expect(out.AutoScalingGroups).toEqual([]);
      expect(attemptsAt('DescribeAutoScalingGroups')).toBe(3);
    });

    it('persistent Throttling surfaces with its code, status and fault', async () => {
      h.plane.fails('autoscaling:DescribeAutoScalingGroups', throttlingError('autoscaling'));
      const error = await failure(h.clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({})));
      expect(error).toMatchObject({ name: 'Throttling', message: 'Rate exceeded', $fault: 'client', $metadata: { httpStatusCode: 400 } });
      expect(attemptsAt('DescribeAutoScalingGroups')).toBe(3);
      expect(classifyAwsError(error)).toBe('retryable');
    });

    it.each([
      ['InternalFailure', 500, 0],
      ['ServiceUnavailable', 503, 1],
    ] as const)('%s (%i) is a retried server fault, classified retryable', async (code, status, variant) => {
      h.plane.fails('autoscaling:DescribeAutoScalingGroups', serverError('autoscaling', variant));
      const error = await failure(h.clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({})));
      expect(error).toMatchObject({ name: code, $fault: 'server', $metadata: { httpStatusCode: status } });
      expect(attemptsAt('DescribeAutoScalingGroups')).toBe(3);
      expect(classifyAwsError(error)).toBe('retryable');
    });
  });

  describe('SNS, EC2 and CloudWatch', () => {
    it('SNS: a modelled error keeps its code and message', async () => {
      h.plane.fails('sns:Publish', new AwsApiError('NotFound', 'Topic does not exist', 404));
      const error = await failure(h.clients.sns.send(new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:1:none', Message: 'x' })));
      expect(error).toMatchObject({ name: 'NotFoundException', message: 'Topic does not exist', $fault: 'client', $metadata: { httpStatusCode: 404 } });
    });

    it('SNS: Throttled (429) surfaces as ThrottledException after the SDK retried it', async () => {
      h.plane.fails('sns:Publish', throttlingError('sns'));
      const error = await failure(h.clients.sns.send(new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:1:t', Message: 'x' })));
      expect(error).toMatchObject({ name: 'ThrottledException', message: 'Rate exceeded', $fault: 'client', $metadata: { httpStatusCode: 429 } });
      expect(attemptsAt('Publish')).toBe(3);
      expect(classifyAwsError(error)).toBe('retryable');
    });

    it('EC2: <Response><Errors> surfaces the code; RequestLimitExceeded is retried', async () => {
      h.plane.on('ec2:DescribeInstances', (_input, attempt) => {
        if (attempt === 1) throw throttlingError('ec2');
        throw new AwsApiError('InvalidInstanceID.NotFound', "The instance ID 'i-404' does not exist", 400);
      });
      const error = await failure(h.clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-404'] })));
      expect(error).toMatchObject({ name: 'InvalidInstanceID.NotFound', message: "The instance ID 'i-404' does not exist", $fault: 'client', $metadata: { httpStatusCode: 400 } });
      expect(attemptsAt('DescribeInstances')).toBe(2);
    });

    it('CloudWatch (query compatible JSON): the query error code finds the modelled exception', async () => {
      h.plane.fails('cloudwatch:PutMetricData', new AwsApiError('InvalidParameterValue', 'The value NaN for parameter MetricData.member.1.Value is invalid.', 400));
      const error = await failure(h.clients.cloudWatch.send(new PutMetricDataCommand({ Namespace: 'N', MetricData: [{ MetricName: 'm', Value: 1 }] })));
      expect(error).toBeInstanceOf(InvalidParameterValueException);
      expect(error).toMatchObject({ message: 'The value NaN for parameter MetricData.member.1.Value is invalid.', $fault: 'client' });
      expect((error as unknown as { Error: { Code: string; Type: string } }).Error).toMatchObject({ Code: 'InvalidParameterValue', Type: 'Sender' });
    });
  });
});
