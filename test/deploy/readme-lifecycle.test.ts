import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { launchTryOutAction, openLaunchTryOutAction, openTryOutAction, publishedView, tryOutAction } from '../../simulator/runner/try-out';
import { DEFAULT_SCENARIO } from '../../simulator/scenarios/load';
import { fixture } from '../fixtures';
import { readmeCommand, serveScenario, servedEnv } from './served';
import { ROOT, SLS, SLS_ENV } from './stack';

/**
 * The README's lifecycle try-out ("Against `serverless invoke local`"), run as written against a
 * world served the way `npm start -- --serve` serves it: the default scenario, the lifecycle topic
 * named as in events/, the fixture's action held open, and the `/_sim/published` view.
 */
const run = promisify(execFile);

describe('README, the lifecycle fixture against the served simulator', () => {
  let served: Awaited<ReturnType<typeof serveScenario>>;
  beforeAll(async () => {
    served = await serveScenario(DEFAULT_SCENARIO, tryOutAction().topicName, (world, topicArn) => ({ published: publishedView(world, topicArn) }));
    openTryOutAction(served.world, served.scenario.clusters[0]!.name, served.topicArn);
    openLaunchTryOutAction(served.world, served.scenario.clusters[0]!.name, served.topicArn);
  });
  afterAll(() => served.close());

  it('the served world holds the fixture\'s instance in Terminating:Wait with the fixture\'s token', () => {
    const { group, instanceId, token } = tryOutAction();
    expect(served.world.groupOf(instanceId)).toMatchObject({ group: { name: group }, instance: { lifecycleState: 'Terminating:Wait' } });
    expect(served.world.lifecycleActions.get(token)).toMatchObject({ state: 'active', instanceId, groupName: group });
  });

  it('invoke local with events/lifecycle-terminating.json drains the instance and completes the action', async () => {
    const words = readmeCommand('npx serverless invoke local -f lifecycleHook -p events/lifecycle-terminating.json');
    const env = { ...SLS_ENV, ...servedEnv(served.server.url) };
    expect(words.slice(0, 2)).toEqual(['npx', 'serverless']);
    const { stdout } = await run(SLS, words.slice(2), { cwd: ROOT, env, timeout: 120_000 });
    const result = JSON.parse(stdout.slice(stdout.lastIndexOf('\n{\n') + 1)) as { records: { outcome: string; reason: string }[] };
    // The fixture's Time is months old, so its drain is past the deadline and does not wait for the
    // daemon tasks (README, "Try it locally"); the drain and the completion still happen.
    expect(result.records).toEqual([expect.objectContaining({ outcome: 'completed', reason: 'daemon-grace-over', result: 'CONTINUE' })]);

    const { instanceId, token } = tryOutAction();
    expect(served.world.lifecycleActions.get(token)).toMatchObject({ state: 'completed', result: 'CONTINUE', unstoppedTasksAtEnd: 0 });
    expect(served.world.drains.map((drain) => drain.ec2InstanceId)).toEqual([instanceId]);
  }, 130_000);

  it('invoke local with events/lifecycle-launching.json finds the held instance ready and completes its launch with CONTINUE', async () => {
    const { group, instanceId, token } = launchTryOutAction();
    expect(served.world.groupOf(instanceId)).toMatchObject({ group: { name: group }, instance: { lifecycleState: 'Pending:Wait' } });
    const words = readmeCommand('npx serverless invoke local -f lifecycleHook -p events/lifecycle-launching.json');
    const env = { ...SLS_ENV, ...servedEnv(served.server.url) };
    const { stdout } = await run(SLS, words.slice(2), { cwd: ROOT, env, timeout: 120_000 });
    const result = JSON.parse(stdout.slice(stdout.lastIndexOf('\n{\n') + 1)) as { records: { outcome: string; reason: string }[] };
    expect(result.records).toEqual([expect.objectContaining({ outcome: 'completed', reason: 'ready', result: 'CONTINUE', kind: 'launch-notification' })]);
    expect(served.world.lifecycleActions.get(token)).toMatchObject({ state: 'completed', result: 'CONTINUE', transition: 'autoscaling:EC2_INSTANCE_LAUNCHING' });
  }, 130_000);

  it('GET /_sim/published shows what the world published, as an SNS event invoke local takes', async () => {
    const words = readmeCommand("curl -s 'http://127.0.0.1:4599/_sim/published?last=1'");
    const url = new URL(words[2]!);
    const all = (await (await fetch(`${served.server.url}${url.pathname}`)).json()) as { Records: { Sns: { Message: string; TopicArn: string } }[] };
    const last = (await (await fetch(`${served.server.url}${url.pathname}${url.search}`)).json()) as typeof all;
    expect(last.Records).toEqual(all.Records.slice(-1));
    // The fixtures' notifications, as Auto Scaling would have sent them, on the topic events/ names.
    const notification = (name: string) => fixture<typeof all>(name).Records[0]!.Sns;
    expect(all.Records[2]?.Sns).toMatchObject({ Message: notification('lifecycle-terminating.json').Message, TopicArn: notification('lifecycle-terminating.json').TopicArn });
    expect(last.Records[0]?.Sns).toMatchObject({ Message: notification('lifecycle-launching.json').Message, TopicArn: notification('lifecycle-launching.json').TopicArn });
    expect(all.Records.map((record) => JSON.parse(record.Sns.Message).Event ?? JSON.parse(record.Sns.Message).LifecycleTransition)).toEqual([
      'autoscaling:TEST_NOTIFICATION',
      'autoscaling:TEST_NOTIFICATION',
      'autoscaling:EC2_INSTANCE_TERMINATING',
      'autoscaling:EC2_INSTANCE_LAUNCHING',
    ]);
    const missing = await fetch(`${served.server.url}/_sim/nothing`);
    expect(missing.status).toBe(404);
  });
});
