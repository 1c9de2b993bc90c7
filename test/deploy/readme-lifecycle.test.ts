import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RealTimeClock } from '../../simulator/clock';
import { startServer, type RunningServer } from '../../simulator/http/server';
import { populateWorld } from '../../simulator/runner/populate';
import { launchTryOutAction, openLaunchTryOutAction, openTryOutAction, publishedView, tryOutAction } from '../../simulator/runner/try-out';
import { DEFAULT_SCENARIO, loadScenario } from '../../simulator/scenarios/load';
import { World } from '../../simulator/world/world';

/**
 * The README's lifecycle try-out ("Against `serverless invoke local`"), run as written against a
 * world served the way `npm start -- --serve` serves it: the default scenario, the lifecycle topic
 * named as in events/, the fixture's action held open, and the `/_sim/published` view.
 */
const ROOT = join(__dirname, '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const run = promisify(execFile);
const SLS = join(ROOT, 'node_modules/.bin/serverless');
const BASE_ENV = { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', DRY_RUN: '', AWS_REGION: '', AWS_DEFAULT_REGION: '' };

/** The README line (indentation ignored) that starts with `prefix`, split into words as a shell would. */
function readmeCommand(prefix: string): string[] {
  const line = README.split('\n').map((text) => text.trim()).find((text) => text.startsWith(prefix));
  if (!line) throw new Error(`README has no line starting with ${prefix}`);
  return (line.match(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g) ?? []).map((word) => word.replace(/["']/g, ''));
}

describe('README, the lifecycle fixture against the served simulator', () => {
  let server: RunningServer;
  let clock: RealTimeClock;
  let world: World;

  beforeAll(async () => {
    const scenario = loadScenario(DEFAULT_SCENARIO);
    clock = new RealTimeClock();
    world = new World(clock, { seed: scenario.seed });
    const topic = world.createTopic(tryOutAction().topicName);
    server = await startServer(world, { port: 0, views: { published: publishedView(world, topic.arn) } });
    populateWorld(world, scenario, { topicArn: topic.arn, start: clock.now(), events: false });
    openTryOutAction(world, scenario.clusters[0]!.name, topic.arn);
    openLaunchTryOutAction(world, scenario.clusters[0]!.name, topic.arn);
  });
  afterAll(async () => {
    clock.stop();
    await server.close();
  });

  it('the served world holds the fixture\'s instance in Terminating:Wait with the fixture\'s token', () => {
    const { group, instanceId, token } = tryOutAction();
    expect(world.groupOf(instanceId)).toMatchObject({ group: { name: group }, instance: { lifecycleState: 'Terminating:Wait' } });
    expect(world.lifecycleActions.get(token)).toMatchObject({ state: 'active', instanceId, groupName: group });
  });

  it('invoke local with events/lifecycle-terminating.json drains the instance and completes the action', async () => {
    const words = readmeCommand('npx serverless invoke local -f lifecycleHook -p events/lifecycle-terminating.json');
    const env = { ...BASE_ENV, AWS_ENDPOINT_URL: server.url, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'sim', AWS_SECRET_ACCESS_KEY: 'sim' };
    expect(words.slice(0, 2)).toEqual(['npx', 'serverless']);
    const { stdout } = await run(SLS, words.slice(2), { cwd: ROOT, env, timeout: 120_000 });
    const result = JSON.parse(stdout.slice(stdout.lastIndexOf('\n{\n') + 1)) as { records: { outcome: string; reason: string }[] };
    // The fixture's Time is months old, so its drain is past the deadline and does not wait for the
    // daemon tasks (README, "Try it locally"); the drain and the completion still happen.
    expect(result.records).toEqual([expect.objectContaining({ outcome: 'completed', reason: 'daemon-grace-over', result: 'CONTINUE' })]);

    const { instanceId, token } = tryOutAction();
    expect(world.lifecycleActions.get(token)).toMatchObject({ state: 'completed', result: 'CONTINUE', unstoppedTasksAtEnd: 0 });
    expect(world.drains.map((drain) => drain.ec2InstanceId)).toEqual([instanceId]);
  }, 130_000);

  it('invoke local with events/lifecycle-launching.json finds the held instance ready and completes its launch with CONTINUE', async () => {
    const { group, instanceId, token } = launchTryOutAction();
    expect(world.groupOf(instanceId)).toMatchObject({ group: { name: group }, instance: { lifecycleState: 'Pending:Wait' } });
    const words = readmeCommand('npx serverless invoke local -f lifecycleHook -p events/lifecycle-launching.json');
    const env = { ...BASE_ENV, AWS_ENDPOINT_URL: server.url, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'sim', AWS_SECRET_ACCESS_KEY: 'sim' };
    const { stdout } = await run(SLS, words.slice(2), { cwd: ROOT, env, timeout: 120_000 });
    const result = JSON.parse(stdout.slice(stdout.lastIndexOf('\n{\n') + 1)) as { records: { outcome: string; reason: string }[] };
    expect(result.records).toEqual([expect.objectContaining({ outcome: 'completed', reason: 'ready', result: 'CONTINUE', kind: 'launch-notification' })]);
    expect(world.lifecycleActions.get(token)).toMatchObject({ state: 'completed', result: 'CONTINUE', transition: 'autoscaling:EC2_INSTANCE_LAUNCHING' });
  }, 130_000);

  it('GET /_sim/published shows what the world published, as an SNS event invoke local takes', async () => {
    const words = readmeCommand("curl -s 'http://127.0.0.1:4599/_sim/published?last=1'");
    const url = new URL(words[2]!);
    const all = (await (await fetch(`${server.url}${url.pathname}`)).json()) as { Records: { Sns: { Message: string; TopicArn: string } }[] };
    const last = (await (await fetch(`${server.url}${url.pathname}${url.search}`)).json()) as typeof all;
    expect(last.Records).toEqual(all.Records.slice(-1));
    // The fixtures' notifications, as Auto Scaling would have sent them, on the topic events/ names.
    const fixture = (name: string) => (JSON.parse(readFileSync(join(ROOT, 'events', name), 'utf8')) as typeof all).Records[0]!.Sns;
    expect(all.Records[2]?.Sns).toMatchObject({ Message: fixture('lifecycle-terminating.json').Message, TopicArn: fixture('lifecycle-terminating.json').TopicArn });
    expect(last.Records[0]?.Sns).toMatchObject({ Message: fixture('lifecycle-launching.json').Message, TopicArn: fixture('lifecycle-launching.json').TopicArn });
    expect(all.Records.map((record) => JSON.parse(record.Sns.Message).Event ?? JSON.parse(record.Sns.Message).LifecycleTransition)).toEqual([
      'autoscaling:TEST_NOTIFICATION',
      'autoscaling:TEST_NOTIFICATION',
      'autoscaling:EC2_INSTANCE_TERMINATING',
      'autoscaling:EC2_INSTANCE_LAUNCHING',
    ]);
    const missing = await fetch(`${server.url}/_sim/nothing`);
    expect(missing.status).toBe(404);
  });
});
