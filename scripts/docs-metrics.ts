import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { METRICS, dimensionSets, type MetricName, type MetricSpec } from '../lib/metrics';

/** The README's metric tables, generated from the catalogue: `npm run docs:metrics` rewrites the block. */
export const BEGIN = '<!-- metrics:begin (generated from lib/metrics.ts by `npm run docs:metrics`; do not edit) -->';
export const END = '<!-- metrics:end -->';
export const README = join(__dirname, '..', 'README.md');

const code = (items: readonly string[]) => items.map((item) => `\`${item}\``).join(', ');

function row(name: string, spec: MetricSpec): string {
  const sets = dimensionSets(name as MetricName).map((set) => (set.length === 0 ? '(none)' : code(set)));
  const alarm = spec.alarm ? `≥ ${spec.alarm.threshold} in ${spec.alarm.periodSeconds / 60} min` : '';
  return `| \`${name}\` | ${spec.unit} | ${sets.join('; ')} | ${code(spec.functions)} | ${alarm} | ${spec.description} |`;
}

export function renderMetricsBlock(): string {
  const entries = Object.entries(METRICS) as [string, MetricSpec][];
  const table = (channel: MetricSpec['channel']) => [
    '| metric | unit | dimension sets | emitted by | alarm | when / value |',
    '| --- | --- | --- | --- | --- | --- |',
    ...entries.filter(([, spec]) => spec.channel === channel).map(([name, spec]) => row(name, spec)),
  ];
  return [
    BEGIN,
    'Events, as CloudWatch embedded metric format (EMF) log lines:',
    '',
    ...table('emf'),
    '',
    'Capacity gauges of the sweeper, with `PutMetricData`, one datapoint per cluster and run, stamped with the sweep\'s time:',
    '',
    ...table('put-metric-data'),
    END,
  ].join('\n');
}

/** The README with its block replaced by the current rendering. */
export function withMetricsBlock(readme: string): string {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${BEGIN} … ${END} block`);
  return readme.slice(0, start) + renderMetricsBlock() + readme.slice(end + END.length);
}

if (require.main === module) {
  const readme = readFileSync(README, 'utf8');
  const next = withMetricsBlock(readme);
  if (next !== readme) writeFileSync(README, next);
  process.stdout.write(next === readme ? 'README.md metrics block is up to date\n' : 'README.md metrics block rewritten\n');
}
