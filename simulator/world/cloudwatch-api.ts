import { AwsApiError, type ApiInput } from '../api';
import { readList, readString } from './input';
import type { Operation, RuledWorld } from './rules';


/** PutMetricData limits: ≤ 1000 datums, namespace not starting with AWS/ (aws-behaviour.md §6). */
const putMetricData: Operation = (world: RuledWorld, input: ApiInput) => {
  const namespace = readString(input, 'Namespace', 'InvalidParameterValue', true)!;
  if (namespace.length < 1 || namespace.length > 255 || namespace.startsWith('AWS/')) {
    throw new AwsApiError('InvalidParameterValue', `The value ${namespace} for parameter Namespace is invalid.`, 400);
  }
  const data = (readList(input, 'MetricData') ?? []) as Record<string, unknown>[];
  if (data.length === 0) throw new AwsApiError('MissingParameter', 'The parameter MetricData is required.', 400);
  if (data.length > 1000) {
    throw new AwsApiError('InvalidParameterValue', 'The collection MetricData must not have a size greater than 1000.', 400);
  }
  const stored = data.map((datum, index) => {
    const name = datum.MetricName;
    if (typeof name !== 'string' || name === '') {
      throw new AwsApiError('InvalidParameterValue', `The parameter MetricData.member.${index + 1}.MetricName is required.`, 400);
    }
    const dimensions = (Array.isArray(datum.Dimensions) ? datum.Dimensions : []) as { Name?: string; Value?: string }[];
    if (dimensions.length > 30) {
      throw new AwsApiError('InvalidParameterValue', `The collection MetricData.member.${index + 1}.Dimensions must not have a size greater than 30.`, 400);
    }
    const values = Array.isArray(datum.Values) ? (datum.Values as number[]) : [];
    const value = typeof datum.Value === 'number' ? datum.Value : values.reduce((sum, item) => sum + item, 0);
    const timestamp = datum.Timestamp instanceof Date ? datum.Timestamp.getTime() : typeof datum.Timestamp === 'number' ? datum.Timestamp : world.now();
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
