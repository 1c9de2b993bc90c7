'use strict';
// The stage's settings, checked when the stack is packaged or deployed with the same zod schemas the
// functions run at cold start (lib/config.ts, lib/*/config.ts), and turned into each function's
// environment. A bad value or an unknown stage parameter fails `serverless package` with the
// function's own message, naming the variable and the stage parameter. Nothing here calls AWS.
// Resolved by serverless.yml as `custom.settings`; the facts it relies on: docs/aws-behaviour.md.

const { z } = require('zod');

/** The TypeScript schemas: natively where TypeScript is already loadable (jest), else through tsx. */
function load(path) {
  try {
    return require(path);
  } catch {
    return require('tsx/cjs/api').require(`${path}.ts`, __filename);
  }
}

const { ConfigError, parseEnv, booleanVar, integerVar, listVar, toCommonConfig } = load('../lib/config');
const { attemptTimeouts, worstCaseCallMs, RETRY_BUDGET_MARGIN_MS } = load('../lib/retry-budget');

/** serverless.yml functions.spotInterruption.timeout (test/deploy/definitions.test.ts holds lib/spot/definition.ts to it). */
const SPOT_TIMEOUT_SECONDS = 90;
const { spotEnvSchema } = load('../lib/spot/config');
const { lifecycleEnvSchema } = load('../lib/lifecycle/config');
const { sweeperEnvSchema } = load('../lib/sweeper/config');

const SPOT = 'spotInterruption';
const LIFECYCLE = 'lifecycleHook';
const SWEEPER = 'scaleInSweeper';
const ALL = [SPOT, LIFECYCLE, SWEEPER];

/** Each function's schema, as its handler loads it. */
const SCHEMAS = { [SPOT]: spotEnvSchema, [LIFECYCLE]: lifecycleEnvSchema, [SWEEPER]: sweeperEnvSchema };

/** Stage parameter -> environment variable, per function that reads it. */
const VARIABLES = [
  ['clusters', 'CLUSTERS', ALL],
  ['dryRun', 'DRY_RUN', ALL],
  ['logLevel', 'LOG_LEVEL', ALL],
  ['metricsNamespace', 'METRICS_NAMESPACE', ALL],
  ['awsRetryMode', 'AWS_RETRY_MODE', ALL],
  ['awsMaxAttempts', 'AWS_MAX_ATTEMPTS', [LIFECYCLE, SWEEPER]],
  ['awsRetryMaxDelayMs', 'AWS_RETRY_MAX_DELAY_MS', [LIFECYCLE, SWEEPER]],
  ['spotMaxAttempts', 'AWS_MAX_ATTEMPTS', [SPOT]],
  ['spotRetryMaxDelayMs', 'AWS_RETRY_MAX_DELAY_MS', [SPOT]],
  ['rebalanceDrain', 'REBALANCE_DRAIN', [SPOT]],
  ['stateChangeDrain', 'STATE_CHANGE_DRAIN', [SPOT]],
  ['undrainGraceMinutes', 'UNDRAIN_GRACE_MINUTES', [SPOT]],
  ['scheduledEventDrain', 'SCHEDULED_EVENT_DRAIN', [SPOT]],
  ['scheduledEventLeadMinutes', 'SCHEDULED_EVENT_LEAD_MINUTES', [SPOT]],
  ['spotEarlyReplacement', 'SPOT_EARLY_REPLACEMENT', [SPOT]],
  ['lifecycleTopicArn', 'LIFECYCLE_TOPIC_ARN', [LIFECYCLE]],
  ['managedDraining', 'MANAGED_DRAINING', [LIFECYCLE]],
  ['standaloneTasks', 'STANDALONE_TASKS', [LIFECYCLE]],
  ['pollIntervalSeconds', 'POLL_INTERVAL_SECONDS', [LIFECYCLE]],
  ['drainTimeoutSeconds', 'DRAIN_TIMEOUT_SECONDS', [LIFECYCLE]],
  ['deadlineResult', 'DEADLINE_RESULT', [LIFECYCLE]],
  ['maxHops', 'MAX_HOPS', [LIFECYCLE]],
  ['daemonGraceSeconds', 'DAEMON_GRACE_SECONDS', [LIFECYCLE]],
  ['launchTimeoutSeconds', 'LAUNCH_TIMEOUT_SECONDS', [LIFECYCLE]],
  ['launchPollIntervalSeconds', 'LAUNCH_POLL_INTERVAL_SECONDS', [LIFECYCLE]],
  ['launchWaitForDaemons', 'LAUNCH_WAIT_FOR_DAEMONS', [LIFECYCLE]],
  ['ecsReadBudgetPerSecond', 'ECS_READ_BUDGET_PER_SECOND', [LIFECYCLE]],
  ['opsTopicArn', 'OPS_TOPIC_ARN', [LIFECYCLE, SWEEPER]],
  ['opsNotifyLevel', 'OPS_NOTIFY_LEVEL', [LIFECYCLE, SWEEPER]],
  ['autoScalingGroups', 'AUTO_SCALING_GROUPS', [SPOT, LIFECYCLE, SWEEPER]],
  ['minIdleMinutes', 'MIN_IDLE_MINUTES', [SWEEPER]],
  ['minFreeCpu', 'MIN_FREE_CPU', [SWEEPER]],
  ['minFreeMemory', 'MIN_FREE_MEMORY', [SWEEPER]],
  ['maxRemovalsPerRun', 'MAX_REMOVALS_PER_RUN', [SWEEPER]],
  ['consolidate', 'CONSOLIDATE', [SWEEPER]],
  ['schedulableTaskCpu', 'SCHEDULABLE_TASK_CPU', [SWEEPER]],
  ['schedulableTaskMemory', 'SCHEDULABLE_TASK_MEMORY', [SWEEPER]],
  ['maxDraining', 'MAX_DRAINING', [SWEEPER]],
  ['maxDrainingPercent', 'MAX_DRAINING_PERCENT', [SWEEPER]],
  ['consolidationWindows', 'CONSOLIDATION_WINDOWS', [SWEEPER]],
  ['consolidateAfterMinutes', 'CONSOLIDATE_AFTER_MINUTES', [SWEEPER]],
  ['underusedPercent', 'UNDERUSED_PERCENT', [SWEEPER]],
  ['reserveTasks', 'RESERVE_TASKS', [SWEEPER]],
  ['capacityProviders', 'CAPACITY_PROVIDERS', [SWEEPER]],
  ['drainWaitSeconds', 'DRAIN_WAIT_SECONDS', [SWEEPER]],
];

// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\(\S+( \S+){5}\)$/;
const UNIT_SECONDS = { minute: 60, minutes: 60, hour: 3600, hours: 3600, day: 86_400, days: 86_400 };
const GROUP_NAME = /^[\x20-\x7E]{1,255}$/;

/** Deployment settings that are not environment variables (they shape resources, not code). */
const deploymentSchema = z.object({
  logRetentionDays: z.coerce
    .number()
    .refine((days) => RETENTION_DAYS.includes(days), { message: `must be one of ${RETENTION_DAYS.join(', ')}` }),
  lifecycleTimeoutSeconds: integerVar(900, 60, 900),
  sweepTimeoutSeconds: integerVar(300, 30, 900),
  sweepSchedule: z.string().trim().refine((value) => RATE.test(value) || CRON.test(value), {
    message: 'must be rate(<n> minutes|hours|days) or cron(<six fields>)',
  }),
  sweepEnabled: booleanVar(true),
  sweeperReservedConcurrency: integerVar(0, 0, 1000),
  lifecycleReservedConcurrency: integerVar(0, 0, 1000),
  lifecycleTaskEvents: booleanVar(true),
  terminationHookGroups: listVar().superRefine((groups, ctx) => {
    for (const group of groups) {
      if (!GROUP_NAME.test(group)) ctx.addIssue({ code: 'custom', message: `"${group}" is not an Auto Scaling group name` });
    }
  }),
  terminationHookHeartbeatSeconds: integerVar(600, 30, 7200),
  // The optional launch hook (README "Launch hook"): groups whose new instances wait in
  // Pending:Wait until ECS can place on them.
  launchHookGroups: listVar().superRefine((groups, ctx) => {
    for (const group of groups) {
      if (!GROUP_NAME.test(group)) ctx.addIssue({ code: 'custom', message: `"${group}" is not an Auto Scaling group name` });
    }
  }),
  launchHookHeartbeatSeconds: integerVar(300, 30, 7200),
  // The alarm topic's optional e-mail subscription (deploy/alarms.cjs); empty: none.
  alarmEmail: z
    .string()
    .trim()
    .default('')
    .refine((value) => value === '' || /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/.test(value), { message: 'must be one e-mail address, or empty' }),
});

const TRUE = ['true', '1', 'yes'];

/** Closest known name within two edits, for "did you mean". */
function suggest(name, known) {
  const distance = (a, b) => {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i += 1) {
      let previous = row[0];
      row[0] = i;
      for (let j = 1; j <= b.length; j += 1) {
        const current = row[j];
        row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
        previous = current;
      }
    }
    return row[b.length];
  };
  const best = known.map((candidate) => [candidate, distance(name, candidate)]).sort((a, b) => a[1] - b[1])[0];
  return best && best[1] <= 2 ? ` (did you mean ${best[0]}?)` : '';
}

class SettingsError extends Error {
  constructor(problems) {
    super(`Invalid stage settings:\n  - ${problems.join('\n  - ')}`);
    this.name = 'SettingsError';
    // The framework prints the stack of a failed resolver: the message alone is what the operator needs.
    this.stack = this.message;
  }
}

/**
 * Pure core, tested without packaging: stage parameters (with every default filled in), the CLI's
 * `--param` names, the shell's environment and the CLI's Region -> settings, or a SettingsError.
 */
function buildSettings({ params, knownNames, givenNames, shellEnv = {}, region, service = 'ecs-ec2-keeper', stage = 'dev' }) {
  const problems = [];
  const notices = [];
  for (const name of givenNames) {
    if (!knownNames.includes(name)) problems.push(`unknown stage parameter "${name}"${suggest(name, knownNames)}`);
  }

  // Safe first deploy: the managed clusters are named, or "*" asks for the whole account explicitly.
  const clusters = String(params.clusters ?? '').trim();
  if (clusters === '') {
    problems.push('clusters (CLUSTERS) is required: comma-separated cluster names or ARNs, or "*" for every cluster in the account and Region');
  }
  const clustersValue = clusters === '*' ? '' : clusters;

  // The shell may turn a dry run on (never off): `DRY_RUN=true serverless invoke local …` does not write.
  const shellDryRun = String(shellEnv.DRY_RUN ?? '').trim().toLowerCase();
  const dryRunFromShell = TRUE.includes(shellDryRun);
  if (shellDryRun !== '' && !dryRunFromShell && !['false', '0', 'no'].includes(shellDryRun)) {
    problems.push(`DRY_RUN (DRY_RUN in the shell) must be one of true, 1, yes, false, 0, no`);
  }
  if (dryRunFromShell) notices.push('DRY_RUN is true in the shell: every function is packaged in dry run (it reads and logs, and writes nothing)');
  const dryRun = dryRunFromShell ? 'true' : String(params.dryRun ?? '');

  // The sweeper removes capacity: it stays in dry run until the stage sets its reserve explicitly.
  const reserveSet = String(params.minFreeCpu ?? '').trim() !== '' && String(params.minFreeMemory ?? '').trim() !== '';
  if (!reserveSet) notices.push('scaleInSweeper runs in dry run until the stage sets minFreeCpu and minFreeMemory');

  const environments = {};
  for (const fn of ALL) {
    const env = {};
    for (const [param, variable, functions] of VARIABLES) {
      if (!functions.includes(fn)) continue;
      env[variable] = String(params[param] ?? '');
    }
    env.CLUSTERS = clustersValue;
    env.DRY_RUN = fn === SWEEPER && !reserveSet ? 'true' : dryRun;
    environments[fn] = env;
  }

  // The functions' own check, with each message pointing at the stage parameter too.
  const seen = new Map();
  for (const fn of ALL) {
    try {
      parseEnv(SCHEMAS[fn], environments[fn]);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const problem of error.problems) {
        const variable = problem.split(' ')[0];
        const entry = VARIABLES.find(([, v, functions]) => v === variable && functions.includes(fn));
        const param = variable === 'DRY_RUN' && dryRunFromShell ? 'DRY_RUN in the shell' : entry ? `stage parameter ${entry[0]}` : 'no stage parameter';
        const text = `${variable} (${param}) ${problem.slice(variable.length + 1)}`;
        seen.set(text, [...(seen.get(text) ?? []), fn]);
      }
    }
  }
  for (const [text, functions] of seen) problems.push(`${functions.join(', ')}: ${text}`);

  const deployment = deploymentSchema.safeParse(params);
  if (!deployment.success) {
    for (const issue of deployment.error.issues) problems.push(`stage parameter ${issue.path.join('.')} ${issue.message}`);
  }
  if (problems.length > 0) throw new SettingsError(problems);
  const values = deployment.data;

  // Two sweeps must not plan on the same snapshot: the schedule's period is kept at least twice the
  // function's timeout, so a run has ended (or been stopped by Lambda) long before the next starts.
  const rate = RATE.exec(values.sweepSchedule);
  if (rate) {
    const period = Number(rate[1]) * UNIT_SECONDS[rate[2]];
    if (period < 2 * values.sweepTimeoutSeconds) {
      throw new SettingsError([
        `stage parameter sweepSchedule ${values.sweepSchedule} is shorter than twice the sweeper's timeout (${values.sweepTimeoutSeconds} s, stage parameter sweepTimeoutSeconds): two sweeps could overlap`,
      ]);
    }
  } else {
    notices.push(`sweepSchedule ${values.sweepSchedule}: keep at least ${2 * values.sweepTimeoutSeconds} s between two runs`);
  }

  // One SDK call's worst case must end inside the Spot drainer's fixed timeout (lib/retry-budget.ts);
  // with the defaults it does, adaptive retries (uncapped 20 s backoff) do not.
  const spotSdk = toCommonConfig(parseEnv(SCHEMAS[SPOT], environments[SPOT])).sdk;
  const spotWorst = worstCaseCallMs(spotSdk, attemptTimeouts(spotSdk, SPOT_TIMEOUT_SECONDS)) + RETRY_BUDGET_MARGIN_MS;
  if (spotWorst > SPOT_TIMEOUT_SECONDS * 1000) {
    notices.push(`${SPOT}: one call's retries can last ${Math.ceil(spotWorst / 1000)} s, more than its ${SPOT_TIMEOUT_SECONDS} s timeout (AWS_RETRY_MODE ${spotSdk.retryMode}); a timed-out drain is retried by Lambda`);
  }

  for (const fn of ALL) {
    const env = environments[fn];
    if (String(env.AWS_RETRY_MODE).trim().toLowerCase() === 'adaptive' && env.AWS_RETRY_MAX_DELAY_MS !== '' && Number(env.AWS_RETRY_MAX_DELAY_MS) < 20_000) {
      notices.push(`${fn}: AWS_RETRY_MAX_DELAY_MS ${env.AWS_RETRY_MAX_DELAY_MS} is not applied with AWS_RETRY_MODE adaptive (the SDK's adaptive strategy keeps its own backoff)`);
    }
  }

  const regionSource = region.option ? '--region' : region.AWS_REGION ? 'AWS_REGION' : region.AWS_DEFAULT_REGION ? 'AWS_DEFAULT_REGION' : undefined;
  const resolvedRegion = region.option || region.AWS_REGION || region.AWS_DEFAULT_REGION || 'us-east-1';
  if (!regionSource) notices.push('Region us-east-1 (no --region, AWS_REGION or AWS_DEFAULT_REGION given)');

  // Optional: the termination hook attached to existing groups as resources of this stack, so that
  // `serverless remove` deletes the hooks before the topic they point at.
  // Both hooks default to CONTINUE: when the function cannot answer, Auto Scaling goes on as it
  // would without the hook, at the heartbeat timeout.
  const hooks = {};
  const attach = (kind, groups, name, transition, heartbeatSeconds) => {
    for (const group of groups) {
      hooks[`${kind}Hook${group.replace(/[^A-Za-z0-9]/g, '')}${hashOf(group)}`] = {
        Type: 'AWS::AutoScaling::LifecycleHook',
        // The topic policy must admit Auto Scaling's role before the hook's test notification;
        // deploy/plugin.cjs adds the drainer's subscription to DependsOn.
        DependsOn: ['LifecycleTopicPolicy'],
        Properties: {
          AutoScalingGroupName: group,
          LifecycleHookName: `${service}-${stage}-${name}`,
          LifecycleTransition: transition,
          NotificationTargetARN: { Ref: 'LifecycleTopic' },
          RoleARN: { 'Fn::GetAtt': ['AutoScalingNotificationRole', 'Arn'] },
          HeartbeatTimeout: heartbeatSeconds,
          DefaultResult: 'CONTINUE',
        },
      };
    }
  };
  attach('Termination', values.terminationHookGroups, 'drain', 'autoscaling:EC2_INSTANCE_TERMINATING', values.terminationHookHeartbeatSeconds);
  attach('Launch', values.launchHookGroups, 'launch', 'autoscaling:EC2_INSTANCE_LAUNCHING', values.launchHookHeartbeatSeconds);

  return {
    region: resolvedRegion,
    notices,
    environments,
    rebalanceRuleState: TRUE.includes(String(params.rebalanceDrain ?? '').trim().toLowerCase()) ? 'ENABLED' : 'DISABLED',
    stateChangeRuleState: TRUE.includes(String(params.stateChangeDrain ?? '').trim().toLowerCase()) ? 'ENABLED' : 'DISABLED',
    // Undoing drains follows the switches of the drains it undoes (lib/spot/config.ts undrainSurvivors).
    runningRuleState: ['rebalanceDrain', 'stateChangeDrain'].some((name) => TRUE.includes(String(params[name] ?? '').trim().toLowerCase())) ? 'ENABLED' : 'DISABLED',
    scheduledEventRuleState: TRUE.includes(String(params.scheduledEventDrain ?? '').trim().toLowerCase()) ? 'ENABLED' : 'DISABLED',
    sweepEnabled: values.sweepEnabled,
    sweepSchedule: values.sweepSchedule,
    sweepTimeoutSeconds: values.sweepTimeoutSeconds,
    lifecycleTimeoutSeconds: values.lifecycleTimeoutSeconds,
    logRetentionDays: values.logRetentionDays,
    // Alarms, alarm topic and dashboard (deploy/alarms.cjs, added by deploy/plugin.cjs).
    monitoring: { service, stage, namespace: environments[SWEEPER].METRICS_NAMESPACE, alarmEmail: values.alarmEmail },
    sweeperReservedConcurrency: values.sweeperReservedConcurrency > 0 ? values.sweeperReservedConcurrency : undefined,
    lifecycleReservedConcurrency: values.lifecycleReservedConcurrency > 0 ? values.lifecycleReservedConcurrency : undefined,
    lifecycleTaskEvents: values.lifecycleTaskEvents,
    lifecycleTaskRuleState: values.lifecycleTaskEvents ? 'ENABLED' : 'DISABLED',
    taskStoppedPattern: taskStoppedPattern(params.clusters),
    lifecycleHooks: hooks,
  };
}

/**
 * The lifecycle drainer's task rule: STOPPED task state changes of the managed clusters (all
 * clusters for "*"), docs/aws-behaviour.md §1.10. Cluster names become ARNs of the stack's account,
 * Region and partition, resolved by CloudFormation.
 */
function taskStoppedPattern(clusters) {
  const names = String(clusters ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  const every = names.length === 0 || names.includes('*');
  const arns = names.map((name) =>
    name.startsWith('arn:') ? name : { 'Fn::Sub': `arn:\${AWS::Partition}:ecs:\${AWS::Region}:\${AWS::AccountId}:cluster/${name}` },
  );
  return {
    source: ['aws.ecs'],
    'detail-type': ['ECS Task State Change'],
    detail: { lastStatus: ['STOPPED'], ...(every ? {} : { clusterArn: arns }) },
  };
}

/** Short stable suffix, so two group names that differ only in punctuation get distinct logical ids. */
function hashOf(text) {
  let hash = 0;
  for (const char of text) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash.toString(36).slice(0, 6);
}

function paramNamesOf(option) {
  return ([]).concat(option ?? []).map((entry) => String(entry).split('=')[0].trim()).filter(Boolean);
}

module.exports = async ({ options, resolveVariable, resolveConfigurationProperty }) => {
  const allParams = (await resolveConfigurationProperty(['params'])) ?? {};
  const stage = String(await resolveVariable('sls:stage'));
  const service = String(await resolveVariable('self:service'));
  const knownNames = Object.keys(allParams.default ?? {});
  const givenNames = [...paramNamesOf(options.param), ...Object.keys(allParams[stage] ?? {})];
  const params = {};
  for (const name of knownNames) {
    const value = await resolveVariable(`param:${name}`);
    params[name] = value === undefined || value === null ? '' : String(value);
  }
  const settings = buildSettings({
    params,
    knownNames,
    givenNames,
    shellEnv: process.env,
    region: { option: options.region, AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION },
    service,
    stage,
  });
  for (const notice of settings.notices) process.stderr.write(`ecs-ec2-keeper: ${notice}\n`);
  return settings;
};

module.exports.buildSettings = buildSettings;
module.exports.VARIABLES = VARIABLES;
module.exports.SettingsError = SettingsError;
