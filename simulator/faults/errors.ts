import { AwsApiError, type ServiceName } from '../api';

/**
 * The errors the real services send when they throttle or fail, with the codes and statuses the SDK
 * classifies as throttling or transient (aws-behaviour.md §3.1, §3.2, §3.3).
 */

/** A throttled call: ECS `ThrottlingException` and Auto Scaling `Throttling` are HTTP 400 "Rate exceeded". */
export function throttlingError(service: ServiceName): AwsApiError {
  switch (service) {
    case 'ecs':
      return new AwsApiError('ThrottlingException', 'Rate exceeded', 400);
    case 'ec2':
      // EC2 has its own code, with a 503 ("Status Code: 503; Error Code: RequestLimitExceeded",
      // https://github.com/cloudfoundry/bosh-aws-cpi-release/issues/61).
      return new AwsApiError('RequestLimitExceeded', 'Request limit exceeded.', 503);
    case 'sns':
      // SNS models its throttle as ThrottledException, query code `Throttled`, HTTP 429 (SNS API reference).
      return new AwsApiError('Throttled', 'Rate exceeded', 429);
    default:
      return new AwsApiError('Throttling', 'Rate exceeded', 400);
  }
}

/**
 * A transient server fault. ECS models `ServerException` (500); the query services answer with the
 * common `InternalFailure` (500) or `ServiceUnavailable` (503); `variant` picks between those two.
 */
export function serverError(service: ServiceName, variant: 0 | 1 = 0): AwsApiError {
  if (service === 'ecs') return new AwsApiError('ServerException', 'Service Unavailable. Please try again later.', 500);
  return variant === 0
    ? new AwsApiError('InternalFailure', 'The request processing has failed because of an unknown error, exception or failure.', 500)
    : new AwsApiError('ServiceUnavailable', 'The request has failed due to a temporary failure of the server.', 503);
}

/**
 * Auto Scaling refusing a write because of the group's state (aws-behaviour.md §3.2): a scaling
 * activity in progress (`ScalingActivityInProgressFault`, query code and HTTP 400, not retried by
 * the SDK) or another change of the group under way (`ResourceContentionFault`, HTTP 500).
 */
export function scalingActivityInProgress(subject: string): AwsApiError {
  return new AwsApiError('ScalingActivityInProgress', `Scaling activity is in progress and blocks this action (${subject}).`, 400);
}

export function resourceContention(subject: string): AwsApiError {
  return new AwsApiError('ResourceContention', `You already have a pending update to an Auto Scaling resource or launch configuration (${subject}).`, 500);
}
