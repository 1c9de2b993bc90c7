import fc from 'fast-check';
import { parseEc2Event } from '../../lib/events/ec2';
import { fixture } from '../fixtures';

const ALL_ON = { rebalanceDrain: true, stateChangeDrain: true };
const ALL_OFF = { rebalanceDrain: false, stateChangeDrain: false };

describe('parseEc2Event: handled kinds', () => {
  it.each([
    ['spot-interruption-terminate.json', 'terminate', 'i-0b662ef9931388ba0', 'us-east-1', '123456789012'],
    ['spot-interruption-stop.json', 'stop', 'i-0b662ef9931388ba0', 'us-east-1', '123456789012'],
    ['spot-interruption-hibernate.json', 'hibernate', 'i-0f1e2d3c4b5a69788', 'eu-west-1', '210987654321'],
  ])('%s is a spot-interruption signal for every instance action', (file, action, instanceId, region, account) => {
    const parsed = parseEc2Event(fixture(file), ALL_OFF);
    expect(parsed).toEqual({
      outcome: 'signal',
      signal: expect.objectContaining({ kind: 'spot-interruption', ec2InstanceId: instanceId, instanceAction: action, region, account }),
    });
  });

  it('keeps the event id and time for correlation', () => {
    const parsed = parseEc2Event(fixture('spot-interruption-terminate.json'), ALL_OFF);
    expect(parsed.outcome === 'signal' && parsed.signal).toMatchObject({
      eventId: '1e5527d7-bb36-4607-3370-4164db56a40e',
      time: '2026-03-04T10:15:02Z',
    });
  });

  it('drains on a rebalance recommendation only when enabled', () => {
    expect(parseEc2Event(fixture('rebalance-recommendation.json'), ALL_ON)).toMatchObject({
      outcome: 'signal',
      signal: { kind: 'rebalance-recommendation', ec2InstanceId: 'i-1234567890abcdef0', region: 'us-east-2' },
    });
    expect(parseEc2Event(fixture('rebalance-recommendation.json'), ALL_OFF)).toEqual({
      outcome: 'ignored',
      kind: 'rebalance-recommendation',
      reason: 'rebalance-drain-disabled',
    });
  });

  it.each(['state-change-shutting-down.json', 'state-change-stopping.json'])(
    '%s drains only when state-change draining is enabled',
    (file) => {
      expect(parseEc2Event(fixture(file), ALL_ON)).toMatchObject({
        outcome: 'signal',
        signal: { kind: 'instance-state-change', ec2InstanceId: 'i-abcd1111' },
      });
      expect(parseEc2Event(fixture(file), ALL_OFF)).toMatchObject({ outcome: 'ignored', reason: 'state-change-drain-disabled' });
    },
  );

  it.each(['pending', 'stopped', 'terminated'])('ignores the %s state even when enabled', (state) => {
    const event = fixture('state-change-running.json');
    (event.detail as Record<string, unknown>).state = state;
    expect(parseEc2Event(event, { ...ALL_ON, undrainSurvivors: true })).toEqual({ outcome: 'ignored', kind: 'instance-state-change', reason: `state-${state}` });
  });

  it('turns the running state into an undrain signal only when undoing drains is on', () => {
    const event = fixture('state-change-running.json');
    expect(parseEc2Event(event, { ...ALL_ON, undrainSurvivors: true })).toMatchObject({
      outcome: 'signal',
      signal: { kind: 'instance-running', state: 'running', ec2InstanceId: (event.detail as Record<string, string>)['instance-id'] },
    });
    expect(parseEc2Event(event, ALL_ON)).toEqual({ outcome: 'ignored', kind: 'instance-running', reason: 'undrain-disabled' });
  });

  it.each([
    ['a missing instance id', { state: 'running' }],
    ['a malformed instance id', { state: 'running', 'instance-id': 'i-XYZ' }],
    ['an unknown state', { state: 'rebooting', 'instance-id': 'i-abcd1111' }],
  ])('reports a running state change with %s as invalid', (_name, detail) => {
    const event = { ...fixture('state-change-running.json'), detail };
    expect(parseEc2Event(event, { ...ALL_ON, undrainSurvivors: true })).toMatchObject({ outcome: 'invalid', reason: 'malformed-detail' });
  });

  it('tolerates extra fields AWS may add to the envelope and the detail', () => {
    const event: Record<string, unknown> = { ...fixture('spot-interruption-terminate.json'), 'replay-name': 'r1' };
    (event.detail as Record<string, unknown>)['new-field'] = { nested: true };
    expect(parseEc2Event(event, ALL_OFF).outcome).toBe('signal');
  });

  it.each([
    ['us-gov-west-1'],
    ['cn-north-1'],
    ['ap-southeast-4'],
    ['il-central-1'],
    // Every partition (lib/aws/partitions.ts): the EU sovereign cloud and the isolated Regions too.
    ['eusc-de-east-1'],
    ['us-iso-east-1'],
    ['us-isob-east-1'],
    ['us-isof-south-1'],
    ['eu-isoe-west-1'],
  ])('accepts events from %s', (region) => {
    expect(parseEc2Event({ ...fixture('spot-interruption-terminate.json'), region }, ALL_OFF).outcome).toBe('signal');
  });
});

describe('parseEc2Event: malformed events are invalid, with a reason', () => {
  const base = () => fixture('spot-interruption-terminate.json');
  const withDetail = (detail: unknown) => ({ ...base(), detail });

  it.each<[string, unknown, string]>([
    ['null', null, 'not-an-object'],
    ['a string', 'EC2 Spot Instance Interruption Warning', 'not-an-object'],
    ['a number', 42, 'not-an-object'],
    ['an array', [fixture('spot-interruption-terminate.json')], 'not-an-object'],
    ['an empty object', {}, 'malformed-envelope'],
    ['missing detail', fixture('malformed-spot-missing-detail.json'), 'malformed-envelope'],
    ['detail as a string', withDetail('{"instance-id":"i-0b662ef9931388ba0"}'), 'malformed-envelope'],
    ['detail null', withDetail(null), 'malformed-envelope'],
    ['missing instance-id', withDetail({ 'instance-action': 'terminate' }), 'malformed-detail'],
    ['instance-id as a number', withDetail({ 'instance-id': 12345, 'instance-action': 'terminate' }), 'malformed-detail'],
    ['instance-id of the wrong shape', withDetail({ 'instance-id': 'i-XYZ', 'instance-action': 'terminate' }), 'malformed-detail'],
    ['instance-id with a query injection', withDetail({ 'instance-id': 'i-0b662ef9 or ec2InstanceId != x', 'instance-action': 'terminate' }), 'malformed-detail'],
    ['an unknown instance-action', withDetail({ 'instance-id': 'i-0b662ef9931388ba0', 'instance-action': 'reboot' }), 'malformed-detail'],
    ['missing instance-action', withDetail({ 'instance-id': 'i-0b662ef9931388ba0' }), 'malformed-detail'],
    ['an unknown detail-type', { ...base(), 'detail-type': 'EC2 Instance Reboot Warning' }, 'unknown-detail-type'],
    ['another source', { ...base(), source: 'aws.autoscaling' }, 'unexpected-source'],
    ['a missing detail-type', (() => { const e = base(); delete e['detail-type']; return e; })(), 'malformed-envelope'],
    ['a bad account id', { ...base(), account: '1234' }, 'malformed-envelope'],
    ['a bad time', { ...base(), time: 'yesterday' }, 'malformed-envelope'],
    ['a region of the wrong shape', { ...base(), region: 'US East' }, 'malformed-envelope'],
    ['a state-change with an unknown state', { ...fixture('state-change-running.json'), detail: { 'instance-id': 'i-abcd1111', state: 'exploding' } }, 'malformed-detail'],
    ['an SNS envelope', { Records: [{ Sns: { Message: '{}' } }] }, 'malformed-envelope'],
  ])('%s', (_name, event, reason) => {
    const parsed = parseEc2Event(event, ALL_ON);
    expect(parsed).toEqual({ outcome: 'invalid', reason, detail: expect.any(String) });
  });

  it('never throws, whatever it is given', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const parsed = parseEc2Event(value, ALL_ON);
        expect(['signal', 'ignored', 'invalid']).toContain(parsed.outcome);
      }),
      { numRuns: 500 },
    );
  });

  it('only yields signals whose instance id is well formed', () => {
    const detail = fc.record({ 'instance-id': fc.string(), 'instance-action': fc.constantFrom('terminate', 'stop', 'x') });
    fc.assert(
      fc.property(detail, (d) => {
        const parsed = parseEc2Event(withDetail(d), ALL_ON);
        if (parsed.outcome === 'signal') expect(parsed.signal.ec2InstanceId).toMatch(/^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/);
      }),
    );
  });
});
