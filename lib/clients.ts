import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SNSClient } from '@aws-sdk/client-sns';
import type { CommonConfig } from './config';

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
  /** Milliseconds before one HTTP request is abandoned (and retried by the SDK). */
  requestTimeoutMs?: number;
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
  return { maxAttempts: config.sdk.maxAttempts, retryMode: config.sdk.retryMode };
}

/** Builds clients lazily: a handler pays only for the clients it uses. */
export function buildClients(options: ClientOptions): AwsClients {
  const shared = {
    maxAttempts: options.maxAttempts,
    retryMode: options.retryMode,
    requestHandler: { requestTimeout: options.requestTimeoutMs ?? 10_000, connectionTimeout: 3_000 },
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.region ? { region: options.region } : {}),
  };
  const cache: Partial<{ -readonly [K in keyof AwsClients]: AwsClients[K] }> = {};
  return {
    get ecs() {
      return (cache.ecs ??= new ECSClient(shared));
    },
    get autoScaling() {
      return (cache.autoScaling ??= new AutoScalingClient(shared));
    },
    get sns() {
      return (cache.sns ??= new SNSClient(shared));
    },
    get ec2() {
      return (cache.ec2 ??= new EC2Client(shared));
    },
    get cloudWatch() {
      return (cache.cloudWatch ??= new CloudWatchClient(shared));
    },
  };
}
