import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RealTimeClock } from '../../simulator/clock';
import { startServer, type RunningServer } from '../../simulator/http/server';
import { populateWorld } from '../../simulator/runner/populate';
import { LIFECYCLE_TOPIC } from '../../simulator/runner/simulation';
import { loadScenario } from '../../simulator/scenarios/load';
import { World } from '../../simulator/world/world';

/** The README's deploy and dry-run commands, run as written (deploy as `package`: no account needed). */
const ROOT = join(__dirname, '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const run = promisify(execFile);
const SLS = join(ROOT, 'node_modules/.bin/serverless');
const BASE_ENV = { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', DRY_RUN: '', AWS_REGION: '', AWS_DEFAULT_REGION: '' };

/** The README line that starts with `prefix`, split into words as a shell would (double quotes only). */
function readmeCommand(prefix: string): string[] {
  const line = README.split('\n').find((text) => text.startsWith(prefix));
  if (!line) throw new Error(`README has no line starting with ${prefix}`);
  return (line.match(/(?:[^\s"]+|"[^"]*")+/g) ?? []).map((word) => word.replace(/"/g, ''));
}

describe('README, "Deploy"', () => {
  it('packages the deploy command as written: hooks on the named group, no reserved concurrency, stage in the export names', async () => {
    const words = readmeCommand('npx serverless deploy --stage prod');
    expect(words.slice(0, 3)).toEqual(['npx', 'serverless', 'deploy']);
    const dir = mkdtempSync(join(tmpdir(), 'sls-readme-'));
    try {
      await run(SLS, ['package', '--package', dir, ...words.slice(3)], { cwd: ROOT, env: BASE_ENV, timeout: 120_000 });
      type Resource = { Type: string; Properties: Record<string, unknown> };
      const template = JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as {
        Resources: Record<string, Resource>;
        Outputs: Record<string, { Export: { Name: string } }>;
      };
      const hooks = Object.values(template.Resources).filter((r) => r.Type === 'AWS::AutoScaling::LifecycleHook');
      expect(hooks.map((hook) => [hook.Properties.AutoScalingGroupName, hook.Properties.HeartbeatTimeout, hook.Properties.DefaultResult])).toEqual([
        ['prod-ecs-asg', 600, 'CONTINUE'],
      ]);
      expect(template.Resources.ScaleInSweeperLambdaFunction?.Properties).not.toHaveProperty('ReservedConcurrentExecutions');
      expect(template.Outputs.LifecycleTopicArn?.Export.Name).toBe('ecs-ec2-keeper-prod-LifecycleTopicArn');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 130_000);
});

describe('README, "Dry run", against the served simulator', () => {
  let server: RunningServer;
  let clock: RealTimeClock;
  let world: World;

  beforeAll(async () => {
    const scenario = loadScenario('tour');
    clock = new RealTimeClock();
    world = new World(clock, { seed: scenario.seed });
    const topic = world.createTopic(LIFECYCLE_TOPIC);
    server = await startServer(world, { port: 0 });
    populateWorld(world, scenario, { topicArn: topic.arn, start: clock.now(), events: false });
  });
  afterAll(async () => {
    clock.stop();
    await server.close();
  });

  it('DRY_RUN=true in the shell: invoke local decides dry-run and the instance stays ACTIVE', async () => {
    const words = readmeCommand('DRY_RUN=true npx serverless invoke local');
    expect(words.slice(0, 5)).toEqual(['DRY_RUN=true', 'npx', 'serverless', 'invoke', 'local']);
    const env = { ...BASE_ENV, DRY_RUN: 'true', AWS_ENDPOINT_URL: server.url, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'sim', AWS_SECRET_ACCESS_KEY: 'sim' };
    const { stdout, stderr } = await run(SLS, words.slice(3), { cwd: ROOT, env, timeout: 120_000 });
    expect(`${stdout}${stderr}`).toContain('dry-run');
    const event = JSON.parse(readFileSync(join(ROOT, 'events/spot-interruption-terminate.json'), 'utf8')) as { detail: { 'instance-id': string } };
    expect(world.containerInstanceOf(event.detail['instance-id'])?.status).toBe('ACTIVE');
    expect(world.drains).toEqual([]);
  }, 130_000);
});
