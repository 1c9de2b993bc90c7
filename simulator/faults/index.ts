/**
 * Wrappers that are themselves ControlPlanes, to stack in front of the world. The usual order,
 * outermost first:
 *
 *   withCallLog(withThrottling(withFaults(world, …), …))
 *
 * so the log counts every call a client made, throttled and faulted ones included (with their
 * error codes), and throttling comes first, as at AWS's front door: a call that then fails with a
 * random 5xx has still spent its token.
 */
export { isWriteOperation, withCallLog, type CallLog, type CallLogSnapshot, type OperationCounts, type WriteCall } from './call-log';
export { deliveryDelays, NO_DELIVERY_FAULTS, type DeliveryFaults, type DeliveryRandom } from './delivery';
export { resourceContention, scalingActivityInProgress, serverError, throttlingError } from './errors';
export { withScalingActivityFaults, type ScalingActivityFaultOptions, type ScalingActivityFaultyPlane } from './scaling-activity';
export { withFaults, type FaultOptions, type FaultyControlPlane, type InjectedFaults } from './faults';
export { withOverrides, type FailureRule, type OverridablePlane } from './overrides';
export { seededRandom, type Random } from './random';
export {
  DEFAULT_AUTO_SCALING_RATE,
  ECS_THROTTLE_RATES,
  ecsThrottleCategory,
  TokenBucket,
  withThrottling,
  type BucketRate,
  type EcsThrottleCategory,
  type ThrottledControlPlane,
  type ThrottlingOptions,
} from './throttling';
