import { DescribeAutoScalingGroupsCommand, DescribeLifecycleHooksCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { DescribeCapacityProvidersCommand, DescribeClustersCommand, DescribeContainerInstancesCommand, ListClustersCommand, ListContainerInstancesCommand } from '@aws-sdk/client-ecs';
import { DescribeRuleCommand } from '@aws-sdk/client-eventbridge';
import { GetAccountSettingsCommand, GetFunctionConcurrencyCommand } from '@aws-sdk/client-lambda';
import type { AwsClients, DoctorClients } from '../clients';
import { errorMessage, isResourceNotFound, isUnknownOperation, isValidationError } from '../errors';
import { LEASE_ATTRIBUTE } from '../lifecycle/lease';
import { DRAINED_AT_ATTRIBUTE, IDLE_SINCE_ATTRIBUTE } from '../sweeper/types';

/**
 * The preflight check (`npm run doctor`): read-only calls that tell an operator, per managed cluster
 * and group, whether the suite can work there. A check the endpoint cannot answer is `unknown`,
 * never `pass`. Facts relied on: docs/aws-behaviour.md §8.4.
 */
export type Status = 'pass' | 'warn' | 'fail' | 'unknown';

export interface Row {
  subject: string;
  check: string;
  status: Status;
  detail: string;
}

export interface Target {
  /** Managed clusters; empty: every cluster (ListClusters). */
  clusters: string[];
  /** Groups that should carry the termination hook; empty: every group. */
  groups: string[];
  /** The hook's expected notification target: a topic ARN, or the topic's name. */
  topic: string;
  /** The stage's stack and what its settings enable; unset: the rules and concurrency are not checked. */
  stage?: StageTarget;
}

/** A rule of the stack, found by its CloudFormation logical ID, and whether the stage enables it. */
export interface RuleExpectation {
  logicalId: RegExp;
  label: string;
  enabled: boolean;
}

export interface StageTarget {
  /** CloudFormation stack name: `<service>-<stage>`. */
  stack: string;
  rules: RuleExpectation[];
  /** The functions that can carry a reserved concurrency, with what the stage reserves (0: none). */
  reservations: Array<{ functionName: string; parameter: string; reserved: number }>;
}

/** The stage settings (`custom.settings` of `serverless print`, deploy/settings.cjs) these checks read. */
export interface StageSettings {
  rebalanceRuleState: string;
  stateChangeRuleState: string;
  runningRuleState: string;
  scheduledEventRuleState: string;
  sweepEnabled: boolean;
  lifecycleTaskEvents: boolean;
  sweeperReservedConcurrency?: number;
  lifecycleReservedConcurrency?: number;
}

/**
 * The stack's rules (serverless.yml; the schedule rule carries the logical ID the Serverless
 * Framework gives it) and the states the stage sets.
 */
export function stageTarget(service: string, stage: string, settings: StageSettings): StageTarget {
  const on = (state: string) => state === 'ENABLED';
  return {
    stack: `${service}-${stage}`,
    rules: [
      { logicalId: /^SpotWarningRule$/, label: 'SpotWarningRule', enabled: true },
      { logicalId: /^SpotRebalanceRule$/, label: 'SpotRebalanceRule', enabled: on(settings.rebalanceRuleState) },
      { logicalId: /^SpotStateChangeRule$/, label: 'SpotStateChangeRule', enabled: on(settings.stateChangeRuleState) },
      { logicalId: /^SpotRunningRule$/, label: 'SpotRunningRule', enabled: on(settings.runningRuleState) },
      { logicalId: /^ScheduledEventRule$/, label: 'ScheduledEventRule', enabled: on(settings.scheduledEventRuleState) },
      { logicalId: /^ScaleInSweeperEventsRuleSchedule\d+$/, label: 'sweeper schedule', enabled: settings.sweepEnabled },
      { logicalId: /^TaskStoppedRule$/, label: 'lifecycle task rule', enabled: settings.lifecycleTaskEvents },
    ],
    reservations: [
      { functionName: `${service}-${stage}-scaleInSweeper`, parameter: 'sweeperReservedConcurrency', reserved: settings.sweeperReservedConcurrency ?? 0 },
      { functionName: `${service}-${stage}-lifecycleHook`, parameter: 'lifecycleReservedConcurrency', reserved: settings.lifecycleReservedConcurrency ?? 0 },
    ],
  };
}

/** Lambda keeps at least this much of the account's concurrency unreserved (docs/aws-behaviour.md §8.3). */
export const MIN_UNRESERVED_CONCURRENCY = 100;
/** An account limit at or below this is shared thin by a Spot storm or a fleet's scale-in. */
export const SMALL_CONCURRENCY_LIMIT = 50;

/** ECS allows 10 custom attributes per container instance; ECS's own (ecs.*, com.amazonaws.ecs.*) do not count. */
export const CUSTOM_ATTRIBUTE_LIMIT = 10;
/** The attributes the suite writes on a container instance. */
export const SUITE_ATTRIBUTES = [LEASE_ATTRIBUTE, IDLE_SINCE_ATTRIBUTE, DRAINED_AT_ATTRIBUTE];
/** Heartbeat timeouts the lifecycle drainer is built for (README, "Attach a hook to a group"). */
export const HEARTBEAT_RANGE = { min: 120, max: 3600 };

async function orUnknown(rows: Row[], subject: string, check: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    rows.push({ subject, check, status: isUnknownOperation(error) ? 'unknown' : 'fail', detail: firstLine(error) });
  }
}

const isCustom = (name: string) => !name.startsWith('ecs.') && !name.startsWith('com.amazonaws.ecs.');

export async function runChecks(clients: Pick<AwsClients, 'ecs' | 'autoScaling'> & Partial<DoctorClients>, target: Target): Promise<Row[]> {
  const rows: Row[] = [];
  let clusters = target.clusters;
  if (clusters.length === 0) {
    const listed = await clients.ecs.send(new ListClustersCommand({}));
    clusters = listed.clusterArns ?? [];
    rows.push({ subject: 'account', check: 'clusters', status: clusters.length > 0 ? 'pass' : 'warn', detail: `every cluster: ${clusters.length} found` });
  }
  for (const cluster of clusters) await checkCluster(clients, cluster, rows);

  let groups = target.groups;
  if (groups.length === 0) {
    const all = await clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({ IncludeInstances: false }));
    groups = (all.AutoScalingGroups ?? []).map((group) => group.AutoScalingGroupName!);
  }
  for (const group of groups) await checkGroup(clients, group, target.topic, rows);

  if (target.stage && clients.cloudFormation && clients.eventBridge && clients.lambda) {
    rows.push(await checkRules({ cloudFormation: clients.cloudFormation, eventBridge: clients.eventBridge }, target.stage));
    rows.push(await checkConcurrency({ lambda: clients.lambda }, target.stage));
  } else {
    rows.push({ subject: 'account', check: 'EventBridge rules enabled', status: 'unknown', detail: 'not checked: no stage given' });
    rows.push({ subject: 'account', check: 'Lambda concurrency', status: 'unknown', detail: 'not checked: no stage given' });
  }
  return rows;
}

const firstLine = (error: unknown) => {
  const name = (error as { name?: unknown } | undefined)?.name;
  return `${typeof name === 'string' ? `${name}: ` : ''}${errorMessage(error)}`.split('\n')[0]!;
};

/**
 * CloudFormation answers DescribeStackResources on a stack that does not exist with a
 * ValidationError "Stack with id … does not exist".
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackResources.html
 */
const isStackMissing = (error: unknown) => isValidationError(error) && /does not exist/i.test(errorMessage(error));

/**
 * Each rule of the deployed stack against the state the stage sets. Any answer other than the
 * rules' (no permission, an endpoint that does not speak CloudFormation or EventBridge, such as the
 * simulator) leaves the check unknown.
 */
export async function checkRules(clients: Pick<DoctorClients, 'cloudFormation' | 'eventBridge'>, stage: StageTarget): Promise<Row> {
  const subject = `stack ${stage.stack}`;
  const check = 'EventBridge rules enabled';
  try {
    let resources;
    try {
      resources = (await clients.cloudFormation.send(new DescribeStackResourcesCommand({ StackName: stage.stack }))).StackResources ?? [];
    } catch (error) {
      if (isStackMissing(error)) return { subject, check, status: 'warn', detail: `not deployed: no stack ${stage.stack} in this account and Region` };
      throw error;
    }
    const rules = resources.filter((resource) => resource.ResourceType === 'AWS::Events::Rule' && resource.PhysicalResourceId);
    const wronglyOff: string[] = [];
    const wronglyOn: string[] = [];
    const missing: string[] = [];
    const enabled: string[] = [];
    for (const expected of stage.rules) {
      const found = rules.filter((rule) => expected.logicalId.test(rule.LogicalResourceId ?? ''));
      if (found.length === 0) {
        if (expected.enabled) missing.push(expected.label);
        continue;
      }
      for (const rule of found) {
        // A rule's physical ID is its name (on the default event bus).
        const { State } = await clients.eventBridge.send(new DescribeRuleCommand({ Name: rule.PhysicalResourceId }));
        const on = State === 'ENABLED' || State === 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';
        if (expected.enabled && !on) wronglyOff.push(`${expected.label} ${State ?? 'state unknown'}`);
        else if (!expected.enabled && on) wronglyOn.push(expected.label);
        else if (on) enabled.push(expected.label);
      }
    }
    if (wronglyOff.length > 0 || missing.length > 0) {
      const parts = [
        wronglyOff.length > 0 ? `the stage enables but the stack has ${wronglyOff.join(', ')}` : '',
        missing.length > 0 ? `missing from the stack: ${missing.join(', ')}` : '',
      ].filter(Boolean);
      return { subject, check, status: 'fail', detail: `${parts.join('; ')} (deploy the stage again)` };
    }
    if (wronglyOn.length > 0) return { subject, check, status: 'warn', detail: `enabled though the stage disables: ${wronglyOn.join(', ')} (a deploy turns them off)` };
    return { subject, check, status: 'pass', detail: `enabled as the stage sets: ${enabled.join(', ')}` };
  } catch (error) {
    return { subject, check, status: 'unknown', detail: `cannot read: ${firstLine(error)}` };
  }
}

/**
 * The account's concurrency against the stage's reservations. A reservation that would leave
 * less than 100 unreserved fails the deploy; the function's current reservation is already out
 * of the unreserved figure, so it is counted back before the stage's is taken.
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
 */
export async function checkConcurrency(clients: Pick<DoctorClients, 'lambda'>, stage: StageTarget): Promise<Row> {
  const subject = 'account';
  const check = 'Lambda concurrency';
  try {
    const limit = (await clients.lambda.send(new GetAccountSettingsCommand({}))).AccountLimit;
    const total = limit?.ConcurrentExecutions;
    const unreserved = limit?.UnreservedConcurrentExecutions;
    if (total === undefined || unreserved === undefined) return { subject, check, status: 'unknown', detail: 'GetAccountSettings did not return the account limit' };
    const wanted = stage.reservations.filter((reservation) => reservation.reserved > 0);
    const reserving = wanted.reduce((sum, reservation) => sum + reservation.reserved, 0);
    let held = 0;
    if (reserving > 0) {
      for (const reservation of stage.reservations) {
        try {
          held += (await clients.lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: reservation.functionName }))).ReservedConcurrentExecutions ?? 0;
        } catch (error) {
          if (!isResourceNotFound(error)) throw error;
        }
      }
    }
    const after = unreserved + held - reserving;
    const figures = `limit ${total}, unreserved ${unreserved}`;
    if (reserving > 0 && after < MIN_UNRESERVED_CONCURRENCY) {
      const named = wanted.map((reservation) => `${reservation.parameter}=${reservation.reserved}`).join(', ');
      return {
        subject,
        check,
        status: 'fail',
        detail: `${figures}: ${named} would leave ${after} unreserved, Lambda keeps at least ${MIN_UNRESERVED_CONCURRENCY} (the deploy fails; leave them empty or raise the quota)`,
      };
    }
    if (total <= SMALL_CONCURRENCY_LIMIT) {
      return { subject, check, status: 'warn', detail: `${figures}: a Spot storm or a fleet's scale-in shares this small limit with every function of the account (ask for a quota increase)` };
    }
    return { subject, check, status: 'pass', detail: reserving > 0 ? `${figures}, ${after} after the stage's reservations` : figures };
  } catch (error) {
    return { subject, check, status: 'unknown', detail: `cannot read: ${firstLine(error)}` };
  }
}

async function checkCluster(clients: Pick<AwsClients, 'ecs'>, cluster: string, rows: Row[]): Promise<void> {
  const subject = `cluster ${cluster.split('/').pop()}`;
  const described = await clients.ecs.send(new DescribeClustersCommand({ clusters: [cluster] }));
  const found = described.clusters?.[0];
  if (!found || found.status !== 'ACTIVE') {
    rows.push({ subject, check: 'exists', status: 'fail', detail: found ? `status ${found.status}` : `not found (${described.failures?.[0]?.reason ?? 'MISSING'})` });
    return;
  }
  rows.push({ subject, check: 'exists', status: 'pass', detail: `ACTIVE, ${found.registeredContainerInstancesCount ?? 0} container instances` });

  await orUnknown(rows, subject, 'capacity providers', async () => {
    const row = (status: Status, detail: string): void => void rows.push({ subject, check: 'capacity providers', status, detail });
    if (found.capacityProviders === undefined) return row('unknown', 'DescribeClusters did not list them');
    if (found.capacityProviders.length === 0) return row('pass', 'none');
    const providers = await clients.ecs.send(new DescribeCapacityProvidersCommand({ capacityProviders: found.capacityProviders }));
    for (const provider of providers.capacityProviders ?? []) {
      const asg = provider.autoScalingGroupProvider;
      // What each setting means for the suite (README "Capacity providers").
      const notes = [
        asg?.managedDraining === 'ENABLED' ? 'managed draining: ECS drains on termination, the lifecycle drainer leaves it to ECS (unless MANAGED_DRAINING=drain-anyway)' : '',
        asg?.managedScaling?.status === 'ENABLED' ? 'managed scaling: the sweeper stands down in this group' : '',
        asg?.managedTerminationProtection === 'ENABLED' ? 'managed termination protection: the sweeper stands down in this group' : '',
      ].filter(Boolean);
      rows.push({
        subject,
        check: `capacity provider ${provider.name}`,
        status: 'pass',
        detail: notes.length > 0 ? notes.join('; ') : 'no managed draining, scaling or termination protection: the suite drains and sweeps the group',
      });
    }
  });

  await orUnknown(rows, subject, 'attribute slots', async () => {
    const listed = await clients.ecs.send(new ListContainerInstancesCommand({ cluster, maxResults: 100 }));
    const arns = listed.containerInstanceArns ?? [];
    if (arns.length === 0) {
      rows.push({ subject, check: 'attribute slots', status: 'pass', detail: 'no container instances' });
      return;
    }
    const described = await clients.ecs.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: arns }));
    let tightest: { free: number; needed: number; id: string } | undefined;
    for (const instance of described.containerInstances ?? []) {
      const custom = (instance.attributes ?? []).map((attribute) => attribute.name ?? '').filter(isCustom);
      const free = CUSTOM_ATTRIBUTE_LIMIT - custom.length;
      const needed = SUITE_ATTRIBUTES.filter((name) => !custom.includes(name)).length;
      if (!tightest || free - needed < tightest.free - tightest.needed) tightest = { free, needed, id: instance.ec2InstanceId ?? instance.containerInstanceArn ?? '?' };
    }
    if (!tightest) return;
    rows.push({
      subject,
      check: 'attribute slots',
      status: tightest.free >= tightest.needed ? 'pass' : 'fail',
      detail: `fewest free: ${tightest.free} of ${CUSTOM_ATTRIBUTE_LIMIT} on ${tightest.id} (the suite needs ${tightest.needed} more)${arns.length === 100 ? ', first 100 instances' : ''}`,
    });
  });
}

async function checkGroup(clients: Pick<AwsClients, 'autoScaling'>, group: string, topic: string, rows: Row[]): Promise<void> {
  const subject = `group ${group}`;
  const described = await clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group], IncludeInstances: false }));
  if ((described.AutoScalingGroups ?? []).length === 0) {
    rows.push({ subject, check: 'exists', status: 'fail', detail: 'not found' });
    return;
  }
  rows.push({ subject, check: 'exists', status: 'pass', detail: '' });
  await orUnknown(rows, subject, 'termination hook', async () => {
    const hooks = (await clients.autoScaling.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: group }))).LifecycleHooks ?? [];
    const terminating = hooks.filter((hook) => hook.LifecycleTransition === 'autoscaling:EC2_INSTANCE_TERMINATING');
    const matches = (arn = '') => arn === topic || arn.endsWith(`:${topic}`);
    const ours = terminating.find((hook) => matches(hook.NotificationTargetARN));
    if (!ours) {
      const elsewhere = terminating.map((hook) => `${hook.LifecycleHookName} -> ${hook.NotificationTargetARN ?? 'no target'}`).join(', ');
      rows.push({ subject, check: 'termination hook', status: 'fail', detail: elsewhere ? `none to ${topic} (${elsewhere})` : `none: attach one (README, "Attach a hook to a group")` });
      return;
    }
    const heartbeat = ours.HeartbeatTimeout ?? 3600;
    const sane = heartbeat >= HEARTBEAT_RANGE.min && heartbeat <= HEARTBEAT_RANGE.max;
    rows.push({
      subject,
      check: 'termination hook',
      status: sane ? 'pass' : 'warn',
      detail: `${ours.LifecycleHookName}: heartbeat ${heartbeat} s${sane ? '' : ` (outside ${HEARTBEAT_RANGE.min}-${HEARTBEAT_RANGE.max} s; 600 recommended)`}, default ${ours.DefaultResult}, global ${ours.GlobalTimeout ?? '?'} s`,
    });
  });
}

export function formatTable(rows: Row[]): string {
  const header: Row = { subject: 'subject', check: 'check', status: 'status' as Status, detail: 'detail' };
  const all = [header, ...rows];
  const width = (key: 'subject' | 'check' | 'status') => Math.max(...all.map((row) => row[key].length));
  const line = (row: Row) => `${row.subject.padEnd(width('subject'))}  ${row.check.padEnd(width('check'))}  ${row.status.toUpperCase().padEnd(width('status'))}  ${row.detail}`.trimEnd();
  return all.map(line).join('\n');
}
