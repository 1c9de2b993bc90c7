import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { SimulationReport } from '../../simulator/report';

const run = promisify(execFile);
const root = join(__dirname, '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');

/** `npm start` as a user runs it, without AWS credentials in the environment. */
describe('npm start', () => {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

  it('runs a scenario to its report without AWS credentials', async () => {
    const { stdout } = await run(tsx, ['simulator/cli.ts', '--scenario', 'daemon-only', '--fast', '--json'], { cwd: root, env, timeout: 60_000 });
    const report = JSON.parse(stdout.slice(stdout.indexOf('\n{') + 1)) as SimulationReport;
    expect(report.scenario).toBe('daemon-only');
    expect(report.simulatedSeconds).toBe(600);
    expect(report.lifecycleActions.completedClean).toBe(1);
    expect(report.awsCalls.byOperation['autoscaling:CompleteLifecycleAction']).toBe(1);
  }, 60_000);

  it('prints a live timeline and the report as text, and names the scenarios on a bad name', async () => {
    const { stdout } = await run(tsx, ['simulator/cli.ts', '--scenario', 'daemon-only', '--fast'], { cwd: root, env, timeout: 60_000 });
    expect(stdout).toMatch(/\+00:30 {2}drain {5}container instance DRAINING/);
    expect(stdout).toContain('Report: scenario daemon-only');
    const failed = await run(tsx, ['simulator/cli.ts', '--scenario', 'nope'], { cwd: root, env, timeout: 60_000 }).catch((error: { code: number; stderr: string }) => error);
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stderr: string }).stderr).toContain('unknown scenario "nope"; available:');
  }, 60_000);
});
