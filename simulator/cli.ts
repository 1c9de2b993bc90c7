import { parseArgs } from 'node:util';
import { RealTimeClock } from './clock';
import { withCallLog } from './faults';
import { startServer } from './http/server';
import { formatDuration, formatReport } from './report';
import { populateWorld } from './runner/populate';
import { openLaunchTryOutAction, openTryOutAction, publishedView, tryOutAction } from './runner/try-out';
import { SIMULATION_START, Simulation, scenarioEnv } from './runner/simulation';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../lib/config';
import { FUNCTIONS } from '../lib/functions';
import { DEFAULT_SCENARIO, ScenarioError, loadScenario, parseScenario, scenarioNames, type Scenario } from './scenarios/load';
import type { TimelineEntry } from './world/model';
import { World } from './world/world';

/**
 * `npm start`: runs a scenario against the three handlers over HTTP on a virtual clock, prints a
 * live timeline and the report. `--serve` keeps a world up on real time for other processes
 * (`serverless invoke local`) to call.
 */
const USAGE = `Usage: npm start -- [--scenario <name>] [--speed <n> | --fast] [--json] [--quiet]
       npm start -- --serve [--scenario <name>] [--port <n>]
       npm start -- --list

  --scenario <name>  one of: ${scenarioNames().join(', ')} (default ${DEFAULT_SCENARIO}),
                     or the path of a scenario file (any name ending in .json or holding a /)
  --speed <n>        simulated seconds per real second for the live timeline (default 60)
  --fast             no pacing: run as fast as possible
  --json             print the report as JSON
  --quiet            no timeline, only the report
  --serve            serve the scenario's world on 127.0.0.1 in real time until Ctrl-C
  --port <n>         port for --serve (default 4599)`;

async function main(): Promise<number> {
  // The simulator's own SDK clients run on whatever Node the user has; the deployed functions run on nodejs22.x.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', default: DEFAULT_SCENARIO },
      speed: { type: 'string', default: '60' },
      fast: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      serve: { type: 'boolean', default: false },
      port: { type: 'string', default: '4599' },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.list) {
    for (const name of scenarioNames()) console.log(`${name.padEnd(28)} ${loadScenario(name).description}`);
    return 0;
  }
  const scenario = scenarioFrom(values.scenario);
  checkSettings(scenario);
  if (values.serve) {
    if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65_535) throw new ScenarioError('--port must be a whole number from 0 to 65535');
    return serve(scenario, Number(values.port));
  }

  const speed = Number(values.speed);
  if (!values.fast && !(speed > 0)) throw new ScenarioError('--speed must be a positive number');
  const printer = new TimelinePrinter(SIMULATION_START);
  // --json prints the report alone, so that the output is one JSON document.
  const say = values.json ? () => undefined : (line: string) => console.log(line);
  say(`Scenario ${scenario.name}: ${scenario.description}`);
  say(`Simulating ${formatDuration(scenario.durationMinutes * 60)}${values.fast ? '' : ` at ${speed}x`}; the three handlers run in process against the simulator's HTTP endpoint.\n`);
  const simulation = await Simulation.start(scenario, {
    ...(values.fast ? {} : { rate: speed }),
    ...(values.quiet || values.json ? {} : { onTimeline: (entry: TimelineEntry) => printer.add(entry) }),
  });
  if (!values.quiet && !values.json) {
    // A progress mark every five simulated minutes, so quiet stretches still show the clock moving.
    for (let minute = 5; minute < scenario.durationMinutes; minute += 5) {
      simulation.clock.schedule(SIMULATION_START + minute * 60_000, () => {
        printer.add({ at: simulation.clock.now(), kind: 'progress', message: `${minute} of ${scenario.durationMinutes} simulated minutes` });
      });
    }
  }
  try {
    const report = await simulation.run();
    printer.flush();
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else console.log(`\n${formatReport(report)}`);
    return 0;
  } finally {
    await simulation.close();
  }
}

/** A scenario by name, or from a file path (a name never holds a / nor ends in .json). */
function scenarioFrom(value: string): Scenario {
  if (!value.includes('/') && !value.endsWith('.json')) return loadScenario(value);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(value, 'utf8'));
  } catch (error) {
    throw new ScenarioError(`cannot read scenario ${value}: ${(error as Error).message}`);
  }
  return parseScenario(raw, value);
}

/** Each enabled function's settings, checked before any server starts, as the function would at cold start. */
function checkSettings(scenario: Scenario): void {
  for (const { name, loadConfig } of FUNCTIONS) {
    if (!scenario.handlers[name].enabled) continue;
    try {
      loadConfig(scenarioEnv(scenario, name));
    } catch (error) {
      if (error instanceof ConfigError) throw new ScenarioError(`scenario ${scenario.name}, ${name}: ${error.message}`);
      throw error;
    }
  }
}

/** Serves a scenario's world in real time; scenario events fire on schedule, handlers run elsewhere. */
async function serve(scenario: Scenario, port: number): Promise<number> {
  const clock = new RealTimeClock();
  const world = new World(clock, {
    seed: scenario.seed,
    drainingToDraining: scenario.world.drainingToDraining,
    timings: { bootMs: scenario.world.bootSeconds * 1000, shutdownMs: scenario.world.shutdownSeconds * 1000 },
  });
  // Named as in events/: a requeue published by `invoke local` goes to the topic its record names.
  const topic = world.createTopic(tryOutAction().topicName);
  const published = publishedView(world, topic.arn, (record) =>
    console.log(`  published to ${topic.name}: ${record.Sns.Subject ?? '(no subject)'}  (GET /_sim/published?last=1)`),
  );
  const server = await startServer(withCallLog(world), { port, views: { published } });
  try {
    return await serveUntilStopped(scenario, world, clock, server, topic.arn);
  } finally {
    clock.stop();
    await server.close();
  }
}

async function serveUntilStopped(
  scenario: Scenario,
  world: World,
  clock: RealTimeClock,
  server: Awaited<ReturnType<typeof startServer>>,
  topicArn: string,
): Promise<number> {
  const clusters = scenario.clusters.map((cluster) => cluster.name).join(',');
  const fixtureInstance = scenario.groups.flatMap((group) => group.instanceIds)[0];
  console.log(`Serving the initial state of scenario ${scenario.name} at ${server.url} (Ctrl-C to stop). Clusters: ${clusters}.`);
  console.log('Its events are not played: the handlers run elsewhere. Point any AWS SDK or CLI at it, for example:\n');
  console.log(
    `  AWS_ENDPOINT_URL=${server.url} AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=sim AWS_SECRET_ACCESS_KEY=sim \\\n` +
      `    npx serverless invoke local -f spotInterruption -p events/spot-interruption-terminate.json --param="clusters=${clusters}"\n`,
  );
  if (fixtureInstance) console.log(`${fixtureInstance}, the instance of that fixture, is a container instance of this world.\n`);
  const printer = new TimelinePrinter(clock.now());
  world.onTimeline((entry) => printer.add(entry));
  populateWorld(world, scenario, { topicArn, start: clock.now(), events: false });
  const tryOut = openTryOutAction(world, scenario.clusters[0]!.name, topicArn);
  console.log(
    `${tryOut.instanceId} (group ${tryOut.group}) waits in Terminating:Wait for the action of events/lifecycle-terminating.json:\n` +
      `  AWS_ENDPOINT_URL=${server.url} AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=sim AWS_SECRET_ACCESS_KEY=sim \\\n` +
      `    npx serverless invoke local -f lifecycleHook -p events/lifecycle-terminating.json --param="clusters=${clusters}"\n` +
      `What the world published (Auto Scaling's notifications, requeue messages), as an SNS event: ${server.url}/_sim/published (?last=1 for the newest)\n`,
  );
  const launch = openLaunchTryOutAction(world, scenario.clusters[0]!.name, topicArn);
  console.log(
    `${launch.instanceId} (group ${launch.group}) waits in Pending:Wait, booted and ready for ECS, for the launch action of events/lifecycle-launching.json:\n` +
      `  AWS_ENDPOINT_URL=${server.url} AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=sim AWS_SECRET_ACCESS_KEY=sim \\\n` +
      `    npx serverless invoke local -f lifecycleHook -p events/lifecycle-launching.json --param="clusters=${clusters}"\n`,
  );
  const flusher = setInterval(() => printer.flush(), 250);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(flusher);
  printer.flush();
  return 0;
}

/**
 * The live timeline: one line per distinct happening; identical ones at the same instant
 * (twenty tasks starting, six warnings) fold into one line with a count.
 */
class TimelinePrinter {
  private pending: { entry: TimelineEntry; count: number } | undefined;

  constructor(private readonly start: number) {}

  add(entry: TimelineEntry): void {
    const pending = this.pending;
    const second = (at: number) => Math.floor((at - this.start) / 1000);
    if (pending && second(pending.entry.at) === second(entry.at) && pending.entry.kind === entry.kind && pending.entry.message === entry.message) {
      pending.count += 1;
      return;
    }
    this.flush();
    this.pending = { entry, count: 1 };
  }

  flush(): void {
    if (!this.pending) return;
    const { entry, count } = this.pending;
    this.pending = undefined;
    const offset = Math.max(0, Math.floor((entry.at - this.start) / 1000));
    const clock = `${String(Math.floor(offset / 60)).padStart(2, '0')}:${String(offset % 60).padStart(2, '0')}`;
    const detail = count > 1 ? `x${count}` : describe(entry.fields);
    console.log(`  +${clock}  ${entry.kind.padEnd(9)} ${entry.message}${detail ? `  ${detail}` : ''}`);
  }
}

function describe(fields: Record<string, unknown> | undefined): string {
  if (!fields) return '';
  return Object.entries(fields)
    .filter(([key, value]) => value !== undefined && key !== 'token' && key !== 'messageId')
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // One line, no stack: a bad scenario, setting or option is the user's to fix, not a crash.
    const message = error instanceof Error ? error.message : String(error);
    console.error(`error: ${message.split('\n').join(' ')}`);
    process.exitCode = 1;
  },
);
