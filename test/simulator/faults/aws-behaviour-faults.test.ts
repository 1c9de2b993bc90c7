import { AwsApiError, type ControlPlane } from '../../../simulator/api';
import { deliveryDelays, withScalingActivityFaults } from '../../../simulator/faults';
import { Random } from '../../../simulator/world/random';

/** AWS behaviour as faults: Auto Scaling writes refused for a busy group, repeated and late deliveries (aws-behaviour.md §3.2, §4). */
function countingPlane() {
  const reached: string[] = [];
  const plane: ControlPlane = {
    async call(service, operation) {
      reached.push(`${service}:${operation}`);
      return {};
    },
  };
  return { plane, reached };
}

async function outcome(plane: ControlPlane, service: 'autoscaling' | 'ecs', operation: string): Promise<string> {
  try {
    await plane.call(service, operation, { InstanceId: 'i-0123456789abcdef0' });
    return 'ok';
  } catch (error) {
    const answered = error as AwsApiError;
    return `${answered.code}/${answered.httpStatus}`;
  }
}

describe('withScalingActivityFaults', () => {
  it('refuses the writes each fault applies to, with the codes and statuses AWS uses; a refused call never reaches the world', async () => {
    const { plane, reached } = countingPlane();
    const always = withScalingActivityFaults(plane, { seed: 1, activityInProgressRate: 1, contentionRate: 1 });
    expect(await outcome(always, 'autoscaling', 'TerminateInstanceInAutoScalingGroup')).toBe('ScalingActivityInProgress/400');
    expect(await outcome(always, 'autoscaling', 'SetDesiredCapacity')).toBe('ScalingActivityInProgress/400');
    // Its API reference lists ResourceContention only.
    expect(await outcome(always, 'autoscaling', 'SetInstanceProtection')).toBe('ResourceContention/500');
    // Reads and other services are never refused.
    expect(await outcome(always, 'autoscaling', 'DescribeAutoScalingInstances')).toBe('ok');
    expect(await outcome(always, 'ecs', 'UpdateContainerInstancesState')).toBe('ok');
    expect(reached).toEqual(['autoscaling:DescribeAutoScalingInstances', 'ecs:UpdateContainerInstancesState']);
    expect(always.injected()).toEqual({ activityInProgress: 2, contention: 1 });
  });

  it('refuses about the configured share, the same calls for the same seed', async () => {
    const run = async (seed: number) => {
      const faulty = withScalingActivityFaults(countingPlane().plane, { seed, activityInProgressRate: 0.2, contentionRate: 0.1 });
      const outcomes: string[] = [];
      for (let index = 0; index < 400; index += 1) outcomes.push(await outcome(faulty, 'autoscaling', 'TerminateInstanceInAutoScalingGroup'));
      return outcomes;
    };
    const first = await run(7);
    expect(await run(7)).toEqual(first);
    const activity = first.filter((entry) => entry.startsWith('ScalingActivity')).length;
    const contention = first.filter((entry) => entry.startsWith('ResourceContention')).length;
    expect(activity).toBeGreaterThan(50);
    expect(activity).toBeLessThan(110);
    expect(contention).toBeGreaterThan(15);
    expect(contention).toBeLessThan(60);
  });
});

describe('deliveryDelays', () => {
  it('delivers once, on time, drawing nothing, when both rates are 0', () => {
    const random = new Random(3);
    const before = new Random(3).next();
    expect(deliveryDelays(random, { duplicateRate: 0, delayRate: 0, delaySeconds: { min: 1, max: 30 } })).toEqual([0]);
    expect(random.next()).toBe(before);
  });

  it('repeats and delays deliveries at the configured rates, within the configured delay', () => {
    const random = new Random(11);
    const plans = Array.from({ length: 1000 }, () => deliveryDelays(random, { duplicateRate: 0.3, delayRate: 0.2, delaySeconds: { min: 5, max: 60 } }));
    const duplicated = plans.filter((plan) => plan.length === 2).length;
    expect(plans.every((plan) => plan.length === 1 || plan.length === 2)).toBe(true);
    expect(duplicated).toBeGreaterThan(240);
    expect(duplicated).toBeLessThan(360);
    const late = plans.filter((plan) => plan[0]! > 0);
    expect(late.length).toBeGreaterThan(150);
    expect(late.length).toBeLessThan(250);
    expect(late.every((plan) => plan[0]! >= 5_000 && plan[0]! <= 60_000)).toBe(true);
    // A repeat may come up to two seconds after an on-time first delivery, so it can overtake a late one.
    expect(plans.filter((plan) => plan.length === 2).every((plan) => plan[1]! >= 0 && plan[1]! <= 62_000)).toBe(true);
  });
});
