import { DescribeClustersCommand, ListContainerInstancesCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { chunk, groupBy } from '../aws/batch';
import { MAX_FILTERED_LIST_PAGES, clusterName, describeContainerInstances, type ContainerInstanceView } from '../aws/ecs';
import { isClusterNotFound } from '../errors';
import { sameResource } from '../aws/partitions';
import type { Telemetry } from '../telemetry';
import { DESCRIBE_BATCH, PAGE_SIZE, choosePlan } from './plan';

/**
 * What an execution environment remembers between invocations: EC2 instance id → container
 * instance ARN (an ARN never changes for a registration, so a storm's later invocations need not
 * look it up again), and each cluster's size for the plan. Lambda keeps module state for the life
 * of an execution environment (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
 * An entry goes stale only when its instance deregisters (or registers again with a new ARN): the
 * describe that confirms it then answers MISSING, INACTIVE or another EC2 id, and the entry is dropped.
 */
export class ArnCache {
  private readonly byInstance = new Map<string, { cluster: string; arn: string }>();
  private readonly byArn = new Map<string, string>();
  private readonly sizes = new Map<string, { size: number; at: number }>();

  constructor(
    /** Entries kept at most (oldest dropped first); a cluster holds at most 5,000 container instances. */
    private readonly capacity = 20_000,
    /** How long a cluster's size guides the plan. */
    private readonly sizeTtlMs = 5 * 60_000,
  ) {}

  get(ec2InstanceId: string): { cluster: string; arn: string } | undefined {
    return this.byInstance.get(ec2InstanceId);
  }

  knows(arn: string): boolean {
    return this.byArn.has(arn);
  }

  remember(view: Pick<ContainerInstanceView, 'cluster' | 'containerInstanceArn' | 'ec2InstanceId'>): void {
    if (!view.ec2InstanceId || !view.containerInstanceArn) return;
    this.forget(view.ec2InstanceId);
    this.byInstance.set(view.ec2InstanceId, { cluster: view.cluster, arn: view.containerInstanceArn });
    this.byArn.set(view.containerInstanceArn, view.ec2InstanceId);
    while (this.byInstance.size > this.capacity) {
      const oldest = this.byInstance.keys().next().value;
      if (oldest === undefined) break;
      this.forget(oldest);
    }
  }

  forget(ec2InstanceId: string): void {
    const entry = this.byInstance.get(ec2InstanceId);
    if (!entry) return;
    this.byInstance.delete(ec2InstanceId);
    this.byArn.delete(entry.arn);
  }

  forgetCluster(cluster: string): void {
    for (const [id, entry] of this.byInstance) if (entry.cluster === cluster) this.forget(id);
    this.sizes.delete(cluster);
  }

  size(cluster: string, now: number): number | undefined {
    const entry = this.sizes.get(cluster);
    return entry && now - entry.at <= this.sizeTtlMs ? entry.size : undefined;
  }

  setSize(cluster: string, size: number, now: number): void {
    this.sizes.set(cluster, { size, at: now });
  }

  get entries(): number {
    return this.byInstance.size;
  }
}

export interface Resolution {
  found: Map<string, ContainerInstanceView>;
  /** Looked for in every managed cluster that answered, and absent. */
  notFound: Set<string>;
  /** Not found because a cluster failed to answer (throttling after the SDK's retries, 5xx): a retry can fix it. */
  failed: Map<string, unknown>;
}

/**
 * Whether ECS filters before or after paging is undocumented (docs/aws-behaviour.md §3.1): a filtered
 * page may be short or empty and still carry a nextToken. The container-instance lookup's own bound
 * (60 pages of 100) covers the largest cluster ECS allows.
 */
export const MAX_FILTERED_PAGES = MAX_FILTERED_LIST_PAGES;

class ClusterMissing extends Error {}

/**
 * Finds the container instances of `ec2InstanceIds` in the managed clusters: first the cached ARNs
 * (confirmed by one describe per 100), then, cluster by cluster, the rest with the cheapest plan
 * (lib/spot/plan.ts). Every match is confirmed by `DescribeContainerInstances` showing the same EC2
 * instance id: a filter an endpoint ignored or misread must never make us drain someone else's
 * instance.
 */
export async function resolveInstances(
  ecs: ECSClient,
  clusters: readonly string[],
  ec2InstanceIds: readonly string[],
  cache: ArnCache,
  telemetry: Telemetry,
  now: () => number,
): Promise<Resolution> {
  const found = new Map<string, ContainerInstanceView>();
  const failed = new Map<string, unknown>();
  const pending = new Set<string>();
  for (const id of ec2InstanceIds) {
    if (!/^i-[0-9a-f]{8,17}$/.test(id)) {
      // The id is interpolated into a query; refuse anything that is not an instance id.
      throw new Error(`refusing to search for a malformed EC2 instance id: ${JSON.stringify(id)}`);
    }
    pending.add(id);
  }
  const missingClusters = new Set<string>();
  const erroredClusters: unknown[] = [];
  const clusterMissing = (cluster: string) => {
    telemetry.log('WARN', 'managed cluster not found', { cluster });
    telemetry.count('ClusterNotFound', { cluster: clusterName(cluster) });
    cache.forgetCluster(cluster);
    missingClusters.add(cluster);
  };

  // 1. Cached ARNs: one describe per 100 confirms the EC2 id and reads the current status.
  for (const id of pending) {
    const entry = cache.get(id);
    if (entry && !clusters.includes(entry.cluster)) cache.forget(id);
  }
  const cached = [...pending].filter((id) => cache.get(id) !== undefined);
  for (const [cluster, ids] of groupBy(cached, (id) => cache.get(id)?.cluster ?? '')) {
    try {
      const described = await describeContainerInstances(ecs, cluster, ids.map((id) => cache.get(id)?.arn ?? ''));
      for (const id of ids) {
        const arn = cache.get(id)?.arn ?? '';
        const view = described.instances.find((candidate) => sameResource(candidate.containerInstanceArn, arn));
        if (view && view.ec2InstanceId === id && view.status !== 'INACTIVE') {
          found.set(id, view);
          pending.delete(id);
        } else {
          // Deregistered (MISSING, INACTIVE) or registered again: look it up afresh below.
          cache.forget(id);
        }
      }
    } catch (error) {
      if (isClusterNotFound(error)) {
        clusterMissing(cluster);
        for (const id of ids) cache.forget(id);
        continue;
      }
      erroredClusters.push(error);
      for (const id of ids) {
        failed.set(id, error);
        pending.delete(id);
      }
    }
  }

  // 2. The rest, cluster by cluster, until every one is found.
  for (const cluster of clusters) {
    if (pending.size === 0) break;
    if (missingClusters.has(cluster)) continue;
    try {
      let plan = choosePlan({ wanted: pending.size, clusterSize: cache.size(cluster, now()) });
      if (plan.kind === 'measure') {
        const size = await measureCluster(ecs, cluster);
        cache.setSize(cluster, size, now());
        plan = choosePlan({ wanted: pending.size, clusterSize: size });
      }
      if (plan.kind === 'page') await pageCluster(ecs, cluster, pending, found, cache, now);
      else if (plan.kind === 'filtered') await filteredLookups(ecs, cluster, pending, found, cache, telemetry);
    } catch (error) {
      if (isClusterNotFound(error) || error instanceof ClusterMissing) {
        clusterMissing(cluster);
        continue;
      }
      erroredClusters.push(error);
    }
  }

  const notFound = new Set<string>();
  for (const id of pending) {
    if (erroredClusters.length > 0) failed.set(id, erroredClusters[0]);
    else notFound.add(id);
  }
  return { found, notFound, failed };
}

/** The number of container instances ECS lists for the cluster (every status but INACTIVE). */
async function measureCluster(ecs: ECSClient, cluster: string): Promise<number> {
  const response = await ecs.send(new DescribeClustersCommand({ clusters: [cluster] }));
  const described = response.clusters?.find((candidate) => candidate.clusterArn !== undefined || candidate.clusterName !== undefined);
  if (!described || described.status === 'INACTIVE') throw new ClusterMissing(cluster);
  return described.registeredContainerInstancesCount ?? 0;
}

/**
 * Lists the cluster's container instances page by page and describes each page's unknown ARNs
 * while the next page is listed; stops listing once every pending instance is found.
 */
async function pageCluster(
  ecs: ECSClient,
  cluster: string,
  pending: Set<string>,
  found: Map<string, ContainerInstanceView>,
  cache: ArnCache,
  now: () => number,
): Promise<void> {
  const describes: Promise<void>[] = [];
  let nextToken: string | undefined;
  let listed = 0;
  let pages = 0;
  do {
    if (pending.size === 0) break;
    const page = await ecs.send(
      new ListContainerInstancesCommand({ cluster, maxResults: PAGE_SIZE, ...(nextToken ? { nextToken } : {}) }),
    );
    pages += 1;
    const arns = page.containerInstanceArns ?? [];
    listed += arns.length;
    nextToken = page.nextToken;
    for (const batch of chunk(arns.filter((arn) => !cache.knows(arn)), DESCRIBE_BATCH)) {
      describes.push(
        describeContainerInstances(ecs, cluster, batch).then((described) => {
          for (const view of described.instances) {
            cache.remember(view);
            if (pending.has(view.ec2InstanceId) && view.status !== 'INACTIVE') {
              found.set(view.ec2InstanceId, view);
              pending.delete(view.ec2InstanceId);
            }
          }
        }),
      );
    }
  } while (nextToken && pages < MAX_FILTERED_PAGES);
  const settled = await Promise.allSettled(describes);
  const failure = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) throw failure.reason;
  if (!nextToken) cache.setSize(cluster, listed, now());
}

/** One filtered list per pending instance (following nextToken), then one describe per 100 ARNs to confirm. */
async function filteredLookups(
  ecs: ECSClient,
  cluster: string,
  pending: Set<string>,
  found: Map<string, ContainerInstanceView>,
  cache: ArnCache,
  telemetry: Telemetry,
): Promise<void> {
  const candidates: { id: string; arn: string }[] = [];
  for (const id of pending) {
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_FILTERED_PAGES; page += 1) {
      const listed = await ecs.send(
        new ListContainerInstancesCommand({ cluster, filter: `ec2InstanceId == ${id}`, ...(nextToken ? { nextToken, maxResults: PAGE_SIZE } : {}) }),
      );
      const arns = listed.containerInstanceArns ?? [];
      for (const arn of arns) candidates.push({ id, arn });
      nextToken = listed.nextToken;
      if (arns.length > 0 || !nextToken) break;
    }
  }
  if (candidates.length === 0) return;
  const described = await describeContainerInstances(ecs, cluster, [...new Set(candidates.map((candidate) => candidate.arn))]);
  for (const id of new Set(candidates.map((candidate) => candidate.id))) {
    const match = described.instances.find((view) => view.ec2InstanceId === id && view.status !== 'INACTIVE');
    if (match) {
      cache.remember(match);
      found.set(id, match);
      pending.delete(id);
      continue;
    }
    const returned = described.instances.filter((view) => candidates.some((candidate) => candidate.id === id && sameResource(candidate.arn, view.containerInstanceArn)));
    telemetry.log('WARN', 'container instance lookup returned a different EC2 instance; ignored', {
      cluster,
      ec2InstanceId: id,
      returned: returned.map((view) => ({ containerInstanceArn: view.containerInstanceArn, ec2InstanceId: view.ec2InstanceId })),
    });
    telemetry.count('LookupMismatch', { cluster: clusterName(cluster) });
  }
}
