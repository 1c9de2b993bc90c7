import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RealTimeClock } from '../../simulator/clock';
import { startServer, type ServerOptions } from '../../simulator/http/server';
import { populateWorld } from '../../simulator/runner/populate';
import { LIFECYCLE_TOPIC } from '../../simulator/runner/simulation';
import { loadScenario } from '../../simulator/scenarios/load';
import { World } from '../../simulator/world/world';
import { ROOT } from './stack';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The README line (indentation ignored) that starts with `prefix`, split into words as a shell would. */
export function readmeCommand(prefix: string): string[] {
  const line = README.split('\n').map((text) => text.trim()).find((text) => text.startsWith(prefix));
  if (!line) throw new Error(`README has no line starting with ${prefix}`);
  return (line.match(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g) ?? []).map((word) => word.replace(/["']/g, ''));
}

/** The shell of a command that reaches the served world: its endpoint, its Region, any credentials. */
export const servedEnv = (url: string) => ({ AWS_ENDPOINT_URL: url, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'sim', AWS_SECRET_ACCESS_KEY: 'sim' });

/**
 * A scenario's initial world on real time behind the HTTP endpoint, its events not played, as
 * `npm start -- --serve` serves it; the scenario's hooks notify the topic `topicName`.
 */
export async function serveScenario(name: string, topicName = LIFECYCLE_TOPIC, views?: (world: World, topicArn: string) => ServerOptions['views']) {
  const scenario = loadScenario(name);
  const clock = new RealTimeClock();
  const world = new World(clock, { seed: scenario.seed });
  const topic = world.createTopic(topicName);
  const server = await startServer(world, { port: 0, ...(views ? { views: views(world, topic.arn) } : {}) });
  populateWorld(world, scenario, { topicArn: topic.arn, start: clock.now(), events: false });
  return {
    scenario,
    world,
    server,
    topicArn: topic.arn,
    async close() {
      clock.stop();
      await server.close();
    },
  };
}
