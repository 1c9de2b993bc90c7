/**
 * AWS partitions and their Regions, as the SDKs' partition table states them
 * (https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/partitions.html,
 * docs/aws-behaviour.md §9). Region names are checked by their shape, not against a list: a Region
 * opened after this code was written must work the day it opens.
 */
export interface Partition {
  /** The ARN partition: `arn:<id>:…`. */
  id: string;
  /** Region names of the partition (the SDKs' `regionRegex`). */
  regions: RegExp;
}

export const PARTITIONS: readonly Partition[] = [
  // The more specific patterns first: us-gov-* and us-iso*-* would also match the commercial one.
  { id: 'aws-us-gov', regions: /^us-gov-\w+-\d+$/ },
  { id: 'aws-iso', regions: /^us-iso-\w+-\d+$/ },
  { id: 'aws-iso-b', regions: /^us-isob-\w+-\d+$/ },
  { id: 'aws-iso-e', regions: /^eu-isoe-\w+-\d+$/ },
  { id: 'aws-iso-f', regions: /^us-isof-\w+-\d+$/ },
  { id: 'aws-eusc', regions: /^eusc-(de)-\w+-\d+$/ },
  { id: 'aws-cn', regions: /^cn-\w+-\d+$/ },
  { id: 'aws', regions: /^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/ },
];

/**
 * Every Region name of every partition, and of partitions to come: a lowercase prefix of 2–4
 * letters, one or more lowercase words, a number (`us-east-1`, `us-gov-west-1`, `us-isob-east-1`,
 * `eusc-de-east-1`).
 */
export const REGION_NAME = /^[a-z]{2,4}(-[a-z]+)+-\d+$/;

/** An ARN's partition field: `aws`, or `aws-` and lowercase words (`aws-cn`, `aws-us-gov`, `aws-iso-b`). */
export const ARN_PARTITION = 'aws(?:-[a-z]+)*';
/** An ARN's Region field (empty for global resources is not accepted: every ARN the suite reads is Regional). */
export const ARN_REGION = '[a-z]{2,4}(?:-[a-z]+)+-\\d+';

export function isRegionName(region: string): boolean {
  return REGION_NAME.test(region);
}

/** The partition a Region belongs to, or undefined for a Region of a partition not in the table. */
export function partitionOf(region: string): string | undefined {
  return PARTITIONS.find((partition) => partition.regions.test(region))?.id;
}

/** Whether two ARNs (or an ARN and a bare id) name one resource: ECS answers with either ARN format. */
export function sameResource(left: string, right: string): boolean {
  return left === right || left.split('/').pop() === right.split('/').pop();
}

/** A pattern for an ARN of `service` whose resource part matches `resource` (a regex source). */
export function arnPattern(service: string, resource: string): RegExp {
  return new RegExp(`^arn:${ARN_PARTITION}:${service}:${ARN_REGION}:\\d{12}:${resource}$`);
}
