import { sweeperEnvSchema } from '../../../lib/sweeper/config';
import { packageStack, statementsOf, type Template } from '../../deploy/stack';

/**
 * The sweeper as `npx serverless package` deploys it: schedule, concurrency, environment and a role
 * limited to the configured clusters, groups and metrics namespace.
 */
let template: Template;

beforeAll(() => {
  const params = ['clusters=prod-ecs', 'autoScalingGroups=prod-asg,spot-asg', 'metricsNamespace=Platform/Ecs', 'sweepSchedule=rate(15 minutes)'];
  template = packageStack(params);
}, 120_000);

const statements = () => statementsOf(template, 'ScaleInSweeperRole');
const grantsFor = (action: string) => statements().filter((statement) => statement.Action.includes(action));

describe('packaged scaleInSweeper', () => {
  it('runs on the configured schedule with no reserved concurrency (none by default) and no automatic retry', () => {
    const fn = template.Resources.ScaleInSweeperLambdaFunction!;
    expect(fn.Properties).not.toHaveProperty('ReservedConcurrentExecutions');
    const rules = Object.values(template.Resources).filter(
      (resource) => resource.Type === 'AWS::Events::Rule' && JSON.stringify(resource.Properties.Targets).includes('ScaleInSweeper'),
    );
    expect(rules.map((rule) => [rule.Properties.ScheduleExpression, rule.Properties.State])).toEqual([['rate(15 minutes)', 'ENABLED']]);
    const invokeConfig = Object.values(template.Resources).find(
      (resource) => resource.Type === 'AWS::Lambda::EventInvokeConfig' && JSON.stringify(resource.Properties).includes('ScaleInSweeper'),
    );
    expect(invokeConfig?.Properties.MaximumRetryAttempts).toBe(0);
  });

  it('passes every environment variable the sweeper reads', () => {
    const variables = Object.keys((template.Resources.ScaleInSweeperLambdaFunction!.Properties.Environment as { Variables: Record<string, unknown> }).Variables);
    for (const name of Object.keys(sweeperEnvSchema.shape)) expect(variables).toContain(name);
  });

  it('terminates only in the managed groups and writes metrics only to its namespace', () => {
    const terminate = grantsFor('autoscaling:TerminateInstanceInAutoScalingGroup');
    expect(terminate).toHaveLength(1);
    expect(JSON.stringify(terminate[0]?.Resource)).toContain('autoScalingGroupName/prod-asg');
    expect(JSON.stringify(terminate[0]?.Resource)).toContain('autoScalingGroupName/spot-asg');
    expect(JSON.stringify(terminate[0]?.Resource)).not.toContain('autoScalingGroupName/*');
    const metrics = grantsFor('cloudwatch:PutMetricData');
    expect(metrics).toEqual([{ Effect: 'Allow', Action: ['cloudwatch:PutMetricData'], Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': 'Platform/Ecs' } } }]);
  });

  it('limits every ECS action to the managed cluster and grants no wildcard action', () => {
    for (const statement of statements()) {
      for (const action of statement.Action) expect(action).not.toMatch(/\*/);
      if (!statement.Action.some((action) => action.startsWith('ecs:'))) continue;
      // DescribeCapacityProviders authorizes on capacity providers, not clusters: the account's, nothing else.
      if (statement.Action.includes('ecs:DescribeCapacityProviders')) {
        expect(statement).toEqual({
          Effect: 'Allow',
          Action: ['ecs:DescribeCapacityProviders'],
          Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:capacity-provider/*' },
        });
        continue;
      }
      const scope = JSON.stringify(statement.Resource) + JSON.stringify(statement.Condition ?? {});
      expect(scope).toContain('cluster/prod-ecs');
      expect(scope).not.toContain('cluster/*');
    }
    expect(grantsFor('ecs:ListClusters')).toEqual([]);
    expect(grantsFor('ecs:DescribeServices')).toEqual([]);
  });
});
