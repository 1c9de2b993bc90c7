import { createAutoScalingClient, createEcsClient } from '../clients';
import { defineFunction } from '../definition';
import { loadSpotConfig } from './config';
import { makeSpotInterruptionHandler } from './handler';

export const SPOT_INTERRUPTION = 'spotInterruption';

/** The Spot interruption drainer (serverless.yml `functions.spotInterruption`). */
export const spotInterruption = defineFunction({
  name: SPOT_INTERRUPTION,
  handler: 'handlers/spot-interruption.handler',
  loadConfig: loadSpotConfig,
  clients: { ecs: createEcsClient, autoScaling: createAutoScalingClient },
  // Room for the storm retries (at most ~56 s of backoff, ~20 s in practice) inside the two-minute warning.
  timeoutSeconds: 90,
  memoryMb: 256,
  async: { maximumRetryAttempts: 2, maximumEventAgeSeconds: 600 },
  build: ({ config, clients, telemetry, clock }) => {
    const handler = makeSpotInterruptionHandler({ config, ecs: clients.ecs, autoScaling: clients.autoScaling, telemetry, clock });
    return (event) => handler(event);
  },
});
