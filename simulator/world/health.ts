import { ACCOUNT, REGION, type BusEvent } from './model';
import type { RuledWorld } from './rules';
import { startInstance, stopInstance } from './ec2-power';

/** Scheduled EC2 events AWS Health announces ahead of their window (docs/aws-behaviour.md §1.7). */
export const HEALTH_SCHEDULED_CODES = [
  'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED',
  'AWS_EC2_INSTANCE_STOP_SCHEDULED',
  'AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED',
  'AWS_EC2_INSTANCE_REBOOT_FLEXIBLE_MAINTENANCE_SCHEDULED',
  'AWS_EC2_PERSISTENT_INSTANCE_RETIREMENT_SCHEDULED',
  'AWS_EC2_INSTANCE_STORE_DRIVE_PERFORMANCE_DEGRADED',
  'AWS_EC2_DEDICATED_HOST_NETWORK_MAINTENANCE_SCHEDULED',
  'AWS_EC2_INSTANCE_NETWORK_MAINTENANCE_SCHEDULED',
] as const;
export type HealthScheduledCode = (typeof HEALTH_SCHEDULED_CODES)[number];

/** The kinds after which the instance comes back by itself (a reboot); the others stop it for good. */
const COMES_BACK: readonly string[] = [
  'AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED',
  'AWS_EC2_INSTANCE_REBOOT_FLEXIBLE_MAINTENANCE_SCHEDULED',
  'AWS_EC2_DEDICATED_HOST_NETWORK_MAINTENANCE_SCHEDULED',
  'AWS_EC2_INSTANCE_NETWORK_MAINTENANCE_SCHEDULED',
];

export interface HealthEventSpec {
  ec2InstanceIds: string[];
  eventTypeCode: HealthScheduledCode;
  /** When the window opens, as a clock time. */
  startsAt: number;
  statusCode?: 'upcoming' | 'open' | 'closed';
  /** Repeat the notice (Health sends updates) this often until the window; 0: once. */
  repeatEveryMs?: number;
}

/**
 * AWS Health: a scheduled event is announced on the bus (source aws.health, detail-type
 * AWS Health Event, the instances in `resources` and `detail.affectedEntities`), repeated while it
 * is upcoming, and at its window EC2 acts on every affected instance still running: a retirement or
 * scheduled stop stops it (its tasks die), a reboot or network maintenance stops and starts it.
 * https://docs.aws.amazon.com/health/latest/ug/aws-health-events-eventbridge-schema.html
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/monitoring-instances-status-check_sched.html
 */
export function scheduleHealthEvent(world: RuledWorld, spec: HealthEventSpec): void {
  const eventArn = `arn:aws:health:${REGION}::event/EC2/${spec.eventTypeCode}/${spec.eventTypeCode}_${world.random.hex(8)}`;
  const announce = (statusCode: 'upcoming' | 'open' | 'closed') => {
    world.record('health', 'AWS Health scheduled event', { eventTypeCode: spec.eventTypeCode, statusCode, instances: spec.ec2InstanceIds });
    world.publish(healthEvent(world, spec, eventArn, statusCode));
  };
  announce(spec.statusCode ?? 'upcoming');
  const every = spec.repeatEveryMs ?? 0;
  if (every > 0) {
    const repeat = (at: number) => {
      if (at >= spec.startsAt) return;
      world.clock.schedule(at, () => {
        announce('upcoming');
        repeat(at + every);
      });
    };
    repeat(world.now() + every);
  }
  world.clock.schedule(Math.max(world.now(), spec.startsAt), () => {
    announce('open');
    for (const id of spec.ec2InstanceIds) {
      if (world.ec2.get(id)?.state !== 'running') continue;
      world.record('health', 'scheduled event window: EC2 acts on the instance', { ec2InstanceId: id, eventTypeCode: spec.eventTypeCode });
      if (!stopInstance(world, id, `Host EC2 (instance ${id}) stopped for ${spec.eventTypeCode}`)) continue;
      if (COMES_BACK.includes(spec.eventTypeCode)) world.clock.schedule(world.now() + world.timings.shutdownMs + 1, () => startInstance(world, id));
    }
  });
}

function healthEvent(world: RuledWorld, spec: HealthEventSpec, eventArn: string, statusCode: string): BusEvent {
  return {
    version: '0',
    id: world.random.uuid(),
    'detail-type': 'AWS Health Event',
    source: 'aws.health',
    account: ACCOUNT,
    time: new Date(world.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: REGION,
    resources: [...spec.ec2InstanceIds],
    detail: {
      eventArn,
      service: 'EC2',
      eventTypeCode: spec.eventTypeCode,
      eventTypeCategory: 'scheduledChange',
      eventScopeCode: 'ACCOUNT_SPECIFIC',
      communicationId: `${eventArn.slice(-8)}-1`,
      startTime: new Date(spec.startsAt).toUTCString(),
      lastUpdatedTime: new Date(world.now()).toUTCString(),
      statusCode,
      eventRegion: REGION,
      eventDescription: [{ language: 'en_US', latestDescription: `EC2 has scheduled ${spec.eventTypeCode} for the affected instances.` }],
      affectedEntities: spec.ec2InstanceIds.map((entityValue) => ({ entityValue })),
    },
  };
}
