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
export { isWriteOperation, withCallLog, type CallLog, type CallLogSnapshot } from './call-log';
export { deliveryDelays } from './delivery';
export { serverError, throttlingError } from './errors';
export { withScalingActivityFaults } from './scaling-activity';
export { withFaults, type FaultOptions, type FaultyControlPlane } from './faults';
export { seededRandom } from './random';
export { ECS_THROTTLE_RATES, ecsThrottleCategory, TokenBucket, withThrottling, type ThrottledControlPlane } from './throttling';
