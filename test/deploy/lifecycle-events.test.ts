import { packageStack, type Resource, type Template } from './stack';

/**
 * Packages the service with two clusters and a lifecycle concurrency cap, and once with the task
 * rule off, and checks the lifecycle drainer's event path as deployed: the task rule → its SQS queue
 * (with a dead-letter queue and a policy admitting that rule only) → the event source mapping, the
 * concurrency cap, and that the drainer's role gained only the queue's actions for it.
 */
let template: Template;
let withoutEvents: Template;

beforeAll(() => {
  template = packageStack(['clusters=prod-ecs,arn:aws:ecs:us-east-1:123456789012:cluster/batch', 'lifecycleReservedConcurrency=50', 'ecsReadBudgetPerSecond=6']);
  withoutEvents = packageStack(['clusters=prod-ecs', 'lifecycleTaskEvents=false']);
}, 240_000);

const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
function resource(t: Template, id: string): Resource {
  const found = t.Resources[id];
  if (!found) throw new Error(`no resource ${id}`);
  return found;
}
const lifecycleMappings = (t: Template) =>
  Object.values(t.Resources).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping' && JSON.stringify(r.Properties.FunctionName).includes('LifecycleHookLambdaFunction'));

describe("serverless package: the lifecycle drainer's task events", () => {
  it('routes STOPPED task state changes of exactly the managed clusters to the task-event queue, not to the function', () => {
    const taskRules = Object.entries(template.Resources).filter(
      ([, r]) => r.Type === 'AWS::Events::Rule' && JSON.stringify(r.Properties.EventPattern ?? {}).includes('ECS Task State Change'),
    );
    expect(taskRules.map(([id]) => id)).toEqual(['TaskStoppedRule']);
    const rule = resource(template, 'TaskStoppedRule');
    expect(rule.Properties.State).toBe('ENABLED');
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.ecs'],
      'detail-type': ['ECS Task State Change'],
      detail: {
        lastStatus: ['STOPPED'],
        clusterArn: [{ 'Fn::Sub': 'arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:cluster/prod-ecs' }, 'arn:aws:ecs:us-east-1:123456789012:cluster/batch'],
      },
    });
    expect(rule.Properties.Targets).toEqual([{ Id: 'task-events-queue', Arn: getAtt('TaskEventsQueue') }]);
    // Nothing invokes the function from EventBridge any more.
    const permissions = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::Lambda::Permission' && r.Properties.Principal === 'events.amazonaws.com' && JSON.stringify(r.Properties.FunctionName).includes('LifecycleHookLambdaFunction'),
    );
    expect(permissions).toEqual([]);
  });

  it('the queue: a dead-letter queue, the function timeout as visibility timeout, an hour of retention; only the task rule may send', () => {
    const queue = resource(template, 'TaskEventsQueue');
    const fn = resource(template, 'LifecycleHookLambdaFunction');
    expect(queue.Properties.VisibilityTimeout).toBe(fn.Properties.Timeout);
    expect(queue.Properties.RedrivePolicy).toEqual({ deadLetterTargetArn: getAtt('TaskEventsDeadLetterQueue'), maxReceiveCount: 3 });
    expect(queue.Properties.MessageRetentionPeriod).toBe(3600);
    expect(resource(template, 'TaskEventsDeadLetterQueue').Type).toBe('AWS::SQS::Queue');
    const policy = resource(template, 'TaskEventsQueuePolicy');
    expect(policy.Properties.Queues).toEqual([{ Ref: 'TaskEventsQueue' }]);
    expect((policy.Properties.PolicyDocument as { Statement: unknown[] }).Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: getAtt('TaskEventsQueue'),
        Condition: { ArnEquals: { 'aws:SourceArn': getAtt('TaskStoppedRule') } },
      },
    ]);
  });

  it('the mapping: batches within a 1 s window, the least concurrency Lambda allows (2), enabled with the rule', () => {
    const mappings = lifecycleMappings(template);
    expect(mappings).toHaveLength(1);
    expect(mappings[0]!.Properties).toMatchObject({
      EventSourceArn: getAtt('TaskEventsQueue'),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
      Enabled: true,
    });
    expect(mappings[0]!.Properties.MaximumBatchingWindowInSeconds).toBe(1);
    expect(mappings[0]!.Properties.BatchSize).toBeGreaterThanOrEqual(1000);
    expect(mappings[0]!.DependsOn).toContain('LifecycleHookRole');
    // lifecycleTaskEvents=false: the rule is disabled and so is the mapping.
    expect(resource(withoutEvents, 'TaskStoppedRule').Properties.State).toBe('DISABLED');
    expect(lifecycleMappings(withoutEvents)[0]!.Properties.Enabled).toBe(false);
  });

  it('passes the read budget to the function', () => {
    const environment = (resource(template, 'LifecycleHookLambdaFunction').Properties.Environment as { Variables: Record<string, string> }).Variables;
    expect(environment.ECS_READ_BUDGET_PER_SECOND).toBe('6');
  });

  it("caps the lifecycle function with the stage's reserved concurrency", () => {
    expect(template.Resources.LifecycleHookLambdaFunction!.Properties.ReservedConcurrentExecutions).toBe(50);
    expect(template.Resources.SpotInterruptionLambdaFunction!.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('grants the drainer exactly its reads and writes, and the mapping its queue actions on the task-event queue only', () => {
    const role = resource(template, 'LifecycleHookRole');
    const policies = role.Properties.Policies as Array<{ PolicyDocument: { Statement: Array<{ Action: string[] | string; Resource: unknown }> } }>;
    const statements = policies.flatMap((policy) => policy.PolicyDocument.Statement);
    const actions = new Set(statements.flatMap((statement) => [statement.Action].flat()));
    expect([...actions].sort()).toEqual(
      [
        'autoscaling:CompleteLifecycleAction',
        'autoscaling:DescribeAutoScalingGroups',
        'autoscaling:DescribeAutoScalingInstances',
        'autoscaling:DescribeLifecycleHooks',
        'autoscaling:RecordLifecycleActionHeartbeat',
        'ec2:DescribeInstances',
        // Managed draining (capacity providers) and the launch hook's daemon check.
        'ecs:DescribeCapacityProviders',
        'ecs:DescribeClusters',
        'ecs:DescribeContainerInstances',
        'ecs:DescribeServices',
        'ecs:DescribeTasks',
        'ecs:ListContainerInstances',
        'ecs:ListServices',
        'ecs:ListTasks',
        'ecs:PutAttributes',
        'ecs:StopTask',
        'ecs:UpdateContainerInstancesState',
        'kms:Decrypt',
        'kms:GenerateDataKey*',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'sns:Publish',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:ReceiveMessage',
        'sqs:SendMessage',
      ].sort(),
    );
    const sqs = statements.filter((statement) => [statement.Action].flat().some((action) => action.startsWith('sqs:')));
    expect(sqs).toEqual([
      { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: getAtt('FailedEventsQueue') },
      { Effect: 'Allow', Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], Resource: getAtt('TaskEventsQueue') },
    ]);
    // Describe calls of Auto Scaling support no resource-level permissions (docs/aws-behaviour.md §5).
    const describe = statements.find((statement) => [statement.Action].flat().includes('autoscaling:DescribeAutoScalingGroups'));
    expect(describe?.Resource).toBe('*');
  });
});
