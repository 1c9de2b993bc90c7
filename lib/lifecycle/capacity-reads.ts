import type { ECSClient } from '@aws-sdk/client-ecs';
import { describeClusterCapacityProviders, type CapacityProviderView } from '../aws/capacity-providers';
import { classifyAwsError, describeError } from '../errors';
import { managedDrainingOf, type ManagedDrainingView } from './managed-draining';

/** How long an execution environment reuses a cluster's capacity providers: a scale-in's worth of notifications. */
export const CAPACITY_PROVIDER_TTL_MS = 60_000;

/**
 * The clusters' capacity providers, kept by the execution environment for a short while, so that
 * the notifications of one scale-in reaching the same environment read them once. A failed read is
 * not kept.
 */
export class CapacityProviderCache {
  private readonly entries = new Map<string, { readAt: number; providers: Promise<CapacityProviderView[]> }>();
  /** Reads that reached AWS (a read is one DescribeClusters and its DescribeCapacityProviders pages). */
  reads = 0;

  get(ecs: ECSClient, cluster: string, now: number): { providers: Promise<CapacityProviderView[]>; cached: boolean } {
    const kept = this.entries.get(cluster);
    if (kept && now - kept.readAt < CAPACITY_PROVIDER_TTL_MS) return { providers: kept.providers, cached: true };
    this.reads += 1;
    const providers = describeClusterCapacityProviders(ecs, cluster);
    const entry = { readAt: now, providers };
    this.entries.set(cluster, entry);
    providers.catch(() => {
      if (this.entries.get(cluster) === entry) this.entries.delete(cluster);
    });
    return { providers, cached: false };
  }
}

export interface ManagedDrainingRead {
  view: ManagedDrainingView;
  cached: boolean;
  /** The failure's class and name when the read failed. */
  error?: { errorClass: string; errorName: string; errorMessage: string };
}

/** Reads the group's view through the cache; never throws (a failure is the `unknown` view). */
export async function readManagedDraining(
  cache: CapacityProviderCache,
  ecs: ECSClient,
  cluster: string,
  autoScalingGroupName: string,
  now: number,
): Promise<ManagedDrainingRead> {
  const { providers, cached } = cache.get(ecs, cluster, now);
  try {
    return { view: managedDrainingOf(await providers, autoScalingGroupName), cached };
  } catch (error) {
    const { errorName, errorMessage } = describeError(error);
    return { view: 'unknown', cached, error: { errorClass: classifyAwsError(error), errorName, errorMessage } };
  }
}
