/**
 * deploy/iam.cjs for the capacity-provider reads and the retention read (docs/aws-behaviour.md §5):
 * granted only where a setting uses them, scoped as far as the actions allow.
 */
type Statement = { Effect: string; Action: string[]; Resource: unknown };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const iam = require('../../deploy/iam.cjs') as (input: { resolveVariable: (name: string) => Promise<unknown> }) => Promise<Record<string, Statement[]>>;

const build = (params: Record<string, string> = {}) =>
  iam({
    resolveVariable: async (name) =>
      ({ 'param:clusters': 'prod', 'param:metricsNamespace': 'EcsEc2Keeper/dev', 'self:service': 'ecs-ec2-keeper', 'sls:stage': 'dev', ...Object.fromEntries(Object.entries(params).map(([key, value]) => [`param:${key}`, value])) })[
        name
      ] ?? '',
  });

const granting = (statements: Statement[], action: string) => statements.filter((statement) => statement.Action.includes(action));
const CLUSTER = { 'Fn::Sub': 'arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:cluster/prod' };
const DESCRIBE_GROUPS = {
  Effect: 'Allow',
  Action: ['autoscaling:DescribeAutoScalingGroups', 'autoscaling:DescribeAutoScalingInstances', 'autoscaling:DescribeLifecycleHooks'],
  Resource: '*',
};
const PROVIDERS = { 'Fn::Sub': 'arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:capacity-provider/*' };

describe('IAM: capacity providers and retained instances', () => {
  it('by default the drainer and the sweeper may read the managed clusters and the account’s capacity providers, nothing wider', async () => {
    const statements = await build();
    for (const role of ['lifecycleStatements', 'sweeperStatements']) {
      expect(granting(statements[role]!, 'ecs:DescribeClusters')).toEqual([{ Effect: 'Allow', Action: ['ecs:DescribeClusters'], Resource: [CLUSTER] }]);
      expect(granting(statements[role]!, 'ecs:DescribeCapacityProviders')).toEqual([{ Effect: 'Allow', Action: ['ecs:DescribeCapacityProviders'], Resource: PROVIDERS }]);
    }
    // Always read: the group's drains in progress pace the drainer's ECS reads.
    expect(granting(statements.lifecycleStatements!, 'autoscaling:DescribeAutoScalingGroups')).toEqual([DESCRIBE_GROUPS]);
  });

  it('managedDraining=drain-anyway and capacityProviders=cooperate grant no capacity-provider read', async () => {
    const statements = await build({ managedDraining: 'drain-anyway', capacityProviders: 'cooperate' });
    for (const role of ['lifecycleStatements', 'sweeperStatements']) {
      expect(granting(statements[role]!, 'ecs:DescribeCapacityProviders')).toEqual([]);
      expect(granting(statements[role]!, 'ecs:DescribeClusters')).toEqual([]);
    }
  });

  it('deadlineResult=ABANDON reads whether the group retains abandoned instances with the same grant, and no wider one (no resource-level support)', async () => {
    const statements = await build({ deadlineResult: 'ABANDON' });
    expect(granting(statements.lifecycleStatements!, 'autoscaling:DescribeAutoScalingGroups')).toEqual([DESCRIBE_GROUPS]);
  });
});
