/**
 * Errors grouped by what the caller should do next.
 *
 * - RetryableError: throw it out of the handler. Lambda's asynchronous retry (and then the
 *   on-failure destination) takes over; the SDK has already retried within the invocation.
 * - NonActionableError: nothing a retry would change (the instance is gone, the action already
 *   completed). Log at warn and acknowledge.
 * Input that is wrong itself is not an error here: the parsers (lib/events/) return it as `invalid`,
 * and the handler logs, counts and acknowledges it without writing to AWS.
 */
export class RetryableError extends Error {
  override readonly name = 'RetryableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export class NonActionableError extends Error {
  override readonly name = 'NonActionableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export type ErrorClass = 'retryable' | 'non-actionable' | 'fatal';

/** Error names the SDK (and AWS) use for throttling and transient server faults. */
const RETRYABLE_NAMES = new Set([
  ...['ThrottlingException', 'Throttling', 'ThrottledException', 'RequestLimitExceeded', 'TooManyRequestsException', 'RequestThrottled', 'RequestThrottledException'],
  ...['ServerException', 'ServiceUnavailable', 'ServiceUnavailableException', 'InternalFailure', 'InternalError', 'InternalServerError'],
  ...['ResourceContention', 'ResourceContentionFault', 'ScalingActivityInProgress', 'ScalingActivityInProgressFault'],
  ...['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE'],
]);

function errorName(error: unknown): string {
  if (error && typeof error === 'object') {
    const candidate = (error as { name?: unknown; code?: unknown }).name ?? (error as { code?: unknown }).code;
    if (typeof candidate === 'string') return candidate;
  }
  return 'UnknownError';
}

function httpStatus(error: unknown): number | undefined {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | undefined)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The one place SDK errors are mapped to what the caller should do. */
export function classifyAwsError(error: unknown): ErrorClass {
  if (error instanceof RetryableError) return 'retryable';
  if (error instanceof NonActionableError) return 'non-actionable';
  const name = errorName(error);
  if (RETRYABLE_NAMES.has(name)) return 'retryable';
  if (isNoActiveLifecycleAction(error)) return 'non-actionable';
  const status = httpStatus(error);
  if (status !== undefined && status >= 500) return 'retryable';
  // No HTTP response at all (socket errors, aborted requests) is transient too.
  if (status === undefined && /ECONN|ETIMEDOUT|socket|network/i.test(errorMessage(error))) return 'retryable';
  return 'fatal';
}

/**
 * Auto Scaling answers CompleteLifecycleAction and RecordLifecycleActionHeartbeat for an action
 * that is already complete, has expired or never existed with HTTP 400 `ValidationError`
 * "No active Lifecycle Action found with token|instance ID …". For a drainer that means the job
 * is over, not that it failed (docs/aws-behaviour.md §3.2).
 */
export function isNoActiveLifecycleAction(error: unknown): boolean {
  return errorName(error) === 'ValidationError' && /No active Lifecycle Action found/i.test(errorMessage(error));
}

/** Lambda does not know the function (or has no setting of it). */
export function isResourceNotFound(error: unknown): boolean {
  return errorName(error) === 'ResourceNotFoundException';
}

/** EC2 no longer knows an instance id (terminated long enough ago, or never launched). */
export function isInstanceNotFound(error: unknown): boolean {
  return errorName(error) === 'InvalidInstanceID.NotFound';
}

/** ECS names a cluster that does not exist (deleted, or a typo in CLUSTERS) `ClusterNotFoundException`. */
export function isClusterNotFound(error: unknown): boolean {
  return errorName(error) === 'ClusterNotFoundException';
}

/**
 * Auto Scaling refuses a request it will not carry out, whatever the retry, with HTTP 400
 * `ValidationError` (group at its minimum, instance in no group, no such action):
 * https://docs.aws.amazon.com/autoscaling/ec2/APIReference/CommonErrors.html
 */
export function isValidationError(error: unknown): boolean {
  return errorName(error) === 'ValidationError';
}

/** ECS refused the request's parameters (for instance an expression it does not take as a filter). */
export function isInvalidParameter(error: unknown): boolean {
  return errorName(error) === 'InvalidParameterException';
}

/** An endpoint that does not know the operation (a simulator or partition without it). */
export function isUnknownOperation(error: unknown): boolean {
  return /UnknownOperation|InvalidAction|not supported|Unknown operation/i.test(`${errorName(error)} ${errorMessage(error)}`);
}

/**
 * A container instance already holds the 10 custom attributes ECS allows: PutAttributes fails as a
 * whole call with `AttributeLimitExceededException` (aws-behaviour.md §3.1). Retrying the same
 * write cannot succeed; writing the other targets alone can.
 */
export function isAttributeLimitExceeded(error: unknown): boolean {
  return errorName(error) === 'AttributeLimitExceededException';
}

/**
 * Auto Scaling refused a write to one group because of that group's state: a scaling activity in
 * progress (`ScalingActivityInProgressFault`, query code `ScalingActivityInProgress`, HTTP 400, not
 * retried by the SDK) or a concurrent change (`ResourceContentionFault`, HTTP 500). Both pass with
 * time, and both concern that group alone: the caller defers that instance and goes on with the
 * others (aws-behaviour.md §3.2).
 */
export function isGroupBusy(error: unknown): boolean {
  return ['ScalingActivityInProgress', 'ScalingActivityInProgressFault', 'ResourceContention', 'ResourceContentionFault'].includes(
    errorName(error),
  );
}

export function describeError(error: unknown): { errorName: string; errorMessage: string; httpStatus?: number } {
  const status = httpStatus(error);
  return {
    errorName: errorName(error),
    errorMessage: errorMessage(error),
    ...(status !== undefined ? { httpStatus: status } : {}),
  };
}
