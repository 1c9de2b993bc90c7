import { XMLParser } from 'fast-xml-parser';
import { startHarness, type Harness } from './harness';

// The bytes themselves, for what the SDK would forgive: element names, wrappers, error shapes,
// and answers to requests no SDK would send.
describe('wire format', () => {
  let h: Harness;
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_' });
  beforeAll(async () => {
    h = await startHarness();
    h.plane.on('autoscaling:DescribeAutoScalingInstances', () => ({ AutoScalingInstances: [{ InstanceId: 'i-1', ProtectedFromScaleIn: true }] }));
    h.plane.on('autoscaling:SetDesiredCapacity', () => ({}));
    h.plane.on('ec2:DescribeInstances', () => ({ Reservations: [{ ReservationId: 'r-1', Instances: [{ InstanceId: 'i-1' }] }] }));
    h.plane.on('ecs:ListClusters', () => ({ clusterArns: [] }));
  });
  afterAll(() => h.close());

  const post = (body: string, headers: Record<string, string>) => fetch(h.server.url + '/', { method: 'POST', body, headers });
  const form = (body: string, service?: string) =>
    post(body, {
      'content-type': 'application/x-www-form-urlencoded',
      ...(service ? { authorization: `AWS4-HMAC-SHA256 Credential=AKID/20261122/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=00` } : {}),
    });
  const json = (target: string, body: string) => post(body, { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target });

  it('query: <OpResponse xmlns><OpResult>…</OpResult><ResponseMetadata><RequestId>', async () => {
    const response = await form('Action=DescribeAutoScalingInstances&Version=2011-01-01&InstanceIds.member.1=i-1', 'autoscaling');
    const requestId = response.headers.get('x-amzn-requestid');
    const doc = parser.parse(await response.text());
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/xml');
    expect(doc.DescribeAutoScalingInstancesResponse['@_xmlns']).toBe('http://autoscaling.amazonaws.com/doc/2011-01-01/');
    expect(doc.DescribeAutoScalingInstancesResponse.DescribeAutoScalingInstancesResult).toEqual({
      AutoScalingInstances: { member: { InstanceId: 'i-1', ProtectedFromScaleIn: true } },
    });
    expect(doc.DescribeAutoScalingInstancesResponse.ResponseMetadata.RequestId).toBe(requestId);
  });

  it('query: an operation with no output has no Result element', async () => {
    const doc = parser.parse(await (await form('Action=SetDesiredCapacity&Version=2011-01-01&AutoScalingGroupName=g&DesiredCapacity=2', 'autoscaling')).text());
    expect(Object.keys(doc.SetDesiredCapacityResponse)).toEqual(['ResponseMetadata', '@_xmlns']);
  });

  it('EC2: members under the root, lists of <item>, requestId element, no Result', async () => {
    const response = await form('Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-1', 'ec2');
    const doc = parser.parse(await response.text());
    expect(doc.DescribeInstancesResponse.requestId).toBe(response.headers.get('x-amzn-requestid'));
    expect(doc.DescribeInstancesResponse.reservationSet).toEqual({ item: { reservationId: 'r-1', instancesSet: { item: { instanceId: 'i-1' } } } });
  });

  it('CloudWatch also answers the query protocol older clients speak', async () => {
    h.plane.on('cloudwatch:ListMetrics', () => ({ Metrics: [{ Namespace: 'N', MetricName: 'M' }] }));
    const response = await form('Action=ListMetrics&Version=2010-08-01&Namespace=N', 'monitoring');
    const doc = parser.parse(await response.text());
    expect(doc.ListMetricsResponse.ListMetricsResult.Metrics).toEqual({ member: { Namespace: 'N', MetricName: 'M' } });
    expect(h.plane.inputsOf('ListMetrics').at(-1)).toEqual({ Namespace: 'N' });
  });

  it('routes a query request by Version when it is not signed', async () => {
    const response = await form('Action=DescribeInstances&Version=2016-11-15');
    expect(response.status).toBe(200);
    expect(h.plane.inputsOf('DescribeInstances').at(-1)).toEqual({});
  });

  it('query errors: <ErrorResponse><Error><Type><Code><Message></Error><RequestId>', async () => {
    const response = await form('Action=LaunchRockets&Version=2011-01-01', 'autoscaling');
    const doc = parser.parse(await response.text());
    expect(response.status).toBe(400);
    expect(doc.ErrorResponse.Error).toEqual({ Type: 'Sender', Code: 'InvalidAction', Message: 'The action LaunchRockets is not valid for this web service.' });
    expect(doc.ErrorResponse.RequestId).toBe(response.headers.get('x-amzn-requestid'));
  });

  it('EC2 errors: <Response><Errors><Error><Code><Message></Error></Errors><RequestID>', async () => {
    const response = await form('Action=DescribeInstances&Version=2016-11-15&MaxResults=many', 'ec2');
    const doc = parser.parse(await response.text());
    expect(response.status).toBe(400);
    expect(doc.Response.Errors.Error).toEqual({ Code: 'InvalidParameterValue', Message: 'Expected a number at MaxResults' });
    expect(doc.Response.RequestID).toBe(response.headers.get('x-amzn-requestid'));
  });

  it('query: a malformed number or boolean is a ValidationError, and the plane is not called', async () => {
    const before = h.plane.calls.length;
    const number = parser.parse(await (await form('Action=SetDesiredCapacity&Version=2011-01-01&AutoScalingGroupName=g&DesiredCapacity=two', 'autoscaling')).text());
    const bool = parser.parse(await (await form('Action=SetDesiredCapacity&Version=2011-01-01&AutoScalingGroupName=g&DesiredCapacity=2&HonorCooldown=yes', 'autoscaling')).text());
    expect(number.ErrorResponse.Error.Code).toBe('ValidationError');
    expect(bool.ErrorResponse.Error.Code).toBe('ValidationError');
    expect(h.plane.calls.length).toBe(before);
  });

  it('query: a missing Action is MissingAction', async () => {
    const response = await form('Version=2011-01-01', 'autoscaling');
    expect(response.status).toBe(400);
    expect(parser.parse(await response.text()).ErrorResponse.Error.Code).toBe('MissingAction');
  });

  it('JSON: an unknown operation is UnknownOperationException with x-amzn-ErrorType', async () => {
    const response = await json('AmazonEC2ContainerServiceV20141113.LaunchRockets', '{}');
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    expect(response.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await response.json()).toEqual({ __type: 'UnknownOperationException', message: 'Unknown operation AmazonEC2ContainerServiceV20141113.LaunchRockets' });
  });

  it('JSON: an unknown target service is UnknownOperationException too', async () => {
    const response = await json('AmazonDynamoDB_20120810.ListTables', '{}');
    expect(response.status).toBe(400);
    expect(((await response.json()) as { __type: string }).__type).toBe('UnknownOperationException');
  });

  it('JSON: malformed JSON and wrong member types are SerializationException, and the plane is not called', async () => {
    const before = h.plane.calls.length;
    const malformed = await json('AmazonEC2ContainerServiceV20141113.ListClusters', '{"maxResults":');
    const wrongType = await json('AmazonEC2ContainerServiceV20141113.ListClusters', '{"maxResults":"10"}');
    const wrongList = await json('AmazonEC2ContainerServiceV20141113.DescribeTasks', '{"tasks":"arn:task/1"}');
    for (const response of [malformed, wrongType, wrongList]) {
      expect(response.status).toBe(400);
      expect(((await response.json()) as { __type: string }).__type).toBe('SerializationException');
    }
    expect(h.plane.calls.length).toBe(before);
  });

  it('JSON: members outside the model are dropped before the plane sees the input', async () => {
    const response = await json('AmazonEC2ContainerServiceV20141113.ListClusters', '{"maxResults":5,"__proto__":{"polluted":true},"extra":1}');
    expect(response.status).toBe(200);
    expect(h.plane.inputsOf('ListClusters').at(-1)).toEqual({ maxResults: 5 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a gzip body that does not inflate is refused without reaching the plane', async () => {
    const before = h.plane.calls.length;
    const response = await post('not gzip at all', {
      'content-type': 'application/x-amz-json-1.1',
      'content-encoding': 'gzip',
      'x-amz-target': 'AmazonEC2ContainerServiceV20141113.ListClusters',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { __type: string }).__type).toBe('SerializationException');
    expect(h.plane.calls.length).toBe(before);
  });

  it('a body over the size limit is refused with 413', async () => {
    const response = await form(`Action=DescribeInstances&Version=2016-11-15&Padding=${'x'.repeat(5 * 1024 * 1024)}`, 'autoscaling');
    expect(response.status).toBe(413);
    expect(parser.parse(await response.text()).ErrorResponse.Error.Code).toBe('RequestEntityTooLarge');
  });

  it('binds to the loopback interface only', () => {
    expect(h.server.url).toBe(`http://127.0.0.1:${h.server.port}`);
  });
});
