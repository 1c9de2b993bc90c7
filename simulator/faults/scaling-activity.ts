import type { ControlPlane } from '../api';
import { resourceContention, scalingActivityInProgress } from './errors';
import { seededRandom } from './random';

/**
 * Auto Scaling writes refused at random, in front of the world, for a fault campaign: while a group
 * has a scaling activity in progress (deployments, instance refreshes) AWS answers
 * `ScalingActivityInProgressFault`, and a write that collides with another change of the group
 * `ResourceContentionFault` (aws-behaviour.md §3.2; the API reference of each operation lists which
 * it can answer). Only the callers behind this plane (the handlers) meet them; a refused call never
 * reaches the world. Each write draws two numbers whatever happens, so a seed repeats exactly.
 */
export interface ScalingActivityFaultOptions {
  seed: number;
  /** Probability (0–1) that a write is refused for an activity in progress. */
  activityInProgressRate: number;
  /** Probability (0–1) that a write not refused for an activity is refused for contention. */
  contentionRate: number;
}

/** The writes each fault can answer, from their API reference pages. */
const ACTIVITY_OPERATIONS = new Set(['TerminateInstanceInAutoScalingGroup', 'SetDesiredCapacity']);
const CONTENTION_OPERATIONS = new Set(['TerminateInstanceInAutoScalingGroup', 'SetDesiredCapacity', 'SetInstanceProtection']);

export interface ScalingActivityFaultyPlane extends ControlPlane {
  injected(): { activityInProgress: number; contention: number };
}

export function withScalingActivityFaults(plane: ControlPlane, options: ScalingActivityFaultOptions): ScalingActivityFaultyPlane {
  const random = seededRandom(options.seed);
  const injected = { activityInProgress: 0, contention: 0 };
  return {
    async call(service, operation, input) {
      if (service !== 'autoscaling' || !CONTENTION_OPERATIONS.has(operation)) return plane.call(service, operation, input);
      const [activity, contention] = [random(), random()];
      const subject = String(input.AutoScalingGroupName ?? input.InstanceId ?? 'the group');
      if (ACTIVITY_OPERATIONS.has(operation) && activity < options.activityInProgressRate) {
        injected.activityInProgress += 1;
        throw scalingActivityInProgress(subject);
      }
      if (contention < options.contentionRate) {
        injected.contention += 1;
        throw resourceContention(subject);
      }
      return plane.call(service, operation, input);
    },
    injected: () => ({ ...injected }),
  };
}
