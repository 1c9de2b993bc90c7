import { buildClients, type AwsClients } from '../../lib/clients';
import type { CommonConfig } from '../../lib/config';
import { simulatorClientOptions, type Simulation } from '../../simulator/runner/simulation';
import type { FunctionName, Handler } from '../../simulator/runner/lambda';

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
export type SdkSettings = CommonConfig['sdk'];

interface Sandbox {
  handler: Handler;
  clients: AwsClients;
  busy: boolean;
}

export class SandboxPool {
  readonly sandboxes: Sandbox[] = [];

  constructor(
    private readonly simulation: Simulation,
    private readonly build: (clients: AwsClients) => Handler,
    private readonly sdk: SdkSettings,
    /** Unused: the backoff jitter comes from the simulation's own seeded generator. */
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
      for (const client of [sandbox.clients.ecs, sandbox.clients.autoScaling, sandbox.clients.sns, sandbox.clients.ec2, sandbox.clients.cloudWatch]) client.destroy();
    }
  }

  private create(): Sandbox {
    const clients = buildClients(simulatorClientOptions(this.simulation.url, this.sdk));
    this.simulation.instrumentClients(clients);
    const sandbox: Sandbox = { handler: this.build(clients), clients, busy: false };
    this.sandboxes.push(sandbox);
    return sandbox;
  }
}
