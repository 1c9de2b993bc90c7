import { ofType, packageStack, type Template } from './stack';

/**
 * Packages the service once with two clusters and a lifecycle concurrency cap, and checks the task
 * rule that sends ECS task STOPPED events to the lifecycle drainer, the cap, and that the drainer's
 * role gained no action for the event path.
 */
let template: Template;

beforeAll(() => {
  template = packageStack(['clusters=prod-ecs,arn:aws:ecs:us-east-1:123456789012:cluster/batch', 'lifecycleReservedConcurrency=50']);
}, 180_000);

const rules = () => ofType(template, 'AWS::Events::Rule');

describe('serverless package: the lifecycle drainer\'s task rule', () => {
  it('routes STOPPED task state changes of exactly the managed clusters to the lifecycle function', () => {
    const taskRules = rules().filter(([, rule]) => JSON.stringify(rule.Properties.EventPattern ?? {}).includes('ECS Task State Change'));
    expect(taskRules).toHaveLength(1);
    const [, rule] = taskRules[0]!;
    expect(rule.Properties.State).toBe('ENABLED');
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.ecs'],
      'detail-type': ['ECS Task State Change'],
      detail: {
        lastStatus: ['STOPPED'],
        clusterArn: [{ 'Fn::Sub': 'arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:cluster/prod-ecs' }, 'arn:aws:ecs:us-east-1:123456789012:cluster/batch'],
      },
    });
    const targets = rule.Properties.Targets as Array<{ Arn: unknown }>;
    expect(JSON.stringify(targets.map((target) => target.Arn))).toContain('LifecycleHookLambdaFunction');
    const permissions = Object.values(template.Resources).filter(
      (resource) => resource.Type === 'AWS::Lambda::Permission' && resource.Properties.Principal === 'events.amazonaws.com' && JSON.stringify(resource.Properties.FunctionName).includes('LifecycleHookLambdaFunction'),
    );
    expect(permissions).toHaveLength(1);
  });

  it('caps the lifecycle function with the stage\'s reserved concurrency', () => {
    expect(template.Resources.LifecycleHookLambdaFunction!.Properties.ReservedConcurrentExecutions).toBe(50);
    expect(template.Resources.SpotInterruptionLambdaFunction!.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('grants the drainer exactly its reads and writes (the event path adds none of its own)', () => {
    const role = template.Resources.LifecycleHookRole!;
    const policies = role.Properties.Policies as Array<{ PolicyDocument: { Statement: Array<{ Action: string[] | string }> } }>;
    const actions = new Set(policies.flatMap((policy) => policy.PolicyDocument.Statement.flatMap((statement) => [statement.Action].flat())));
    expect([...actions].sort()).toEqual(
      [
        'autoscaling:CompleteLifecycleAction',
        'autoscaling:DescribeAutoScalingInstances',
        'autoscaling:DescribeLifecycleHooks',
        'autoscaling:RecordLifecycleActionHeartbeat',
        'ec2:DescribeInstances',
        // Whether a group's capacity provider drains it (MANAGED_DRAINING=defer, the default).
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
        'sqs:SendMessage',
      ].sort(),
    );
  });
});
