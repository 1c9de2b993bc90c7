import { buildClients, type AwsClients } from '../../lib/clients';
import { currentActivity } from '../../simulator/clock';
import { isWriteOperation } from '../../simulator/faults';
import type { Simulation } from '../../simulator/runner/simulation';
import type { FunctionName, Handler } from '../../simulator/runner/lambda';
import { REGION } from '../../simulator/world/model';

/**
 * Lambda runs concurrent invocations of a function in separate execution environments
 * (sandboxes), each with its own module state: its own SDK clients, hence its own connection pool
 * and its own retry quota. A sandbox that finished an invocation is reused by the next one (warm
 * start); a new one is created (cold start) only when every existing sandbox is busy.
 *
 * The simulation runner builds one handler per function, shared by every invocation; for a burst of
 * 200 concurrent invocations that shares one retry quota among them, which real Lambda does not.
 * This pool replaces a function's handler in a running simulation with one sandbox per concurrent
 * invocation, each with clients accounted like the runner's: every call attributed to its
 * invocation and held open on the virtual clock, and the SDK's retry backoff slept on the virtual
 * clock so that throttling buckets refill during it exactly as they would in real time.
 */
export interface SdkSettings {
  maxAttempts: number;
  retryMode: 'standard' | 'adaptive';
  maxBackoffMs?: number;
}

interface Sandbox {
  handler: Handler;
  clients: AwsClients;
  busy: boolean;
}

interface RetryToken {
  getRetryCount(): number;
}
interface RetryErrorInfo {
  errorType?: string;
}
interface StandardStrategy {
  refreshRetryTokenForRetry(token: RetryToken, info: RetryErrorInfo): Promise<unknown>;
  retryBackoffStrategy?: { computeNextBackoffDelay(attempt: number): number; setDelayBase(delay: number): void };
}
interface InstrumentableClient {
  middlewareStack: { add(middleware: unknown, options: { step: 'initialize'; name: string }): void };
  config: { retryStrategy: () => Promise<unknown> };
  destroy(): void;
}

export class SandboxPool {
  readonly sandboxes: Sandbox[] = [];

  constructor(
    private readonly simulation: Simulation,
    private readonly build: (clients: AwsClients) => Handler,
    private readonly sdk: SdkSettings,
    /** Unused: the backoff jitter is the SDK strategy's own (Math.random), as in Lambda. */
    _seed: number,
  ) {
  }

  /** Registers `fn` in the simulation's Lambda runtime with this pool as its handler. */
  register(fn: FunctionName, timeoutMs: number): void {
    this.simulation.lambdas.register({
      name: fn,
      timeoutMs,
      maximumRetryAttempts: 2,
      handler: async (event, context) => {
        const sandbox = this.sandboxes.find((candidate) => !candidate.busy) ?? this.create();
        sandbox.busy = true;
        const result = await sandbox.handler(event, context);
        // A sandbox whose invocation failed is reused too; a timed-out one never gets here (frozen).
        sandbox.busy = false;
        return result;
      },
    });
  }

  get coldStarts(): number {
    return this.sandboxes.length;
  }

  close(): void {
    for (const sandbox of this.sandboxes) {
      for (const client of Object.values(sandbox.clients)) (client as InstrumentableClient).destroy();
    }
  }

  private create(): Sandbox {
    const clients = buildClients({
      endpoint: this.simulation.url,
      region: REGION,
      credentials: { accessKeyId: 'sim', secretAccessKey: 'sim' },
      maxAttempts: this.sdk.maxAttempts,
      retryMode: this.sdk.retryMode,
      ...(this.sdk.maxBackoffMs !== undefined ? { maxBackoffMs: this.sdk.maxBackoffMs } : {}),
    });
    for (const client of Object.values(clients)) this.instrument(client as InstrumentableClient);
    const sandbox: Sandbox = { handler: this.build(clients), clients, busy: false };
    this.sandboxes.push(sandbox);
    return sandbox;
  }

  private instrument(client: InstrumentableClient): void {
    const { clock, lambdas } = this.simulation;
    client.middlewareStack.add(
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
        const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
        const invocation = lambdas.invocationOf(currentActivity());
        if (invocation) {
          invocation.calls.push(operation);
          if (isWriteOperation(operation)) invocation.writes.push(operation);
        }
        const release = clock.hold();
        try {
          return await next(args);
        } finally {
          release();
        }
      },
      { step: 'initialize', name: 'benchSandboxAccounting' },
    );
    const original = client.config.retryStrategy;
    const patched = new WeakMap<object, unknown>();
    client.config.retryStrategy = async () => {
      const strategy = (await original()) as StandardStrategy;
      const known = patched.get(strategy);
      if (known) return known;
      if (!strategy.retryBackoffStrategy || typeof strategy.refreshRetryTokenForRetry !== 'function') return strategy;
      // The SDK sleeps its backoff with setTimeout inside refreshRetryTokenForRetry: keep the
      // delay the strategy itself computes (the SDK's default, or the handler's capped backoff
      // from lib/clients.ts), make the real sleep zero and sleep that delay on the virtual clock.
      const backoff = strategy.retryBackoffStrategy;
      const compute = backoff.computeNextBackoffDelay.bind(backoff);
      const drawn: number[] = [];
      backoff.computeNextBackoffDelay = (attempt: number) => {
        drawn.push(compute(attempt));
        return 0;
      };
      const proxy = new Proxy(strategy, {
        get(target, property, receiver) {
          if (property !== 'refreshRetryTokenForRetry') return Reflect.get(target, property, receiver) as unknown;
          return async (token: RetryToken, info: RetryErrorInfo) => {
            const next = await target.refreshRetryTokenForRetry(token, info);
            await clock.sleep(drawn.shift() ?? 0, { blocksRequest: true });
            return next;
          };
        },
      });
      patched.set(strategy, proxy);
      return proxy;
    };
  }
}
