import { AwsApiError } from '../api';
import type { AutoScalingRules } from './autoscaling';
import type { EcsRules } from './ecs';
import { ManagedDrainingActor, MANAGED_DRAINING_HOOK } from './managed-draining';
import { ACCOUNT, REGION, type CapacityProvider, type Group } from './model';
import type { WorldState } from './state';

/**
 * ECS capacity providers bound to Auto Scaling groups (docs/aws-behaviour.md §3.5):
 *
 * - CreateCapacityProvider binds a group; ECS tags the group `AmazonECSManaged`. Managed draining
 *   is on unless turned off, managed termination protection off unless turned on.
 * - PutClusterCapacityProviders associates providers with a cluster (one cluster per provider);
 *   DescribeClusters lists their names in `capacityProviders`.
 * - DescribeCapacityProviders answers `autoScalingGroupProvider` with `managedScaling.status`,
 *   `managedTerminationProtection` and `managedDraining`, at most 10 per page.
 * - Managed draining: once the provider serves a cluster, ECS adds its own termination hook to the
 *   group and drains on termination (managed-draining.ts).
 *
 * Not modelled: managed scaling's target tracking (desired capacity changes only through scenario
 * events and the API) and the scale-in protection managed termination protection sets.
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCapacityProvider.html
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeCapacityProviders.html
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PutClusterCapacityProviders.html
 */
export const INVALID = 'InvalidParameterException';
const NAME = /^[A-Za-z0-9_-]{1,255}$/;
/** The providers every account has; they carry no Auto Scaling group. */
export const FARGATE_PROVIDERS = ['FARGATE', 'FARGATE_SPOT'];
/** DescribeCapacityProviders: 10 per page by default and at most (API reference, `maxResults`). */
export const PAGE_MAX = 10;

export interface CapacityProviderSpec {
  name: string;
  /** The group's name or ARN. */
  group: string;
  managedScaling?: 'ENABLED' | 'DISABLED';
  targetCapacity?: number;
  managedTerminationProtection?: 'ENABLED' | 'DISABLED';
  managedDraining?: 'ENABLED' | 'DISABLED';
}

export const invalid = (message: string) => new AwsApiError(INVALID, message, 400);
export const providerArn = (name: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:capacity-provider/${name}`;

export class CapacityProviderRules {
  readonly actor: ManagedDrainingActor;

  constructor(
    private readonly world: WorldState,
    ecs: EcsRules,
    private readonly autoScaling: AutoScalingRules,
  ) {
    this.actor = new ManagedDrainingActor(world, ecs, autoScaling);
  }

  create(spec: CapacityProviderSpec): CapacityProvider {
    if (!NAME.test(spec.name) || /^(aws|ecs|fargate)/i.test(spec.name)) {
      throw invalid('The name can contain letters, numbers, underscores and hyphens and cannot start with "aws", "ecs" or "fargate".');
    }
    if (this.world.capacityProviders.has(spec.name)) throw invalid(`A capacity provider named ${spec.name} already exists.`);
    const group = this.groupOf(spec.group);
    if ([...this.world.capacityProviders.values()].some((provider) => provider.groupName === group.name)) {
      throw invalid(`The Auto Scaling group ${group.name} is already used by another capacity provider.`);
    }
    const provider: CapacityProvider = {
      name: spec.name,
      arn: providerArn(spec.name),
      groupName: group.name,
      groupArn: group.arn,
      managedScaling: {
        status: spec.managedScaling ?? 'DISABLED',
        targetCapacity: spec.targetCapacity ?? 100,
        minimumScalingStepSize: 1,
        maximumScalingStepSize: 10_000,
        instanceWarmupPeriod: 300,
      },
      managedTerminationProtection: spec.managedTerminationProtection ?? 'DISABLED',
      // On by default for new capacity providers (enable-managed-instance-draining.html).
      managedDraining: spec.managedDraining ?? 'ENABLED',
    };
    this.world.capacityProviders.set(provider.name, provider);
    if (!group.tags.some((tag) => tag.key === 'AmazonECSManaged')) group.tags.push({ key: 'AmazonECSManaged', value: '' });
    this.world.record('ecs', 'capacity provider created', { name: provider.name, group: group.name, managedDraining: provider.managedDraining });
    return provider;
  }

  /** PutClusterCapacityProviders: the cluster's providers become exactly `names`. */
  associate(clusterName: string, names: readonly string[]): void {
    const cluster = this.world.cluster(clusterName);
    for (const name of names) {
      if (FARGATE_PROVIDERS.includes(name)) continue;
      const provider = this.world.capacityProviders.get(name);
      if (!provider) throw invalid(`The specified capacity provider ${name} does not exist.`);
      if (provider.cluster !== undefined && provider.cluster !== cluster.name) {
        throw new AwsApiError('ResourceInUseException', `The specified capacity provider ${name} is in use by another cluster.`, 400);
      }
    }
    for (const provider of this.world.capacityProviders.values()) {
      if (provider.cluster === cluster.name && !names.includes(provider.name)) delete provider.cluster;
    }
    cluster.capacityProviders = [...names];
    for (const name of names) {
      const provider = this.world.capacityProviders.get(name);
      if (!provider) continue;
      provider.cluster = cluster.name;
      if (provider.managedDraining === 'ENABLED') this.addManagedDrainingHook(provider);
    }
  }

  /**
   * ECS adds its own termination hook to the group (named as in DescribeClusters' managed_draining
   * attachment). Its heartbeat timeout and default result are not documented by AWS (UNVERIFIED:
   * 3600 s and CONTINUE, as reported by users); ECS heartbeats it while it drains.
   */
  private addManagedDrainingHook(provider: CapacityProvider): void {
    const group = this.world.groups.get(provider.groupName);
    if (!group || group.hooks.has(MANAGED_DRAINING_HOOK)) return;
    this.autoScaling.putLifecycleHook({ groupName: group.name, name: MANAGED_DRAINING_HOOK, heartbeatTimeout: 3600, defaultResult: 'CONTINUE' });
  }

  private groupOf(ref: string): Group {
    const name = ref.startsWith('arn:') ? (ref.split('autoScalingGroupName/')[1] ?? '') : ref;
    const group = this.world.groups.get(name);
    if (!group) throw invalid(`The specified Auto Scaling group ${ref} could not be found.`);
    return group;
  }
}
