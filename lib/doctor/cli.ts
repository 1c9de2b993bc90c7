import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { buildClients, buildDoctorClients } from '../clients';
import { parseGroupList } from '../config';
import { formatTable, runChecks, stageTarget, type StageSettings, type Target } from './checks';

/**
 * `npm run doctor -- --stage <stage> [--param name=value …] [--region <r>] [--topic <arn or name>]`:
 * read-only preflight of a stage. The stage's settings come from `serverless print` (so the same
 * checks as `serverless package` apply); AWS is reached through the SDK's usual chain, so
 * AWS_ENDPOINT_URL points it at the simulator (`npm start -- --serve`). Exit 1 when a check fails.
 */
const USAGE = 'Usage: npm run doctor -- --stage <stage> [--param name=value ...] [--region <region>] [--topic <arn or name>]';
const ROOT = join(__dirname, '..', '..');

interface Printed {
  service: string;
  provider: { stage: string };
  custom: {
    settings: StageSettings & {
      region: string;
      environments: { lifecycleHook: Record<string, string> };
      lifecycleHooks: Record<string, { Properties: { AutoScalingGroupName: string; LifecycleTransition: string } }>;
    };
  };
}

const split = (value = '') => value.split(',').map((item) => item.trim()).filter(Boolean);

export async function resolveTarget(args: string[]): Promise<{ target: Target; region: string }> {
  const { values } = parseArgs({
    args,
    options: {
      stage: { type: 'string' },
      param: { type: 'string', multiple: true, default: [] },
      region: { type: 'string' },
      topic: { type: 'string' },
    },
    strict: true,
  });
  if (!values.stage) throw new Error(`--stage is required. ${USAGE}`);
  const cli = [
    'print', '--format', 'json', '--stage', values.stage,
    ...(values.region ? ['--region', values.region] : []),
    ...values.param.map((param) => `--param=${param}`),
  ];
  const printed = await promisify(execFile)(join(ROOT, 'node_modules/.bin/serverless'), cli, {
    cwd: ROOT,
    env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: { stdout?: string; stderr?: string }) => {
    const text = `${error.stdout ?? ''}\n${error.stderr ?? ''}`;
    const reason = /Invalid stage settings:[\s\S]*?(?=\n\S|\n*$)/.exec(text)?.[0] ?? text.trim().split('\n').slice(-3).join(' ');
    throw new Error(`the stage's settings do not resolve: ${reason}`);
  });
  const config = JSON.parse(printed.stdout) as Printed;
  const settings = config.custom.settings;
  // Groups the stack attaches its termination hook to (launch hooks are not the drain's concern).
  const hookGroups = Object.values(settings.lifecycleHooks)
    .filter((hook) => hook.Properties.LifecycleTransition === 'autoscaling:EC2_INSTANCE_TERMINATING')
    .map((hook) => hook.Properties.AutoScalingGroupName);
  const env = settings.environments.lifecycleHook;
  return {
    region: settings.region,
    target: {
      clusters: split(env.CLUSTERS),
      groups: [...new Set([...parseGroupList(env.AUTO_SCALING_GROUPS), ...hookGroups])],
      topic: values.topic ?? `${config.service}-${config.provider.stage}-lifecycle`,
      stage: stageTarget(config.service, config.provider.stage, settings),
    },
  };
}

async function main(): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { target, region } = await resolveTarget(process.argv.slice(2));
  const options = { maxAttempts: 3, retryMode: 'standard' as const, region };
  const clients = buildClients(options);
  const rows = await runChecks(Object.assign(clients, buildDoctorClients(options)), target);
  console.log(formatTable(rows));
  const failed = rows.filter((row) => row.status === 'fail').length;
  const unknown = rows.filter((row) => row.status === 'unknown').length;
  console.log(`\n${failed} failed, ${rows.filter((row) => row.status === 'warn').length} warnings, ${unknown} unknown, ${rows.filter((row) => row.status === 'pass').length} passed`);
  return failed > 0 ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`error: ${(error instanceof Error ? error.message : String(error)).split('\n').join(' ')}`);
      process.exitCode = 1;
    },
  );
}
