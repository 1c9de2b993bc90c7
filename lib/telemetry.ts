import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS, checkDimensions, type DimensionsOf, type EventMetricName } from './metrics';

/**
 * Logs and metrics as a contract: messages are constants, variable data goes in fields, and
 * metric names and dimensions come from the catalogue (lib/metrics.ts): low-cardinality
 * (cluster, kind, result, reason), never an instance id.
 */
export type Fields = Record<string, unknown>;
export type Dimensions = Record<string, string>;
export type Level = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export interface Telemetry {
  log(level: Level, message: string, fields?: Fields): void;
  /** Emits one metric data point with its own dimensions (CloudWatch embedded metric format). */
  count<N extends EventMetricName>(name: N, dimensions: DimensionsOf<N>, value?: number): void;
}

const LOGGER_METHOD = { DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/** Production telemetry: Powertools Logger (JSON lines) and Metrics (EMF lines, no API calls). */
export function createPowertoolsTelemetry(options: { serviceName: string; namespace: string; logLevel: Level }): Telemetry {
  const logger = new Logger({ serviceName: options.serviceName, logLevel: options.logLevel });
  const metrics = new Metrics({ serviceName: options.serviceName, namespace: options.namespace });
  return {
    log(level, message, fields = {}) {
      logger[LOGGER_METHOD[level]](message, fields);
    },
    count(name, dimensions, value = 1) {
      const single = metrics.singleMetric();
      // Only the catalogue's dimensions: no Powertools `service` dimension (a series alarms would
      // have to name, and the function is already told by the metric or its own dimensions).
      single.clearDefaultDimensions();
      single.addDimensions(dimensions);
      // An alarmed metric also goes to its suite-wide series: an empty dimension set on the same
      // EMF line (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
      if ('alarm' in METRICS[name]) single.addDimensions({});
      // A single metric is flushed as soon as it is added.
      single.addMetric(name, METRICS[name].unit, value);
    },
  };
}

export interface LogEntry {
  level: Level;
  message: string;
  fields: Fields;
}
export interface MetricEntry {
  name: EventMetricName;
  dimensions: Dimensions;
  value: number;
}

/** Telemetry that keeps everything in memory: for tests, the simulator and benchmarks. */
export class MemoryTelemetry implements Telemetry {
  readonly logs: LogEntry[] = [];
  readonly metrics: MetricEntry[] = [];

  log(level: Level, message: string, fields: Fields = {}): void {
    this.logs.push({ level, message, fields });
  }

  count<N extends EventMetricName>(name: N, dimensions: DimensionsOf<N>, value = 1): void {
    // Held to the catalogue at run time as well: an object built elsewhere and passed in could
    // carry more keys than its type says.
    checkDimensions(name, dimensions);
    this.metrics.push({ name, dimensions: { ...dimensions }, value });
  }

  messages(level?: Level): string[] {
    return this.logs.filter((entry) => level === undefined || entry.level === level).map((entry) => entry.message);
  }

  metricTotal(name: EventMetricName, dimensions: Dimensions = {}): number {
    return this.metrics
      .filter((entry) => entry.name === name && Object.entries(dimensions).every(([k, v]) => entry.dimensions[k] === v))
      .reduce((sum, entry) => sum + entry.value, 0);
  }
}
