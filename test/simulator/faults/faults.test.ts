import { AwsApiError, type ControlPlane, type ServiceName } from '../../../simulator/api';
import { seededRandom, withFaults, type FaultOptions } from '../../../simulator/faults';
import { VirtualClock } from './virtual-clock';

let reached = 0;
const plane: ControlPlane = {
  async call() {
    reached += 1;
    return { ok: true };
  },
};

beforeEach(() => { reached = 0; });

/** Outcome codes of n calls: 'ok' or the injected error code. */
async function run(options: Omit<FaultOptions, 'clock'> & { clock?: VirtualClock }, n: number, service: ServiceName = 'ecs') {
  const clock = options.clock ?? new VirtualClock();
  const faulty = withFaults(plane, { ...options, clock });
  const outcomes: string[] = [];
  for (let i = 0; i < n; i++) {
    try {
      await faulty.call(service, 'DescribeTasks', {});
      outcomes.push('ok');
    } catch (error) {
      outcomes.push((error as AwsApiError).code);
    }
  }
  return { outcomes, faulty, clock };
}

describe('seededRandom', () => {
  it('repeats its sequence for a seed and differs between seeds', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const first = Array.from({ length: 50 }, () => a());
    expect(Array.from({ length: 50 }, () => b())).toEqual(first);
    expect(Array.from({ length: 50 }, () => c())).not.toEqual(first);
  });

  it('stays in [0, 1) and spreads evenly', () => {
    const random = seededRandom(7);
    const values = Array.from({ length: 20_000 }, () => random());
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    const tenths = Array.from({ length: 10 }, (_, d) => values.filter((v) => Math.floor(v * 10) === d).length);
    for (const count of tenths) expect(Math.abs(count - 2_000)).toBeLessThan(200);
  });
});

describe('withFaults', () => {
  it('the same seed gives the same faults and latencies; another seed does not', async () => {
    const options = { seed: 1234, errorRate: 0.2, throttleRate: 0.2, latencyMs: { min: 5, max: 50 } };
    const one = await run(options, 200);
    const two = await run(options, 200);
    const other = await run({ ...options, seed: 1235 }, 200);
    expect(two.outcomes).toEqual(one.outcomes);
    expect(two.clock.now()).toBe(one.clock.now());
    expect(other.outcomes).not.toEqual(one.outcomes);
    expect(new Set(one.outcomes)).toEqual(new Set(['ok', 'ServerException', 'ThrottlingException']));
  });

  it('injects at about the configured rates, and a faulted call never reaches the plane', async () => {
    const { outcomes, faulty } = await run({ seed: 99, errorRate: 0.1, throttleRate: 0.25 }, 4_000);
    const share = (code: string) => outcomes.filter((o) => o === code).length / outcomes.length;
    expect(share('ServerException')).toBeCloseTo(0.1, 1);
    // Throttles are drawn for calls that escaped a 5xx: 0.9 × 0.25.
    expect(share('ThrottlingException')).toBeCloseTo(0.225, 1);
    expect(reached).toBe(outcomes.filter((o) => o === 'ok').length);
    const injected = faulty.injected();
    expect(injected.serverErrors + injected.throttles + reached).toBe(4_000);
  });

  it('with zero rates every call goes through; with rate 1 none does', async () => {
    expect((await run({ seed: 1 }, 100)).outcomes.every((o) => o === 'ok')).toBe(true);
    expect(reached).toBe(100);
    reached = 0;
    expect((await run({ seed: 1, errorRate: 1 }, 100)).outcomes.every((o) => o === 'ServerException')).toBe(true);
    expect(reached).toBe(0);
  });

  it('latency is slept on the injected clock, each call within [min, max]', async () => {
    const clock = new VirtualClock(0);
    const faulty = withFaults(plane, { seed: 5, clock, latencyMs: { min: 20, max: 80 } });
    const delays: number[] = [];
    for (let i = 0; i < 300; i++) {
      const before = clock.now();
      await faulty.call('autoscaling', 'DescribeAutoScalingGroups', {});
      delays.push(clock.now() - before);
    }
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(20);
    expect(Math.max(...delays)).toBeLessThanOrEqual(80);
    expect(new Set(delays).size).toBeGreaterThan(30);
    expect(faulty.injected().latencyMs).toBe(clock.now());
  });

  it('speaks each service\'s error codes', async () => {
    const autoScaling = await run({ seed: 3, errorRate: 1 }, 200, 'autoscaling');
    expect(new Set(autoScaling.outcomes)).toEqual(new Set(['InternalFailure', 'ServiceUnavailable']));
    expect(new Set((await run({ seed: 3, throttleRate: 1 }, 20, 'autoscaling')).outcomes)).toEqual(new Set(['Throttling']));
    expect(new Set((await run({ seed: 3, throttleRate: 1 }, 20, 'ec2')).outcomes)).toEqual(new Set(['RequestLimitExceeded']));
    expect(new Set((await run({ seed: 3, throttleRate: 1 }, 20, 'sns')).outcomes)).toEqual(new Set(['Throttled']));
    expect(new Set((await run({ seed: 3, throttleRate: 1 }, 20, 'ecs')).outcomes)).toEqual(new Set(['ThrottlingException']));
  });

  it('faults only the chosen services, without consuming the sequence for the others', async () => {
    const outcomesFor = async (interleaveEcs: boolean) => {
      const faulty = withFaults(plane, { seed: 8, clock: new VirtualClock(), errorRate: 0.5, services: ['autoscaling'] });
      const outcomes: string[] = [];
      for (let i = 0; i < 50; i++) {
        if (interleaveEcs) await expect(faulty.call('ecs', 'ListTasks', {})).resolves.toEqual({ ok: true });
        outcomes.push(await faulty.call('autoscaling', 'CompleteLifecycleAction', {}).then(() => 'ok', (error: AwsApiError) => error.code));
      }
      return { outcomes, calls: faulty.injected().calls };
    };
    const alone = await outcomesFor(false);
    const interleaved = await outcomesFor(true);
    expect(interleaved).toEqual(alone);
    expect(alone.calls).toBe(50);
    expect(alone.outcomes).toContain('ok');
    expect(alone.outcomes.some((o) => o !== 'ok')).toBe(true);
  });

  it('rejects impossible settings', () => {
    const clock = new VirtualClock();
    expect(() => withFaults(plane, { seed: 1, clock, errorRate: 1.5 })).toThrow(RangeError);
    expect(() => withFaults(plane, { seed: 1, clock, throttleRate: -0.1 })).toThrow(RangeError);
    expect(() => withFaults(plane, { seed: 1, clock, latencyMs: { min: 10, max: 5 } })).toThrow(RangeError);
  });
});
