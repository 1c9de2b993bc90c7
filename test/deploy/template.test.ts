import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commonSchema } from '../../lib/config';
import { spotEnvSchema } from '../../lib/spot/config';

/**
 * Packages the service offline, the way `npx serverless package` does, and checks the
 * CloudFormation template a deploy would create.
 */
type Template = { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>; Outputs: Record<string, unknown> };

const ROOT = join(__dirname, '../..');

function packageTemplate(params: string[]): { template: Template; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sls-package-'));
  execFileSync(join(ROOT, 'node_modules/.bin/serverless'), ['package', '--package', dir, ...params.map((p) => `--param=${p}`)], {
    cwd: ROOT,
    env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
    stdio: 'pipe',
  });
  const template = JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
  return { template, dir };
}

function statementsOf(template: Template, roleId: string): Array<Record<string, unknown>> {
  const role = template.Resources[roleId];
  const policies = (role?.Properties.Policies ?? []) as Array<{ PolicyDocument: { Statement: Array<Record<string, unknown>> } }>;
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

function envOf(template: Template, functionId: string): Record<string, unknown> {
  const fn = template.Resources[functionId];
  return ((fn?.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {});
}

const roles = () => Object.entries(defaultTemplate.Resources).filter(([, r]) => r.Type === 'AWS::IAM::Role');

let defaultTemplate: Template;
let scopedTemplate: Template;
const dirs: string[] = [];

beforeAll(() => {
  const plain = packageTemplate([]);
  const scoped = packageTemplate(['clusters=prod-ecs,arn:aws:ecs:us-east-1:123456789012:cluster/batch', 'autoScalingGroups=prod-asg']);
  defaultTemplate = plain.template;
  scopedTemplate = scoped.template;
  dirs.push(plain.dir, scoped.dir);
}, 120_000);

afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

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

  it('grants ListClusters only when no cluster is configured', () => {
    expect(JSON.stringify(statementsOf(defaultTemplate, 'SpotInterruptionRole'))).toContain('ecs:ListClusters');
  });
});
