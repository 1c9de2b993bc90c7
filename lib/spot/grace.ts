import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ListAttributesCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { describeGroupInstances } from '../aws/autoscaling';
import { clusterName, deleteInstanceAttributes, describeContainerInstances, resolveClusters, setActive } from '../aws/ecs';
import { describeError } from '../errors';
import type { Telemetry } from '../telemetry';
import { DRAINED_FOR, readRecord } from './record';
import { decideUndrain } from './undrain';

/** At most this many ListAttributes pages (100 records each) per cluster and check. */
const MAX_PAGES = 10;
/** At most this many instances undone per cluster and check; the next check takes the rest. */
const MAX_UNDO = 100;

export interface GraceCheckDeps {
  ecs: ECSClient;
  autoScaling?: AutoScalingClient;
  telemetry: Telemetry;
  clusters: readonly string[];
  graceMs: number;
  dryRun: boolean;
}

/**
 * Undoes rebalance drains that outlived their grace period. A rebalance recommendation is only a
 * hint (docs/aws-behaviour.md §1.2): an instance still running, its agent connected, long after
 * the drain this function recorded for it, was not interrupted, and its capacity would otherwise
 * stay stranded. (Drains for a stop end when the instance is `running` again instead: a stopped
 * instance's agent is disconnected, so this check leaves it alone.)
 *
 * Cheap and bounded: the handler runs it at most once per execution environment and interval, on
 * an event it handles anyway; per cluster one paged ListAttributes filtered on the record's name
 * (at most MAX_PAGES pages), one describe of the candidates, one DescribeAutoScalingInstances, then
 * the writes of `undrain`. A failure is logged and counted, never thrown: the next check tries again.
 */
export async function undoStaleRebalanceDrains(deps: GraceCheckDeps, now: number): Promise<number> {
  const { ecs, telemetry } = deps;
  let undone = 0;
  let clusters: string[];
  try {
    clusters = await resolveClusters(ecs, deps.clusters);
  } catch (error) {
    failed('clusters', error);
    return 0;
  }
  for (const cluster of clusters) {
    try {
      const stale: string[] = [];
      let nextToken: string | undefined;
      for (let page = 0; page < MAX_PAGES; page += 1) {
        const listed = await ecs.send(
          new ListAttributesCommand({ cluster, targetType: 'container-instance', attributeName: DRAINED_FOR, maxResults: 100, ...(nextToken ? { nextToken } : {}) }),
        );
        for (const attribute of listed.attributes ?? []) {
          const record = readRecord({ [DRAINED_FOR]: attribute.value ?? '' });
          if (record?.reason === 'rebalance' && now - record.at >= deps.graceMs && attribute.targetId) stale.push(attribute.targetId);
        }
        nextToken = listed.nextToken;
        if (!nextToken) break;
      }
      if (stale.length === 0) continue;
      const described = await describeContainerInstances(ecs, cluster, stale.slice(0, MAX_UNDO));
      const running = described.instances.filter((view) => view.agentConnected);
      const members = running.length > 0 && deps.autoScaling ? await describeGroupInstances(deps.autoScaling, running.map((view) => view.ec2InstanceId)) : new Map();
      if (running.length > 0 && !deps.autoScaling) throw new Error('no Auto Scaling client');
      const toUndo = running.filter((view) => decideUndrain(view, members.get(view.ec2InstanceId), deps.dryRun).action === 'undrain');
      if (toUndo.length === 0) continue;
      const refused = new Set((await setActive(ecs, cluster, toUndo.map((view) => view.containerInstanceArn))).map((failure) => failure.arn.split('/').pop()));
      const activated = toUndo.filter((view) => !refused.has(view.containerInstanceArn.split('/').pop()));
      await deleteInstanceAttributes(ecs, cluster, activated.map((view) => ({ targetId: view.containerInstanceArn, name: DRAINED_FOR })));
      for (const view of activated) {
        telemetry.log('INFO', 'spot decision', { kind: 'rebalance-grace', ec2InstanceId: view.ec2InstanceId, cluster, containerInstanceArn: view.containerInstanceArn, outcome: 'undrained', reason: 'grace-period-over' });
        telemetry.count('InstanceUndrained', { kind: 'rebalance-grace', cluster: clusterName(cluster) });
      }
      undone += activated.length;
    } catch (error) {
      failed(cluster, error);
    }
  }
  return undone;

  function failed(where: string, error: unknown): void {
    telemetry.log('WARN', 'grace check failed', { cluster: where, ...describeError(error) });
    telemetry.count('GraceCheckFailed', { cluster: clusterName(where) });
  }
}
