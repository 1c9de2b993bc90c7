import { SCHEDULED_EVENT_CODES, parseHealthEvent } from '../../lib/events/health';
import { fixture } from '../fixtures';

const retirement = () => fixture('health-retirement-scheduled.json');
const detailOf = (event: Record<string, unknown>) => event.detail as Record<string, unknown>;
const ON = { scheduledEventDrain: true };

describe('parseHealthEvent', () => {
  it('turns the retirement fixture into one signal per affected instance, with the window start', () => {
    const parsed = parseHealthEvent(retirement(), ON);
    expect(parsed).toEqual({
      outcome: 'signal',
      signal: [
        {
          kind: 'scheduled-event',
          ec2InstanceId: 'i-0c1d2e3f4a5b6c7d8',
          eventId: '7bf73129-1428-4cd3-a780-95db273d1602',
          time: '2026-03-04T10:00:00Z',
          region: 'us-east-1',
          account: '123456789012',
          scheduled: {
            eventTypeCode: 'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED',
            statusCode: 'upcoming',
            startsAt: Date.UTC(2026, 2, 4, 14, 0, 0),
            eventArn: expect.stringContaining('AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED') as unknown,
          },
        },
      ],
    });
  });

  it('takes the instances of resources (ids or ARNs) and affectedEntities together, once each', () => {
    const event = retirement();
    event.resources = ['arn:aws:ec2:us-east-1:123456789012:instance/i-0aaaaaaaaaaaaaaa1', 'i-0c1d2e3f4a5b6c7d8'];
    detailOf(event).affectedEntities = [{ entityValue: 'i-0c1d2e3f4a5b6c7d8' }, { entityValue: 'i-0bbbbbbbbbbbbbbb2' }, { entityValue: 'vol-0123' }];
    const parsed = parseHealthEvent(event, ON);
    expect(parsed.outcome === 'signal' && parsed.signal.map((signal) => signal.ec2InstanceId)).toEqual([
      'i-0aaaaaaaaaaaaaaa1',
      'i-0c1d2e3f4a5b6c7d8',
      'i-0bbbbbbbbbbbbbbb2',
    ]);
  });

  it.each(SCHEDULED_EVENT_CODES)('acts on %s', (code) => {
    const event = retirement();
    detailOf(event).eventTypeCode = code;
    expect(parseHealthEvent(event, ON).outcome).toBe('signal');
  });

  it.each([
    ['the setting off', (event: Record<string, unknown>) => event, { scheduledEventDrain: false }, 'scheduled-event-drain-disabled'],
    ['another service', (event: Record<string, unknown>) => ({ ...event, detail: { ...detailOf(event), service: 'RDS' } }), ON, 'service-RDS'],
    ['another event code', (event: Record<string, unknown>) => ({ ...event, detail: { ...detailOf(event), eventTypeCode: 'AWS_EC2_OPERATIONAL_ISSUE' } }), ON, 'event-type-not-handled'],
    ['a closed event', (event: Record<string, unknown>) => ({ ...event, detail: { ...detailOf(event), statusCode: 'closed' } }), ON, 'event-closed'],
  ])('ignores %s', (_name, change, options, reason) => {
    expect(parseHealthEvent(change(retirement()), options)).toEqual({ outcome: 'ignored', kind: 'scheduled-event', reason });
  });

  it.each([
    ['not an object', () => 'AWS Health Event', 'malformed-health-event'],
    ['null', () => null, 'malformed-health-event'],
    ['no detail', (event: Record<string, unknown>) => ({ ...event, detail: undefined }), 'malformed-health-event'],
    ['a wrong detail-type', (event: Record<string, unknown>) => ({ ...event, 'detail-type': 'AWS Health Abuse Event' }), 'malformed-health-event'],
    ['no startTime', (event: Record<string, unknown>) => ({ ...event, detail: { ...detailOf(event), startTime: undefined } }), 'malformed-health-event'],
    ['a startTime that is no date', (event: Record<string, unknown>) => ({ ...event, detail: { ...detailOf(event), startTime: 'soon' } }), 'malformed-health-event'],
    ['no eventTypeCode', (event: Record<string, unknown>) => ({ ...event, detail: { ...detailOf(event), eventTypeCode: 7 } }), 'malformed-health-event'],
    ['a bad account', (event: Record<string, unknown>) => ({ ...event, account: 'me' }), 'malformed-health-event'],
    ['affectedEntities that is not a list', (event: Record<string, unknown>) => ({ ...event, detail: { ...detailOf(event), affectedEntities: 'i-0c1d2e3f4a5b6c7d8' } }), 'malformed-health-event'],
    [
      'no instance at all',
      (event: Record<string, unknown>) => ({ ...event, resources: [], detail: { ...detailOf(event), affectedEntities: [{ entityValue: 'UNKNOWN' }] } }),
      'no-affected-instance',
    ],
  ])('reports %s as invalid', (_name, change, reason) => {
    expect(parseHealthEvent(change(retirement()), ON)).toMatchObject({ outcome: 'invalid', reason });
  });
});
