import { METRICS, checkDimensions, dimensionSets } from '../../lib/metrics';
import { MemoryTelemetry, createPowertoolsTelemetry, type Telemetry } from '../../lib/telemetry';

/** EMF lines Powertools writes to stdout during `run`. */
function emfLines(run: () => void): Record<string, unknown>[] {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    run();
  } finally {
    spy.mockRestore();
  }
  return lines
    .join('')
    .split('\n')
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

interface Emf {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
}

describe('metric catalogue', () => {
  it('types Telemetry.count: a wrong name or wrong dimensions do not compile', () => {
    const telemetry: Telemetry = new MemoryTelemetry();
    const compileOnly = () => {
      // @ts-expect-error not a metric of the catalogue
      telemetry.count('InstanceDrainedd', { kind: 'x', cluster: 'c' });
      // @ts-expect-error EventIgnored has no `function` dimension
      telemetry.count('EventIgnored', { function: 'lifecycleHook', kind: 'x', reason: 'y' });
      // @ts-expect-error SweepFailed needs errorClass
      telemetry.count('SweepFailed', { cluster: 'c' });
      // @ts-expect-error a gauge travels on PutMetricData, not on the event channel
      telemetry.count('FreeCpu', { cluster: 'c' });
    };
    expect(typeof compileOnly).toBe('function');
  });

  it('holds every count to the catalogue at run time (an object with extra keys is refused)', () => {
    const telemetry = new MemoryTelemetry();
    const wide = { cluster: 'prod', ClusterName: 'prod' };
    expect(() => telemetry.count('HeartbeatRecorded', wide)).toThrow('HeartbeatRecorded takes dimensions cluster; given ClusterName, cluster');
    expect(() => checkDimensions('Nope', {})).toThrow('not in the catalogue');
    expect(() => checkDimensions('HeartbeatRecorded', { cluster: '' })).toThrow('dimension cluster is empty');
    telemetry.count('HeartbeatRecorded', { cluster: 'prod' });
    expect(telemetry.metricTotal('HeartbeatRecorded', { cluster: 'prod' })).toBe(1);
  });

  it('uses one spelling per dimension and only low-cardinality names', () => {
    const names = new Set(Object.values(METRICS).flatMap((spec) => [...spec.dimensions]));
    // `group` is an Auto Scaling group name (as few as the clusters); never an instance or task id.
    expect([...names].sort()).toEqual(['cluster', 'errorClass', 'function', 'group', 'kind', 'outcome', 'reason', 'result', 'step']);
  });

  it('gives an alarmed metric a suite-wide series (the empty dimension set) next to its own', () => {
    expect(dimensionSets('LifecycleDeadline')).toEqual([['cluster', 'reason'], []]);
    expect(dimensionSets('HeartbeatRecorded')).toEqual([['cluster']]);
  });
});

describe('EMF output of the production telemetry', () => {
  // test/setup-env.ts silences Powertools metrics for every other test.
  const disabled = process.env.POWERTOOLS_METRICS_DISABLED;
  beforeAll(() => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  });
  afterAll(() => {
    process.env.POWERTOOLS_METRICS_DISABLED = disabled;
  });
  const telemetry = () => createPowertoolsTelemetry({ serviceName: 'lifecycleHook', namespace: 'EcsEc2Keeper/prod', logLevel: 'ERROR' });

  it('writes exactly the catalogue dimensions, no Powertools service dimension, in the stage namespace', () => {
    const [line] = emfLines(() => telemetry().count('HeartbeatRecorded', { cluster: 'prod' })) as unknown as (Emf & Record<string, unknown>)[];
    expect(line!._aws.CloudWatchMetrics).toEqual([{ Namespace: 'EcsEc2Keeper/prod', Dimensions: [['cluster']], Metrics: [{ Name: 'HeartbeatRecorded', Unit: 'Count' }] }]);
    expect(line).not.toHaveProperty('service');
    expect(line).toMatchObject({ cluster: 'prod', HeartbeatRecorded: 1 });
  });

  it('adds the suite-wide dimension set to an alarmed metric, on the same line', () => {
    const [line] = emfLines(() => telemetry().count('LifecycleFailed', { cluster: 'prod', errorClass: 'retryable' }, 2)) as unknown as (Emf & Record<string, unknown>)[];
    expect(line!._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['cluster', 'errorClass'], []]);
    expect(line).toMatchObject({ cluster: 'prod', errorClass: 'retryable', LifecycleFailed: 2 });
  });
});
