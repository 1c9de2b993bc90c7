import { readFileSync } from 'node:fs';
import { BEGIN, END, README, renderMetricsBlock, withMetricsBlock } from '../../scripts/docs-metrics';
import { METRICS } from '../../lib/metrics';

describe('README metrics block', () => {
  const readme = readFileSync(README, 'utf8');

  it('is exactly what the catalogue renders (run `npm run docs:metrics` after changing lib/metrics.ts)', () => {
    expect(withMetricsBlock(readme)).toBe(readme);
  });

  it('lists every catalogue metric once', () => {
    const block = readme.slice(readme.indexOf(BEGIN), readme.indexOf(END));
    for (const name of Object.keys(METRICS)) expect(block.split(`| \`${name}\` |`)).toHaveLength(2);
  });

  it('would catch a drift: a README row edited by hand differs from the rendering', () => {
    const edited = readme.replace('| `LifecycleDeadline` | Count | `cluster`, `reason`', '| `LifecycleDeadline` | Count | `cluster`');
    expect(edited).not.toBe(readme);
    expect(withMetricsBlock(edited)).toBe(readme);
    expect(renderMetricsBlock()).toContain('| `LifecycleDeadline` | Count | `cluster`, `reason`; (none) |');
  });
});
