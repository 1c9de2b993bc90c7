import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fixture } from '../fixtures';
import { ROOT, SLS, SLS_ENV, packageStack } from './stack';
import { readmeCommand, serveScenario, servedEnv } from './served';

/** The README's deploy and dry-run commands, run as written (deploy as `package`: no account needed). */
const run = promisify(execFile);

describe('README, "Deploy"', () => {
  it('packages the deploy command as written: hooks on the named group, no reserved concurrency, stage in the export names', async () => {
    const words = readmeCommand('npx serverless deploy --stage prod');
    expect(words.slice(0, 3)).toEqual(['npx', 'serverless', 'deploy']);
    const template = packageStack([], words.slice(3));
    const hooks = Object.values(template.Resources).filter((r) => r.Type === 'AWS::AutoScaling::LifecycleHook');
    expect(hooks.map((hook) => [hook.Properties.AutoScalingGroupName, hook.Properties.HeartbeatTimeout, hook.Properties.DefaultResult])).toEqual([
      ['prod-ecs-asg', 600, 'CONTINUE'],
    ]);
    expect(template.Resources.ScaleInSweeperLambdaFunction?.Properties).not.toHaveProperty('ReservedConcurrentExecutions');
    expect(template.Outputs.LifecycleTopicArn?.Export.Name).toBe('ecs-ec2-keeper-prod-LifecycleTopicArn');
  }, 130_000);
});

describe('README, "Dry run", against the served simulator', () => {
  let served: Awaited<ReturnType<typeof serveScenario>>;
  beforeAll(async () => { served = await serveScenario('tour'); });
  afterAll(() => served.close());

  it('DRY_RUN=true in the shell: invoke local decides dry-run and the instance stays ACTIVE', async () => {
    const words = readmeCommand('DRY_RUN=true npx serverless invoke local');
    expect(words.slice(0, 5)).toEqual(['DRY_RUN=true', 'npx', 'serverless', 'invoke', 'local']);
    const env = { ...SLS_ENV, DRY_RUN: 'true', ...servedEnv(served.server.url) };
    const { stdout, stderr } = await run(SLS, words.slice(3), { cwd: ROOT, env, timeout: 120_000 });
    expect(`${stdout}${stderr}`).toContain('dry-run');
    const event = fixture<{ detail: { 'instance-id': string } }>('spot-interruption-terminate.json');
    expect(served.world.containerInstanceOf(event.detail['instance-id'])?.status).toBe('ACTIVE');
    expect(served.world.drains).toEqual([]);
  }, 130_000);
});
