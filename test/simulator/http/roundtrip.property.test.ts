import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { DescribeContainerInstancesCommand } from '@aws-sdk/client-ecs';
import fc from 'fast-check';
import { body, startHarness, type Harness } from './harness';

// Whatever the world answers (within the model), the SDK must decode exactly that: any text
// (markup, entities, unicode, whitespace), numbers, booleans, millisecond Dates, empty lists.
describe('round trip through the wire (property)', () => {
  let h: Harness;
  beforeAll(async () => { h = await startHarness({ maxAttempts: 1 }); });
  afterAll(() => h.close());

  const text = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('<a>&amp;</a>', ' padded ', 'line 1\nline 2\tend', '"quoted" \'x\'', 'é漢字🙂', ']]>', '&lt;'));
  const date = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true });

  it('ECS JSON: DescribeContainerInstances output', async () => {
    const instance = fc.record(
      {
        containerInstanceArn: text,
        ec2InstanceId: text,
        status: text,
        agentConnected: fc.boolean(),
        runningTasksCount: fc.integer({ min: 0, max: 1_000 }),
        registeredAt: date,
        remainingResources: fc.array(fc.record({ name: text, type: fc.constant('INTEGER'), integerValue: fc.integer() }), { maxLength: 3 }),
        attributes: fc.array(fc.record({ name: text, value: text }, { requiredKeys: ['name'] }), { maxLength: 3 }),
      },
      { requiredKeys: ['containerInstanceArn'] },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(instance, { maxLength: 4 }), fc.array(fc.record({ arn: text, reason: text })), async (instances, failures) => {
        h.plane.on('ecs:DescribeContainerInstances', () => ({ containerInstances: instances, failures }));
        const out = await h.clients.ecs.send(new DescribeContainerInstancesCommand({ containerInstances: ['x'] }));
        expect(body(out)).toEqual({ containerInstances: instances, failures });
      }),
      { numRuns: 60 },
    );
  });

  it('Auto Scaling query XML: DescribeAutoScalingGroups output', async () => {
    const group = fc.record(
      {
        AutoScalingGroupName: text,
        MinSize: fc.integer({ min: 0, max: 1_000 }),
        DesiredCapacity: fc.integer({ min: 0, max: 1_000 }),
        CreatedTime: date,
        AvailabilityZones: fc.array(text, { maxLength: 3 }),
        Instances: fc.array(fc.record({ InstanceId: text, ProtectedFromScaleIn: fc.boolean(), LifecycleState: text }), { maxLength: 3 }),
        Tags: fc.array(fc.record({ Key: text, Value: text, PropagateAtLaunch: fc.boolean() }), { maxLength: 3 }),
      },
      { requiredKeys: ['AutoScalingGroupName'] },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(group, { maxLength: 3 }), fc.option(text, { nil: undefined }), async (groups, nextToken) => {
        h.plane.on('autoscaling:DescribeAutoScalingGroups', () => ({ AutoScalingGroups: groups, ...(nextToken !== undefined ? { NextToken: nextToken } : {}) }));
        const out = await h.clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({}));
        expect(body(out)).toEqual({ AutoScalingGroups: groups, ...(nextToken !== undefined ? { NextToken: nextToken } : {}) });
      }),
      { numRuns: 60 },
    );
  });

  it('query and EC2 query inputs: form-encoded text, nested lists and numbers arrive exactly', async () => {
    const formText = fc.oneof(text, fc.constantFrom('a&b=c', '100%', 'x+y z', 'tag:ecs-cluster', '.member.1'));
    const filters = fc.array(fc.record({ Name: formText, Values: fc.array(formText, { minLength: 1, maxLength: 3 }) }), { minLength: 1, maxLength: 3 });
    h.plane.on('autoscaling:DescribeAutoScalingGroups', () => ({ AutoScalingGroups: [] }));
    h.plane.on('ec2:DescribeInstances', () => ({ Reservations: [] }));
    await fc.assert(
      fc.asyncProperty(filters, fc.array(formText, { minLength: 1, maxLength: 4 }), fc.integer({ min: 5, max: 1_000 }), async (Filters, names, max) => {
        await h.clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: names, Filters, MaxRecords: max }));
        await h.clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: names, Filters, MaxResults: max }));
        expect(h.plane.inputsOf('DescribeAutoScalingGroups').at(-1)).toEqual({ AutoScalingGroupNames: names, Filters, MaxRecords: max });
        expect(h.plane.inputsOf('DescribeInstances').at(-1)).toEqual({ InstanceIds: names, Filters, MaxResults: max });
      }),
      { numRuns: 60 },
    );
  });
});
