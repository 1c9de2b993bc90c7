import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(__dirname, '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

type Failure = { code: number | null; killed: boolean; stdout: string; stderr: string };
const fail = (args: string[]) => run(tsx, ['simulator/cli.ts', ...args], { cwd: root, env, timeout: 60_000 }).then(() => undefined, (error: Failure) => error);

/** `npm start` on bad input: a one-line error, no stack, a non-zero exit, nothing left running. */
describe('npm start on bad input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scenario-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs a scenario given as a file path, and --json prints one JSON document', async () => {
    const file = join(dir, 'mine.json');
    writeFileSync(file, readFileSync(join(root, 'simulator/scenarios/daemon-only.json')));
    const { stdout } = await run(tsx, ['simulator/cli.ts', '--scenario', file, '--fast', '--json'], { cwd: root, env, timeout: 60_000 });
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
