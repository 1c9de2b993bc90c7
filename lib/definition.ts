import { randomUUID } from 'node:crypto';
import { clientOptionsFrom, createClients, type ClientFactories, type ServiceName, type AwsClients } from './clients';
import { systemClock, type Clock, type InvocationContext } from './clock';
import type { CommonConfig, Env } from './config';
import { attemptTimeouts } from './retry-budget';
import { createPowertoolsTelemetry, type Telemetry } from './telemetry';

/**
 * One function, declared once: the deployed handler (`deploy`), the simulator's Lambda runtime,
 * the benchmarks and the tests all build it from this, and test/deploy/definitions.test.ts holds it
 * to serverless.yml, so the name, settings and deployment figures cannot drift apart.
 */
export interface FunctionDeps<C, S extends ServiceName> {
  config: C;
  clients: Pick<AwsClients, S>;
  telemetry: Telemetry;
  clock: Clock;
  /** Random ids (chains, leases); injectable so simulations repeat. */
  newId: () => string;
}

export type FunctionHandler<R> = (event: unknown, context: InvocationContext) => Promise<R>;

export interface FunctionDefinition<N extends string, C extends CommonConfig, S extends ServiceName, R> {
  /** The function's key in serverless.yml, its Powertools service name and its name in the simulator. */
  readonly name: N;
  /** `<file>.<export>` as serverless.yml's `handler` names it. */
  readonly handler: string;
  /** Reads and validates the function's environment; throws ConfigError listing every problem. */
  readonly loadConfig: (env: Env) => C;
  /**
   * The AWS services the function calls, each with its own constructor: a function's bundle then
   * holds only the SDK clients it uses.
   */
  readonly clients: ClientFactories<S>;
  /** Lambda timeout and memory as deployed (serverless.yml, default stage parameters). */
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /**
   * Asynchronous invocation as deployed: how often Lambda retries a failed event (0–2), how old an
   * event may get before Lambda drops it instead of retrying, and the reserved concurrency, if any
   * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html, aws-behaviour.md §4).
   */
  readonly async: AsyncInvocationSettings;
  readonly build: (deps: FunctionDeps<C, S>) => FunctionHandler<R>;
}

export interface AsyncInvocationSettings {
  maximumRetryAttempts: 0 | 1 | 2;
  /** 60–21600 seconds; Lambda's default, 21600, when serverless.yml sets none. */
  maximumEventAgeSeconds: number;
  reservedConcurrency?: number;
}

/** Lambda's defaults for an asynchronous invocation configuration that sets nothing. */
export const DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 21_600;

/** Any one of the definitions, for code that loops over them all (each builder's types differ). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFunctionDefinition = FunctionDefinition<string, any, any, unknown>;

/** Declares a definition; the identity, typed, so each builder sees its own config and clients. */
export function defineFunction<N extends string, C extends CommonConfig, S extends ServiceName, R>(
  definition: FunctionDefinition<N, C, S, R>,
): FunctionDefinition<N, C, S, R> {
  return definition;
}

/**
 * The Lambda handler of a definition, built at cold start: the configuration is validated once, so
 * a bad stage fails loudly on the first event; clients come from the SDK's own resolution chain.
 */
export function deploy<N extends string, C extends CommonConfig, S extends ServiceName, R>(
  definition: FunctionDefinition<N, C, S, R>,
  env: Env = process.env,
): FunctionHandler<R> {
  const config = definition.loadConfig(env);
  return definition.build({
    config,
    // Attempt timeouts short enough that one call's worst case ends inside the Lambda timeout.
    clients: createClients(definition.clients, { ...clientOptionsFrom(config), ...attemptTimeouts(config.sdk, definition.timeoutSeconds) }),
    telemetry: createPowertoolsTelemetry({ serviceName: definition.name, namespace: config.metricsNamespace, logLevel: config.logLevel }),
    clock: systemClock,
    newId: randomUUID,
  });
}
