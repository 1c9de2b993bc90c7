import { DescribeAutoScalingGroupsCommand, DescribeLifecycleHooksCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeCapacityProvidersCommand, DescribeClustersCommand, DescribeContainerInstancesCommand, ListClustersCommand, ListContainerInstancesCommand } from '@aws-sdk/client-ecs';
import type { AwsClients } from '../clients';
import { isUnknownOperation } from '../errors';
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
}

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
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    rows.push({ subject, check, status: isUnknownOperation(error) ? 'unknown' : 'fail', detail: message.split('\n')[0]! });
  }
}

const isCustom = (name: string) => !name.startsWith('ecs.') && !name.startsWith('com.amazonaws.ecs.');

export async function runChecks(clients: Pick<AwsClients, 'ecs' | 'autoScaling'>, target: Target): Promise<Row[]> {
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

  // Not read by this version (they need EventBridge and Lambda permissions the doctor does not use).
  rows.push({ subject: 'account', check: 'EventBridge rules enabled', status: 'unknown', detail: 'not checked: see the rules of the stack in the EventBridge console' });
  rows.push({ subject: 'account', check: 'Lambda concurrency', status: 'unknown', detail: 'not checked: see Lambda > Account settings (unreserved concurrency)' });
  return rows;
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
    if (found.capacityProviders === undefined) {
      rows.push({ subject, check: 'capacity providers', status: 'unknown', detail: 'DescribeClusters did not list them' });
      return;
    }
    if (found.capacityProviders.length === 0) {
      rows.push({ subject, check: 'capacity providers', status: 'pass', detail: 'none' });
      return;
    }
    const providers = await clients.ecs.send(new DescribeCapacityProvidersCommand({ capacityProviders: found.capacityProviders }));
    for (const provider of providers.capacityProviders ?? []) {
      const asg = provider.autoScalingGroupProvider;
      const managed = [asg?.managedDraining === 'ENABLED' ? 'managed draining' : '', asg?.managedScaling?.status === 'ENABLED' ? 'managed scaling' : ''].filter(Boolean);
      rows.push({
        subject,
        check: `capacity provider ${provider.name}`,
        status: managed.length > 0 ? 'warn' : 'pass',
        detail: managed.length > 0 ? `${managed.join(' and ')} on: ECS drains or scales this group too; use one or the other` : 'no managed draining or scaling',
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
