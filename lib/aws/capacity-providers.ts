import { DescribeCapacityProvidersCommand, DescribeClustersCommand, type CapacityProvider, type ECSClient } from '@aws-sdk/client-ecs';
import { RetryableError } from '../errors';

/**
 * The settings ECS manages a group with, from the capacity providers associated with a cluster
 * (docs/aws-behaviour.md §3.5): DescribeClusters names them, DescribeCapacityProviders describes
 * them (10 per page). Only providers bound to an Auto Scaling group are returned.
 */
export interface CapacityProviderView {
  name: string;
  /** The bound group's name (the provider may name it by ARN or by name). */
  autoScalingGroupName: string;
  managedScaling: boolean;
  managedTerminationProtection: boolean;
  managedDraining: boolean;
}

/** DescribeCapacityProviders' largest page (API reference, `maxResults` 1–10). */
export const DESCRIBE_CAPACITY_PROVIDERS_PAGE = 10;
/** DescribeCapacityProviders names at most this many providers per request. */
export const DESCRIBE_CAPACITY_PROVIDERS_NAMES = 100;
/** A cluster holds far fewer providers; a longer chain of tokens is a broken answer, not a big cluster. */
const MAX_PAGES = 20;

/** The group name an `autoScalingGroupArn` names: an ARN ends in `autoScalingGroupName/<name>`, else it is the name. */
export function groupNameOf(ref: string): string {
  const marker = 'autoScalingGroupName/';
  const at = ref.indexOf(marker);
  return ref.startsWith('arn:') && at >= 0 ? ref.slice(at + marker.length) : ref;
}

/** Pure: the providers' settings, by the name of the group each one is bound to. */
export function toViews(providers: readonly CapacityProvider[]): CapacityProviderView[] {
  const views: CapacityProviderView[] = [];
  for (const provider of providers) {
    const asg = provider.autoScalingGroupProvider;
    if (!asg?.autoScalingGroupArn || !provider.name) continue;
    views.push({
      name: provider.name,
      autoScalingGroupName: groupNameOf(asg.autoScalingGroupArn),
      managedScaling: asg.managedScaling?.status === 'ENABLED',
      managedTerminationProtection: asg.managedTerminationProtection === 'ENABLED',
      managedDraining: asg.managedDraining === 'ENABLED',
    });
  }
  return views;
}

/**
 * The cluster's capacity providers bound to groups: one DescribeClusters, then one
 * DescribeCapacityProviders per 10 providers (none when the cluster has no provider). Throws what
 * the SDK throws; a cluster that does not exist has no provider.
 */
export async function describeClusterCapacityProviders(ecs: ECSClient, cluster: string): Promise<CapacityProviderView[]> {
  const described = await ecs.send(new DescribeClustersCommand({ clusters: [cluster] }));
  const names = described.clusters?.[0]?.capacityProviders ?? [];
  if (names.length === 0) return [];
  const providers: CapacityProvider[] = [];
  let nextToken: string | undefined;
  let pages = 0;
  do {
    if (++pages > MAX_PAGES) throw new RetryableError(`DescribeCapacityProviders kept answering nextToken after ${MAX_PAGES} pages`);
    const page = await ecs.send(
      new DescribeCapacityProvidersCommand({
        capacityProviders: names.slice(0, DESCRIBE_CAPACITY_PROVIDERS_NAMES),
        maxResults: DESCRIBE_CAPACITY_PROVIDERS_PAGE,
        ...(nextToken ? { nextToken } : {}),
      }),
    );
    providers.push(...(page.capacityProviders ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return toViews(providers);
}
