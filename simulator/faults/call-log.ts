import type { Clock } from '../../lib/clock';
import { AwsApiError, type ApiInput, type ControlPlane, type ServiceName } from '../api';

/**
 * Counts every call that passes through, by `service:operation` and outcome, and keeps the write
 * calls themselves: reports and benchmarks read the counts, and fault campaigns check the writes
 * ("an invalid event caused no write").
 */

/** Reads are the Describe*, List* and Get* operations; everything else changes something. */
export function isWriteOperation(operation: string): boolean {
  return !/^(Describe|List|Get)[A-Z]/.test(operation);
}

export interface OperationCounts {
  calls: number;
  ok: number;
  /** Failed calls by error code. */
  errors: Record<string, number>;
}

export interface CallLogSnapshot {
  total: number;
  ok: number;
  errors: number;
  /** Keyed `service:operation`, e.g. `ecs:ListTasks`. */
  operations: Record<string, OperationCounts>;
}

export interface WriteCall {
  service: ServiceName;
  operation: string;
  input: ApiInput;
  /** 'ok' or the error code. */
  outcome: string;
  /** Clock time of the call, if the log was given a clock. */
  at?: number;
}

export interface CallLog extends ControlPlane {
  snapshot(): CallLogSnapshot;
  writes(): readonly WriteCall[];
  reset(): void;
  /** Calls `listener` after every call with its outcome ('ok' or the error code) and start time. */
  onCall(listener: CallListener): void;
}

export type CallListener = (call: { service: ServiceName; operation: string; outcome: string; at: number | undefined }) => void;

function outcomeOf(error: unknown): string {
  if (error instanceof AwsApiError) return error.code;
  return error instanceof Error ? error.name : 'UnknownError';
}

export function withCallLog(plane: ControlPlane, options: { clock?: Clock } = {}): CallLog {
  let operations = new Map<string, OperationCounts>();
  let writes: WriteCall[] = [];
  const listeners: CallListener[] = [];

  const record = (service: ServiceName, operation: string, input: ApiInput, outcome: string, at: number | undefined) => {
    const key = `${service}:${operation}`;
    const counts = operations.get(key) ?? { calls: 0, ok: 0, errors: {} };
    counts.calls += 1;
    if (outcome === 'ok') counts.ok += 1;
    else counts.errors[outcome] = (counts.errors[outcome] ?? 0) + 1;
    operations.set(key, counts);
    if (isWriteOperation(operation)) writes.push({ service, operation, input, outcome, ...(at !== undefined ? { at } : {}) });
    for (const listener of listeners) listener({ service, operation, outcome, at });
  };

  return {
    async call(service, operation, input) {
      const at = options.clock?.now();
      // A copy: the caller (or the world) may mutate the input object after the call.
      const seen = structuredClone(input);
      try {
        const output = await plane.call(service, operation, input);
        record(service, operation, seen, 'ok', at);
        return output;
      } catch (error) {
        record(service, operation, seen, outcomeOf(error), at);
        throw error;
      }
    },
    snapshot() {
      const result: CallLogSnapshot = { total: 0, ok: 0, errors: 0, operations: {} };
      for (const key of [...operations.keys()].sort()) {
        const counts = operations.get(key)!;
        result.operations[key] = { calls: counts.calls, ok: counts.ok, errors: { ...counts.errors } };
        result.total += counts.calls;
        result.ok += counts.ok;
        result.errors += counts.calls - counts.ok;
      }
      return result;
    },
    writes: () => [...writes],
    onCall(listener) {
      listeners.push(listener);
    },
    reset() {
      operations = new Map();
      writes = [];
    },
  };
}
