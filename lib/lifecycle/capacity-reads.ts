import type { ECSClient } from '@aws-sdk/client-ecs';
import { describeClusterCapacityProviders, type CapacityProviderView } from '../aws/capacity-providers';
import { clusterName } from '../aws/ecs';
import { classifyAwsError, describeError } from '../errors';
import { managedDrainingOf, type ManagedDrainingView } from './managed-draining';
import type { Round } from './round';

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

/**
 * The group's view for this round, read once per round and only where it decides something: the
 * first round of a termination chain (Auto Scaling's own notification), unless MANAGED_DRAINING is
 * `drain-anyway`. Later rounds continue what the first one chose. A failed read is logged and
 * counted, and the drain goes on as without a capacity provider.
 */
export async function managedDrainingForRound(round: Round): Promise<ManagedDrainingView | undefined> {
  if (round.managedDraining !== undefined) return round.managedDraining;
  const { chain, config, capacityProviders, telemetry } = round;
  if (!capacityProviders || config.managedDraining === 'drain-anyway' || round.signal.kind !== 'notification') return undefined;
  if (chain.cluster === undefined || chain.notification.LifecycleTransition !== 'autoscaling:EC2_INSTANCE_TERMINATING') return undefined;
  const group = chain.notification.AutoScalingGroupName;
  const read = await readManagedDraining(capacityProviders, round.ecs, chain.cluster, group, round.clock.now());
  round.managedDraining = read.view;
  if (read.error) {
    telemetry.log('WARN', 'capacity providers not read; draining as without managed draining', { cluster: chain.cluster, autoScalingGroupName: group, ...read.error });
    telemetry.count('CapacityProviderReadFailed', { function: 'lifecycleHook', errorClass: read.error.errorClass });
  } else {
    telemetry.log('DEBUG', 'capacity providers read', { cluster: clusterName(chain.cluster), autoScalingGroupName: group, managedDraining: read.view, cached: read.cached, reads: capacityProviders.reads });
  }
  return read.view;
}
