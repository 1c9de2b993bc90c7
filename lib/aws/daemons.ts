import { DescribeServicesCommand, ListContainerInstancesCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { isInvalidParameter } from '../errors';
import { chunk } from './batch';
import { listDaemonServiceNames } from './tasks';

/** AWS limit (botocore ECS model): DescribeServices takes at most 10 services. */
export const DESCRIBE_SERVICES_BATCH = 10;

/** A DAEMON service and the `memberOf` expressions that choose its instances (none: every instance). */
export interface DaemonPlacement {
  serviceName: string;
  memberOf: string[];
}

/**
 * The cluster's DAEMON services with their placement constraints: one ListServices (the daemon
 * lookup of lib/aws/tasks.ts) and one DescribeServices per 10 services.
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html
 */
export async function describeDaemonPlacements(ecs: ECSClient, cluster: string): Promise<DaemonPlacement[]> {
  const names = [...(await listDaemonServiceNames(ecs, cluster))].sort();
  const placements: DaemonPlacement[] = [];
  for (const batch of chunk(names, DESCRIBE_SERVICES_BATCH)) {
    const response = await ecs.send(new DescribeServicesCommand({ cluster, services: batch }));
    for (const service of response.services ?? []) {
      if (!service.serviceName || service.status === 'INACTIVE') continue;
      const memberOf = (service.placementConstraints ?? [])
        .filter((constraint) => constraint.type === 'memberOf' && constraint.expression)
        .map((constraint) => constraint.expression!);
      placements.push({ serviceName: service.serviceName, memberOf });
    }
  }
  return placements;
}

/**
 * Whether a daemon's `memberOf` expressions select the EC2 instance's container instance, as ECS
 * itself evaluates them: one ListContainerInstances with the filter
 * `ec2InstanceId == <id> and (<expression>) and …` (the cluster query language of both,
 * docs/aws-behaviour.md §2). Undefined when ECS refuses the expression as a filter (`task:`
 * subjects are about tasks, not instances): the caller cannot tell.
 */
export async function selectsInstance(ecs: ECSClient, cluster: string, ec2InstanceId: string, memberOf: readonly string[]): Promise<boolean | undefined> {
  if (!/^i-[0-9a-f]{8,17}$/.test(ec2InstanceId)) throw new Error(`refusing to filter on a malformed EC2 instance id: ${JSON.stringify(ec2InstanceId)}`);
  const filter = [`ec2InstanceId == ${ec2InstanceId}`, ...memberOf.map((expression) => `(${expression})`)].join(' and ');
  try {
    // The filter names one instance: a page holds it (an empty page with a nextToken is read on).
    let nextToken: string | undefined;
    for (let page = 0; page < 5; page += 1) {
      const listed = await ecs.send(new ListContainerInstancesCommand({ cluster, filter, ...(nextToken ? { nextToken } : {}) }));
      if ((listed.containerInstanceArns ?? []).length > 0) return true;
      nextToken = listed.nextToken;
      if (!nextToken) return false;
    }
    return false;
  } catch (error) {
    if (isInvalidParameter(error)) return undefined;
    throw error;
  }
}
