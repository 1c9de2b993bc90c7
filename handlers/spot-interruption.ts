import { clientOptionsFrom, createEcsClient } from '../lib/clients';
import { loadSpotConfig } from '../lib/spot/config';
import { makeSpotInterruptionHandler } from '../lib/spot/handler';
import { createPowertoolsTelemetry } from '../lib/telemetry';

// Configuration is validated once, at cold start: a bad stage fails loudly on the first event.
const config = loadSpotConfig(process.env);

export const handler = makeSpotInterruptionHandler({
  config,
  ecs: createEcsClient(clientOptionsFrom(config)),
  telemetry: createPowertoolsTelemetry({
    serviceName: 'spotInterruption',
    namespace: config.metricsNamespace,
    logLevel: config.logLevel,
  }),
});
