import {
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  ListAttributesCommand,
  ListContainerInstancesCommand,
  ListTasksCommand,
} from '@aws-sdk/client-ecs';
import type { Clock } from '../clock';

/**
 * Counts the AWS requests a round makes, per service, so every decision line reports its cost.
 * The proxy keeps the client's prototype, so SDK paginators still accept it.
 */
export type CallCounts = Record<string, number>;

export function countingClient<C extends { send: (...args: never[]) => unknown }>(
  client: C,
  service: string,
  counts: CallCounts,
  onOutcome?: (ok: boolean) => void,
): C {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return (...args: Parameters<C['send']>) => {
        counts[service] = (counts[service] ?? 0) + 1;
        const sent = target.send(...args);
        // Which service failed, and whether Auto Scaling still answers, are inputs of the decision (decide.ts).
        if (onOutcome && sent instanceof Promise) sent.then(() => onOutcome(true), () => onOutcome(false));
        return sent;
      };
    },
  });
}

/** ECS's cluster-resource reads, the actions of the account's shared read bucket (docs/aws-behaviour.md §3.1). */
const CLUSTER_RESOURCE_READS = [DescribeContainerInstancesCommand, DescribeTasksCommand, ListAttributesCommand, ListContainerInstancesCommand, ListTasksCommand];

export function isClusterResourceRead(command: unknown): boolean {
  return CLUSTER_RESOURCE_READS.some((type) => command instanceof type);
}

/**
 * Spaces the ECS cluster-resource reads one invocation sends by at least `spacingMs()` (read at
 * each request; 0: no spacing), so that a poll's few reads do not all land in the same second.
 * The SDK's own retries of a request are not spaced again.
 */
export function pacedReads<C extends { send: (...args: never[]) => unknown }>(client: C, clock: Clock, spacingMs: () => number): C {
  let nextAt = Number.NEGATIVE_INFINITY;
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return async (...args: Parameters<C['send']>) => {
        const spacing = spacingMs();
        if (spacing > 0 && isClusterResourceRead(args[0])) {
          const now = clock.now();
          const at = Math.max(now, nextAt);
          nextAt = at + spacing;
          if (at > now) await clock.sleep(at - now);
        }
        return target.send(...args);
      };
    },
  });
}
