/**
 * Every event a handler receives is parsed into one of three plain, serialisable outcomes.
 * Anything unrecognised becomes an explicit value, never `undefined` and never a crash.
 */
export type ParseOutcome<T> =
  | { outcome: 'signal'; signal: T }
  /** A well-formed event the function does not act on (by design or by configuration). */
  | { outcome: 'ignored'; kind: string; reason: string }
  /** A malformed event: logged, counted, acknowledged, never acted on. */
  | { outcome: 'invalid'; reason: string; detail: string };

export const EC2_INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

/** Why an instance should be drained, in the suite's own words. */
export type DrainSignalKind = 'spot-interruption' | 'rebalance-recommendation' | 'instance-state-change' | 'instance-running' | 'scheduled-event';

export interface DrainSignal {
  kind: DrainSignalKind;
  ec2InstanceId: string;
  /** EventBridge event id, for correlating duplicate deliveries in logs. */
  eventId: string;
  /** When AWS emitted the event (ISO 8601). */
  time: string;
  region: string;
  account: string;
  /** Spot interruption: what EC2 will do (terminate, stop, hibernate). */
  instanceAction?: 'terminate' | 'stop' | 'hibernate';
  /** State change: the new state (stopping, shutting-down, or running for an undrain). */
  state?: string;
  /** Scheduled event (AWS Health): its type code, status and when its window opens (epoch ms). */
  scheduled?: { eventTypeCode: string; statusCode: string; startsAt: number; eventArn: string };
}
