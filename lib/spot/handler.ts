import type { ECSClient } from '@aws-sdk/client-ecs';
import { assertDrained, clusterName, findContainerInstance, resolveClusters, setDraining } from '../aws/ecs';
import { decideDrain } from './decide';
import { RetryableError, classifyAwsError, describeError } from '../errors';
import { parseEc2Event } from '../events/ec2';
import type { Telemetry } from '../telemetry';
import type { SpotConfig } from './config';

export interface SpotDeps {
  config: SpotConfig;
  ecs: ECSClient;
  telemetry: Telemetry;
}

/** What one invocation did; returned to the caller and logged as the decision line. */
export interface SpotResult {
  outcome: 'drained' | 'no-action' | 'ignored' | 'invalid';
  reason: string;
  kind?: string;
  ec2InstanceId?: string;
  cluster?: string;
  containerInstanceArn?: string;
}

/**
 * Spot interruption drainer: EC2 event in, container instance DRAINING out.
 * Throws only for faults a retry can fix (throttling, 5xx, a drain ECS refused), so Lambda's
 * asynchronous retries and the on-failure destination apply; everything else is acknowledged.
 */
export function makeSpotInterruptionHandler(deps: SpotDeps) {
  const { config, ecs, telemetry } = deps;
  return async function spotInterruptionHandler(event: unknown): Promise<SpotResult> {
    const parsed = parseEc2Event(event, {
      rebalanceDrain: config.rebalanceDrain,
      stateChangeDrain: config.stateChangeDrain,
    });
    if (parsed.outcome === 'invalid') {
      telemetry.log('ERROR', 'invalid event', { reason: parsed.reason, detail: parsed.detail });
      telemetry.count('InvalidEvent', { function: 'spotInterruption', reason: parsed.reason });
      return { outcome: 'invalid', reason: parsed.reason };
    }
    if (parsed.outcome === 'ignored') {
      telemetry.log('INFO', 'spot decision', { outcome: 'ignored', kind: parsed.kind, reason: parsed.reason });
      telemetry.count('EventIgnored', { kind: parsed.kind, reason: parsed.reason });
      return { outcome: 'ignored', kind: parsed.kind, reason: parsed.reason };
    }

    const signal = parsed.signal;
    const context = {
      kind: signal.kind,
      ec2InstanceId: signal.ec2InstanceId,
      eventId: signal.eventId,
      eventTime: signal.time,
      ...(signal.instanceAction ? { instanceAction: signal.instanceAction } : {}),
      ...(signal.state ? { state: signal.state } : {}),
      dryRun: config.dryRun,
    };
    try {
      const clusters = await resolveClusters(ecs, config.clusters);
      const instance = await findContainerInstance(ecs, clusters, signal.ec2InstanceId, telemetry);
      const decision = decideDrain(instance, config.dryRun);
      const where = instance
        ? { cluster: instance.cluster, containerInstanceArn: instance.containerInstanceArn, status: instance.status }
        : { clustersSearched: clusters.length };
      const dimensions = { kind: signal.kind, cluster: instance ? clusterName(instance.cluster) : 'none' };

      if (decision.action === 'none' || !instance) {
        telemetry.log('INFO', 'spot decision', { ...context, ...where, outcome: 'no-action', reason: decision.reason });
        telemetry.count('DrainSkipped', { ...dimensions, reason: decision.reason });
        return { outcome: 'no-action', reason: decision.reason, kind: signal.kind, ec2InstanceId: signal.ec2InstanceId, ...instanceFields(instance) };
      }

      const drained = await setDraining(ecs, instance.cluster, [instance.containerInstanceArn]);
      assertDrained(drained);
      // Deregistered between the lookup and the update: nothing is left to drain.
      const gone = drained.gone.length > 0;
      const outcome = gone ? 'no-action' : 'drained';
      const reason = gone ? 'deregistered' : 'drained';
      telemetry.log('INFO', 'spot decision', { ...context, ...where, outcome, reason });
      if (gone) telemetry.count('DrainSkipped', { ...dimensions, reason });
      else telemetry.count('InstanceDrained', dimensions);
      return { outcome, reason, kind: signal.kind, ec2InstanceId: signal.ec2InstanceId, ...instanceFields(instance) };
    } catch (error) {
      const errorClass = classifyAwsError(error);
      telemetry.log('ERROR', 'spot drain failed', { ...context, errorClass, ...describeError(error) });
      telemetry.count('DrainFailed', { kind: signal.kind, errorClass });
      if (error instanceof RetryableError) throw error;
      // Throttling and server faults are retried by Lambda; so are errors we cannot classify
      // (access denied, a missing permission), because they should reach the on-failure destination.
      throw new RetryableError(`spot drain of ${signal.ec2InstanceId} failed: ${describeError(error).errorName}`, { cause: error });
    }
  };
}

function instanceFields(instance: { cluster: string; containerInstanceArn: string } | undefined) {
  return instance ? { cluster: instance.cluster, containerInstanceArn: instance.containerInstanceArn } : {};
}
