import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateCapacityProviderCommand, ListContainerInstancesCommand, PutAttributesCommand, PutClusterCapacityProvidersCommand } from '@aws-sdk/client-ecs';
import { buildClients, buildDoctorClients, type AwsClients, type DoctorClients } from '../../lib/clients';
import { formatTable, runChecks, stageTarget, type Row } from '../../lib/doctor/checks';
import { LIFECYCLE_TOPIC } from '../../simulator/runner/simulation';
import { serveScenario, servedEnv } from './served';
import { ROOT, ofType, packageStack } from './stack';

/** `npm run doctor` against the simulator served as `npm start -- --serve` serves it (the tour's world). */
let served: Awaited<ReturnType<typeof serveScenario>>;
let clients: AwsClients & DoctorClients;

beforeAll(async () => {
  served = await serveScenario('tour');
  const options = { maxAttempts: 1, retryMode: 'standard' as const, endpoint: served.server.url, region: 'us-east-1', credentials: { accessKeyId: 'sim', secretAccessKey: 'sim' } };
  clients = Object.assign(buildClients(options), buildDoctorClients(options));
});
afterAll(() => served.close());

const row = (rows: Row[], subject: string, check: string) => rows.find((r) => r.subject === subject && r.check === check);

describe('doctor checks', () => {
  it('passes existing clusters and groups whose hook targets the topic, and reports what it cannot read as unknown', async () => {
    const stage = stageTarget('ecs-ec2-keeper', 'dev', {
      rebalanceRuleState: 'DISABLED',
      stateChangeRuleState: 'DISABLED',
      runningRuleState: 'DISABLED',
      scheduledEventRuleState: 'DISABLED',
      sweepEnabled: true,
      lifecycleTaskEvents: true,
      sweeperReservedConcurrency: 1,
    });
    const rows = await runChecks(clients, { clusters: ['prod-ecs'], groups: ['prod-ecs-spot', 'prod-ecs-ondemand'], topic: LIFECYCLE_TOPIC, stage });
    expect(row(rows, 'cluster prod-ecs', 'exists')?.status).toBe('pass');
    expect(row(rows, 'group prod-ecs-spot', 'termination hook')).toMatchObject({ status: 'pass', detail: expect.stringContaining('heartbeat 300 s') });
    // The scenario's cluster has no capacity provider: DescribeClusters lists none.
    expect(row(rows, 'cluster prod-ecs', 'capacity providers')).toMatchObject({ status: 'pass', detail: 'none' });
    // The simulator speaks neither CloudFormation, EventBridge nor Lambda: unknown, not pass.
    expect(row(rows, 'stack ecs-ec2-keeper-dev', 'EventBridge rules enabled')?.status).toBe('unknown');
    expect(row(rows, 'account', 'Lambda concurrency')?.status).toBe('unknown');
    expect(rows.filter((r) => r.status === 'fail')).toEqual([]);
    expect(formatTable(rows).split('\n')[0]).toMatch(/^subject\s+check\s+STATUS\s+detail$/);
  });

  it('fails a missing cluster, a missing group, a hook to another topic and an instance without attribute slots', async () => {
    const listed = await clients.ecs.send(new ListContainerInstancesCommand({ cluster: 'prod-ecs', maxResults: 1 }));
    const arn = listed.containerInstanceArns![0]!;
    await clients.ecs.send(
      new PutAttributesCommand({
        cluster: 'prod-ecs',
        attributes: Array.from({ length: 9 }, (_, i) => ({ name: `team.slot-${i}`, value: 'x', targetId: arn, targetType: 'container-instance' })),
      }),
    );
    const rows = await runChecks(clients, { clusters: ['prod-ecs', 'gone'], groups: ['prod-ecs-spot', 'nope'], topic: 'ecs-ec2-keeper-dev-lifecycle' });
    expect(row(rows, 'cluster gone', 'exists')?.status).toBe('fail');
    expect(row(rows, 'group nope', 'exists')?.status).toBe('fail');
    expect(row(rows, 'group prod-ecs-spot', 'termination hook')).toMatchObject({ status: 'fail', detail: expect.stringContaining('ecs-drain-lifecycle') });
    expect(row(rows, 'cluster prod-ecs', 'attribute slots')).toMatchObject({ status: 'fail', detail: expect.stringContaining('fewest free: 1 of 10') });
  });

  it('says what a capacity provider’s settings mean for the suite (README "Capacity providers")', async () => {
    await clients.ecs.send(
      new CreateCapacityProviderCommand({ name: 'cp-ondemand', autoScalingGroupProvider: { autoScalingGroupArn: 'prod-ecs-ondemand', managedScaling: { status: 'ENABLED' } } }),
    );
    await clients.ecs.send(new PutClusterCapacityProvidersCommand({ cluster: 'prod-ecs', capacityProviders: ['cp-ondemand'], defaultCapacityProviderStrategy: [] }));
    const rows = await runChecks(clients, { clusters: ['prod-ecs'], groups: ['prod-ecs-ondemand'], topic: LIFECYCLE_TOPIC });
    const provider = row(rows, 'cluster prod-ecs', 'capacity provider cp-ondemand');
    expect(provider).toMatchObject({ status: 'pass', detail: expect.stringContaining('the lifecycle drainer leaves it to ECS') });
    expect(provider?.detail).toContain('managed scaling: the sweeper stands down in this group');
  });
});

describe('npm run doctor', () => {
  it('prints the table for a stage and exits 1 when a check fails', async () => {
    const failed = await promisify(execFile)(
      join(ROOT, 'node_modules/.bin/tsx'),
      ['lib/doctor/cli.ts', '--stage', 'dev', '--param=clusters=prod-ecs', '--param=autoScalingGroups=prod-ecs-spot,missing-asg'],
      {
        cwd: ROOT,
        env: { ...process.env, ...servedEnv(served.server.url), DRY_RUN: '' },
        timeout: 90_000,
      },
    ).catch((error: { code: number; stdout: string }) => error);
    expect(failed).toMatchObject({ code: 1 });
    const { stdout } = failed as { stdout: string };
    expect(stdout).toMatch(/cluster prod-ecs\s+exists\s+PASS/);
    expect(stdout).toMatch(/group missing-asg\s+exists\s+FAIL\s+not found/);
    expect(stdout).toMatch(/group prod-ecs-spot\s+termination hook\s+FAIL\s+none to ecs-ec2-keeper-dev-lifecycle/);
    expect(stdout).toMatch(/stack ecs-ec2-keeper-dev\s+EventBridge rules enabled\s+UNKNOWN/);
    expect(stdout).toMatch(/account\s+Lambda concurrency\s+UNKNOWN/);
  }, 100_000);
});

describe('the stage rules the doctor expects', () => {
  it('name every rule of the packaged stack once, with the state the stage sets', () => {
    const template = packageStack(['clusters=*', 'rebalanceDrain=true', 'sweepEnabled=false']);
    const stage = stageTarget('ecs-ec2-keeper', 'dev', {
      rebalanceRuleState: 'ENABLED',
      stateChangeRuleState: 'DISABLED',
      runningRuleState: 'ENABLED',
      scheduledEventRuleState: 'DISABLED',
      sweepEnabled: false,
      lifecycleTaskEvents: true,
    });
    const rules = ofType(template, 'AWS::Events::Rule');
    expect(rules).toHaveLength(stage.rules.length);
    for (const [logicalId, resource] of rules) {
      const expected = stage.rules.filter((rule) => rule.logicalId.test(logicalId));
      expect({ logicalId, matches: expected.length }).toEqual({ logicalId, matches: 1 });
      expect({ logicalId, enabled: expected[0]!.enabled }).toEqual({ logicalId, enabled: resource.Properties.State === 'ENABLED' });
    }
  }, 120_000);
});
