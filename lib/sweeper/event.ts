import { z } from 'zod';

/**
 * The sweeper is started by an EventBridge schedule. A manual run (`aws lambda invoke` with `{}`,
 * the console's test button with an empty object) is accepted too: the sweep reads everything it
 * needs from AWS, so the event carries no data, and an operator should not have to forge a
 * scheduled event to run it. Anything else (another source, another detail-type, a non-object) is
 * a wiring mistake and is rejected without any AWS call.
 */
export type SweepTrigger =
  | { outcome: 'ok'; trigger: 'schedule' | 'manual'; eventId?: string; time?: string }
  | { outcome: 'invalid'; reason: 'not-an-object' | 'unexpected-source' | 'unexpected-detail-type'; detail: string };

const scheduledEvent = z.object({ source: z.string(), 'detail-type': z.string(), id: z.string().optional(), time: z.string().optional() });

export function parseSweepEvent(event: unknown): SweepTrigger {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    return { outcome: 'invalid', reason: 'not-an-object', detail: `event is ${Array.isArray(event) ? 'an array' : typeof event}` };
  }
  if (Object.keys(event).length === 0) return { outcome: 'ok', trigger: 'manual' };
  const parsed = scheduledEvent.safeParse(event);
  if (!parsed.success) {
    const missing = parsed.error.issues.map((issue) => issue.path.join('.')).join(', ');
    const reason = parsed.error.issues.some((issue) => issue.path[0] === 'source') ? 'unexpected-source' : 'unexpected-detail-type';
    return { outcome: 'invalid', reason, detail: `missing or malformed: ${missing}` };
  }
  const { source, 'detail-type': detailType, id, time } = parsed.data;
  if (source !== 'aws.events') return { outcome: 'invalid', reason: 'unexpected-source', detail: `source ${JSON.stringify(source).slice(0, 100)}` };
  if (detailType !== 'Scheduled Event') {
    return { outcome: 'invalid', reason: 'unexpected-detail-type', detail: `detail-type ${JSON.stringify(detailType).slice(0, 100)}` };
  }
  return { outcome: 'ok', trigger: 'schedule', ...(id ? { eventId: id } : {}), ...(time ? { time } : {}) };
}
