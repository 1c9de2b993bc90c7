import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SNSClient } from '@aws-sdk/client-sns';
import { HttpResponse, type HttpRequest } from '@smithy/core/transport';
import type { AwsClients } from '../../lib/clients';
import { AwsApiError, type ApiInput, type ControlPlane, type ServiceName } from '../api';
import { withOverrides, type FailureRule, type OverridablePlane } from '../faults/overrides';
import { answerRequest } from '../http/server';

/**
 * The simulator without a socket: SDK v3 clients whose `requestHandler` hands each serialized
 * request to the HTTP endpoint's own decoding, routing and encoding (simulator/http/server.ts),
 * so the wire shapes, error codes and statuses are the ones the HTTP server sends, and the SDK's
 * own deserializers, error classes and middleware run unchanged.
 *
 *   const aws = new InProcessAws(world);
 *   const clients = aws.clients();            // { ecs, autoScaling, sns, ec2, cloudWatch }
 *   aws.fail({ operation: 'ecs:StopTask', error: 'throttling', times: 2 });
 *   aws.before('autoscaling:TerminateInstanceInAutoScalingGroup', () => world.…);
 *   aws.operations('ecs');                    // ['ListContainerInstances', …] in call order
 *   aws.inputs('ecs:UpdateContainerInstancesState');
 */
export interface RecordedCall {
  service: ServiceName;
  operation: string;
  /** The input as the service decoded it (API member names; a copy taken before the answer). */
  input: ApiInput;
  /** 'ok' or the error code answered. */
  outcome: string;
}

export interface InProcessClientOptions {
  /** SDK attempts per call; 1 (the default) shows each failure to the caller as it happened. */
  maxAttempts?: number;
  region?: string;
}

/** The smithy request handler: answers `handle(HttpRequest)` from a control plane. */
export class InProcessRequestHandler {
  constructor(
    private readonly plane: ControlPlane,
    private readonly onInternalError: (error: unknown) => void = (error) => {
      throw error;
    },
  ) {}

  async handle(request: HttpRequest): Promise<{ response: HttpResponse }> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(request.query ?? {})) {
      for (const item of Array.isArray(value) ? value : [value]) query.append(key, item ?? '');
    }
    const search = query.toString();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
    const raw: unknown = request.body;
    if (raw !== undefined && raw !== null && typeof raw !== 'string' && !(raw instanceof Uint8Array)) {
      throw new TypeError('the in-process handler takes string or byte bodies only');
    }
    // A view of the bytes: the JSON protocols hand over a Uint8Array subclass that warns when read as text.
    const body = raw === undefined || raw === null ? new Uint8Array() : typeof raw === 'string' ? Buffer.from(raw) : new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
    let internal: unknown;
    const answer = await answerRequest(this.plane, { url: `${request.path}${search ? `?${search}` : ''}`, headers, body }, (error) => (internal ??= error));
    // A bug in the world is a test failure, not a 500 the SDK would retry or a handler would absorb.
    if (internal !== undefined) this.onInternalError(internal);
    return { response: new HttpResponse({ statusCode: answer.status, headers: answer.headers, body: Buffer.from(answer.body) }) };
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  destroy(): void {}
}

export class InProcessAws {
  readonly log: RecordedCall[] = [];
  private readonly overrides: OverridablePlane;
  readonly requestHandler: InProcessRequestHandler;

  constructor(plane: ControlPlane) {
    this.overrides = withOverrides(plane);
    const log = this.log;
    const overrides = this.overrides;
    const logged: ControlPlane = {
      async call(service, operation, input) {
        const entry: RecordedCall = { service, operation, input: structuredClone(input), outcome: 'ok' };
        log.push(entry);
        try {
          return await overrides.call(service, operation, input);
        } catch (error) {
          entry.outcome = error instanceof AwsApiError ? error.code : 'InternalFailure';
          throw error;
        }
      },
    };
    this.requestHandler = new InProcessRequestHandler(logged);
  }

  /** The five SDK clients, answered from the plane. */
  clients(options: InProcessClientOptions = {}): AwsClients {
    const config = {
      region: options.region ?? 'us-east-1',
      maxAttempts: options.maxAttempts ?? 1,
      credentials: { accessKeyId: 'AKIDINPROCESS', secretAccessKey: 'in-process' },
      requestHandler: this.requestHandler,
    };
    return {
      ecs: new ECSClient(config),
      autoScaling: new AutoScalingClient(config),
      sns: new SNSClient(config),
      ec2: new EC2Client(config),
      cloudWatch: new CloudWatchClient(config),
    };
  }

  /** Fails matching calls before they reach the plane (simulator/faults/overrides.ts). */
  fail(rule: FailureRule): this {
    this.overrides.fail(rule);
    return this;
  }

  /** Runs `fn` before the plane answers each call of `operation` (`service:Operation`). */
  before(operation: string, fn: (input: ApiInput, callNumber: number) => void): this {
    this.overrides.before(operation, fn);
    return this;
  }

  /** Recorded calls, all or of one service, or of one `service:Operation`. */
  calls(filter?: ServiceName | `${ServiceName}:${string}`): RecordedCall[] {
    if (filter === undefined) return [...this.log];
    const [service, operation] = filter.split(':') as [ServiceName, string | undefined];
    return this.log.filter((call) => call.service === service && (operation === undefined || call.operation === operation));
  }

  /** Operation names in call order, all or of one service. */
  operations(service?: ServiceName): string[] {
    return this.calls(service).map((call) => call.operation);
  }

  /** Inputs of one `service:Operation`, in call order. */
  inputs(key: `${ServiceName}:${string}`): ApiInput[] {
    return this.calls(key).map((call) => call.input);
  }

  /** Calls by operation name across services. */
  countByOperation(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const call of this.log) counts[call.operation] = (counts[call.operation] ?? 0) + 1;
    return counts;
  }

  /** Forgets recorded calls, failure rules and hooks (the world keeps its state). */
  reset(): void {
    this.log.length = 0;
    this.overrides.clear();
  }
}
