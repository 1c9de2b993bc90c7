import { METRICS, dimensionSets, specOf, type MetricName } from '../../lib/metrics';
import { ofType as resourcesOfType, packageStack, type Template } from './stack';

/**
 * The packaged stack's alarms, alarm topic and dashboard (deploy/alarms.cjs through
 * deploy/plugin.cjs), packaged once with the defaults and every cluster: each alarm on a suite
 * metric names a catalogue metric with exactly a dimension set the functions emit it with.
 */
const NAMESPACE = 'EcsEc2Keeper/dev';

let template: Template;

beforeAll(() => { template = packageStack(['clusters=*', 'alarmEmail=ops@example.com']); }, 180_000);

const ofType = (type: string) => resourcesOfType(template, type);
const alarms = () => ofType('AWS::CloudWatch::Alarm').map(([id, resource]) => ({ id, ...(resource.Properties as unknown as AlarmProps) }));
interface AlarmProps {
  Namespace: string;
  MetricName: string;
  Dimensions?: { Name: string; Value: unknown }[];
  AlarmActions: unknown[];
  Threshold: number;
}

describe('packaged alarms and dashboard (defaults, clusters=*)', () => {
  it('alarms on every queue of the stack, and on the Errors and Throttles of every function', () => {
    const queues = ofType('AWS::SQS::Queue').map(([id]) => id);
    expect(queues).toContain('FailedEventsQueue');
    for (const queue of queues) {
      const alarm = alarms().find((entry) => entry.Namespace === 'AWS/SQS' && JSON.stringify(entry.Dimensions) === JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }]));
      expect(alarm).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    }
    const functions = ofType('AWS::Lambda::Function').map(([id]) => id);
    expect(functions.sort()).toEqual(['LifecycleHookLambdaFunction', 'ScaleInSweeperLambdaFunction', 'SpotInterruptionLambdaFunction']);
    for (const fn of functions) {
      const named = alarms().filter((entry) => entry.Namespace === 'AWS/Lambda' && JSON.stringify(entry.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: { Ref: fn } }]));
      expect(named.map((entry) => entry.MetricName).sort()).toEqual(['Errors', 'Throttles']);
    }
  });

  it('alarms on LifecycleDeadline, LaunchAbandoned, LifecycleFailed, DrainFailed, SweepFailed and InvalidEvent in the stage namespace', () => {
    const suite = alarms().filter((entry) => entry.Namespace === NAMESPACE);
    expect(suite.map((entry) => entry.MetricName).sort()).toEqual(['DrainFailed', 'InvalidEvent', 'LaunchAbandoned', 'LifecycleDeadline', 'LifecycleFailed', 'SweepFailed']);
  });

  it('every alarm on a suite metric names a catalogue metric with exactly a dimension set it is emitted with', () => {
    const suite = alarms().filter((entry) => !entry.Namespace.startsWith('AWS/'));
    expect(suite.length).toBeGreaterThan(0);
    for (const alarm of suite) {
      expect(alarm.Namespace).toBe(NAMESPACE);
      const spec = specOf(alarm.MetricName);
      expect(spec).toBeDefined();
      const names = (alarm.Dimensions ?? []).map((dimension) => dimension.Name).sort();
      expect(dimensionSets(alarm.MetricName as MetricName).map((set) => [...set].sort())).toContainEqual(names);
    }
  });

  it('sends every alarm and its recovery to an encrypted alarm topic CloudWatch may publish to, with the optional e-mail subscription', () => {
    for (const alarm of alarms()) expect(alarm.AlarmActions).toEqual([{ Ref: 'AlarmTopic' }]);
    const topic = template.Resources.AlarmTopic!;
    expect(topic.Properties.KmsMasterKeyId).toEqual({ Ref: 'AlarmKey' });
    const key = JSON.stringify(template.Resources.AlarmKey!.Properties.KeyPolicy);
    expect(key).toContain('cloudwatch.amazonaws.com');
    const policy = JSON.stringify(template.Resources.AlarmTopicPolicy!.Properties.PolicyDocument);
    expect(policy).toContain('cloudwatch.amazonaws.com');
    expect(policy).toContain('aws:SourceAccount');
    expect(template.Resources.AlarmEmailSubscription!.Properties).toEqual({ TopicArn: { Ref: 'AlarmTopic' }, Protocol: 'email', Endpoint: 'ops@example.com' });
    expect(template.Outputs).toHaveProperty('AlarmTopicArn');
  });

  it('has a dashboard with one per-cluster SEARCH per catalogue metric, on exactly its dimensions', () => {
    const body = (template.Resources.Dashboard!.Properties.DashboardBody as { 'Fn::Sub': string })['Fn::Sub'];
    const widgets = (JSON.parse(body) as { widgets: { properties: { metrics: unknown[][] } }[] }).widgets;
    const expressions = widgets.flatMap((widget) => widget.properties.metrics.flat()).map((metric) => (metric as { expression?: string }).expression).filter(Boolean);
    for (const [name, spec] of Object.entries(METRICS)) {
      const schema = [`"${NAMESPACE}"`, ...spec.dimensions].join(',');
      expect(expressions).toContainEqual(expect.stringContaining(`SEARCH('{${schema}} MetricName="${name}"'`));
    }
    expect(expressions).toHaveLength(Object.keys(METRICS).length);
  });

  it('gives the functions the stage namespace and the ops notice level', () => {
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      const variables = (fn.Properties.Environment as { Variables: Record<string, string> }).Variables;
      expect(variables.METRICS_NAMESPACE).toBe(NAMESPACE);
    }
    const lifecycle = (template.Resources.LifecycleHookLambdaFunction!.Properties.Environment as { Variables: Record<string, string> }).Variables;
    expect(lifecycle.OPS_NOTIFY_LEVEL).toBe('problems');
  });
});

describe('IAM for operators notices', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const iam = require('../../deploy/iam.cjs') as (input: { resolveVariable: (name: string) => Promise<unknown> }) => Promise<Record<string, { Action: string[]; Resource: unknown }[]>>;
  const OPS = 'arn:aws:sns:us-east-1:123456789012:ops';
  const build = (opsTopicArn: string) =>
    iam({
      resolveVariable: async (name) =>
        (({ 'param:clusters': 'prod', 'param:metricsNamespace': NAMESPACE, 'param:opsTopicArn': opsTopicArn, 'self:service': 'ecs-ec2-keeper', 'sls:stage': 'dev' }) as Record<string, string>)[name] ?? '',
    });

  it('lets the sweeper publish to the ops topic only, and only when one is set', async () => {
    const publishes = (statements: { Action: string[]; Resource: unknown }[]) => statements.filter((statement) => statement.Action.includes('sns:Publish'));
    expect(publishes((await build(OPS)).sweeperStatements!)).toEqual([{ Effect: 'Allow', Action: ['sns:Publish'], Resource: OPS }]);
    expect(publishes((await build('')).sweeperStatements!)).toEqual([]);
  });
});
