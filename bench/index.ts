/**
 * `npm run bench`: every benchmark, one after the other, each in its own process (so one's memory
 * and JIT state do not colour the next), printing its tables and writing bench/results/<name>.json.
 * Exits non-zero if a benchmark fails to run; a missed floor is printed, not fatal, so the figures
 * are always published.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { progress } from './lib/common';

const BENCHMARKS: Array<[string, string]> = [
  ['Spot drainer per warning', 'spot.ts'],
  ['Spot storm', 'storm.ts'],
  ['Lifecycle drainer', 'lifecycle.ts'],
  ['Sweeper at scale', 'sweeper-scale.ts'],
  ['Sweeper scenarios at 2,000 instances', 'sweeper.ts'],
  ['Sweeper over a day of diurnal load', 'sweeper-day.ts'],
  ['Bundles and cold init', 'bundles.ts'],
];

function main(): void {
  const started = Date.now();
  const failed: string[] = [];
  for (const [name, file] of BENCHMARKS) {
    progress(`bench: ${name} (bench/${file})`);
    const run = spawnSync(process.execPath, [...process.execArgv, join(__dirname, file)], { stdio: 'inherit', env: process.env });
    if (run.status !== 0) failed.push(`${name} (exit ${run.status ?? run.signal})`);
  }
  progress(`bench: done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (failed.length > 0) {
    console.error(`failed: ${failed.join(', ')}`);
    process.exitCode = 1;
  }
}

main();
