import { z } from 'zod';
import { arnPattern } from '../aws/partitions';
import { describeIssues } from './envelope';
import { EC2_INSTANCE_ID, type ParseOutcome } from './types';

/**
 * Launch-hook messages on the lifecycle topic: Auto Scaling's `autoscaling:EC2_INSTANCE_LAUNCHING`
 * notification (the same fields as a termination's, docs/aws-behaviour.md §1.4) and the launch
 * round's own requeue message. lib/events/lifecycle.ts routes them here.
 */
export const LAUNCHING = 'autoscaling:EC2_INSTANCE_LAUNCHING';
export const LAUNCH_REQUEUE_KIND = 'ecs-ec2-keeper/launch-requeue';
export const LAUNCH_REQUEUE_VERSION = 1;

const timestamp = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'is not a timestamp');
const CONTAINER_INSTANCE_ARN = arnPattern('ecs', 'container-instance/[A-Za-z0-9_/-]{1,300}');

/** The launch notification; unknown extra fields (Origin, Destination, …) are kept as received. */
export const launchNotificationSchema = z.looseObject({
  LifecycleTransition: z.literal(LAUNCHING),
  AutoScalingGroupName: z.string().min(1).max(255),
  LifecycleHookName: z.string().min(1).max(255),
  EC2InstanceId: z.string().regex(EC2_INSTANCE_ID, 'is not an EC2 instance id (i- and 8 or 17 hex digits)'),
  // Exactly 36 characters, as Auto Scaling requires (docs/aws-behaviour.md §3.2).
  LifecycleActionToken: z.string().length(36).optional(),
  Time: timestamp.optional(),
  AccountId: z.string().optional(),
  RequestId: z.string().optional(),
  NotificationMetadata: z.string().max(4000).optional(),
});
export type LaunchNotification = z.infer<typeof launchNotificationSchema>;

/**
 * What a launch round hands to the next invocation: the notification as received, the chain's
 * clocks, the hook's timeouts, and the container instance once it was found (a launch may hop
 * before its instance has registered, so both are optional).
 */
export const launchRequeueSchema = z.strictObject({
  kind: z.literal(LAUNCH_REQUEUE_KIND),
  version: z.literal(LAUNCH_REQUEUE_VERSION),
  chainId: z.string().regex(/^[A-Za-z0-9-]{8,64}$/, 'is not a chain id'),
  attempt: z.number().int().min(1).max(100_000),
  firstSeenAt: timestamp,
  lastHeartbeatAt: timestamp,
  heartbeatTimeoutSeconds: z.number().int().min(30).max(7200),
  globalTimeoutSeconds: z.number().int().min(30).max(172_800),
  cluster: z.string().min(1).max(2048).optional(),
  containerInstanceArn: z.string().regex(CONTAINER_INSTANCE_ARN, 'is not a container instance ARN').optional(),
  notification: launchNotificationSchema,
});
export type LaunchRequeueMessage = z.infer<typeof launchRequeueSchema>;

export type LaunchSignal =
  | { kind: 'launch-notification'; notification: LaunchNotification; messageId: string; topicArn?: string }
  | { kind: 'launch-requeue'; message: LaunchRequeueMessage; messageId: string; topicArn?: string };

export function isLaunchSignal(signal: { kind: string }): signal is LaunchSignal {
  return signal.kind === 'launch-notification' || signal.kind === 'launch-requeue';
}

/**
 * A launch notification or launch requeue message (already JSON), parsed. `isManaged` tells
 * whether the group is one of AUTO_SCALING_GROUPS; other groups are acknowledged without a call.
 */
export function parseLaunchMessage(
  message: Record<string, unknown>,
  where: { messageId: string; topicArn?: string },
  isManaged: (group: string) => boolean,
): ParseOutcome<LaunchSignal> {
  if (message.kind === LAUNCH_REQUEUE_KIND) {
    if (message.version !== LAUNCH_REQUEUE_VERSION) {
      return { outcome: 'invalid', reason: 'unsupported-version', detail: `launch requeue message version ${JSON.stringify(message.version)}; this code reads ${LAUNCH_REQUEUE_VERSION}` };
    }
    const parsed = launchRequeueSchema.safeParse(message);
    if (!parsed.success) return { outcome: 'invalid', reason: 'malformed-launch-requeue', detail: describeIssues(parsed.error, 'message') };
    if (!isManaged(parsed.data.notification.AutoScalingGroupName)) return { outcome: 'ignored', kind: 'launch-requeue', reason: 'unmanaged-group' };
    return { outcome: 'signal', signal: { kind: 'launch-requeue', message: parsed.data, ...where } };
  }
  const parsed = launchNotificationSchema.safeParse(message);
  if (!parsed.success) return { outcome: 'invalid', reason: 'malformed-launch-notification', detail: describeIssues(parsed.error, 'message') };
  if (!isManaged(parsed.data.AutoScalingGroupName)) return { outcome: 'ignored', kind: 'launch-notification', reason: 'unmanaged-group' };
  return { outcome: 'signal', signal: { kind: 'launch-notification', notification: parsed.data, ...where } };
}
