import { packageStack, statementsOf, type Resource, type Template } from './stack';

/**
 * The Spot drainer's delivery as `serverless package` builds it: EventBridge rules → an SQS queue
 * with a dead-letter queue → the function's event source mapping.
 */
let template: Template;
let enabledTemplate: Template;

const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

beforeAll(() => {
  template = packageStack(['clusters=*']);
  enabledTemplate = packageStack(['rebalanceDrain=true', 'stateChangeDrain=true', 'scheduledEventDrain=true', 'clusters=prod-ecs', 'autoScalingGroups=prod-asg']);
}, 180_000);

function resource(t: Template, id: string): Resource {
  const found = t.Resources[id];
  if (!found) throw new Error(`no resource ${id}`);
  return found;
}

describe('Spot warnings queue', () => {
  it('has a dead-letter queue, a visibility timeout of six function timeouts and a bounded retention', () => {
    const queue = resource(template, 'SpotWarningsQueue');
    const fn = resource(template, 'SpotInterruptionLambdaFunction');
    expect(queue.Type).toBe('AWS::SQS::Queue');
    expect(queue.Properties.VisibilityTimeout).toBe(6 * (fn.Properties.Timeout as number));
    expect(queue.Properties.RedrivePolicy).toEqual({ deadLetterTargetArn: getAtt('SpotWarningsDeadLetterQueue'), maxReceiveCount: 5 });
    expect(queue.Properties.MessageRetentionPeriod).toBe(86_400);
    const dlq = resource(template, 'SpotWarningsDeadLetterQueue');
    expect(dlq.Type).toBe('AWS::SQS::Queue');
    expect(dlq.Properties.MessageRetentionPeriod).toBe(1_209_600);
  });

  it('feeds the function in batches within a 1 s window, with partial failures and a concurrency bound', () => {
    const mappings = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::Lambda::EventSourceMapping' && JSON.stringify(r.Properties.FunctionName).includes('SpotInterruptionLambdaFunction'),
    );
    expect(mappings).toHaveLength(1);
    const mapping = mappings[0] as Resource;
    expect(mapping.Properties).toMatchObject({
      EventSourceArn: getAtt('SpotWarningsQueue'),
      FunctionName: getAtt('SpotInterruptionLambdaFunction'),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    expect(mapping.Properties.MaximumBatchingWindowInSeconds).toBeLessThanOrEqual(1);
    expect(mapping.Properties.BatchSize).toBeGreaterThanOrEqual(1000);
    // The role (with the queue permissions) exists before the mapping is created.
    expect(mapping.DependsOn).toContain('SpotInterruptionRole');
  });

  it('lets the mapping read and delete on this queue only (the other sqs action is the failure destination)', () => {
    const sqsStatements = statementsOf(template, 'SpotInterruptionRole').filter((statement) => [statement.Action].flat().some((action) => action.startsWith('sqs:')));
    expect(sqsStatements).toEqual([
      { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: getAtt('FailedEventsQueue') },
      { Effect: 'Allow', Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], Resource: getAtt('SpotWarningsQueue') },
    ]);
  });

  it('accepts messages only from the five rules', () => {
    const policy = resource(template, 'SpotWarningsQueuePolicy');
    expect(policy.Properties.Queues).toEqual([{ Ref: 'SpotWarningsQueue' }]);
    const statements = (policy.Properties.PolicyDocument as { Statement: unknown[] }).Statement;
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: getAtt('SpotWarningsQueue'),
        Condition: { ArnEquals: { 'aws:SourceArn': [getAtt('SpotWarningRule'), getAtt('SpotRebalanceRule'), getAtt('SpotStateChangeRule'), getAtt('SpotRunningRule'), getAtt('ScheduledEventRule')] } },
      },
    ]);
  });

  it('targets the queue, not the function, from every EC2 rule; the optional ones follow their parameters', () => {
    const state = (t: Template, id: string) => resource(t, id).Properties.State;
    for (const id of ['SpotWarningRule', 'SpotRebalanceRule', 'SpotStateChangeRule', 'SpotRunningRule', 'ScheduledEventRule']) {
      expect(resource(template, id).Properties.Targets).toEqual([{ Id: 'spot-warnings-queue', Arn: getAtt('SpotWarningsQueue') }]);
    }
    expect([state(template, 'SpotWarningRule'), state(template, 'SpotRebalanceRule'), state(template, 'SpotStateChangeRule')]).toEqual(['ENABLED', 'DISABLED', 'DISABLED']);
    expect([state(enabledTemplate, 'SpotRebalanceRule'), state(enabledTemplate, 'SpotStateChangeRule')]).toEqual(['ENABLED', 'ENABLED']);
    // Undoing drains and scheduled events are off unless enabled.
    expect([state(template, 'SpotRunningRule'), state(template, 'ScheduledEventRule')]).toEqual(['DISABLED', 'DISABLED']);
    expect([state(enabledTemplate, 'SpotRunningRule'), state(enabledTemplate, 'ScheduledEventRule')]).toEqual(['ENABLED', 'ENABLED']);
    expect(resource(template, 'SpotRunningRule').Properties.EventPattern).toEqual({
      source: ['aws.ec2'],
      'detail-type': ['EC2 Instance State-change Notification'],
      detail: { state: ['running'] },
    });
    expect(resource(template, 'ScheduledEventRule').Properties.EventPattern).toMatchObject({
      source: ['aws.health'],
      'detail-type': ['AWS Health Event'],
      detail: { service: ['EC2'], eventTypeCode: expect.arrayContaining(['AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED', 'AWS_EC2_INSTANCE_STOP_SCHEDULED']) as unknown },
    });
    expect(resource(template, 'SpotStateChangeRule').Properties.EventPattern).toEqual({
      source: ['aws.ec2'],
      'detail-type': ['EC2 Instance State-change Notification'],
      detail: { state: ['stopping', 'shutting-down'] },
    });
    // No rule invokes the Spot drainer directly any more.
    const direct = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::Events::Rule' && JSON.stringify(r.Properties.Targets).includes('SpotInterruptionLambdaFunction'),
    );
    expect(direct).toEqual([]);
  });

  it('lets the function write its drain record and act on the configured groups only', () => {
    const policies = resource(enabledTemplate, 'SpotInterruptionRole').Properties.Policies as Array<{ PolicyDocument: { Statement: Array<{ Action: string[]; Resource: unknown; Condition?: unknown }> } }>;
    const statements = policies.flatMap((policy) => policy.PolicyDocument.Statement);
    const attributes = statements.find((s) => [s.Action].flat().includes('ecs:PutAttributes'));
    expect([attributes?.Action].flat()).toContain('ecs:DeleteAttributes');
    expect(JSON.stringify(attributes?.Condition)).toContain('cluster/prod-ecs');
    const terminate = statements.find((s) => [s.Action].flat().includes('autoscaling:TerminateInstanceInAutoScalingGroup'));
    expect(JSON.stringify(terminate?.Resource)).toContain('autoScalingGroupName/prod-asg');
    expect(JSON.stringify(terminate?.Resource)).not.toContain('autoScalingGroupName/*');
    // DescribeAutoScalingInstances has no resource-level permissions (docs/aws-behaviour.md §5).
    const describe = statements.find((s) => [s.Action].flat().includes('autoscaling:DescribeAutoScalingInstances'));
    expect(describe).toMatchObject({ Action: ['autoscaling:DescribeAutoScalingInstances'], Resource: '*' });
  });

  it('grants DescribeClusters only on the managed clusters', () => {
    const scoped = enabledTemplate;
    const policies = resource(scoped, 'SpotInterruptionRole').Properties.Policies as Array<{ PolicyDocument: { Statement: Array<{ Action: string[]; Resource: unknown }> } }>;
    const statement = policies.flatMap((policy) => policy.PolicyDocument.Statement).find((s) => [s.Action].flat().includes('ecs:DescribeClusters'));
    expect(JSON.stringify(statement?.Resource)).toContain('cluster/prod-ecs');
    expect(JSON.stringify(statement?.Resource)).not.toContain('cluster/*');
  });
});
