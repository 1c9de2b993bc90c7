import { createAutoScalingClient, createEc2Client, createEcsClient, createSnsClient } from '../clients';
import { defineFunction } from '../definition';
import { loadLifecycleConfig } from './config';
import { makeLifecycleHookHandler } from './handler';

export const LIFECYCLE_HOOK = 'lifecycleHook';

/** The lifecycle-hook drainer (serverless.yml `functions.lifecycleHook`). */
export const lifecycleHook = defineFunction({
  name: LIFECYCLE_HOOK,
  handler: 'handlers/lifecycle-hook.handler',
  loadConfig: loadLifecycleConfig,
  clients: { ecs: createEcsClient, autoScaling: createAutoScalingClient, sns: createSnsClient, ec2: createEc2Client },
  // Long enough to poll a drain inside one invocation; the code leaves before the timeout and requeues.
  timeoutSeconds: 900,
  memoryMb: 256,
  async: { maximumRetryAttempts: 2, maximumEventAgeSeconds: 3600 },
  build: ({ config, clients, telemetry, clock, newId }) => makeLifecycleHookHandler({ config, clients, telemetry, clock, newId }),
});
