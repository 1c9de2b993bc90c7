import { clientOptionsFrom, createAutoScalingClient, createEcsClient, createSnsClient } from '../lib/clients';
import { systemClock } from '../lib/clock';
import { loadLifecycleConfig } from '../lib/lifecycle/config';
import { makeLifecycleHookHandler } from '../lib/lifecycle/handler';
import { createPowertoolsTelemetry } from '../lib/telemetry';

// Configuration is validated once, at cold start: a bad stage fails loudly on the first event.
const config = loadLifecycleConfig(process.env);
const clientOptions = clientOptionsFrom(config);

// One constructor per service keeps the EC2 and CloudWatch clients out of this function's bundle.
export const handler = makeLifecycleHookHandler({
  config,
  clients: {
    ecs: createEcsClient(clientOptions),
    autoScaling: createAutoScalingClient(clientOptions),
    sns: createSnsClient(clientOptions),
  },
  telemetry: createPowertoolsTelemetry({
    serviceName: 'lifecycleHook',
    namespace: config.metricsNamespace,
    logLevel: config.logLevel,
  }),
  clock: systemClock,
});
