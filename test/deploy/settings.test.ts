import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * deploy/settings.cjs without packaging: the stage's settings as `serverless package` checks them,
 * with the functions' own schemas. (The packaged template and the CLI's failures: template.test.ts.)
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildSettings } = require('../../deploy/settings.cjs') as {
  buildSettings: (input: {
    params: Record<string, string>;
    knownNames: string[];
    givenNames: string[];
    shellEnv?: Record<string, string>;
    region: { option?: string; AWS_REGION?: string; AWS_DEFAULT_REGION?: string };
  }) => {
    region: string;
    notices: string[];
    environments: Record<string, Record<string, string>>;
    rebalanceRuleState: string;
    runningRuleState: string;
    scheduledEventRuleState: string;
    sweepEnabled: boolean;
  };
};

const DEFAULTS: Record<string, string> = {
  clusters: 'prod',
  autoScalingGroups: '',
  terminationHookGroups: '',
  terminationHookHeartbeatSeconds: '600',
  launchHookGroups: '',
  launchHookHeartbeatSeconds: '300',
  dryRun: 'false',
  logLevel: 'INFO',
  metricsNamespace: 'EcsEc2Keeper',
  logRetentionDays: '30',
  awsMaxAttempts: '4',
  awsRetryMode: 'standard',
  awsRetryMaxDelayMs: '20000',
  spotMaxAttempts: '12',
  spotRetryMaxDelayMs: '8000',
  rebalanceDrain: 'false',
  stateChangeDrain: 'false',
  undrainGraceMinutes: '60',
  scheduledEventDrain: 'false',
  scheduledEventLeadMinutes: '43200',
  spotEarlyReplacement: 'false',
  standaloneTasks: 'wait',
  pollIntervalSeconds: '60',
  drainTimeoutSeconds: '900',
  deadlineResult: 'CONTINUE',
  maxHops: '100',
  daemonGraceSeconds: '120',
  opsTopicArn: '',
  opsNotifyLevel: 'problems',
  alarmEmail: '',
  lifecycleTopicArn: '',
  managedDraining: 'defer',
  lifecycleTimeoutSeconds: '900',
  sweepSchedule: 'rate(30 minutes)',
  sweepEnabled: 'true',
  sweepTimeoutSeconds: '300',
  sweeperReservedConcurrency: '',
  minIdleMinutes: '30',
  minFreeCpu: '',
  minFreeMemory: '',
  maxRemovalsPerRun: '2',
  consolidate: 'false',
  schedulableTaskCpu: '256',
  schedulableTaskMemory: '512',
};

const settingsOf = (overrides: Record<string, string> = {}, shellEnv: Record<string, string> = {}, region = {}) =>
  buildSettings({ params: { ...DEFAULTS, ...overrides }, knownNames: Object.keys(DEFAULTS), givenNames: Object.keys(overrides), shellEnv, region });

const errorOf = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('no error');
};

describe('stage settings', () => {
  it('accepts every boolean spelling the README lists, in the environment and in the rules', () => {
    for (const [value, on] of [['yes', true], ['no', false], ['1', true], ['0', false], ['TRUE', true], ['false', false]] as const) {
      const settings = settingsOf({ rebalanceDrain: value, sweepEnabled: value });
      expect(settings.rebalanceRuleState).toBe(on ? 'ENABLED' : 'DISABLED');
      expect(settings.sweepEnabled).toBe(on);
      expect(settings.environments.spotInterruption!.REBALANCE_DRAIN).toBe(value);
    }
  });

  it('enables the running rule with either drain it undoes, and the scheduled-event rule with its own switch', () => {
    expect(settingsOf({}).runningRuleState).toBe('DISABLED');
    expect(settingsOf({ rebalanceDrain: 'yes' }).runningRuleState).toBe('ENABLED');
    expect(settingsOf({ stateChangeDrain: '1' }).runningRuleState).toBe('ENABLED');
    expect(settingsOf({}).scheduledEventRuleState).toBe('DISABLED');
    const on = settingsOf({ scheduledEventDrain: 'true', scheduledEventLeadMinutes: '120', autoScalingGroups: 'prod-asg' });
    expect(on.scheduledEventRuleState).toBe('ENABLED');
    expect(on.environments.spotInterruption).toMatchObject({ SCHEDULED_EVENT_DRAIN: 'true', SCHEDULED_EVENT_LEAD_MINUTES: '120', AUTO_SCALING_GROUPS: 'prod-asg', SPOT_EARLY_REPLACEMENT: 'false' });
  });

  it('packages adaptive retries with the defaults, and says the backoff cap is not applied', () => {
    const settings = settingsOf({ awsRetryMode: 'adaptive' });
    expect(settings.environments.spotInterruption!.AWS_RETRY_MODE).toBe('adaptive');
    expect(settings.notices).toContain(
      "spotInterruption: AWS_RETRY_MAX_DELAY_MS 8000 is not applied with AWS_RETRY_MODE adaptive (the SDK's adaptive strategy keeps its own backoff)",
    );
    // 12 attempts under the SDK's 20 s cap: 131.5 s of backoff alone, more than the 90 s timeout.
    expect(settings.notices).toContain(
      'spotInterruption: one call\'s retries can last 143 s, more than its 90 s timeout (AWS_RETRY_MODE adaptive); a timed-out drain is retried by Lambda',
    );
    expect(settingsOf({}).notices.filter((notice) => notice.includes('retries can last'))).toEqual([]);
  });

  it('lets the shell turn a dry run on for every function, never off', () => {
    expect(Object.values(settingsOf({}, { DRY_RUN: 'true' }).environments).map((env) => env.DRY_RUN)).toEqual(['true', 'true', 'true']);
    expect(settingsOf({ dryRun: 'true' }, { DRY_RUN: 'false' }).environments.spotInterruption!.DRY_RUN).toBe('true');
    expect(settingsOf({}, { DRY_RUN: 'false' }).environments.spotInterruption!.DRY_RUN).toBe('false');
    expect(errorOf(() => settingsOf({}, { DRY_RUN: 'maybe' }))).toContain('DRY_RUN (DRY_RUN in the shell) must be one of true, 1, yes, false, 0, no');
  });

  it('keeps the sweeper in dry run until both halves of its reserve are set', () => {
    expect(settingsOf({ minFreeCpu: '512' }).environments.scaleInSweeper!.DRY_RUN).toBe('true');
    expect(settingsOf({ minFreeCpu: '512', minFreeMemory: '1024' }).environments.scaleInSweeper!.DRY_RUN).toBe('false');
    expect(settingsOf({ minFreeCpu: '512', minFreeMemory: '1024', dryRun: 'yes' }).environments.scaleInSweeper!.DRY_RUN).toBe('yes');
  });

  it('takes the Region from --region, then AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1 with a notice', () => {
    expect(settingsOf({}, {}, { option: 'eu-west-1', AWS_REGION: 'eu-north-1' }).region).toBe('eu-west-1');
    expect(settingsOf({}, {}, { AWS_REGION: 'eu-north-1', AWS_DEFAULT_REGION: 'ap-south-1' }).region).toBe('eu-north-1');
    expect(settingsOf({}, {}, { AWS_DEFAULT_REGION: 'ap-south-1' }).region).toBe('ap-south-1');
    const fallback = settingsOf();
    expect(fallback.region).toBe('us-east-1');
    expect(fallback.notices.join('\n')).toContain('Region us-east-1 (no --region, AWS_REGION or AWS_DEFAULT_REGION given)');
  });

  it('refuses a schedule that could start a sweep while the last one may still run', () => {
    expect(errorOf(() => settingsOf({ sweepSchedule: 'rate(5 minutes)' }))).toContain('shorter than twice the sweeper');
    expect(settingsOf({ sweepSchedule: 'rate(10 minutes)' }).environments.scaleInSweeper).toBeDefined();
    expect(errorOf(() => settingsOf({ sweepSchedule: 'every hour' }))).toContain('stage parameter sweepSchedule must be rate(');
  });
});

/** `serverless invoke local` never hangs on a function that cannot initialise. */
describe('serverless invoke local', () => {
  it('exits non-zero with the function’s message when the handler fails to load', async () => {
    const root = join(__dirname, '..', '..');
    const failed = await promisify(execFile)(
      join(root, 'node_modules/.bin/serverless'),
      ['invoke', 'local', '-f', 'spotInterruption', '-p', 'events/spot-interruption-terminate.json', '--param=clusters=prod', '-e', 'LOG_LEVEL=LOUD'],
      { cwd: root, env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', DRY_RUN: '' }, timeout: 60_000 },
    ).catch((error: { code: number | null; killed: boolean; stdout: string; stderr: string }) => error);
    expect(failed).toMatchObject({ code: 1, killed: false });
    const { stdout, stderr } = failed as { stdout: string; stderr: string };
    expect(stdout + stderr).toContain('LOG_LEVEL must be one of DEBUG, INFO, WARN, ERROR');
  }, 70_000);
});
