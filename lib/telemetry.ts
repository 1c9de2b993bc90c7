import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * Logs and metrics as a contract: messages are constants, variable data goes in fields, and
 * metric dimensions are low-cardinality (cluster, kind, result, reason), never an instance id.
 */
export type Fields = Record<string, unknown>;
export type Dimensions = Record<string, string>;
export type Level = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export interface Telemetry {
  log(level: Level, message: string, fields?: Fields): void;
  /** Emits one metric data point with its own dimensions (CloudWatch embedded metric format). */
  count(name: string, dimensions?: Dimensions, value?: number): void;
}

/** Production telemetry: Powertools Logger (JSON lines) and Metrics (EMF lines, no API calls). */
export function createPowertoolsTelemetry(options: { serviceName: string; namespace: string; logLevel: Level }): Telemetry {
  const logger = new Logger({ serviceName: options.serviceName, logLevel: options.logLevel });
  const metrics = new Metrics({ serviceName: options.serviceName, namespace: options.namespace });
  return {
    log(level, message, fields = {}) {
      switch (level) {
        case 'DEBUG':
          logger.debug(message, fields);
          break;
        case 'INFO':
          logger.info(message, fields);
          break;
        case 'WARN':
          logger.warn(message, fields);
          break;
        case 'ERROR':
          logger.error(message, fields);
          break;
      }
    },
    count(name, dimensions = {}, value = 1) {
      const single = metrics.singleMetric();
      single.addDimensions(dimensions);
      // A single metric is flushed as soon as it is added.
      single.addMetric(name, MetricUnit.Count, value);
    },
  };
}

export interface LogEntry {
  level: Level;
  message: string;
  fields: Fields;
}
export interface MetricEntry {
  name: string;
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

  count(name: string, dimensions: Dimensions = {}, value = 1): void {
    this.metrics.push({ name, dimensions, value });
  }

  messages(level?: Level): string[] {
    return this.logs.filter((entry) => level === undefined || entry.level === level).map((entry) => entry.message);
  }

  metricTotal(name: string, dimensions: Dimensions = {}): number {
    return this.metrics
      .filter((entry) => entry.name === name && Object.entries(dimensions).every(([k, v]) => entry.dimensions[k] === v))
      .reduce((sum, entry) => sum + entry.value, 0);
  }
}
