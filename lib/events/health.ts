import { z } from 'zod';
import { describeIssues, eventBridgeEnvelope, timestamp } from './envelope';
import { EC2_INSTANCE_ID, type DrainSignal, type ParseOutcome } from './types';

export const HEALTH_SOURCE = 'aws.health';
export const HEALTH_EVENT = 'AWS Health Event';

/**
 * The scheduled EC2 events after which an instance is stopped, rebooted or retired
 * (docs/aws-behaviour.md §1.7). The function's rule routes exactly these; another code is ignored.
 */
export const SCHEDULED_EVENT_CODES = [
  'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED',
  'AWS_EC2_INSTANCE_STOP_SCHEDULED',
  'AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED',
  'AWS_EC2_INSTANCE_REBOOT_FLEXIBLE_MAINTENANCE_SCHEDULED',
  'AWS_EC2_PERSISTENT_INSTANCE_RETIREMENT_SCHEDULED',
  'AWS_EC2_INSTANCE_STORE_DRIVE_PERFORMANCE_DEGRADED',
  'AWS_EC2_DEDICATED_HOST_NETWORK_MAINTENANCE_SCHEDULED',
  'AWS_EC2_INSTANCE_NETWORK_MAINTENANCE_SCHEDULED',
] as const;

export interface HealthParseOptions {
  scheduledEventDrain: boolean;
}

const envelope = eventBridgeEnvelope.extend({
  'detail-type': z.literal(HEALTH_EVENT),
  source: z.literal(HEALTH_SOURCE),
  detail: z.object({
    eventArn: z.string().min(1),
    service: z.string().min(1),
    eventTypeCode: z.string().min(1),
    // Health writes startTime as an RFC 1123 date ("Sat, 05 Jun 2021 15:10:09 GMT") in its samples; ISO 8601 parses too.
    startTime: timestamp,
    statusCode: z.string().optional(),
    affectedEntities: z.array(z.object({ entityValue: z.string() }).loose()).optional(),
  }).loose(),
});

/**
 * Parses an AWS Health event into one signal per affected EC2 instance (the ids of `resources` and
 * of `detail.affectedEntities`, together). Another service, another event code, a closed event or
 * the setting off: `ignored`. A malformed event or one naming no instance: `invalid`.
 */
export function parseHealthEvent(event: unknown, options: HealthParseOptions): ParseOutcome<DrainSignal[]> {
  const parsed = envelope.safeParse(event);
  if (!parsed.success) return { outcome: 'invalid', reason: 'malformed-health-event', detail: describeIssues(parsed.error) };
  const { detail, id, time, region, account } = parsed.data;
  if (detail.service !== 'EC2') return { outcome: 'ignored', kind: 'scheduled-event', reason: `service-${detail.service}` };
  if (!(SCHEDULED_EVENT_CODES as readonly string[]).includes(detail.eventTypeCode)) {
    return { outcome: 'ignored', kind: 'scheduled-event', reason: 'event-type-not-handled' };
  }
  if (detail.statusCode === 'closed') return { outcome: 'ignored', kind: 'scheduled-event', reason: 'event-closed' };
  const candidates = [...(parsed.data.resources ?? []), ...(detail.affectedEntities ?? []).map((entity) => entity.entityValue)];
  // resources may hold ARNs (…:instance/i-…) as well as bare ids.
  const ids = [...new Set(candidates.map((value) => value.slice(value.lastIndexOf('/') + 1)).filter((value) => EC2_INSTANCE_ID.test(value)))];
  if (ids.length === 0) {
    return { outcome: 'invalid', reason: 'no-affected-instance', detail: `no EC2 instance id in resources or detail.affectedEntities (${JSON.stringify(candidates).slice(0, 200)})` };
  }
  if (!options.scheduledEventDrain) return { outcome: 'ignored', kind: 'scheduled-event', reason: 'scheduled-event-drain-disabled' };
  const scheduled = {
    eventTypeCode: detail.eventTypeCode,
    statusCode: detail.statusCode ?? 'unknown',
    startsAt: Date.parse(detail.startTime),
    eventArn: detail.eventArn,
  };
  return {
    outcome: 'signal',
    signal: ids.map((ec2InstanceId) => ({ kind: 'scheduled-event', ec2InstanceId, eventId: id, time, region, account, scheduled })),
  };
}
