import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commonSchema } from '../../lib/config';
import { spotEnvSchema } from '../../lib/spot/config';
import { ROOT, SLS, SLS_ENV, ofType, packageStack, statementsOf, type Template } from './stack';

/**
 * Packages the service offline, the way `npx serverless package` does, and checks the
 * CloudFormation template a deploy would create.
 */

function envOf(template: Template, functionId: string): Record<string, unknown> {
  const fn = template.Resources[functionId];
  return ((fn?.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {});
}

const roles = () => ofType(defaultTemplate, 'AWS::IAM::Role');

let defaultTemplate: Template;
let scopedTemplate: Template;

beforeAll(() => {
  // The defaults, with the one choice a stage must make: which clusters ("*": all of them).
  defaultTemplate = packageStack(['clusters=*']);
  scopedTemplate = packageStack([
    'clusters=prod-ecs,arn:aws:ecs:us-east-1:123456789012:cluster/batch',
    'autoScalingGroups=prod-asg',
    'terminationHookGroups=prod-asg,spot asg',
    'launchHookGroups=prod-asg',
    'minFreeCpu=2048',
    'minFreeMemory=4096',
    'sweeperReservedConcurrency=1',
  ]);
}, 120_000);

describe('packaged template', () => {
  it('deploys every function on nodejs22.x', () => {
    const functions = Object.values(defaultTemplate.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions.map((f) => f.Properties.Runtime)).toEqual(['nodejs22.x', 'nodejs22.x', 'nodejs22.x']);
  });

  it('routes the three EC2 detail-types to spotInterruption, the optional ones disabled by default', () => {
    const rules = Object.values(defaultTemplate.Resources).filter((r) => r.Type === 'AWS::Events::Rule');
    const byType = new Map(
      rules.map((rule) => {
        const pattern = (rule.Properties.EventPattern ?? {}) as { 'detail-type'?: string[] };
        return [pattern['detail-type']?.[0], rule.Properties.State] as const;
      }),
    );
    expect(byType.get('EC2 Spot Instance Interruption Warning')).toBe('ENABLED');
    expect(byType.get('EC2 Instance Rebalance Recommendation')).toBe('DISABLED');
    expect(byType.get('EC2 Instance State-change Notification')).toBe('DISABLED');
  });

  it('retries asynchronous invocations a bounded number of times and keeps failed events', () => {
    const configs = Object.values(defaultTemplate.Resources).filter((r) => r.Type === 'AWS::Lambda::EventInvokeConfig');
    expect(configs.length).toBe(3);
    for (const config of configs) {
      expect(config.Properties.MaximumRetryAttempts).toBeLessThanOrEqual(2);
      expect(JSON.stringify(config.Properties.DestinationConfig)).toContain('FailedEventsQueue');
    }
  });

  it('sets a log retention on every function log group', () => {
    const groups = Object.values(defaultTemplate.Resources).filter((r) => r.Type === 'AWS::Logs::LogGroup');
    expect(groups.length).toBe(3);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(30);
  });

  it('passes every environment variable the Spot drainer reads', () => {
    const env = envOf(defaultTemplate, 'SpotInterruptionLambdaFunction');
    for (const name of Object.keys(spotEnvSchema.shape)) expect(env).toHaveProperty(name);
    for (const name of Object.keys(commonSchema.shape)) expect(env).toHaveProperty(name);
  });

  it('has no IAM statement with Action "*" or a wildcard service action', () => {
    for (const template of [defaultTemplate, scopedTemplate]) {
      for (const [id] of roles()) {
        for (const statement of statementsOf(template, id)) {
          const actions = ([] as unknown[]).concat(statement.Action);
          for (const action of actions) expect(String(action)).not.toMatch(/(^\*$|:\*$)/);
        }
      }
    }
  });

  it('scopes the Spot drainer to the configured clusters', () => {
    const statements = statementsOf(scopedTemplate, 'SpotInterruptionRole');
    const text = JSON.stringify(statements);
    expect(text).not.toContain('ecs:ListClusters');
    expect(text).not.toContain('cluster/*');
    const list = statements.find((s) => ([] as unknown[]).concat(s.Action).includes('ecs:ListContainerInstances'));
    expect(JSON.stringify(list?.Resource)).toContain('cluster/prod-ecs');
    expect(list?.Resource).toContainEqual('arn:aws:ecs:us-east-1:123456789012:cluster/batch');
    const update = statements.find((s) => ([] as unknown[]).concat(s.Action).includes('ecs:UpdateContainerInstancesState'));
    expect(update?.Resource).toBe('*');
    expect(JSON.stringify(update?.Condition)).toContain('cluster/prod-ecs');
  });

  it('grants each ECS action on the resource type it authorizes on: ListTasks never on a cluster ARN (aws-behaviour.md §5)', () => {
    // Actions whose resource type is the cluster; every other ECS action the suite calls authorizes on
    // container instances or tasks ("*" with the ecs:cluster condition).
    // Actions whose resource type is the cluster (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html).
    const CLUSTER_RESOURCE_ACTIONS = ['ecs:ListContainerInstances', 'ecs:DescribeClusters', 'ecs:ListAttributes'];
    for (const template of [defaultTemplate, scopedTemplate]) {
      for (const [id] of roles()) {
        for (const statement of statementsOf(template, id)) {
          const actions = ([] as unknown[]).concat(statement.Action).map(String).filter((action) => action.startsWith('ecs:') && action !== 'ecs:ListClusters');
          if (actions.length === 0) continue;
          if (statement.Resource === '*') {
            expect({ id, actions, condition: JSON.stringify(statement.Condition) }).toEqual({ id, actions, condition: expect.stringContaining('ecs:cluster') });
          } else if (JSON.stringify(statement.Resource).includes(':capacity-provider/')) {
            // DescribeCapacityProviders authorizes on the capacity-provider resource type, alone in its statement.
            expect({ id, actions }).toEqual({ id, actions: ['ecs:DescribeCapacityProviders'] });
          } else {
            expect({ id, actions }).toEqual({ id, actions: actions.filter((action) => CLUSTER_RESOURCE_ACTIONS.includes(action)) });
          }
        }
        const listTasks = statementsOf(template, id).filter((statement) => ([] as unknown[]).concat(statement.Action).includes('ecs:ListTasks'));
        if (id === 'SpotInterruptionRole' || listTasks.length === 0) continue;
        expect(listTasks.map((statement) => statement.Resource)).toEqual(['*']);
      }
    }
  });

  it('grants ListClusters only when no cluster is configured', () => {
    expect(JSON.stringify(statementsOf(defaultTemplate, 'SpotInterruptionRole'))).toContain('ecs:ListClusters');
  });
});

describe('packaged template: a first deploy that cannot hurt', () => {
  it('reserves no concurrency by default; the stage parameter adds it', () => {
    expect(defaultTemplate.Resources.ScaleInSweeperLambdaFunction?.Properties).not.toHaveProperty('ReservedConcurrentExecutions');
    expect(scopedTemplate.Resources.ScaleInSweeperLambdaFunction?.Properties.ReservedConcurrentExecutions).toBe(1);
  });

  it('keeps two sweeps apart: schedule period at least twice the timeout, no retry of a failed run', () => {
    const fn = defaultTemplate.Resources.ScaleInSweeperLambdaFunction!;
    const rule = ofType(defaultTemplate, 'AWS::Events::Rule').find(([, r]) => JSON.stringify(r.Properties.Targets).includes('ScaleInSweeper'))!;
    const [, amount, unit] = /^rate\((\d+) (minute|minutes|hour|hours)\)$/.exec(String(rule[1].Properties.ScheduleExpression))!;
    const period = Number(amount) * (unit!.startsWith('hour') ? 3600 : 60);
    expect(period).toBeGreaterThanOrEqual(2 * Number(fn.Properties.Timeout));
    const invokeConfig = ofType(defaultTemplate, 'AWS::Lambda::EventInvokeConfig').find(([, r]) => JSON.stringify(r.Properties).includes('ScaleInSweeper'))!;
    expect(invokeConfig[1].Properties.MaximumRetryAttempts).toBe(0);
  });

  it('runs the sweeper in dry run until the stage sets its reserve, and the other functions live', () => {
    expect(envOf(defaultTemplate, 'ScaleInSweeperLambdaFunction').DRY_RUN).toBe('true');
    expect(envOf(defaultTemplate, 'SpotInterruptionLambdaFunction').DRY_RUN).toBe('false');
    expect(envOf(scopedTemplate, 'ScaleInSweeperLambdaFunction')).toMatchObject({ DRY_RUN: 'false', MIN_FREE_CPU: '2048', MIN_FREE_MEMORY: '4096' });
  });

  it('reads "*" as every cluster: an empty CLUSTERS and ListClusters granted', () => {
    expect(envOf(defaultTemplate, 'SpotInterruptionLambdaFunction').CLUSTERS).toBe('');
    expect(JSON.stringify(statementsOf(defaultTemplate, 'ScaleInSweeperRole'))).toContain('ecs:ListClusters');
  });

  it('lets the sweeper read lifecycle hooks, on "*" (the only resource DescribeLifecycleHooks supports)', () => {
    for (const template of [defaultTemplate, scopedTemplate]) {
      const hooks = statementsOf(template, 'ScaleInSweeperRole').filter((statement) =>
        ([] as unknown[]).concat(statement.Action).includes('autoscaling:DescribeLifecycleHooks'),
      );
      expect(hooks.map((statement) => statement.Resource)).toEqual(['*']);
    }
  });

  it('encrypts the lifecycle topic with the AWS managed key and lets only the stack publish to it', () => {
    expect(defaultTemplate.Resources.LifecycleTopic?.Properties.KmsMasterKeyId).toBe('alias/aws/sns');
    const policy = defaultTemplate.Resources.LifecycleTopicPolicy!;
    expect(policy.Type).toBe('AWS::SNS::TopicPolicy');
    const statements = (policy.Properties.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement;
    const publishers = [{ 'Fn::GetAtt': ['AutoScalingNotificationRole', 'Arn'] }, { 'Fn::GetAtt': ['LifecycleHookRole', 'Arn'] }];
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Allow', Principal: { AWS: publishers }, Action: 'sns:Publish' }));
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Principal: '*', Action: 'sns:Publish', Condition: { ArnNotEquals: { 'aws:PrincipalArn': publishers } } }),
    );
    // Both publishers may use the topic's key, through SNS only.
    for (const role of ['AutoScalingNotificationRole', 'LifecycleHookRole']) {
      const kms = statementsOf(defaultTemplate, role).find((s) => ([] as unknown[]).concat(s.Action).includes('kms:GenerateDataKey*'));
      expect(JSON.stringify(kms?.Condition)).toContain('kms:ViaService');
    }
  });

  it("lets Auto Scaling assume its role only for this account (aws:SourceAccount)", () => {
    const trust = defaultTemplate.Resources.AutoScalingNotificationRole?.Properties.AssumeRolePolicyDocument as { Statement: Array<Record<string, unknown>> };
    expect(trust.Statement).toEqual([
      expect.objectContaining({
        Principal: { Service: 'autoscaling.amazonaws.com' },
        Condition: { StringEqualsIfExists: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      }),
    ]);
  });

  it('keeps failed events 14 days and exports every output under a name with the stage', () => {
    expect(defaultTemplate.Resources.FailedEventsQueue?.Properties.MessageRetentionPeriod).toBe(1209600);
    const outputs = defaultTemplate.Outputs as Record<string, { Export?: { Name: string } }>;
    for (const name of ['LifecycleTopicArn', 'AutoScalingNotificationRoleArn', 'FailedEventsQueueUrl', 'FailedEventsQueueArn']) {
      expect(outputs[name]?.Export?.Name).toBe(`ecs-ec2-keeper-dev-${name}`);
    }
  });

  it('attaches no hook by default, and one hook per named group and transition when terminationHookGroups and launchHookGroups are set', () => {
    expect(ofType(defaultTemplate, 'AWS::AutoScaling::LifecycleHook')).toEqual([]);
    const hooks = ofType(scopedTemplate, 'AWS::AutoScaling::LifecycleHook').map(([, hook]) => hook);
    const described = hooks.map((hook) => `${hook.Properties.AutoScalingGroupName} ${hook.Properties.LifecycleTransition}`);
    expect(described.sort()).toEqual([
      'prod-asg autoscaling:EC2_INSTANCE_LAUNCHING',
      'prod-asg autoscaling:EC2_INSTANCE_TERMINATING',
      'spot asg autoscaling:EC2_INSTANCE_TERMINATING',
    ]);
    for (const hook of hooks) {
      const launch = hook.Properties.LifecycleTransition === 'autoscaling:EC2_INSTANCE_LAUNCHING';
      expect(hook.Properties).toEqual({
        AutoScalingGroupName: hook.Properties.AutoScalingGroupName,
        LifecycleHookName: launch ? 'ecs-ec2-keeper-dev-launch' : 'ecs-ec2-keeper-dev-drain',
        LifecycleTransition: hook.Properties.LifecycleTransition,
        NotificationTargetARN: { Ref: 'LifecycleTopic' },
        RoleARN: { 'Fn::GetAtt': ['AutoScalingNotificationRole', 'Arn'] },
        HeartbeatTimeout: launch ? 300 : 600,
        DefaultResult: 'CONTINUE',
      });
      // Created after (so deleted before) the topic's policy and the drainer's subscription.
      const dependsOn = (hook as unknown as { DependsOn: string[] }).DependsOn;
      expect(dependsOn).toContain('LifecycleTopicPolicy');
      expect(dependsOn.some((id) => scopedTemplate.Resources[id]?.Type === 'AWS::SNS::Subscription')).toBe(true);
    }
  });
});

describe('serverless package refuses bad settings before building anything', () => {
  const failure = (params: string[], env: Record<string, string> = {}): string => {
    try {
      execFileSync(SLS, ['package', '--package', join(tmpdir(), 'sls-never'), ...params.map((p) => `--param=${p}`)], {
        cwd: ROOT,
        env: { ...SLS_ENV, ...env },
        stdio: 'pipe',
        timeout: 60_000,
      });
    } catch (error) {
      const { status, stdout, stderr } = error as { status: number; stdout: Buffer; stderr: Buffer };
      expect(status).not.toBe(0);
      return `${String(stdout)}${String(stderr)}`;
    }
    throw new Error('serverless package succeeded');
  };

  it('names the function, the variable and the stage parameter of every bad value, with the function’s own message', () => {
    const output = failure(['clusters=prod', 'spotRetryMaxDelayMs=fast', 'logLevel=LOUD', 'rebalanceDrain=maybe', 'logRetentionDays=31']);
    expect(output).toContain('spotInterruption: AWS_RETRY_MAX_DELAY_MS (stage parameter spotRetryMaxDelayMs) must be a whole number from 100 to 20000');
    expect(output).toContain('spotInterruption, lifecycleHook, scaleInSweeper: LOG_LEVEL (stage parameter logLevel) must be one of DEBUG, INFO, WARN, ERROR');
    expect(output).toContain('REBALANCE_DRAIN (stage parameter rebalanceDrain) must be one of true, 1, yes, false, 0, no');
    expect(output).toContain('stage parameter logRetentionDays must be one of');
  }, 60_000);

  it('refuses an unknown stage parameter and a missing clusters choice', () => {
    const output = failure(['cluster=prod']);
    expect(output).toContain('unknown stage parameter "cluster" (did you mean clusters?)');
    expect(output).toContain('clusters (CLUSTERS) is required');
  }, 60_000);
});
