import type { ECSClient } from '@aws-sdk/client-ecs';
import { putInstanceAttributes } from '../aws/ecs';

/**
 * The lease that ends duplicate chains.
 *
 * SNS delivers at least once and Lambda may run an event twice (aws-behaviour.md §4), so one
 * lifecycle notification can start two chains of requeue messages. Before a round starts waiting it
 * writes a fresh random value to this custom attribute of the container instance; every later poll
 * reads the attribute back (it comes with the DescribeContainerInstances the poll makes anyway). A
 * round that finds another value there knows a newer round owns the drain and ends without a
 * requeue. Writes are ordered by ECS, so of two concurrent rounds the later writer survives and the
 * other ends within one poll interval.
 */
export const LEASE_ATTRIBUTE = 'ecs-ec2-keeper.lifecycle-lease';

export async function writeLease(ecs: ECSClient, cluster: string, containerInstanceArn: string, value: string): Promise<void> {
  await putInstanceAttributes(ecs, cluster, [{ targetId: containerInstanceArn, name: LEASE_ATTRIBUTE, value }]);
}
