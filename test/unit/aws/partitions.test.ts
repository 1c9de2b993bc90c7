import { arnPattern, isRegionName, partitionOf } from '../../../lib/aws/partitions';
import { clusterListVar, optionalTopicArnVar } from '../../../lib/config';

/** One Region of every partition, with the partition its ARNs name. */
const REGIONS: [region: string, partition: string][] = [
  ['us-east-1', 'aws'],
  ['eu-central-2', 'aws'],
  ['ap-southeast-7', 'aws'],
  ['mx-central-1', 'aws'],
  ['cn-northwest-1', 'aws-cn'],
  ['us-gov-west-1', 'aws-us-gov'],
  ['us-iso-east-1', 'aws-iso'],
  ['us-isob-east-1', 'aws-iso-b'],
  ['eu-isoe-west-1', 'aws-iso-e'],
  ['us-isof-south-1', 'aws-iso-f'],
  ['eusc-de-east-1', 'aws-eusc'],
];

describe('partitions', () => {
  it.each(REGIONS)('%s is a Region of %s', (region, partition) => {
    expect(isRegionName(region)).toBe(true);
    expect(partitionOf(region)).toBe(partition);
  });

  it.each(REGIONS)('a cluster ARN, a topic ARN and a container-instance ARN of %s are accepted', (region, partition) => {
    const cluster = `arn:${partition}:ecs:${region}:123456789012:cluster/prod`;
    expect(clusterListVar().safeParse(cluster).success).toBe(true);
    expect(optionalTopicArnVar().safeParse(`arn:${partition}:sns:${region}:123456789012:hooks`).success).toBe(true);
    expect(arnPattern('ecs', 'container-instance/.+').test(`arn:${partition}:ecs:${region}:123456789012:container-instance/prod/0123abcd`)).toBe(true);
  });

  it('accepts a Region of a partition that does not exist yet, by its shape', () => {
    expect(isRegionName('xy-newland-1')).toBe(true);
    expect(isRegionName('abcd-fr-south-3')).toBe(true);
    expect(partitionOf('xy-newland-1')).toBeUndefined();
    expect(clusterListVar().safeParse('arn:aws-xy:ecs:xy-newland-1:123456789012:cluster/prod').success).toBe(true);
  });

  it.each(['', 'us-east', 'US-EAST-1', 'us_east_1', 'us-east-1a', 'u-east-1', 'abcde-east-1', 'us-east-1 '])('refuses %j', (region) => {
    expect(isRegionName(region)).toBe(false);
  });

  it.each([
    'arn:aws:ecs:us-east-1:12345678901:cluster/prod',
    'arn:amazon:ecs:us-east-1:123456789012:cluster/prod',
    'arn:aws:ecs:useast1:123456789012:cluster/prod',
    'arn:aws:sns:us-east-1:123456789012:cluster/prod',
  ])('refuses the cluster ARN %s', (arn) => {
    expect(clusterListVar().safeParse(arn).success).toBe(false);
  });
});
