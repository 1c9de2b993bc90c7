/**
 * How one invocation finds the container instances of the EC2 instances it was warned about, in
 * one cluster, with the fewest ECS calls. Pure: a function of counts only.
 *
 * - `filtered`: one `ListContainerInstances` with `ec2InstanceId == <id>` per instance, then one
 *   `DescribeContainerInstances` per 100 listed ARNs to confirm the EC2 instance id.
 * - `page`: every container instance of the cluster, 100 per `ListContainerInstances` page, then
 *   `DescribeContainerInstances` 100 at a time until every wanted instance is found.
 * - `measure`: paging may be cheaper but the cluster's size is not known: one `DescribeClusters`
 *   (a different token bucket from the container-instance reads) gives it.
 *
 * Limits: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListContainerInstances.html
 * (maxResults 100) and
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeContainerInstances.html
 * (100 per call).
 */
export const PAGE_SIZE = 100;
export const DESCRIBE_BATCH = 100;

export type LookupPlan =
  | { kind: 'none'; calls: 0 }
  | { kind: 'filtered'; calls: number }
  | { kind: 'page'; calls: number }
  | { kind: 'measure' };

export interface PlanInput {
  /** EC2 instances still to find (not in the execution environment's cache). */
  wanted: number;
  /** Container instances in the cluster, if known (a recent listing, or `DescribeClusters`). */
  clusterSize?: number;
}

/** Calls of the filtered plan: one list per instance (one page each) and the confirming describes. */
export function filteredCost(wanted: number): number {
  return wanted + Math.ceil(wanted / DESCRIBE_BATCH);
}

/** Calls of the paging plan at worst: every list page and every describe batch. */
export function pagingCost(clusterSize: number): number {
  const pages = Math.max(1, Math.ceil(clusterSize / PAGE_SIZE));
  return pages + Math.max(1, Math.ceil(clusterSize / DESCRIBE_BATCH));
}

/** Paging never costs less than one list page and one describe. */
export const MIN_PAGING_COST = pagingCost(0);
/** Learning the cluster's size costs one `DescribeClusters`. */
export const MEASURE_COST = 1;

export function choosePlan({ wanted, clusterSize }: PlanInput): LookupPlan {
  if (wanted <= 0) return { kind: 'none', calls: 0 };
  const filtered = filteredCost(wanted);
  // Few instances never pay for a size they cannot use: measuring and paging would cost as much.
  if (filtered <= MIN_PAGING_COST + MEASURE_COST) return { kind: 'filtered', calls: filtered };
  if (clusterSize === undefined) return { kind: 'measure' };
  const paging = pagingCost(clusterSize);
  return paging < filtered ? { kind: 'page', calls: paging } : { kind: 'filtered', calls: filtered };
}
