import { AwsApiError, type ApiInput, type ControlPlane, type ServiceName } from '../api';
import { serverError, throttlingError } from './errors';

/**
 * Failures scripted by a test in front of a control plane: "the next 2 StopTask calls are
 * throttled", "DescribeTasks fails with ServerException while the input names task X". A failed
 * call never reaches the plane behind, like a request AWS refused. Rules are tried in the order
 * they were added; the first that matches answers.
 */
export interface FailureRule {
  /** `service:Operation`, e.g. `ecs:StopTask`; or a bare operation name for any service. */
  operation: string;
  /**
   * The error: an AWS error code (with `status`, default 400, and `message`), an AwsApiError, or
   * 'throttling' / 'server' for the code and status the service itself uses (errors.ts).
   */
  error: string | AwsApiError;
  status?: number;
  message?: string;
  /** Fail this many matching calls, then stop (unset: every matching call). */
  times?: number;
  /** Fail only calls whose input (and 1-based call number of that operation) match. */
  when?: (input: ApiInput, callNumber: number) => boolean;
}

export interface OverridablePlane extends ControlPlane {
  fail(rule: FailureRule): void;
  /** Runs before the plane answers a call of `operation` (`service:Operation`): a change between calls. */
  before(operation: string, fn: (input: ApiInput, callNumber: number) => void): void;
  /** Forgets every rule, hook and call number. */
  clear(): void;
}

function errorOf(rule: FailureRule, service: ServiceName): AwsApiError {
  if (rule.error instanceof AwsApiError) return rule.error;
  if (rule.error === 'throttling') return throttlingError(service);
  if (rule.error === 'server') return serverError(service);
  return new AwsApiError(rule.error, rule.message ?? `Injected ${rule.error}`, rule.status ?? 400);
}

export function withOverrides(plane: ControlPlane): OverridablePlane {
  let rules: { rule: FailureRule; left: number }[] = [];
  let hooks = new Map<string, (input: ApiInput, callNumber: number) => void>();
  let callNumbers = new Map<string, number>();
  const matches = (pattern: string, service: ServiceName, operation: string) => pattern === operation || pattern === `${service}:${operation}`;

  return {
    async call(service, operation, input) {
      const key = `${service}:${operation}`;
      const callNumber = (callNumbers.get(key) ?? 0) + 1;
      callNumbers.set(key, callNumber);
      for (const [pattern, hook] of hooks) if (matches(pattern, service, operation)) hook(input, callNumber);
      const hit = rules.find(
        (entry) => entry.left > 0 && matches(entry.rule.operation, service, operation) && (entry.rule.when?.(input, callNumber) ?? true),
      );
      if (hit) {
        hit.left -= 1;
        throw errorOf(hit.rule, service);
      }
      return plane.call(service, operation, input);
    },
    fail(rule) {
      if (rule.times !== undefined && !(Number.isInteger(rule.times) && rule.times >= 0)) throw new RangeError(`times must be a whole number, got ${rule.times}`);
      rules.push({ rule, left: rule.times ?? Number.POSITIVE_INFINITY });
    },
    before(operation, fn) {
      hooks.set(operation, fn);
    },
    clear() {
      rules = [];
      hooks = new Map();
      callNumbers = new Map();
    },
  };
}
