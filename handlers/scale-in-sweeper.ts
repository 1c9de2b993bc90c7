import { clientOptionsFrom, createAutoScalingClient, createCloudWatchClient, createEcsClient } from '../lib/clients';
import { systemClock } from '../lib/clock';
import { loadSweeperConfig } from '../lib/sweeper/config';
import { makeScaleInSweeperHandler } from '../lib/sweeper/handler';
import { createPowertoolsTelemetry } from '../lib/telemetry';

// Configuration is validated once, at cold start: a bad stage fails loudly on the first run.
const config = loadSweeperConfig(process.env);
const options = clientOptionsFrom(config);

// One constructor per service (not buildClients) keeps the EC2 and SNS clients out of this bundle.
export const handler = makeScaleInSweeperHandler({
  config,
  clients: {
    ecs: createEcsClient(options),
    autoScaling: createAutoScalingClient(options),
    cloudWatch: createCloudWatchClient(options),
  },
  telemetry: createPowertoolsTelemetry({ serviceName: 'scaleInSweeper', namespace: config.metricsNamespace, logLevel: config.logLevel }),
  clock: systemClock,
});
