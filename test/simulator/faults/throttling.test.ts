import fc from 'fast-check';
import { AwsApiError, type ControlPlane, type ServiceName } from '../../../simulator/api';
import { ECS_THROTTLE_RATES, ecsThrottleCategory, TokenBucket, withThrottling } from '../../../simulator/faults';
import { VirtualClock } from './virtual-clock';

const reached: string[] = [];
const plane: ControlPlane = {
  async call(service, operation) {
    reached.push(`${service}:${operation}`);
    return {};
  },
};

/** How many of `n` calls got through, and the errors of the others. */
async function burst(target: ControlPlane, service: ServiceName, operation: string, n: number) {
  const errors: AwsApiError[] = [];
  let ok = 0;
  for (let i = 0; i < n; i++) {
    try {
      await target.call(service, operation, {});
      ok += 1;
    } catch (error) {
      errors.push(error as AwsApiError);
    }
  }
  return { ok, errors };
}

beforeEach(() => { reached.length = 0; });

describe('TokenBucket', () => {
  it('allows the burst, then refills at the sustained rate, never above the burst', () => {
    const bucket = new TokenBucket({ burst: 3, refillPerSecond: 2 }, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([true, true, true, false]);
    expect(bucket.take(499)).toBe(false); // 0.998 of a token
    expect(bucket.take(500)).toBe(true);
    expect(bucket.available(60_000)).toBe(3);
  });

  it('gains nothing when the clock steps back', () => {
    const bucket = new TokenBucket({ burst: 1, refillPerSecond: 1 }, 10_000);
    expect(bucket.take(10_000)).toBe(true);
    expect(bucket.take(5_000)).toBe(false);
    expect(bucket.available(10_000)).toBe(0);
  });

  it('never admits more than burst + rate × elapsed (property)', () => {
    fc.assert(
      fc.property(
        fc.record({ burst: fc.integer({ min: 1, max: 200 }), refillPerSecond: fc.integer({ min: 1, max: 200 }) }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 300 })), { maxLength: 30 }),
        (rate, steps) => {
          const bucket = new TokenBucket(rate, 0);
          let now = 0;
          let admitted = 0;
          for (const [advance, calls] of steps) {
            now += advance;
            for (let i = 0; i < calls; i++) if (bucket.take(now)) admitted += 1;
            expect(admitted).toBeLessThanOrEqual(rate.burst + Math.floor((now / 1000) * rate.refillPerSecond + 1e-9));
          }
        },
      ),
    );
  });

  it('rejects a rate that could never admit a call', () => {
    expect(() => new TokenBucket({ burst: 0, refillPerSecond: 1 }, 0)).toThrow(RangeError);
    expect(() => new TokenBucket({ burst: 1, refillPerSecond: 0 }, 0)).toThrow(RangeError);
  });
});

describe('withThrottling', () => {
  it('ECS cluster resource reads: a burst of 100, then ThrottlingException "Rate exceeded" (400) without reaching the world', async () => {
    const throttled = withThrottling(plane, { clock: new VirtualClock() });
    const { ok, errors } = await burst(throttled, 'ecs', 'DescribeTasks', 130);
    expect(ok).toBe(100);
    expect(errors).toHaveLength(30);
    expect(errors[0]).toBeInstanceOf(AwsApiError);
    expect(errors[0]).toMatchObject({ code: 'ThrottlingException', message: 'Rate exceeded', httpStatus: 400 });
    expect(reached).toHaveLength(100);
    expect(throttled.throttled()).toEqual({ 'ecs:clusterResourceRead': 30 });
  });

  it('refills from the injected clock: 20 reads per second after the burst', async () => {
    const clock = new VirtualClock();
    const throttled = withThrottling(plane, { clock });
    await burst(throttled, 'ecs', 'ListTasks', 100);
    clock.advance(1_000);
    expect((await burst(throttled, 'ecs', 'ListTasks', 25)).ok).toBe(20);
    clock.advance(250);
    expect((await burst(throttled, 'ecs', 'ListTasks', 10)).ok).toBe(5);
  });

  it('one bucket per category: reads share it, modifies and cluster reads have their own', async () => {
    const throttled = withThrottling(plane, { clock: new VirtualClock() });
    await burst(throttled, 'ecs', 'ListContainerInstances', 60);
    expect((await burst(throttled, 'ecs', 'DescribeContainerInstances', 60)).ok).toBe(40);
    expect((await burst(throttled, 'ecs', 'UpdateContainerInstancesState', 120)).ok).toBe(100);
    expect((await burst(throttled, 'ecs', 'ListClusters', 60)).ok).toBe(50);
    expect((await burst(throttled, 'ecs', 'DescribeServices', 110)).ok).toBe(100);
  });

  it('the documented table: every relevant action is in its category', () => {
    expect(ecsThrottleCategory('ListAttributes')).toBe('clusterResourceRead');
    expect(ecsThrottleCategory('StopTask')).toBe('clusterResourceModify');
    expect(ecsThrottleCategory('PutAttributes')).toBe('clusterResourceModify');
    expect(ecsThrottleCategory('DeleteAttributes')).toBe('clusterResourceModify');
    expect(ecsThrottleCategory('DescribeServices')).toBe('serviceRead');
    expect(ecsThrottleCategory('Nonexistent')).toBeUndefined();
    expect(ECS_THROTTLE_RATES.clusterResourceModify).toEqual({ burst: 100, refillPerSecond: 40 });
  });

  it('rates can be overridden per ECS category', async () => {
    const throttled = withThrottling(plane, { clock: new VirtualClock(), rates: { ecs: { clusterResourceModify: { burst: 3, refillPerSecond: 1 } } } });
    expect((await burst(throttled, 'ecs', 'StopTask', 5)).ok).toBe(3);
    expect((await burst(throttled, 'ecs', 'DescribeTasks', 5)).ok).toBe(5);
  });

  it('Auto Scaling: one configurable bucket for every action, answering Throttling "Rate exceeded"', async () => {
    const clock = new VirtualClock();
    const throttled = withThrottling(plane, { clock, rates: { autoScaling: { burst: 4, refillPerSecond: 2 } } });
    await burst(throttled, 'autoscaling', 'DescribeAutoScalingInstances', 3);
    const { ok, errors } = await burst(throttled, 'autoscaling', 'CompleteLifecycleAction', 3);
    expect(ok).toBe(1);
    expect(errors[0]).toMatchObject({ code: 'Throttling', message: 'Rate exceeded', httpStatus: 400 });
    clock.advance(1_000);
    expect((await burst(throttled, 'autoscaling', 'RecordLifecycleActionHeartbeat', 3)).ok).toBe(2);
  });

  it('Auto Scaling throttling can be turned off; other services are not throttled', async () => {
    const throttled = withThrottling(plane, { clock: new VirtualClock(), rates: { autoScaling: false } });
    expect((await burst(throttled, 'autoscaling', 'DescribeAutoScalingGroups', 500)).ok).toBe(500);
    expect((await burst(throttled, 'sns', 'Publish', 500)).ok).toBe(500);
    expect((await burst(throttled, 'ecs', 'RegisterTaskDefinitionNotInTable', 500)).ok).toBe(500);
  });
});
