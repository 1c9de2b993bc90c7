import {
  DeleteAttributesCommand,
  DescribeContainerInstancesCommand,
  ListContainerInstancesCommand,
  PutAttributesCommand,
  UpdateContainerInstancesStateCommand,
  paginateListClusters,
  paginateListContainerInstances,
  type ContainerInstance,
  type ECSClient,
  type Resource,
} from '@aws-sdk/client-ecs';
import { isAttributeLimitExceeded, isClusterNotFound } from '../errors';
import type { Telemetry } from '../telemetry';
import { chunk } from './batch';
import { sameResource } from './partitions';

/** AWS limits (botocore ECS model): docs/aws-behaviour.md §3.1. */
export const DESCRIBE_CONTAINER_INSTANCES_BATCH = 100;
export const UPDATE_CONTAINER_INSTANCES_STATE_BATCH = 10;

export type ContainerInstanceStatus =
  | 'ACTIVE'
  | 'DRAINING'
  | 'REGISTERING'
  | 'DEREGISTERING'
  | 'REGISTRATION_FAILED'
  | 'INACTIVE';

/** The fields of an ECS container instance the suite decides on, in domain terms. */
export interface ContainerInstanceView {
  /** The cluster as configured (name or ARN); used verbatim in later calls. */
  cluster: string;
  containerInstanceArn: string;
  ec2InstanceId: string;
  status: ContainerInstanceStatus | string;
  agentConnected: boolean;
  runningTasksCount: number;
  pendingTasksCount: number;
  registeredCpu: number;
  registeredMemory: number;
  remainingCpu: number;
  remainingMemory: number;
  registeredAt?: string;
  attributes: Record<string, string>;
  /**
   * GPUs the instance registered, and how many GPU ids ECS lists under remainingResources (only when
   * it has GPUs). That the remaining list names the free GPUs is UNVERIFIED against a real instance.
   */
  registeredGpus?: number;
  remainingGpus?: number;
  /** Host ports ECS lists in remainingResources PORTS / PORTS_UDP: the ports already taken. */
  usedPorts?: string[];
}

export function clusterName(cluster: string): string {
  const slash = cluster.lastIndexOf('/');
  return cluster.startsWith('arn:') && slash >= 0 ? cluster.slice(slash + 1) : cluster;
}

function stringSetResource(resources: Resource[] | undefined, name: string): string[] | undefined {
  return resources?.find((resource) => resource.name === name)?.stringSetValue;
}

/**
 * Extra resources, only when ECS reports them. The PORTS sets of remainingResources name the ports
 * that are taken (reserved by the agent or bound by tasks), not the free ones:
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerInstance.html
 */
function extraResources(instance: ContainerInstance): Pick<ContainerInstanceView, 'registeredGpus' | 'remainingGpus' | 'usedPorts'> {
  const registeredGpus = stringSetResource(instance.registeredResources, 'GPU');
  const remainingGpus = stringSetResource(instance.remainingResources, 'GPU');
  const tcp = stringSetResource(instance.remainingResources, 'PORTS');
  const udp = stringSetResource(instance.remainingResources, 'PORTS_UDP');
  return {
    ...(registeredGpus && registeredGpus.length > 0 ? { registeredGpus: registeredGpus.length, remainingGpus: remainingGpus?.length ?? 0 } : {}),
    ...(tcp || udp ? { usedPorts: [...(tcp ?? []).map((port) => `tcp/${port}`), ...(udp ?? []).map((port) => `udp/${port}`)] } : {}),
  };
}

function integerResource(resources: Resource[] | undefined, name: 'CPU' | 'MEMORY'): number {
  return resources?.find((resource) => resource.name === name)?.integerValue ?? 0;
}

export function toView(cluster: string, instance: ContainerInstance): ContainerInstanceView {
  const attributes: Record<string, string> = {};
  for (const attribute of instance.attributes ?? []) {
    if (attribute.name !== undefined) attributes[attribute.name] = attribute.value ?? '';
  }
  return {
    cluster,
    containerInstanceArn: instance.containerInstanceArn ?? '',
    ec2InstanceId: instance.ec2InstanceId ?? '',
    status: instance.status ?? 'UNKNOWN',
    agentConnected: instance.agentConnected ?? false,
    runningTasksCount: instance.runningTasksCount ?? 0,
    pendingTasksCount: instance.pendingTasksCount ?? 0,
    registeredCpu: integerResource(instance.registeredResources, 'CPU'),
    registeredMemory: integerResource(instance.registeredResources, 'MEMORY'),
    remainingCpu: integerResource(instance.remainingResources, 'CPU'),
    remainingMemory: integerResource(instance.remainingResources, 'MEMORY'),
    ...(instance.registeredAt ? { registeredAt: instance.registeredAt.toISOString() } : {}),
    attributes,
    ...extraResources(instance),
  };
}

/** Managed clusters: the configured list, or every cluster of the account and Region (paginated). */
export async function resolveClusters(ecs: ECSClient, configured: readonly string[]): Promise<string[]> {
  if (configured.length > 0) return [...configured];
  const clusters: string[] = [];
  for await (const page of paginateListClusters({ client: ecs }, {})) {
    clusters.push(...(page.clusterArns ?? []));
  }
  return clusters;
}

export interface DescribeResult {
  instances: ContainerInstanceView[];
  /** ARNs ECS reported in failures[] (MISSING and the like), with the reason. */
  failures: { arn: string; reason: string }[];
}

/** DescribeContainerInstances in batches of 100. */
export async function describeContainerInstances(
  ecs: ECSClient,
  cluster: string,
  containerInstanceArns: readonly string[],
): Promise<DescribeResult> {
  const result: DescribeResult = { instances: [], failures: [] };
  for (const batch of chunk(containerInstanceArns, DESCRIBE_CONTAINER_INSTANCES_BATCH)) {
    const response = await ecs.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: batch }));
    for (const instance of response.containerInstances ?? []) result.instances.push(toView(cluster, instance));
    for (const failure of response.failures ?? []) {
      result.failures.push({ arn: failure.arn ?? '', reason: failure.reason ?? 'UNKNOWN' });
    }
  }
  return result;
}

/**
 * Finds the container instance of an EC2 instance.
 *
 * One `ListContainerInstances` with the filter `ec2InstanceId == <id>` per cluster until it is
 * found (an EC2 instance belongs to at most one cluster), then one `DescribeContainerInstances` to
 * confirm that the returned instance really has that EC2 instance id: a filter that an endpoint
 * ignored or misread must never make us drain someone else's instance. Cost with k clusters: at
 * most k lists and, normally, one describe. INACTIVE instances are not listed by ECS, so a
 * deregistered instance is "not found".
 */
/**
 * Pages one filtered lookup may read before it gives up: 60 pages of 100 cover the largest cluster
 * ECS allows (5,000 container instances, https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html).
 */
export const MAX_FILTERED_LIST_PAGES = 60;

export async function findContainerInstance(
  ecs: ECSClient,
  clusters: readonly string[],
  ec2InstanceId: string,
  telemetry: Telemetry,
): Promise<ContainerInstanceView | undefined> {
  if (!/^i-[0-9a-f]{8,17}$/.test(ec2InstanceId)) {
    // The id is interpolated into a query; refuse anything that is not an instance id.
    throw new Error(`refusing to search for a malformed EC2 instance id: ${JSON.stringify(ec2InstanceId)}`);
  }
  for (const cluster of clusters) {
    const arns: string[] = [];
    try {
      // A filtered page may be short, even empty, and still carry a nextToken: only its absence
      // ends the list (docs/aws-behaviour.md §3.1). Bounded, so a misbehaving endpoint cannot loop.
      let nextToken: string | undefined;
      let pages = 0;
      do {
        const listed = await ecs.send(
          new ListContainerInstancesCommand({ cluster, filter: `ec2InstanceId == ${ec2InstanceId}`, ...(nextToken ? { nextToken } : {}) }),
        );
        arns.push(...(listed.containerInstanceArns ?? []));
        nextToken = listed.nextToken;
        pages += 1;
      } while (arns.length === 0 && nextToken && pages < MAX_FILTERED_LIST_PAGES);
    } catch (error) {
      if (isClusterNotFound(error)) {
        telemetry.log('WARN', 'managed cluster not found', { cluster });
        telemetry.count('ClusterNotFound', { cluster: clusterName(cluster) });
        continue;
      }
      throw error;
    }
    if (arns.length === 0) continue;
    const described = await describeContainerInstances(ecs, cluster, arns);
    const match = described.instances.find((instance) => instance.ec2InstanceId === ec2InstanceId);
    if (match) return match;
    telemetry.log('WARN', 'container instance lookup returned a different EC2 instance; ignored', {
      cluster,
      ec2InstanceId,
      returned: described.instances.map((instance) => ({
        containerInstanceArn: instance.containerInstanceArn,
        ec2InstanceId: instance.ec2InstanceId,
      })),
    });
    telemetry.count('LookupMismatch', { cluster: clusterName(cluster) });
  }
  return undefined;
}

export interface DrainOutcome {
  /** Now DRAINING (set by us, or found DRAINING when the update was refused). */
  draining: string[];
  /** Deregistered or unknown to ECS: nothing left to drain. */
  gone: string[];
  /** Still not DRAINING after the update; reason from failures[] or the re-read status. */
  failed: { arn: string; reason: string }[];
}

/**
 * Sets container instances to DRAINING, 10 per call, and reads `failures[]` (HTTP 200 with
 * per-instance failures is how ECS reports them). A failed instance is described again: DRAINING
 * means someone else (the ECS agent's own Spot draining, a duplicate event) got there first, which
 * is success; INACTIVE or MISSING means it is gone. Whether DRAINING → DRAINING is itself an error
 * is undocumented (aws-behaviour.md §2), so callers skip instances already DRAINING and this
 * function accepts either answer.
 */
export async function setDraining(
  ecs: ECSClient,
  cluster: string,
  containerInstanceArns: readonly string[],
): Promise<DrainOutcome> {
  const outcome: DrainOutcome = { draining: [], gone: [], failed: [] };
  const refused: { arn: string; reason: string }[] = [];
  for (const batch of chunk(containerInstanceArns, UPDATE_CONTAINER_INSTANCES_STATE_BATCH)) {
    const response = await ecs.send(
      new UpdateContainerInstancesStateCommand({ cluster, containerInstances: batch, status: 'DRAINING' }),
    );
    const failedArns = new Set<string>();
    for (const failure of response.failures ?? []) {
      const arn = failure.arn ?? '';
      failedArns.add(arn);
      refused.push({ arn, reason: failure.reason ?? 'UNKNOWN' });
    }
    for (const instance of response.containerInstances ?? []) {
      const arn = instance.containerInstanceArn ?? '';
      if (failedArns.has(arn)) continue;
      if (instance.status === 'DRAINING') outcome.draining.push(arn);
      else outcome.failed.push({ arn, reason: `status ${instance.status ?? 'UNKNOWN'} after update` });
    }
    // An ARN neither returned nor listed as a failure is treated as refused and re-read below.
    const answered = new Set([...failedArns, ...(response.containerInstances ?? []).map((i) => i.containerInstanceArn)]);
    for (const arn of batch) {
      if (!answered.has(arn) && !matchesAnyArn(arn, answered)) refused.push({ arn, reason: 'NO_ANSWER' });
    }
  }
  if (refused.length > 0) {
    const reread = await describeContainerInstances(
      ecs,
      cluster,
      refused.map((failure) => failure.arn),
    );
    for (const failure of refused) {
      const instance = reread.instances.find((candidate) => sameResource(candidate.containerInstanceArn, failure.arn));
      if (instance?.status === 'DRAINING') outcome.draining.push(instance.containerInstanceArn);
      else if (!instance || instance.status === 'INACTIVE' || instance.status === 'DEREGISTERING') {
        outcome.gone.push(failure.arn);
      } else outcome.failed.push({ arn: failure.arn, reason: `${failure.reason}; status ${instance.status}` });
    }
  }
  return outcome;
}

function matchesAnyArn(arn: string, answered: Set<string | undefined>): boolean {
  for (const candidate of answered) if (candidate && sameResource(candidate, arn)) return true;
  return false;
}

/** AWS limits (botocore ECS model): ListContainerInstances pages of at most 100; attributes 10 per call. */
export const LIST_CONTAINER_INSTANCES_PAGE = 100;
export const ATTRIBUTES_BATCH = 10;

/**
 * Every container instance of a cluster, every page (100 per page). ECS lists every status except
 * INACTIVE (aws-behaviour.md §3.1), so DRAINING instances are included.
 */
export async function listContainerInstanceArns(ecs: ECSClient, cluster: string): Promise<string[]> {
  const arns: string[] = [];
  const pages = paginateListContainerInstances(
    { client: ecs, pageSize: LIST_CONTAINER_INSTANCES_PAGE },
    { cluster, maxResults: LIST_CONTAINER_INSTANCES_PAGE },
  );
  for await (const page of pages) arns.push(...(page.containerInstanceArns ?? []));
  return arns;
}

export interface InstanceAttribute {
  /** The container instance ARN the attribute belongs to. */
  targetId: string;
  name: string;
  value: string;
}

export interface AttributeWriteResult {
  /** Container instances that already hold the 10 custom attributes ECS allows: nothing was written to them. */
  full: string[];
}

async function putAttributesCall(ecs: ECSClient, cluster: string, batch: readonly InstanceAttribute[]): Promise<void> {
  await ecs.send(
    new PutAttributesCommand({
      cluster,
      attributes: batch.map((attribute) => ({
        name: attribute.name,
        value: attribute.value,
        targetType: 'container-instance',
        targetId: attribute.targetId,
      })),
    }),
  );
}

/**
 * Sets custom container-instance attributes, 10 per PutAttributes call. One full instance (10 custom
 * attributes already) fails a whole call with AttributeLimitExceededException and writes nothing
 * (aws-behaviour.md §3.1): such a batch is written again one instance at a time, so the others get
 * their attributes. With `skipFull` the full instances are returned; without it (a caller writing
 * one instance that must know) the limit error is thrown once the others are written.
 */
export async function putInstanceAttributes(
  ecs: ECSClient,
  cluster: string,
  attributes: readonly InstanceAttribute[],
  options: { skipFull?: boolean } = {},
): Promise<AttributeWriteResult> {
  const full: string[] = [];
  let limitError: unknown;
  for (const batch of chunk(attributes, ATTRIBUTES_BATCH)) {
    try {
      await putAttributesCall(ecs, cluster, batch);
    } catch (error) {
      if (!isAttributeLimitExceeded(error)) throw error;
      limitError ??= error;
      const byTarget = new Map<string, InstanceAttribute[]>();
      for (const attribute of batch) byTarget.set(attribute.targetId, [...(byTarget.get(attribute.targetId) ?? []), attribute]);
      if (byTarget.size === 1) {
        full.push(batch[0]!.targetId);
        continue;
      }
      for (const [targetId, own] of byTarget) {
        try {
          await putAttributesCall(ecs, cluster, own);
        } catch (single) {
          if (!isAttributeLimitExceeded(single)) throw single;
          full.push(targetId);
        }
      }
    }
  }
  if (full.length > 0 && !options.skipFull) throw limitError;
  return { full };
}

/**
 * Removes custom container-instance attributes, 10 per DeleteAttributes call. Deleting an
 * attribute that is not there answers `TargetNotFoundException` only for unknown targets; callers
 * delete only attributes they have just read.
 */
export async function deleteInstanceAttributes(
  ecs: ECSClient,
  cluster: string,
  attributes: readonly Omit<InstanceAttribute, 'value'>[],
): Promise<void> {
  for (const batch of chunk(attributes, ATTRIBUTES_BATCH)) {
    await ecs.send(
      new DeleteAttributesCommand({
        cluster,
        attributes: batch.map((attribute) => ({
          name: attribute.name,
          targetType: 'container-instance',
          targetId: attribute.targetId,
        })),
      }),
    );
  }
}

/**
 * Sets container instances back to ACTIVE, 10 per call: undoes a drain that can no longer end in a
 * removal. Returns the ARNs ECS refused in failures[] with their reason.
 */
export async function setActive(
  ecs: ECSClient,
  cluster: string,
  containerInstanceArns: readonly string[],
): Promise<{ arn: string; reason: string }[]> {
  const failures: { arn: string; reason: string }[] = [];
  for (const batch of chunk(containerInstanceArns, UPDATE_CONTAINER_INSTANCES_STATE_BATCH)) {
    const response = await ecs.send(
      new UpdateContainerInstancesStateCommand({ cluster, containerInstances: batch, status: 'ACTIVE' }),
    );
    for (const failure of response.failures ?? []) failures.push({ arn: failure.arn ?? '', reason: failure.reason ?? 'UNKNOWN' });
  }
  return failures;
}
