import type { InvocationContext } from '../../lib/clock';
import { FUNCTIONS, type FunctionName } from '../../lib/functions';
import type { Activity, VirtualClock } from '../clock';
import type { World } from '../world/world';

export type { FunctionName };

/**
 * Lambda's asynchronous invocation, in process, on the virtual clock (aws-behaviour.md §4):
 * the handler gets a context whose remaining time follows the virtual clock and the function's
 * timeout; an invocation still running at its timeout is frozen (it never wakes up again, like a
 * killed sandbox) and counts as an error; an error is retried as the function's definition says
 * (`maximumRetryAttempts`, at most twice, one and two minutes later), and not once the event is
 * older than its `maximumEventAge`: the settings serverless.yml deploys (lib/<fn>/definition.ts).
 */
export type Handler = (event: unknown, context: InvocationContext) => Promise<unknown>;

export interface FunctionSpec {
  name: FunctionName;
  handler: Handler;
  timeoutMs: number;
  /** Lambda's async retries after a function error (0–2), from the function's definition. */
  maximumRetryAttempts: number;
  /** Lambda drops an event this old instead of retrying it (60–21600 s); unlimited when unset. */
  maximumEventAgeMs?: number;
}

export interface Invocation {
  id: string;
  fn: FunctionName;
  attempt: number;
  startedAt: number;
  /** When Lambda first queued the event (the first attempt's start): its age counts from here. */
  queuedAt: number;
  /** The event's own id (EventBridge `id`), when it has one: repeated deliveries share it. */
  eventId?: string;
  endedAt?: number;
  outcome?: 'ok' | 'error' | 'timeout';
  error?: string;
  result?: unknown;
  /** The event was planted as invalid input: it must cause no write. */
  invalidInput: boolean;
  /** AWS operations this invocation called (`Service.Operation`), writes included. */
  calls: string[];
  writes: string[];
}

export interface FunctionStats {
  invocations: number;
  ok: number;
  errors: number;
  timeouts: number;
  retries: number;
  /** Billed duration in virtual milliseconds, rounded up to 1 ms per invocation as Lambda does. */
  billedMs: number;
}

export interface InvokeOptions {
  invalidInput?: boolean;
  attempt?: number;
  /** When the event was first queued (a retry keeps its event's age, for maximumEventAge). */
  queuedAt?: number;
  /**
   * A synchronous invocation by an event source mapping (simulator/runner/sqs-mapping.ts): Lambda
   * does not retry it, the caller learns how it ended.
   */
  onEnd?: (invocation: Invocation) => void;
}

export class LambdaRuntime {
  readonly invocations: Invocation[] = [];
  private readonly functions = new Map<FunctionName, FunctionSpec>();
  private readonly byActivity = new Map<string, Invocation>();
  private readonly running = new Set<Promise<unknown>>();
  private sequence = 0;

  constructor(
    private readonly clock: VirtualClock,
    private readonly world: World,
  ) {}

  register(spec: FunctionSpec): void {
    this.functions.set(spec.name, spec);
  }

  /** The invocation the caller runs in (for call accounting). */
  invocationOf(activity: Activity | undefined): Invocation | undefined {
    return activity ? this.byActivity.get(activity.id) : undefined;
  }

  /** An asynchronous invocation: starts at once; errors and timeouts are retried by Lambda. */
  invoke(name: FunctionName, event: unknown, options: InvokeOptions = {}): void {
    const spec = this.functions.get(name);
    if (!spec) return;
    const attempt = options.attempt ?? 1;
    const id = `${name}-${++this.sequence}`;
    const startedAt = this.clock.now();
    const invocation: Invocation = {
      id,
      fn: name,
      attempt,
      startedAt,
      queuedAt: options.queuedAt ?? startedAt,
      ...eventIdOf(event),
      invalidInput: options.invalidInput ?? false,
      calls: [],
      writes: [],
    };
    this.invocations.push(invocation);
    const deadline = startedAt + spec.timeoutMs;
    const context: InvocationContext = { getRemainingTimeInMillis: () => Math.max(0, deadline - this.clock.now()), awsRequestId: id };
    // The event crosses a process boundary in Lambda: the handler gets its own copy.
    const payload: unknown = structuredClone(event);
    const { activity, done } = this.clock.track(() => spec.handler(payload, context), id);
    this.byActivity.set(activity.id, invocation);
    const timeout = this.clock.schedule(deadline, () => {
      if (invocation.outcome) return;
      this.clock.freeze(activity);
      this.finish(spec, invocation, 'timeout', event, `Task timed out after ${(spec.timeoutMs / 1000).toFixed(2)} seconds`, options.onEnd);
    });
    const tracked = done.then(
      (result) => {
        this.clock.cancel(timeout);
        if (invocation.outcome) return;
        invocation.result = result;
        this.finish(spec, invocation, 'ok', event, undefined, options.onEnd);
      },
      (error: unknown) => {
        this.clock.cancel(timeout);
        if (invocation.outcome) return;
        this.finish(spec, invocation, 'error', event, error instanceof Error ? `${error.name}: ${error.message}` : String(error), options.onEnd);
      },
    );
    this.running.add(tracked);
    void tracked.finally(() => this.running.delete(tracked));
  }

  private finish(
    spec: FunctionSpec,
    invocation: Invocation,
    outcome: 'ok' | 'error' | 'timeout',
    event: unknown,
    error?: string,
    onEnd?: (invocation: Invocation) => void,
  ): void {
    invocation.outcome = outcome;
    invocation.endedAt = this.clock.now();
    if (error) invocation.error = error;
    if (onEnd) {
      // The event source mapping, not Lambda's asynchronous retry, decides what happens next.
      this.world.record('lambda', outcome === 'ok' ? 'invocation ended' : 'invocation failed', {
        fn: invocation.fn,
        ...(outcome === 'ok' ? { result: summarize(invocation.result) } : { error }),
      });
      onEnd(invocation);
      return;
    }
    if (outcome === 'ok') {
      this.world.record('lambda', 'invocation ended', { fn: invocation.fn, result: summarize(invocation.result) });
      return;
    }
    this.world.record('lambda', outcome === 'timeout' ? 'invocation timed out' : 'invocation failed', {
      fn: invocation.fn,
      attempt: invocation.attempt,
      error,
    });
    if (invocation.attempt <= spec.maximumRetryAttempts) {
      // One minute before the second attempt, two before the third (aws-behaviour.md §4).
      const retryAt = this.clock.now() + invocation.attempt * 60_000;
      if (spec.maximumEventAgeMs !== undefined && retryAt - invocation.queuedAt > spec.maximumEventAgeMs) {
        this.world.record('lambda', 'event dropped: older than its maximum event age', { fn: invocation.fn, attempt: invocation.attempt });
        return;
      }
      this.clock.schedule(retryAt, () =>
        this.invoke(invocation.fn, event, { invalidInput: invocation.invalidInput, attempt: invocation.attempt + 1, queuedAt: invocation.queuedAt }),
      );
    }
  }

  stats(): Record<FunctionName, FunctionStats> {
    const empty = (): FunctionStats => ({ invocations: 0, ok: 0, errors: 0, timeouts: 0, retries: 0, billedMs: 0 });
    const stats = Object.fromEntries(FUNCTIONS.map((definition) => [definition.name, empty()])) as Record<FunctionName, FunctionStats>;
    for (const invocation of this.invocations) {
      const entry = stats[invocation.fn];
      entry.invocations += 1;
      if (invocation.attempt > 1) entry.retries += 1;
      if (invocation.outcome === 'ok') entry.ok += 1;
      if (invocation.outcome === 'error') entry.errors += 1;
      if (invocation.outcome === 'timeout') entry.timeouts += 1;
      const end = invocation.endedAt ?? this.clock.now();
      entry.billedMs += Math.max(1, Math.ceil(end - invocation.startedAt));
    }
    return stats;
  }
}

/**
 * Lambda runs concurrent invocations of a function in separate execution environments, each with
 * its own module state: its own SDK clients, hence its own connection pool and retry quota. A free
 * environment is reused (warm start); a new one is built (cold start) only when every existing one
 * is busy. A function error keeps its environment; a timed-out invocation never returns it, as
 * Lambda resets an environment whose invocation timed out or crashed
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html). Sharing one
 * client among a burst of invocations would share one retry quota and make a storm look worse
 * than it is.
 */
export class ExecutionEnvironments {
  private readonly environments: Array<{ handler: Handler; busy: boolean }> = [];

  constructor(private readonly coldStart: () => Handler) {}

  readonly handler: Handler = async (event, context) => {
    let environment = this.environments.find((candidate) => !candidate.busy);
    if (!environment) {
      environment = { handler: this.coldStart(), busy: false };
      this.environments.push(environment);
    }
    environment.busy = true;
    try {
      return await environment.handler(event, context);
    } finally {
      // A frozen (timed-out) invocation never gets here: its environment stays busy for good.
      environment.busy = false;
    }
  };

  /** Environments built so far: the function's cold starts. */
  get coldStarts(): number {
    return this.environments.length;
  }
}

function eventIdOf(event: unknown): { eventId?: string } {
  const id = typeof event === 'object' && event !== null ? (event as { id?: unknown }).id : undefined;
  return typeof id === 'string' ? { eventId: id } : {};
}

/** A short description of a handler's result for the timeline. */
function summarize(result: unknown): string {
  if (typeof result !== 'object' || result === null) return String(result);
  const value = result as { outcome?: unknown; reason?: unknown; records?: unknown; clusters?: unknown; batchItemFailures?: unknown };
  if (Array.isArray(value.batchItemFailures)) return `batch, ${value.batchItemFailures.length} to receive again`;
  if (Array.isArray(value.records)) {
    return value.records
      .map((record: { outcome?: unknown; reason?: unknown }) => `${String(record.outcome)}/${String(record.reason)}`)
      .join(', ');
  }
  if (Array.isArray(value.clusters)) {
    return value.clusters
      .map((sweep: { cluster?: unknown; outcome?: unknown; selected?: unknown }) =>
        `${String(sweep.cluster)}: ${String(sweep.outcome)}, ${Array.isArray(sweep.selected) ? sweep.selected.length : 0} selected`,
      )
      .join('; ');
  }
  return `${String(value.outcome)}${value.reason !== undefined ? `/${String(value.reason)}` : ''}`;
}
