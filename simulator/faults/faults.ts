import type { Clock } from '../../lib/clock';
import type { ControlPlane, ServiceName } from '../api';
import { serverError, throttlingError } from './errors';
import { seededRandom } from './random';

/**
 * Seeded random faults in front of a control plane: latency (slept on the injected clock, so a
 * virtual clock makes it free), transient server errors and throttles.
 *
 * Every call to an affected service draws exactly four numbers (latency, error, throttle, error
 * variant) whatever happens, so the same seed and the same order of calls give the same faults.
 * A faulted call never reaches the plane behind: like a request AWS refused, it changed nothing.
 */
export interface FaultOptions {
  seed: number;
  clock: Clock;
  /** Probability (0–1) of a 5xx on a call. */
  errorRate?: number;
  /** Probability (0–1) of a throttle on a call that did not get a 5xx. */
  throttleRate?: number;
  /** Added latency per call, uniform in [min, max] milliseconds of the clock. */
  latencyMs?: { min: number; max: number };
  /** Services that get faults; all by default. */
  services?: readonly ServiceName[];
}

export interface InjectedFaults {
  calls: number;
  serverErrors: number;
  throttles: number;
  latencyMs: number;
}

export interface FaultyControlPlane extends ControlPlane {
  injected(): InjectedFaults;
}

function checkRate(name: string, value: number): number {
  if (!(value >= 0 && value <= 1)) throw new RangeError(`${name} must be between 0 and 1, got ${value}`);
  return value;
}

export function withFaults(plane: ControlPlane, options: FaultOptions): FaultyControlPlane {
  const errorRate = checkRate('errorRate', options.errorRate ?? 0);
  const throttleRate = checkRate('throttleRate', options.throttleRate ?? 0);
  const latency = options.latencyMs ?? { min: 0, max: 0 };
  if (!(latency.min >= 0 && latency.max >= latency.min)) throw new RangeError('latencyMs needs 0 <= min <= max');
  const services = options.services ? new Set(options.services) : undefined;
  const random = seededRandom(options.seed);
  const injected: InjectedFaults = { calls: 0, serverErrors: 0, throttles: 0, latencyMs: 0 };

  return {
    async call(service, operation, input) {
      if (services && !services.has(service)) return plane.call(service, operation, input);
      const draws = [random(), random(), random(), random()] as const;
      injected.calls += 1;
      const delay = latency.min + Math.floor(draws[0] * (latency.max - latency.min + 1));
      if (delay > 0) {
        injected.latencyMs += delay;
        await options.clock.sleep(delay);
      }
      if (draws[1] < errorRate) {
        injected.serverErrors += 1;
        throw serverError(service, draws[3] < 0.5 ? 0 : 1);
      }
      if (draws[2] < throttleRate) {
        injected.throttles += 1;
        throw throttlingError(service);
      }
      return plane.call(service, operation, input);
    },
    injected: () => ({ ...injected }),
  };
}
