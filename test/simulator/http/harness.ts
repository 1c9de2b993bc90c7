import { buildClients, type AwsClients } from '../../../lib/clients';
import type { ApiInput, ApiOutput, ControlPlane, ServiceName } from '../../../simulator/api';
import { startServer, type RunningServer } from '../../../simulator/http/server';

/** A control plane scripted per test: answers by `service:operation`, records what arrived. */
export class ScriptedPlane implements ControlPlane {
  readonly calls: { service: ServiceName; operation: string; input: ApiInput }[] = [];
  private readonly answers = new Map<string, (input: ApiInput, attempt: number) => ApiOutput | Promise<ApiOutput>>();

  on(key: `${ServiceName}:${string}`, answer: (input: ApiInput, attempt: number) => ApiOutput | Promise<ApiOutput>): this {
    this.answers.set(key, answer);
    return this;
  }

  /** Fails every call of `key` with `error`. */
  fails(key: `${ServiceName}:${string}`, error: Error): this {
    return this.on(key, () => {
      throw error;
    });
  }

  async call(service: ServiceName, operation: string, input: ApiInput): Promise<ApiOutput> {
    this.calls.push({ service, operation, input });
    const answer = this.answers.get(`${service}:${operation}`);
    if (!answer) throw new Error(`no scripted answer for ${service}:${operation}`);
    const attempt = this.calls.filter((call) => call.service === service && call.operation === operation).length;
    return answer(input, attempt);
  }

  inputsOf(operation: string): ApiInput[] {
    return this.calls.filter((call) => call.operation === operation).map((call) => call.input);
  }
}

export interface Harness {
  plane: ScriptedPlane;
  server: RunningServer;
  clients: AwsClients;
  close(): Promise<void>;
}

/** The real SDK clients, built the way the handlers build them, pointed at a fresh server. */
export async function startHarness(options: { maxAttempts?: number; onInternalError?: (error: unknown) => void } = {}): Promise<Harness> {
  const plane = new ScriptedPlane();
  const server = await startServer(plane, { onInternalError: options.onInternalError ?? (() => undefined) });
  const clients = buildClients({
    endpoint: server.url,
    maxAttempts: options.maxAttempts ?? 3,
    retryMode: 'standard',
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDSIMULATOR', secretAccessKey: 'simulator' },
  });
  return {
    plane,
    server,
    clients,
    async close() {
      for (const client of [clients.ecs, clients.autoScaling, clients.sns, clients.ec2, clients.cloudWatch]) client.destroy();
      await server.close();
    },
  };
}

/** An SDK output without its `$metadata`, for exact comparison. */
export function body<T extends { $metadata?: unknown }>(output: T): Omit<T, '$metadata'> {
  const { $metadata: _metadata, ...rest } = output;
  return rest;
}
