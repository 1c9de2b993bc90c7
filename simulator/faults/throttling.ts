import type { Clock } from '../../lib/clock';
import type { ControlPlane, ServiceName } from '../api';
import { throttlingError } from './errors';

/**
 * Token-bucket throttling in front of a control plane, refilled from the injected clock so that a
 * virtual clock throttles exactly like wall time would.
 *
 * ECS: one bucket per category, shared by every action of the category, at the documented rates
 * (aws-behaviour.md §3.1, from the ECS "Request throttling" page). Actions not in the table are not
 * throttled. Auto Scaling: one bucket for every action; AWS does not publish its numbers (§3.2), so
 * the default below is an assumption, and configurable.
 */
export interface BucketRate {
  /** Bucket size: calls allowed at once. */
  burst: number;
  /** Tokens added per second. */
  refillPerSecond: number;
}

export const ECS_THROTTLE_RATES = {
  clusterRead: { burst: 50, refillPerSecond: 20 },
  clusterResourceRead: { burst: 100, refillPerSecond: 20 },
  clusterResourceModify: { burst: 100, refillPerSecond: 40 },
  serviceRead: { burst: 100, refillPerSecond: 20 },
  serviceModify: { burst: 50, refillPerSecond: 5 },
  agentModify: { burst: 200, refillPerSecond: 120 },
  clusterModify: { burst: 20, refillPerSecond: 1 },
  taskDefinitionRead: { burst: 50, refillPerSecond: 20 },
  taskDefinitionModify: { burst: 20, refillPerSecond: 1 },
  tagRead: { burst: 50, refillPerSecond: 20 },
  tagModify: { burst: 20, refillPerSecond: 10 },
} as const satisfies Record<string, BucketRate>;

export type EcsThrottleCategory = keyof typeof ECS_THROTTLE_RATES;

const ECS_CATEGORY_ACTIONS: Readonly<Record<EcsThrottleCategory, readonly string[]>> = {
  // DescribeCapacityProviders is not in the page's table; counted with the cluster reads (an assumption, aws-behaviour.md §3.5).
  clusterRead: ['DescribeCapacityProviders', 'DescribeClusters', 'ListClusters'],
  clusterResourceRead: ['DescribeContainerInstances', 'DescribeTasks', 'ListAttributes', 'ListContainerInstances', 'ListTasks'],
  clusterResourceModify: ['DeleteAttributes', 'DeregisterContainerInstance', 'ExecuteCommand', 'PutAttributes', 'RunTask', 'StartTask', 'StopTask', 'UpdateContainerAgent', 'UpdateContainerInstancesState'],
  serviceRead: ['DescribeServices', 'ListServices'],
  serviceModify: ['CreateService', 'DeleteService', 'UpdateService'],
  agentModify: ['RegisterContainerInstance', 'SubmitAttachmentStateChanges', 'SubmitContainerStateChange', 'SubmitTaskStateChange'],
  clusterModify: ['CreateCluster', 'DeleteCluster', 'PutClusterCapacityProviders', 'UpdateCluster', 'UpdateClusterSettings'],
  taskDefinitionRead: ['DescribeTaskDefinition', 'ListTaskDefinitionFamilies', 'ListTaskDefinitions'],
  taskDefinitionModify: ['DeregisterTaskDefinition', 'RegisterTaskDefinition'],
  tagRead: ['ListTagsForResource'],
  tagModify: ['TagResource', 'UntagResource'],
};

const ECS_CATEGORY_BY_ACTION = new Map<string, EcsThrottleCategory>(
  (Object.entries(ECS_CATEGORY_ACTIONS) as [EcsThrottleCategory, readonly string[]][]).flatMap(([category, actions]) =>
    actions.map((action) => [action, category] as const),
  ),
);

export function ecsThrottleCategory(operation: string): EcsThrottleCategory | undefined {
  return ECS_CATEGORY_BY_ACTION.get(operation);
}

/** Assumed, not documented: AWS publishes no numbers for Auto Scaling (aws-behaviour.md §3.2). */
export const DEFAULT_AUTO_SCALING_RATE: BucketRate = { burst: 40, refillPerSecond: 10 };

/** A token bucket; time is passed in, so it is a pure value over the clock's readings. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly rate: BucketRate,
    now: number,
  ) {
    if (!(rate.burst >= 1) || !(rate.refillPerSecond > 0)) throw new RangeError('A bucket needs burst >= 1 and refillPerSecond > 0');
    this.tokens = rate.burst;
    this.last = now;
  }

  /** Tokens available at `now` (fractional while refilling). */
  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  /** Takes one token if there is one. */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private refill(now: number): void {
    // A clock that steps back adds nothing rather than draining the bucket.
    if (now <= this.last) return;
    this.tokens = Math.min(this.rate.burst, this.tokens + ((now - this.last) / 1000) * this.rate.refillPerSecond);
    this.last = now;
  }
}

export interface ThrottlingOptions {
  clock: Clock;
  rates?: {
    /** Overrides per ECS category; the others keep the documented rates. */
    ecs?: Partial<Record<EcsThrottleCategory, BucketRate>>;
    /** The shared Auto Scaling bucket; `false` turns Auto Scaling throttling off. */
    autoScaling?: BucketRate | false;
  };
}

export interface ThrottledControlPlane extends ControlPlane {
  /** Calls refused so far, by bucket (`ecs:clusterResourceRead`, `autoscaling`). */
  throttled(): Record<string, number>;
}

export function withThrottling(plane: ControlPlane, options: ThrottlingOptions): ThrottledControlPlane {
  const { clock } = options;
  const ecsRates = { ...ECS_THROTTLE_RATES, ...options.rates?.ecs };
  const autoScalingRate = options.rates?.autoScaling ?? DEFAULT_AUTO_SCALING_RATE;
  const buckets = new Map<string, TokenBucket>();
  const refused: Record<string, number> = {};

  const bucketFor = (service: ServiceName, operation: string): [string, BucketRate] | undefined => {
    if (service === 'ecs') {
      const category = ecsThrottleCategory(operation);
      return category ? [`ecs:${category}`, ecsRates[category]] : undefined;
    }
    if (service === 'autoscaling' && autoScalingRate) return ['autoscaling', autoScalingRate];
    return undefined;
  };

  return {
    async call(service, operation, input) {
      const found = bucketFor(service, operation);
      if (found) {
        const [key, rate] = found;
        const now = clock.now();
        let bucket = buckets.get(key);
        if (!bucket) buckets.set(key, (bucket = new TokenBucket(rate, now)));
        if (!bucket.take(now)) {
          refused[key] = (refused[key] ?? 0) + 1;
          throw throttlingError(service);
        }
      }
      return plane.call(service, operation, input);
    },
    throttled: () => ({ ...refused }),
  };
}
