/**
 * Bundle size and module-load (cold init) time of each function, built the way serverless.yml
 * builds them (esbuild, minified, node22, ES module builds preferred).
 * Run: npm run bench:bundles
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { FUNCTIONS } from '../lib/functions';
import { median, publish, type Section } from './report';

const ROOT = join(__dirname, '..');
const LOADS = Number(process.env.BENCH_LOADS ?? 9);

async function main(): Promise<void> {
  const out = mkdtempSync(join(tmpdir(), 'bundles-'));
  const rows: Section['rows'] = [];
  const data: unknown[] = [];
  try {
    for (const { name, handler } of FUNCTIONS) {
      // serverless.yml's `handlers/<file>.<export>` names the entry point handlers/<file>.ts.
      const entry = `${handler.slice(0, handler.lastIndexOf('.'))}.ts`;
      const outfile = join(out, `${name}.js`);
      await build({
        entryPoints: [join(ROOT, entry)],
        bundle: true,
        minify: true,
        platform: 'node',
        target: 'node22',
        mainFields: ['module', 'main'],
        keepNames: true,
        outfile,
        logLevel: 'error',
      });
      const bytes = statSync(outfile).size;
      const gzipped = gzipSync(readFileSync(outfile)).length;
      // Each load is a fresh process, as a cold start is: time to require the bundle, which
      // includes reading the configuration and building the SDK clients.
      const loads: number[] = [];
      for (let run = 0; run < LOADS; run += 1) {
        const printed = execFileSync(
          process.execPath,
          ['-e', `const t=process.hrtime.bigint();require(${JSON.stringify(outfile)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`],
          {
            env: {
              PATH: process.env.PATH ?? '',
              AWS_REGION: 'us-east-1',
              AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
              LIFECYCLE_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:ecs-ec2-keeper-bench-lifecycle',
            },
          },
        ).toString();
        loads.push(Number(printed));
      }
      rows.push([name, (bytes / 1024).toFixed(0), (gzipped / 1024).toFixed(0), median(loads), Math.min(...loads)]);
      data.push({ name, bytes, gzipped, loadMs: loads });
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  publish('bundles', [
    {
      title: `Bundles (median of ${LOADS} cold module loads, Node ${process.version})`,
      columns: ['function', 'KiB', 'KiB gzip', 'load ms (median)', 'load ms (min)'],
      rows,
      data,
    },
  ]);
}

void main();
