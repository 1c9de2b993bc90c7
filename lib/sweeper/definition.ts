import { createAutoScalingClient, createCloudWatchClient, createEcsClient, createSnsClient } from '../clients';
import { DEFAULT_MAXIMUM_EVENT_AGE_SECONDS, defineFunction } from '../definition';
import { loadSweeperConfig } from './config';
import { makeScaleInSweeperHandler } from './handler';

export const SCALE_IN_SWEEPER = 'scaleInSweeper';

/** The scale-in sweeper (serverless.yml `functions.scaleInSweeper`). */
export const scaleInSweeper = defineFunction({
  name: SCALE_IN_SWEEPER,
  handler: 'handlers/scale-in-sweeper.handler',
  loadConfig: loadSweeperConfig,
  clients: { ecs: createEcsClient, autoScaling: createAutoScalingClient, cloudWatch: createCloudWatchClient, sns: createSnsClient },
  timeoutSeconds: 300,
  memoryMb: 512,
  // Never retried: a retry could overlap the next scheduled run and plan on a stale snapshot.
  async: { maximumRetryAttempts: 0, maximumEventAgeSeconds: DEFAULT_MAXIMUM_EVENT_AGE_SECONDS },
  build: ({ config, clients, telemetry, clock }) => makeScaleInSweeperHandler({ config, clients, telemetry, clock }),
});
