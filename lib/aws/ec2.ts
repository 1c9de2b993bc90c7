import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { isInstanceNotFound } from '../errors';

/**
 * The EC2 state of one instance (`pending`, `running`, `stopping`, `stopped`, `shutting-down`,
 * `terminated`), or 'not-found' once EC2 no longer knows the id (a terminated instance stays
 * describable for about an hour, then is gone; docs/aws-behaviour.md §1.6).
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstances.html
 */
export async function describeInstanceState(ec2: EC2Client, instanceId: string): Promise<string> {
  try {
    const response = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    for (const reservation of response.Reservations ?? []) {
      const found = reservation.Instances?.find((instance) => instance.InstanceId === instanceId);
      if (found) return found.State?.Name ?? 'unknown';
    }
    return 'not-found';
  } catch (error) {
    if (isInstanceNotFound(error)) return 'not-found';
    throw error;
  }
}
