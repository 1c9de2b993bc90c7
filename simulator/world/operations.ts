import { AwsApiError, type ApiInput, type ApiOutput, type ServiceName } from '../api';
import { autoScalingOperations } from './autoscaling-api';
import { detachOperations } from './autoscaling-detach';
import { capacityProviderOperations } from './capacity-providers-api';
import { cloudWatchOperations } from './cloudwatch-api';
import { ec2Operations } from './ec2-api';
import { ecsOperations } from './ecs-api';
import type { Operation, RuledWorld } from './rules';
import { snsOperations } from './sns-api';

/** The dispatch table: every operation the simulator answers, by service. */
const OPERATIONS: Record<ServiceName, Record<string, Operation>> = {
  ecs: { ...ecsOperations, ...capacityProviderOperations },
  autoscaling: { ...autoScalingOperations, ...detachOperations },
  sns: snsOperations,
  ec2: ec2Operations,
  cloudwatch: cloudWatchOperations,
};

/** Answers one call from the world, synchronously; an operation the service lacks is refused the way that service refuses it. */
export function dispatch(world: RuledWorld, service: ServiceName, operation: string, input: ApiInput): ApiOutput {
  const handler = Object.hasOwn(OPERATIONS, service) && Object.hasOwn(OPERATIONS[service], operation) ? OPERATIONS[service][operation] : undefined;
  if (!handler) {
    throw service === 'ecs'
      ? new AwsApiError('UnknownOperationException', `Unknown operation ${operation}`, 400)
      : new AwsApiError('InvalidAction', `The action ${operation} is not valid for this web service.`, 400);
  }
  return handler(world, input ?? {});
}
