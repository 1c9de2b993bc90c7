'use strict';
// The stack's alarms, alarm topic and dashboard, built from the metric catalogue (lib/metrics.ts)
// and the packaged template (every queue and function in it), so an alarm can only name a metric
// the functions emit, with exactly the dimensions they emit it with. Added to the template by
// deploy/plugin.cjs; nothing here calls AWS.

/** The TypeScript catalogue: natively where TypeScript is already loadable (jest), else through tsx. */
function load(path) {
  try {
    return require(path);
  } catch {
    return require('tsx/cjs/api').require(`${path}.ts`, __filename);
  }
}

const { METRICS, dimensionSets } = load('../lib/metrics');

const PERIOD = 300;
const TOPIC = 'AlarmTopic';

const alarmActions = () => ({ AlarmActions: [{ Ref: TOPIC }], OKActions: [{ Ref: TOPIC }] });

function alarm(description, metric, { threshold, comparison = 'GreaterThanOrEqualToThreshold', statistic = 'Sum', period = PERIOD }) {
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmDescription: description,
      Namespace: metric.namespace,
      MetricName: metric.name,
      ...(metric.dimensions.length > 0 ? { Dimensions: metric.dimensions } : {}),
      Statistic: statistic,
      Period: period,
      EvaluationPeriods: 1,
      Threshold: threshold,
      ComparisonOperator: comparison,
      // No datapoint means nothing happened: EMF metrics exist only when counted.
      TreatMissingData: 'notBreaching',
      ...alarmActions(),
    },
  };
}

/** Widgets of the suite's metrics, one per catalogue metric, one line per cluster (a SEARCH). */
function dashboardBody(namespace, functionIds) {
  const widgets = [];
  const place = (title, stat, metrics) => {
    const index = widgets.length;
    const properties = { title, region: '${AWS::Region}', stat, period: PERIOD, metrics };
    widgets.push({ type: 'metric', properties, x: (index % 3) * 8, y: Math.floor(index / 3) * 6, width: 8, height: 6 });
  };
  // Dashboards accept SEARCH expressions (alarms do not): every cluster gets its own line, including
  // clusters that appear after the deploy (clusters=*).
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-search-expressions.html
  for (const [name, spec] of Object.entries(METRICS)) {
    const schema = [JSON.stringify(namespace), ...spec.dimensions].join(',');
    const stat = spec.channel === 'put-metric-data' && spec.unit === 'None' ? 'Average' : 'Sum';
    const title = spec.dimensions.includes('cluster') ? `${name} per cluster` : `${name} by ${spec.dimensions.join(', ')}`;
    place(title, stat, [[{ expression: `SEARCH('{${schema}} MetricName="${name}"', '${stat}', ${PERIOD})`, id: 'e1', label: '' }]]);
  }
  place(
    'Function errors and throttles',
    'Sum',
    functionIds.flatMap((id) => [
      ['AWS/Lambda', 'Errors', 'FunctionName', `\${${id}}`],
      ['AWS/Lambda', 'Throttles', 'FunctionName', `\${${id}}`],
    ]),
  );
  return { 'Fn::Sub': JSON.stringify({ widgets }) };
}

/**
 * Resources and outputs to add to the template. `resources` is the template's Resources (read only).
 * The alarms name the suite-wide series of each alarmed metric (no dimension, emitted next to the
 * per-cluster one: lib/metrics.ts), since a metric alarm watches one exact dimension set.
 */
function buildMonitoring({ resources, namespace, alarmEmail = '', service, stage }) {
  const out = {};
  const ids = (type) => Object.keys(resources).filter((id) => resources[id].Type === type).sort();
  const queues = ids('AWS::SQS::Queue');
  const functions = ids('AWS::Lambda::Function');

  // CloudWatch alarms can publish to an encrypted topic only if its key admits CloudWatch, which the
  // AWS managed key (alias/aws/sns) does not: the alarm topic has its own key.
  // https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
  out.AlarmKey = {
    Type: 'AWS::KMS::Key',
    Properties: {
      Description: `${service}-${stage} alarm topic`,
      EnableKeyRotation: true,
      KeyPolicy: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AccountAdministers',
            Effect: 'Allow',
            Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } },
            Action: 'kms:*',
            Resource: '*',
          },
          {
            Sid: 'CloudWatchAlarmsPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Resource: '*',
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          },
        ],
      },
    },
  };
  out[TOPIC] = {
    Type: 'AWS::SNS::Topic',
    Properties: { TopicName: `${service}-${stage}-alarms`, DisplayName: `${service} ${stage} alarms`, KmsMasterKeyId: { Ref: 'AlarmKey' } },
  };
  out.AlarmTopicPolicy = {
    Type: 'AWS::SNS::TopicPolicy',
    Properties: {
      Topics: [{ Ref: TOPIC }],
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'CloudWatchAlarmsOfThisAccount',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: TOPIC },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          },
        ],
      },
    },
  };
  if (alarmEmail) {
    out.AlarmEmailSubscription = { Type: 'AWS::SNS::Subscription', Properties: { TopicArn: { Ref: TOPIC }, Protocol: 'email', Endpoint: alarmEmail } };
  }

  for (const queue of queues) {
    out[`${queue}NotEmptyAlarm`] = alarm(
      `${queue} holds events that failed every attempt: inspect and replay them (README, "Alarms")`,
      { namespace: 'AWS/SQS', name: 'ApproximateNumberOfMessagesVisible', dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }] },
      { threshold: 0, comparison: 'GreaterThanThreshold', statistic: 'Maximum' },
    );
  }
  for (const fn of functions) {
    for (const metric of ['Errors', 'Throttles']) {
      out[`${fn.replace(/LambdaFunction$/, '')}${metric}Alarm`] = alarm(
        `${fn}: ${metric} (AWS/Lambda)`,
        { namespace: 'AWS/Lambda', name: metric, dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }] },
        { threshold: 1 },
      );
    }
  }
  for (const [name, spec] of Object.entries(METRICS)) {
    if (!spec.alarm) continue;
    // The suite-wide series: the empty dimension set the telemetry adds for alarmed metrics.
    if (!dimensionSets(name).some((set) => set.length === 0)) throw new Error(`${name} has no suite-wide series to alarm on`);
    out[`${name}Alarm`] = alarm(`${name} >= ${spec.alarm.threshold} in ${spec.alarm.periodSeconds / 60} min: ${spec.alarm.why}`, { namespace, name, dimensions: [] }, {
      threshold: spec.alarm.threshold,
      period: spec.alarm.periodSeconds,
    });
  }

  out.Dashboard = {
    Type: 'AWS::CloudWatch::Dashboard',
    Properties: { DashboardName: `${service}-${stage}`.replace(/[^A-Za-z0-9_-]/g, '-'), DashboardBody: dashboardBody(namespace, functions) },
  };

  return {
    Resources: out,
    Outputs: {
      AlarmTopicArn: { Description: 'Alarm notifications (subscribe e-mail, chat or a webhook)', Value: { Ref: TOPIC }, Export: { Name: `${service}-${stage}-AlarmTopicArn` } },
      DashboardName: { Description: 'CloudWatch dashboard of the suite', Value: { Ref: 'Dashboard' } },
    },
  };
}

module.exports = { buildMonitoring };
