import { AwsApiError, type ApiInput } from '../api';
import { readList, readString } from './input';
import type { Operation, RuledWorld } from './rules';

/** The StandardUnit enum of the CloudWatch model. */
export const STANDARD_UNITS = new Set([
  'Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes',
  'Bits', 'Kilobits', 'Megabits', 'Gigabits', 'Terabits', 'Percent', 'Count', 'Bytes/Second',
  'Kilobytes/Second', 'Megabytes/Second', 'Gigabytes/Second', 'Terabytes/Second', 'Bits/Second',
  'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second', 'Terabits/Second', 'Count/Second', 'None',
]);
const TWO_WEEKS_MS = 14 * 24 * 3_600_000;
const TWO_HOURS_MS = 2 * 3_600_000;
export const PUT_METRIC_DATA_MAX_BYTES = 1_048_576;

function invalidValue(message: string): AwsApiError {
  return new AwsApiError('InvalidParameterValue', message, 400);
}

/**
 * PutMetricData as the CloudWatch model and API reference state it (aws-behaviour.md §6): namespace
 * not starting with AWS/, ≤ 1000 metric data, metric names 1–255, ≤ 30 dimensions with names 1–255
 * and values 1–1024 characters, units from the enum, ≤ 150 values (with as many counts), timestamps
 * from two weeks ago to two hours ahead, and at most 1 MB of request.
 */
const putMetricData: Operation = (world: RuledWorld, input: ApiInput) => {
  // The wire form is form-encoded; its JSON form is a close, slightly smaller stand-in for its size.
  if (Buffer.byteLength(JSON.stringify(input)) > PUT_METRIC_DATA_MAX_BYTES) {
    throw new AwsApiError('RequestEntityTooLarge', 'Request size exceeded 1048576 bytes', 413);
  }
  const namespace = readString(input, 'Namespace', 'InvalidParameterValue', true)!;
  if (namespace.length < 1 || namespace.length > 255 || namespace.startsWith('AWS/')) throw invalidValue(`The value ${namespace} for parameter Namespace is invalid.`);
  const data = (readList(input, 'MetricData') ?? []) as Record<string, unknown>[];
  if (data.length === 0) throw new AwsApiError('MissingParameter', 'The parameter MetricData is required.', 400);
  if (data.length > 1000) throw invalidValue('The collection MetricData must not have a size greater than 1000.');
  const stored = data.map((datum, index) => {
    const member = `MetricData.member.${index + 1}`;
    const name = datum.MetricName;
    if (typeof name !== 'string' || name === '') throw invalidValue(`The parameter ${member}.MetricName is required.`);
    if (name.length > 255) throw invalidValue(`The parameter ${member}.MetricName must be at most 255 characters long.`);
    const dimensions = (Array.isArray(datum.Dimensions) ? datum.Dimensions : []) as { Name?: string; Value?: string }[];
    if (dimensions.length > 30) throw invalidValue(`The collection ${member}.Dimensions must not have a size greater than 30.`);
    dimensions.forEach((dimension, at) => {
      const where = `${member}.Dimensions.member.${at + 1}`;
      if (typeof dimension.Name !== 'string' || dimension.Name.length < 1 || dimension.Name.length > 255) {
        throw invalidValue(`The parameter ${where}.Name must be 1 to 255 characters long.`);
      }
      if (typeof dimension.Value !== 'string' || dimension.Value.length < 1 || dimension.Value.length > 1024) {
        throw invalidValue(`The parameter ${where}.Value must be 1 to 1024 characters long.`);
      }
    });
    if (datum.Unit !== undefined && (typeof datum.Unit !== 'string' || !STANDARD_UNITS.has(datum.Unit))) {
      throw invalidValue(`The parameter ${member}.Unit must be a value in the set ${[...STANDARD_UNITS].join(', ')}.`);
    }
    const values = Array.isArray(datum.Values) ? (datum.Values as number[]) : [];
    if (values.length > 150) throw invalidValue(`The collection ${member}.Values must not have a size greater than 150.`);
    if (Array.isArray(datum.Counts) && datum.Counts.length !== values.length) {
      throw invalidValue(`The parameters ${member}.Values and ${member}.Counts must be of the same size.`);
    }
    const value = typeof datum.Value === 'number' ? datum.Value : values.reduce((sum, item) => sum + item, 0);
    const timestamp = datum.Timestamp instanceof Date ? datum.Timestamp.getTime() : typeof datum.Timestamp === 'number' ? datum.Timestamp : world.now();
    if (timestamp < world.now() - TWO_WEEKS_MS || timestamp > world.now() + TWO_HOURS_MS) {
      throw invalidValue(`The parameter ${member}.Timestamp must be from two weeks ago to two hours from now.`);
    }
    return {
      namespace,
      metricName: name,
      dimensions: Object.fromEntries(dimensions.map((dimension) => [dimension.Name ?? '', dimension.Value ?? ''])),
      value,
      ...(typeof datum.Unit === 'string' ? { unit: datum.Unit } : {}),
      timestamp,
    };
  });
  for (const datum of stored) world.storeMetric(datum);
  return {};
};

export const cloudWatchOperations: Record<string, Operation> = { PutMetricData: putMetricData };
