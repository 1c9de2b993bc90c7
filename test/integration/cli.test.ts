import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { SimulationReport } from '../../simulator/report';

const root = join(__dirname, '..', '..');
// `npm start` as a user runs it: no AWS credentials in the environment.
const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
const npmStart = (args: string[]) => promisify(execFile)(join(root, 'node_modules', '.bin', 'tsx'), ['simulator/cli.ts', ...args], { cwd: root, env, timeout: 60_000 });

type Failure = { code: number | null; killed: boolean; stdout: string; stderr: string };
const fail = (args: string[]) => npmStart(args).then(() => undefined, (error: Failure) => error);

/** `npm start` as a user runs it, without AWS credentials in the environment. */
describe('npm start', () => {
  it('runs a scenario to its report without AWS credentials', async () => {
    const { stdout } = await npmStart(['--scenario', 'daemon-only', '--fast', '--json']);
    const report = JSON.parse(stdout.slice(stdout.indexOf('\n{') + 1)) as SimulationReport;
    expect(report.scenario).toBe('daemon-only');
    expect(report.simulatedSeconds).toBe(600);
    expect(report.lifecycleActions.completedClean).toBe(1);
    expect(report.awsCalls.byOperation['autoscaling:CompleteLifecycleAction']).toBe(1);
  }, 60_000);

  it('prints a live timeline and the report as text, and names the scenarios on a bad name', async () => {
    const { stdout } = await npmStart(['--scenario', 'daemon-only', '--fast']);
    expect(stdout).toMatch(/\+00:30 {2}drain {5}container instance DRAINING/);
    expect(stdout).toContain('Report: scenario daemon-only');
    const failed = await fail(['--scenario', 'nope']);
    expect(failed).toMatchObject({ code: 1 });
    expect(failed!.stderr).toContain('unknown scenario "nope"; available:');
  }, 60_000);
});

/** `npm start` on bad input: a one-line error, no stack, a non-zero exit, nothing left running. */
describe('npm start on bad input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scenario-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs a scenario given as a file path, and --json prints one JSON document', async () => {
    const file = join(dir, 'mine.json');
    writeFileSync(file, readFileSync(join(root, 'simulator/scenarios/daemon-only.json')));
    const { stdout } = await npmStart(['--scenario', file, '--fast', '--json']);
    expect((JSON.parse(stdout) as { lifecycleActions: { completedClean: number } }).lifecycleActions.completedClean).toBe(1);
  }, 60_000);

  it('exits 1 with one line on a scenario whose function settings are bad', async () => {
    const scenario = JSON.parse(readFileSync(join(root, 'simulator/scenarios/daemon-only.json'), 'utf8')) as { handlers: { lifecycleHook: { env: Record<string, string> } } };
    scenario.handlers.lifecycleHook.env.LOG_LEVEL = 'LOUD';
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify(scenario));
    for (const args of [['--scenario', file, '--fast'], ['--serve', '--port', '0', '--scenario', file]]) {
      const failed = await fail(args);
      expect(failed).toMatchObject({ code: 1, killed: false });
      expect(failed!.stderr.trim()).toBe('error: scenario daemon-only, lifecycleHook: Invalid configuration: LOG_LEVEL must be one of DEBUG, INFO, WARN, ERROR');
    }
  }, 120_000);

  it('exits 1 with one line on an unknown option, a missing file and a bad speed', async () => {
    for (const [args, line] of [
      [['--bogus'], /^error: Unknown option '--bogus'/],
      [['--scenario', join(dir, 'missing.json')], /^error: cannot read scenario .*missing\.json: ENOENT/],
      [['--speed', 'zero'], /^error: --speed must be a positive number$/],
      [['--serve', '--port', 'abc'], /^error: --port must be a whole number from 0 to 65535$/],
    ] as const) {
      const failed = await fail([...args]);
      expect(failed).toMatchObject({ code: 1, killed: false });
      expect(failed!.stderr.trim().split('\n')).toHaveLength(1);
      expect(failed!.stderr.trim()).toMatch(line);
    }
  }, 120_000);
});
