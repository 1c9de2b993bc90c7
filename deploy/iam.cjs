'use strict';
// IAM statements of the three functions, built from the stage parameters so that every statement
// names the managed clusters, Auto Scaling groups, topics and namespace when they are configured.
// Resolved by the Serverless Framework at package time; nothing here calls AWS.
// Resource-level support and condition keys: docs/aws-behaviour.md §5.

const split = (value) =>
  String(value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

const sub = (text) => ({ 'Fn::Sub': text });

const clusterArn = (cluster) =>
  cluster.startsWith('arn:') ? cluster : sub(`arn:\${AWS::Partition}:ecs:\${AWS::Region}:\${AWS::AccountId}:cluster/${cluster}`);

const groupArn = (group) =>
  group.startsWith('arn:')
    ? group
    : sub(`arn:\${AWS::Partition}:autoscaling:\${AWS::Region}:\${AWS::AccountId}:autoScalingGroup:*:autoScalingGroupName/${group}`);

const ALL_CLUSTERS = sub('arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:cluster/*');
const ALL_GROUPS = sub('arn:${AWS::Partition}:autoscaling:${AWS::Region}:${AWS::AccountId}:autoScalingGroup:*:autoScalingGroupName/*');
const ALL_CAPACITY_PROVIDERS = sub('arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:capacity-provider/*');

module.exports = async ({ resolveVariable }) => {
  // "*" is the explicit choice of every cluster (deploy/settings.cjs requires clusters to be set).
  const clusters = split(await resolveVariable('param:clusters')).filter((cluster) => cluster !== '*');
  const groups = split(await resolveVariable('param:autoScalingGroups'));
  const namespace = String(await resolveVariable('param:metricsNamespace'));
  const opsTopic = String((await resolveVariable('param:opsTopicArn')) ?? '').trim();
  const requeueTopic = String((await resolveVariable('param:lifecycleTopicArn')) ?? '').trim();
  const managedDraining = String((await resolveVariable('param:managedDraining')) ?? 'defer').trim();
  const capacityProviders = String((await resolveVariable('param:capacityProviders')) ?? 'stand-down').trim();
  const clusterArns = clusters.length > 0 ? clusters.map(clusterArn) : [ALL_CLUSTERS];
  const groupArns = groups.length > 0 ? groups.map(groupArn) : [ALL_GROUPS];

  // ListClusters has no resource-level permissions; it is granted only when no cluster is configured.
  const discoverClusters =
    clusters.length > 0 ? [] : [{ Effect: 'Allow', Action: ['ecs:ListClusters'], Resource: '*' }];
  const listInClusters = (actions) => ({ Effect: 'Allow', Action: actions, Resource: clusterArns });
  // Container-instance and task actions are scoped with the ecs:cluster condition (full cluster ARN).
  const inClusters = (actions) => ({
    Effect: 'Allow',
    Action: actions,
    Resource: '*',
    Condition: { ArnLike: { 'ecs:cluster': clusterArns } },
  });
  const onGroups = (actions) => ({ Effect: 'Allow', Action: actions, Resource: groupArns });
  // Describe calls of Auto Scaling support no resource-level permissions.
  const describeAutoScaling = (actions) => ({ Effect: 'Allow', Action: actions, Resource: '*' });

  // A cluster's capacity providers (docs/aws-behaviour.md §3.5): DescribeClusters names them (on the
  // cluster), DescribeCapacityProviders describes them; it authorizes on the capacity-provider
  // resource type, whose names are not known here, so the account and Region are the narrowest
  // scope (docs/aws-behaviour.md §5,
  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html).
  const readCapacityProviders = [
    listInClusters(['ecs:DescribeClusters']),
    { Effect: 'Allow', Action: ['ecs:DescribeCapacityProviders'], Resource: ALL_CAPACITY_PROVIDERS },
  ];

  // Publishing to a topic, and to an encrypted topic's key through SNS only.
  const publishTo = (topics) => [
    { Effect: 'Allow', Action: ['sns:Publish'], Resource: topics },
    {
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
      Resource: '*',
      Condition: { StringEquals: { 'kms:ViaService': sub('sns.${AWS::Region}.amazonaws.com') } },
    },
  ];

  const service = String(await resolveVariable('self:service'));
  const stage = String(await resolveVariable('sls:stage'));
  // Every function writes only its own log group and sends failed events only to the stack's queue.
  const base = (functionName) => [
    {
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: sub(`arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${service}-${stage}-${functionName}:*`),
    },
    { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: { 'Fn::GetAtt': ['FailedEventsQueue', 'Arn'] } },
  ];

  return {
    spotStatements: [
      ...base('spotInterruption'),
      ...discoverClusters,
      // DescribeClusters: a cluster's size decides whether a batch pages it (lib/spot/plan.ts);
      // ListAttributes: the rebalance drains past their grace period (lib/spot/grace.ts).
      listInClusters(['ecs:ListContainerInstances', 'ecs:DescribeClusters', 'ecs:ListAttributes']),
      // PutAttributes / DeleteAttributes: the record of each drain, removed when the drain is undone (lib/spot/record.ts).
      inClusters(['ecs:DescribeContainerInstances', 'ecs:UpdateContainerInstancesState', 'ecs:PutAttributes', 'ecs:DeleteAttributes']),
      // Scheduled events: terminate through the group without lowering desired capacity; early
      // Spot replacement: detach from the group (lib/spot/handler.ts). Only the configured groups.
      onGroups(['autoscaling:TerminateInstanceInAutoScalingGroup', 'autoscaling:DetachInstances']),
      // Group membership before undoing a drain or acting on a scheduled event.
      describeAutoScaling(['autoscaling:DescribeAutoScalingInstances']),
    ],
    lifecycleStatements: [
      ...base('lifecycleHook'),
      ...discoverClusters,
      // ListTasks authorizes on container-instance with the ecs:cluster condition, not on the cluster
      // ARN (docs/aws-behaviour.md §5): it is granted below, never here, where it would match nothing.
      listInClusters(['ecs:ListContainerInstances']),
      // PutAttributes: the lease attribute that ends duplicate requeue chains (lib/lifecycle/lease.ts).
      inClusters([
        'ecs:DescribeContainerInstances',
        'ecs:UpdateContainerInstancesState',
        'ecs:ListTasks',
        'ecs:DescribeTasks',
        // The cluster's DAEMON services, one ListServices per round (lib/aws/tasks.ts), and for the
        // launch hook their placement constraints (lib/aws/daemons.ts): DescribeServices authorizes
        // on the service, with the ecs:cluster condition (docs/aws-behaviour.md §5).
        'ecs:ListServices',
        'ecs:DescribeServices',
        'ecs:StopTask',
        'ecs:PutAttributes',
      ]),
      onGroups(['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat']),
      // DescribeAutoScalingGroups: the instance's lifecycle state and its group's drains in progress,
      // which pace the drains' ECS reads (lib/lifecycle/decide.ts pacing); after an ABANDON at the
      // deadline, whether the group retains the instance (lib/lifecycle/execute.ts).
      describeAutoScaling(['autoscaling:DescribeAutoScalingGroups', 'autoscaling:DescribeAutoScalingInstances', 'autoscaling:DescribeLifecycleHooks']),
      // Whether a group's capacity provider drains it (managed draining), unless told to drain anyway
      // (lib/lifecycle/capacity-reads.ts).
      ...(managedDraining === 'drain-anyway' ? [] : readCapacityProviders),
      // The EC2 state of an instance whose ECS agent is disconnected (lib/lifecycle/snapshot.ts);
      // DescribeInstances supports no resource-level permissions (docs/aws-behaviour.md §5).
      { Effect: 'Allow', Action: ['ec2:DescribeInstances'], Resource: '*' },
      // The requeue topic, and the operators' topic for deadline notices when one is configured; the
      // stack's topic is encrypted (alias/aws/sns).
      ...publishTo([{ Ref: 'LifecycleTopic' }, ...(requeueTopic ? [requeueTopic] : []), ...(opsTopic ? [opsTopic] : [])]),
    ],
    sweeperStatements: [
      ...base('scaleInSweeper'),
      ...discoverClusters,
      listInClusters(['ecs:ListContainerInstances']),
      inClusters([
        'ecs:DescribeContainerInstances',
        'ecs:UpdateContainerInstancesState',
        'ecs:ListTasks',
        'ecs:DescribeTasks',
        // One ListServices per cluster finds the DAEMON services (iam-floyd ecs.ts: ifCluster applies);
        // the sweeper never needs DescribeServices.
        'ecs:ListServices',
        'ecs:PutAttributes',
        'ecs:DeleteAttributes',
      ]),
      onGroups(['autoscaling:TerminateInstanceInAutoScalingGroup']),
      // Managed scaling and managed termination protection per group (lib/sweeper/snapshot.ts).
      ...(capacityProviders === 'cooperate' ? [] : readCapacityProviders),
      // DescribeLifecycleHooks: whether a group's termination hook waits for the daemon tasks
      // (lib/sweeper/execute.ts); like the other Describe calls it supports only "*".
      describeAutoScaling([
        'autoscaling:DescribeAutoScalingInstances',
        'autoscaling:DescribeAutoScalingGroups',
        'autoscaling:DescribeLifecycleHooks',
      ]),
      {
        Effect: 'Allow',
        Action: ['cloudwatch:PutMetricData'],
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': namespace } },
      },
      // Removal notices to the operators' topic only, when one is configured (lib/notify.ts).
      ...(opsTopic ? publishTo(opsTopic) : []),
    ],
  };
};
