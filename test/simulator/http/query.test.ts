import {
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeLifecycleHooksCommand,
  PutScheduledUpdateGroupActionCommand,
  RecordLifecycleActionHeartbeatCommand,
  SetDesiredCapacityCommand,
  SetInstanceProtectionCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { GetMetricDataCommand, ListMetricsCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { PublishCommand } from '@aws-sdk/client-sns';
import { body, startHarness, type Harness } from './harness';

// The real Auto Scaling and SNS clients (query), EC2 client (EC2 query) and CloudWatch client
// (AWS JSON 1.0) against the server.
describe('query services and CloudWatch', () => {
  let h: Harness;
  beforeAll(async () => { h = await startHarness(); });
  afterAll(() => h.close());

  const created = new Date('2026-11-20T08:00:00.000Z');

  describe('Auto Scaling (query: X.member.N in, <Result> XML out)', () => {
    it('DescribeAutoScalingInstances: list of ids in, instances with booleans out', async () => {
      const instances = [
        {
          InstanceId: 'i-1',
          AutoScalingGroupName: 'workers',
          AvailabilityZone: 'us-east-1a',
          LifecycleState: 'Terminating:Wait',
          HealthStatus: 'HEALTHY',
          ProtectedFromScaleIn: false,
          InstanceType: 'm6i.large',
        },
      ];
      h.plane.on('autoscaling:DescribeAutoScalingInstances', () => ({ AutoScalingInstances: instances }));
      const out = await h.clients.autoScaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: ['i-1', 'i-unknown'], MaxRecords: 50 }));
      expect(body(out)).toEqual({ AutoScalingInstances: instances });
      expect(h.plane.inputsOf('DescribeAutoScalingInstances').at(-1)).toEqual({ InstanceIds: ['i-1', 'i-unknown'], MaxRecords: 50 });
    });

    it('DescribeAutoScalingInstances: an empty answer decodes as an empty list', async () => {
      h.plane.on('autoscaling:DescribeAutoScalingInstances', () => ({ AutoScalingInstances: [] }));
      const out = await h.clients.autoScaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: ['i-gone'] }));
      expect(body(out)).toEqual({ AutoScalingInstances: [] });
    });

    it('DescribeAutoScalingGroups: nested filters in; groups, instances, tags, dates and NextToken out', async () => {
      const group = {
        AutoScalingGroupName: 'workers',
        MinSize: 2,
        MaxSize: 10,
        DesiredCapacity: 4,
        DefaultCooldown: 300,
        AvailabilityZones: ['us-east-1a', 'us-east-1b'],
        HealthCheckType: 'EC2',
        CreatedTime: created,
        Instances: [
          { InstanceId: 'i-1', AvailabilityZone: 'us-east-1a', LifecycleState: 'InService', HealthStatus: 'Healthy', ProtectedFromScaleIn: true },
        ],
        Tags: [{ Key: 'ecs-cluster', Value: 'prod & <blue>', PropagateAtLaunch: true, ResourceId: 'workers', ResourceType: 'auto-scaling-group' }],
        NewInstancesProtectedFromScaleIn: false,
      };
      h.plane.on('autoscaling:DescribeAutoScalingGroups', () => ({ AutoScalingGroups: [group], NextToken: 'more' }));
      const input = {
        AutoScalingGroupNames: ['workers'],
        IncludeInstances: false,
        MaxRecords: 100,
        Filters: [{ Name: 'tag:ecs-cluster', Values: ['prod', 'staging'] }, { Name: 'tag-key', Values: ['team'] }],
      };
      const out = await h.clients.autoScaling.send(new DescribeAutoScalingGroupsCommand(input));
      expect(body(out)).toEqual({ AutoScalingGroups: [group], NextToken: 'more' });
      expect(out.AutoScalingGroups?.[0]?.CreatedTime).toEqual(created);
      expect(h.plane.inputsOf('DescribeAutoScalingGroups').at(-1)).toEqual(input);
    });

    it('DescribeLifecycleHooks: numbers and enums of the hook', async () => {
      const hook = {
        LifecycleHookName: 'drain',
        AutoScalingGroupName: 'workers',
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        HeartbeatTimeout: 3600,
        GlobalTimeout: 172800,
        DefaultResult: 'CONTINUE',
        NotificationTargetARN: 'arn:aws:sns:us-east-1:123456789012:hooks',
      };
      h.plane.on('autoscaling:DescribeLifecycleHooks', () => ({ LifecycleHooks: [hook] }));
      const out = await h.clients.autoScaling.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: 'workers', LifecycleHookNames: ['drain'] }));
      expect(body(out)).toEqual({ LifecycleHooks: [hook] });
    });

    it('CompleteLifecycleAction and RecordLifecycleActionHeartbeat: identification arrives as sent', async () => {
      h.plane.on('autoscaling:CompleteLifecycleAction', () => ({}));
      h.plane.on('autoscaling:RecordLifecycleActionHeartbeat', () => ({}));
      const complete = { AutoScalingGroupName: 'workers', LifecycleHookName: 'drain', LifecycleActionResult: 'CONTINUE', LifecycleActionToken: '3f7a9c9e-1b2c-4d5e-8f90-123456789abc' };
      const heartbeat = { AutoScalingGroupName: 'workers', LifecycleHookName: 'drain', InstanceId: 'i-1' };
      const completed = await h.clients.autoScaling.send(new CompleteLifecycleActionCommand(complete));
      await h.clients.autoScaling.send(new RecordLifecycleActionHeartbeatCommand(heartbeat));
      expect(body(completed)).toEqual({});
      expect(h.plane.inputsOf('CompleteLifecycleAction').at(-1)).toEqual(complete);
      expect(h.plane.inputsOf('RecordLifecycleActionHeartbeat').at(-1)).toEqual(heartbeat);
    });

    it('TerminateInstanceInAutoScalingGroup: a false boolean arrives as false, the activity comes back', async () => {
      const activity = { ActivityId: 'a-1', AutoScalingGroupName: 'workers', Cause: 'terminate i-1', StartTime: created, StatusCode: 'InProgress', Progress: 0 };
      h.plane.on('autoscaling:TerminateInstanceInAutoScalingGroup', () => ({ Activity: activity }));
      const out = await h.clients.autoScaling.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: 'i-1', ShouldDecrementDesiredCapacity: false }));
      expect(body(out)).toEqual({ Activity: activity });
      expect(h.plane.inputsOf('TerminateInstanceInAutoScalingGroup').at(-1)).toEqual({ InstanceId: 'i-1', ShouldDecrementDesiredCapacity: false });
    });

    it('SetInstanceProtection and SetDesiredCapacity: lists, booleans and numbers arrive typed', async () => {
      h.plane.on('autoscaling:SetInstanceProtection', () => ({}));
      h.plane.on('autoscaling:SetDesiredCapacity', () => ({}));
      await h.clients.autoScaling.send(new SetInstanceProtectionCommand({ AutoScalingGroupName: 'workers', InstanceIds: ['i-1', 'i-2', 'i-3'], ProtectedFromScaleIn: true }));
      await h.clients.autoScaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'workers', DesiredCapacity: 3, HonorCooldown: false }));
      expect(h.plane.inputsOf('SetInstanceProtection').at(-1)).toEqual({ AutoScalingGroupName: 'workers', InstanceIds: ['i-1', 'i-2', 'i-3'], ProtectedFromScaleIn: true });
      expect(h.plane.inputsOf('SetDesiredCapacity').at(-1)).toEqual({ AutoScalingGroupName: 'workers', DesiredCapacity: 3, HonorCooldown: false });
    });
    it('a timestamp input (ISO 8601 on the query wire) arrives as a Date', async () => {
      h.plane.on('autoscaling:PutScheduledUpdateGroupAction', () => ({}));
      const input = { AutoScalingGroupName: 'workers', ScheduledActionName: 'morning', StartTime: new Date('2026-12-01T06:30:00.000Z'), DesiredCapacity: 6 };
      await h.clients.autoScaling.send(new PutScheduledUpdateGroupActionCommand(input));
      expect(h.plane.inputsOf('PutScheduledUpdateGroupAction').at(-1)).toEqual(input);
    });
  });

  describe('SNS (query)', () => {
    it('Publish: message text with markup and a message-attribute map arrive intact', async () => {
      h.plane.on('sns:Publish', () => ({ MessageId: 'msg-1', SequenceNumber: '7' }));
      const input = {
        TopicArn: 'arn:aws:sns:us-east-1:123456789012:hooks',
        Message: JSON.stringify({ LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', note: 'a&b <c> "d" \u00e9' }),
        Subject: 'hook',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'lifecycle' }, n: { DataType: 'Number', StringValue: '3' } },
      };
      const out = await h.clients.sns.send(new PublishCommand(input));
      expect(body(out)).toEqual({ MessageId: 'msg-1', SequenceNumber: '7' });
      expect(h.plane.inputsOf('Publish').at(-1)).toEqual(input);
    });
  });

  it('SNS Publish: a message attribute named __proto__ stays an attribute', async () => {
    h.plane.on('sns:Publish', () => ({ MessageId: 'msg-2' }));
    await h.clients.sns.send(
      new PublishCommand({ TopicArn: 'arn:t', Message: 'm', MessageAttributes: JSON.parse('{"__proto__":{"DataType":"String","StringValue":"x"}}') }),
    );
    const attributes = h.plane.inputsOf('Publish').at(-1)?.MessageAttributes as Record<string, unknown>;
    expect(Object.keys(attributes)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(attributes)).toBe(Object.prototype);
  });

  describe('EC2 (EC2 query: X.N in, <item> XML without a Result wrapper out)', () => {
    it('DescribeInstances: ids and filters in; reservations, instances, tags, state and dates out', async () => {
      const reservation = {
        ReservationId: 'r-1',
        OwnerId: '123456789012',
        Instances: [
          {
            InstanceId: 'i-1',
            InstanceType: 'm6i.large',
            InstanceLifecycle: 'spot',
            LaunchTime: created,
            State: { Code: 16, Name: 'running' },
            Placement: { AvailabilityZone: 'us-east-1a' },
            Tags: [{ Key: 'aws:autoscaling:groupName', Value: 'workers' }, { Key: 'Name', Value: '<worker>' }],
            EbsOptimized: true,
          },
        ],
      };
      h.plane.on('ec2:DescribeInstances', () => ({ Reservations: [reservation], NextToken: 'next' }));
      const input = { InstanceIds: ['i-1', 'i-2'], Filters: [{ Name: 'instance-state-name', Values: ['running', 'stopping'] }], MaxResults: 5 };
      const out = await h.clients.ec2.send(new DescribeInstancesCommand(input));
      expect(body(out)).toEqual({ Reservations: [reservation], NextToken: 'next' });
      expect(h.plane.inputsOf('DescribeInstances').at(-1)).toEqual(input);
    });

    it('DescribeInstances: no reservations decodes as an empty list', async () => {
      h.plane.on('ec2:DescribeInstances', () => ({ Reservations: [] }));
      const out = await h.clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-gone'] }));
      expect(body(out)).toEqual({ Reservations: [] });
    });
  });

  describe('CloudWatch (AWS JSON 1.0)', () => {
    it('PutMetricData: metric data with dimensions, timestamps, values and counts arrive typed', async () => {
      h.plane.on('cloudwatch:PutMetricData', () => ({}));
      const at = new Date('2026-11-20T08:01:02.500Z');
      const input = {
        Namespace: 'EcsEc2Keeper',
        MetricData: [
          { MetricName: 'InstancesDrained', Dimensions: [{ Name: 'cluster', Value: 'prod' }], Timestamp: at, Value: 2, Unit: 'Count' as const, StorageResolution: 60 },
          { MetricName: 'DrainSeconds', Values: [1.5, 30], Counts: [1, 2], Unit: 'Seconds' as const },
        ],
      };
      await h.clients.cloudWatch.send(new PutMetricDataCommand(input));
      expect(h.plane.inputsOf('PutMetricData').at(-1)).toEqual(input);
    });

    it('PutMetricData: a large request, which the client gzips, arrives whole', async () => {
      h.plane.on('cloudwatch:PutMetricData', () => ({}));
      const metricData = Array.from({ length: 400 }, (_, i) => ({
        MetricName: `Metric${i}`,
        Dimensions: [{ Name: 'cluster', Value: `cluster-${i % 7}` }],
        Value: i,
        Unit: 'Count' as const,
      }));
      const sent = JSON.stringify({ Namespace: 'EcsEc2Keeper', MetricData: metricData });
      expect(Buffer.byteLength(sent)).toBeGreaterThan(10_240); // above the client's compression threshold
      await h.clients.cloudWatch.send(new PutMetricDataCommand({ Namespace: 'EcsEc2Keeper', MetricData: metricData }));
      expect(h.plane.inputsOf('PutMetricData').at(-1)).toEqual({ Namespace: 'EcsEc2Keeper', MetricData: metricData });
    });

    it('GetMetricData: Date inputs arrive as Dates; timestamp and value lists decode', async () => {
      const start = new Date('2026-11-20T08:00:00.000Z');
      const end = new Date('2026-11-20T09:00:00.000Z');
      const result = {
        Id: 'drained',
        Label: 'InstancesDrained',
        Timestamps: [new Date('2026-11-20T08:01:00.000Z'), new Date('2026-11-20T08:02:00.000Z')],
        Values: [1, 2.5],
        StatusCode: 'Complete',
      };
      h.plane.on('cloudwatch:GetMetricData', () => ({ MetricDataResults: [result], Messages: [] }));
      const query = {
        Id: 'drained',
        MetricStat: { Metric: { Namespace: 'EcsEc2Keeper', MetricName: 'InstancesDrained', Dimensions: [{ Name: 'cluster', Value: 'prod' }] }, Period: 60, Stat: 'Sum' },
        ReturnData: true,
      };
      const out = await h.clients.cloudWatch.send(new GetMetricDataCommand({ StartTime: start, EndTime: end, MetricDataQueries: [query] }));
      expect(body(out)).toEqual({ MetricDataResults: [result], Messages: [] });
      expect(h.plane.inputsOf('GetMetricData').at(-1)).toEqual({ StartTime: start, EndTime: end, MetricDataQueries: [query] });
    });

    it('ListMetrics: stored metrics decode for tests that read them back', async () => {
      const metrics = [{ Namespace: 'EcsEc2Keeper', MetricName: 'InstancesDrained', Dimensions: [{ Name: 'cluster', Value: 'prod' }] }];
      h.plane.on('cloudwatch:ListMetrics', () => ({ Metrics: metrics }));
      const out = await h.clients.cloudWatch.send(new ListMetricsCommand({ Namespace: 'EcsEc2Keeper' }));
      expect(body(out)).toEqual({ Metrics: metrics });
    });
  });
});
