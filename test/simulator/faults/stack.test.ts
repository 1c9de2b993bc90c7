import { ListTasksCommand } from '@aws-sdk/client-ecs';
import { PublishCommand } from '@aws-sdk/client-sns';
import { buildClients } from '../../../lib/clients';
import { classifyAwsError } from '../../../lib/errors';
import type { ControlPlane } from '../../../simulator/api';
import { withCallLog, withFaults, withThrottling } from '../../../simulator/faults';
import { startServer, type RunningServer } from '../../../simulator/http/server';
import { VirtualClock } from './virtual-clock';

// The wrappers stacked in front of a world and served over HTTP to the real SDK clients.
describe('fault wrappers behind the HTTP server', () => {
  const world: ControlPlane = {
    async call(_service, operation) {
      return operation === 'ListTasks' ? { taskArns: ['arn:task/1'] } : { MessageId: 'm' };
    },
  };
  let server: RunningServer;
  const clock = new VirtualClock();
  const faulty = withFaults(world, { seed: 11, clock, errorRate: 1, services: ['sns'] });
  const throttled = withThrottling(faulty, { clock, rates: { ecs: { clusterResourceRead: { burst: 2, refillPerSecond: 1 } } } });
  const log = withCallLog(throttled, { clock });
  const clients = () =>
    buildClients({ endpoint: server.url, maxAttempts: 3, retryMode: 'standard', region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });

  beforeAll(async () => { server = await startServer(log); });
  afterAll(() => server.close());
  beforeEach(() => {
    // No backoff jitter: the SDK's standard retry makes the same attempts, at once.
    jest.spyOn(Math, 'random').mockReturnValue(0);
  });

  it('the SDK retries into an empty bucket until the virtual clock refills it; the log counts every attempt', async () => {
    const { ecs } = clients();
    await ecs.send(new ListTasksCommand({ cluster: 'c' }));
    await ecs.send(new ListTasksCommand({ cluster: 'c' }));
    const error = await ecs.send(new ListTasksCommand({ cluster: 'c' })).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400, attempts: 3 } });
    expect(classifyAwsError(error)).toBe('retryable');

    clock.advance(1_000);
    await expect(ecs.send(new ListTasksCommand({ cluster: 'c' }))).resolves.toMatchObject({ taskArns: ['arn:task/1'] });
    expect(log.snapshot().operations['ecs:ListTasks']).toEqual({ calls: 6, ok: 3, errors: { ThrottlingException: 3 } });
    expect(throttled.throttled()).toEqual({ 'ecs:clusterResourceRead': 3 });
    ecs.destroy();
  });

  it('injected 5xx reach the SDK as retryable server faults and are logged as failed writes', async () => {
    const { sns } = clients();
    const error = await sns.send(new PublishCommand({ TopicArn: 'arn:t', Message: 'x' })).catch((e: unknown) => e);
    expect(error).toMatchObject({ $fault: 'server', $metadata: { attempts: 3 } });
    expect(['InternalFailure', 'ServiceUnavailable']).toContain((error as Error).name);
    expect(classifyAwsError(error)).toBe('retryable');
    const writes = log.writes().filter((w) => w.operation === 'Publish');
    expect(writes).toHaveLength(3);
    expect(writes.every((w) => w.outcome === 'InternalFailure' || w.outcome === 'ServiceUnavailable')).toBe(true);
    expect(faulty.injected().serverErrors).toBe(3);
    sns.destroy();
  });
});
