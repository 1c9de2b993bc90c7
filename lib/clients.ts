import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { SDK_MAX_RETRY_DELAY_MS, type CommonConfig } from './config';

/**
 * The only place SDK clients are built.
 *
 * Region, credentials and endpoint come from the SDK's own resolution chain, so `AWS_REGION`,
 * `AWS_ENDPOINT_URL` and the per-service `AWS_ENDPOINT_URL_<SERVICE>` keep working: that is how the
 * unmodified handlers are pointed at the local simulator. Retries are the SDK's (standard or
 * adaptive, bounded by maxAttempts); request timeouts keep one slow call from eating a Lambda's
 * time budget.
 */
export interface AwsClients {
  readonly ecs: ECSClient;
  readonly autoScaling: AutoScalingClient;
  readonly sns: SNSClient;
  readonly ec2: EC2Client;
  readonly cloudWatch: CloudWatchClient;
}

export interface ClientOptions {
  maxAttempts: number;
  retryMode: 'standard' | 'adaptive';
  /** Cap on one retry's backoff; unset or 20 s keeps the SDK's own standard or adaptive strategy. */
  maxBackoffMs?: number;
  /** Milliseconds before one HTTP request is abandoned (and retried by the SDK). */
  requestTimeoutMs?: number;
  /** Milliseconds to open the connection of one attempt (3 s unless the retry budget needs less). */
  connectionTimeoutMs?: number;
  /**
   * Overrides the endpoint for every service (the simulator attached in process). Unset in
   * production: the SDK then resolves AWS_ENDPOINT_URL or the real AWS endpoints.
   */
  endpoint?: string;
  /** Static credentials for the simulator; unset in production (the SDK's chain applies). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  region?: string;
}

export function clientOptionsFrom(config: Pick<CommonConfig, 'sdk'>): ClientOptions {
  return { maxAttempts: config.sdk.maxAttempts, retryMode: config.sdk.retryMode, maxBackoffMs: config.sdk.maxBackoffMs };
}

/** The settings every client shares: retries, timeouts and, for the simulator, endpoint and credentials. */
/** Per-attempt limits when the function's time allows them (lib/retry-budget.ts lowers them when it does not). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_CONNECTION_TIMEOUT_MS = 3_000;

/** First retry's backoff ceiling under full jitter; doubles per attempt up to the cap. */
export const RETRY_BASE_DELAY_MS = 250;

/**
 * Standard retries with full-jitter exponential backoff, capped lower than the SDK's 20 s.
 * Many Lambdas throttled at once (a Spot storm: every invocation is its own client, so the SDK's
 * per-client rate limiting cannot coordinate them) need many, short, randomly spread retries to
 * share ECS's token bucket inside the two-minute warning (bench/storm.ts).
 */
export function cappedRetryStrategy(maxAttempts: number, maxBackoffMs: number): ConfiguredRetryStrategy {
  return new ConfiguredRetryStrategy(maxAttempts, (attempt) =>
    Math.floor(Math.random() * Math.min(maxBackoffMs, RETRY_BASE_DELAY_MS * 2 ** Math.max(0, attempt - 1))),
  );
}

export function sdkClientConfig(options: ClientOptions) {
  const capped = options.maxBackoffMs !== undefined && options.maxBackoffMs < SDK_MAX_RETRY_DELAY_MS;
  return {
    maxAttempts: options.maxAttempts,
    retryMode: options.retryMode,
    ...(capped ? { retryStrategy: cappedRetryStrategy(options.maxAttempts, options.maxBackoffMs ?? SDK_MAX_RETRY_DELAY_MS) } : {}),
    requestHandler: { requestTimeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS },
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.region ? { region: options.region } : {}),
  };
}

// One constructor per service, so that a function's bundle holds only the clients it uses
// (the EC2 client alone is over half a megabyte minified).
export const createEcsClient = (options: ClientOptions) => new ECSClient(sdkClientConfig(options));
export const createAutoScalingClient = (options: ClientOptions) => new AutoScalingClient(sdkClientConfig(options));
export const createSnsClient = (options: ClientOptions) => new SNSClient(sdkClientConfig(options));
export const createEc2Client = (options: ClientOptions) => new EC2Client(sdkClientConfig(options));
export const createCloudWatchClient = (options: ClientOptions) => new CloudWatchClient(sdkClientConfig(options));
// Read by the preflight check (lib/doctor) only: no function's definition names these services.
export const createLambdaClient = (options: ClientOptions) => new LambdaClient(sdkClientConfig(options));
export const createCloudFormationClient = (options: ClientOptions) => new CloudFormationClient(sdkClientConfig(options));
export const createEventBridgeClient = (options: ClientOptions) => new EventBridgeClient(sdkClientConfig(options));

export type ServiceName = keyof AwsClients;

/** The constructors of the services a function calls (lib/definition.ts), one per service. */
export type ClientFactories<S extends ServiceName> = { readonly [K in S]: (options: ClientOptions) => AwsClients[K] };

/** The clients a function's definition names, built with its constructors and the same options. */
export function createClients<S extends ServiceName>(factories: ClientFactories<S>, options: ClientOptions): Pick<AwsClients, S> {
  const clients = {} as Record<S, AwsClients[S]>;
  for (const service of Object.keys(factories) as S[]) clients[service] = factories[service](options);
  return clients as Pick<AwsClients, S>;
}

/**
 * Every client (an SDK client opens no connection before its first request): for the simulator,
 * tests and benchmarks. Handlers use the single-service constructors above instead, to keep their
 * bundles small.
 */
export function buildClients(options: ClientOptions): AwsClients {
  return createClients({ ecs: createEcsClient, autoScaling: createAutoScalingClient, sns: createSnsClient, ec2: createEc2Client, cloudWatch: createCloudWatchClient }, options);
}

/** The clients of the preflight check's account and stack reads (lib/doctor), never of a function. */
export interface DoctorClients {
  readonly lambda: LambdaClient;
  readonly cloudFormation: CloudFormationClient;
  readonly eventBridge: EventBridgeClient;
}

export function buildDoctorClients(options: ClientOptions): DoctorClients {
  return { lambda: createLambdaClient(options), cloudFormation: createCloudFormationClient(options), eventBridge: createEventBridgeClient(options) };
}
