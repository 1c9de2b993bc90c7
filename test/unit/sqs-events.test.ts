import { isSqsBatch, parseSqsBatch, parseSqsBody } from '../../lib/events/sqs';
import { parseEc2Event } from '../../lib/events/ec2';
import { fixture } from '../fixtures';

const record = (overrides: Record<string, unknown> = {}) => ({
  messageId: 'm-1',
  receiptHandle: 'r',
  body: JSON.stringify(fixture('spot-interruption-terminate.json')),
  attributes: { ApproximateReceiveCount: '2', SentTimestamp: '1772618400000' },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:spot-warnings',
  awsRegion: 'us-east-1',
  ...overrides,
});

describe('SQS envelope', () => {
  it('reads the fixture batch: every record with its message id, receive count and body', () => {
    const parsed = parseSqsBatch(fixture('spot-sqs-batch.json'));
    if (parsed.outcome !== 'batch') throw new Error('not a batch');
    expect(parsed.invalid).toEqual([]);
    expect(parsed.records.length).toBeGreaterThanOrEqual(2);
    for (const entry of parsed.records) {
      const body = parseSqsBody(entry.body);
      if (!body.ok) throw new Error(body.detail);
      expect(parseEc2Event(body.value, { rebalanceDrain: false, stateChangeDrain: false }).outcome).toBe('signal');
    }
  });

  it('keeps the receive count when SQS gives one', () => {
    const parsed = parseSqsBatch({ Records: [record()] });
    expect(parsed).toEqual({ outcome: 'batch', records: [{ messageId: 'm-1', body: record().body, receiveCount: 2 }], invalid: [] });
  });

  it.each([
    ['an EventBridge event', fixture('spot-interruption-terminate.json')],
    ['an SNS batch', { Records: [{ EventSource: 'aws:sns', Sns: { Message: '{}' } }] }],
    ['null', null],
    ['an array', [record()]],
    ['Records that is not an array', { Records: 'x' }],
  ])('does not take %s for an SQS batch', (_label, event) => {
    expect(isSqsBatch(event)).toBe(false);
    expect(parseSqsBatch(event)).toEqual({ outcome: 'not-sqs' });
  });

  it.each([
    ['no message id', { messageId: undefined }, undefined],
    ['an empty message id', { messageId: '' }, undefined],
    ['a body that is not a string', { body: { 'detail-type': 'x' } }, 'm-1'],
    ['no body', { body: undefined }, 'm-1'],
  ])('reports a record with %s as invalid, naming it when it can', (_label, overrides, messageId) => {
    const parsed = parseSqsBatch({ Records: [record(), record({ messageId: 'm-2', ...overrides })] });
    if (parsed.outcome !== 'batch') throw new Error('not a batch');
    expect(parsed.records.map((entry) => entry.messageId)).toEqual(['m-1']);
    expect(parsed.invalid).toHaveLength(1);
    expect(parsed.invalid[0]).toMatchObject({ index: 1, reason: 'malformed-sqs-record' });
    expect(parsed.invalid[0]?.messageId).toBe(messageId === undefined ? undefined : 'm-2');
  });

  it('reports a body that is not JSON, without throwing', () => {
    expect(parseSqsBody('{not json')).toMatchObject({ ok: false, reason: 'body-not-json' });
    expect(parseSqsBody('')).toMatchObject({ ok: false, reason: 'body-not-json' });
  });

  it.each([
    ['an unknown detail-type', { ...(fixture('spot-interruption-terminate.json') as object), 'detail-type': 'EC2 Something Else' }, 'unknown-detail-type'],
    ['a body without detail', fixture('malformed-spot-missing-detail.json'), 'malformed-envelope'],
    ['a JSON number', 42, 'not-an-object'],
    ['a JSON string', 'hello', 'not-an-object'],
  ])('a body holding %s parses to an invalid EC2 event', (_label, value, reason) => {
    const body = parseSqsBody(JSON.stringify(value));
    if (!body.ok) throw new Error('body should be JSON');
    expect(parseEc2Event(body.value, { rebalanceDrain: false, stateChangeDrain: false })).toMatchObject({ outcome: 'invalid', reason });
  });
});
