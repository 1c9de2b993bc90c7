import { PutMetricDataCommand, type CloudWatchClient, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { METRICS, type DimensionsOf, type GaugeMetricName } from '../metrics';
import { chunk } from './batch';

/** PutMetricData accepts at most 1000 metrics per request (botocore model; aws-behaviour.md §6). */
export const PUT_METRIC_DATA_BATCH = 1000;

/** A gauge of the metric catalogue (lib/metrics.ts): its unit and dimension names come from there. */
export interface Datum {
  name: GaugeMetricName;
  value: number;
  dimensions: DimensionsOf<GaugeMetricName>;
  /** Milliseconds since the epoch: the sweep's own clock, so a simulated run is stamped in simulated time. */
  timestamp: number;
}

/**
 * Publishes datums in as few PutMetricData calls as the limit allows. Returns the number of calls,
 * so callers can account for their AWS cost.
 */
export async function putMetricData(cloudWatch: CloudWatchClient, namespace: string, datums: readonly Datum[]): Promise<number> {
  const batches = chunk(datums, PUT_METRIC_DATA_BATCH);
  for (const batch of batches) await cloudWatch.send(new PutMetricDataCommand({ Namespace: namespace, MetricData: batch.map(toMetricDatum) }));
  return batches.length;
}

function toMetricDatum(datum: Datum): MetricDatum {
  return {
    MetricName: datum.name,
    Value: datum.value,
    Unit: METRICS[datum.name].unit,
    Timestamp: new Date(datum.timestamp),
    Dimensions: Object.entries(datum.dimensions).map(([Name, Value]) => ({ Name, Value })),
  };
}
