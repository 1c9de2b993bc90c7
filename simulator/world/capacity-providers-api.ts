import type { ApiInput, ApiOutput } from '../api';
import { FARGATE_PROVIDERS, INVALID, PAGE_MAX, invalid, providerArn, type CapacityProviderRules } from './capacity-providers';
import { paginate, readInteger, readString, readStrings } from './input';
import type { CapacityProvider } from './model';
import type { Operation, RuledWorld } from './rules';

/** The ECS capacity-provider actions the functions and scenarios use, answered from capacity-providers.ts. */
function providerOutput(provider: CapacityProvider): ApiOutput {
  return {
    capacityProviderArn: provider.arn,
    name: provider.name,
    status: 'ACTIVE',
    type: 'EC2_AUTOSCALING',
    autoScalingGroupProvider: {
      autoScalingGroupArn: provider.groupArn,
      managedScaling: { ...provider.managedScaling },
      managedTerminationProtection: provider.managedTerminationProtection,
      managedDraining: provider.managedDraining,
    },
    updateStatus: 'UPDATE_COMPLETE',
    tags: [],
  };
}

const fargateOutput = (name: string): ApiOutput => ({ capacityProviderArn: providerArn(name), name, status: 'ACTIVE', type: name, tags: [] });

function enabled(value: unknown, field: string): 'ENABLED' | 'DISABLED' | undefined {
  if (value === undefined || value === null) return undefined;
  if (value !== 'ENABLED' && value !== 'DISABLED') throw invalid(`${field} must be ENABLED or DISABLED`);
  return value;
}

const createCapacityProvider: Operation = (world, input) => {
  const name = readString(input, 'name', INVALID, true)!;
  const asg = input.autoScalingGroupProvider as ApiInput | undefined;
  if (!asg || typeof asg !== 'object') throw invalid('autoScalingGroupProvider is required');
  const group = readString(asg, 'autoScalingGroupArn', INVALID, true)!;
  const scaling = (asg.managedScaling ?? {}) as ApiInput;
  const targetCapacity = readInteger(scaling, 'targetCapacity', INVALID);
  if (targetCapacity !== undefined && (targetCapacity < 1 || targetCapacity > 100)) throw invalid('targetCapacity must be between 1 and 100');
  const managedScaling = enabled(scaling.status, 'managedScaling.status');
  const managedTerminationProtection = enabled(asg.managedTerminationProtection, 'managedTerminationProtection');
  const managedDraining = enabled(asg.managedDraining, 'managedDraining');
  const provider = rulesOf(world).create({
    name,
    group,
    ...(managedScaling ? { managedScaling } : {}),
    ...(targetCapacity !== undefined ? { targetCapacity } : {}),
    ...(managedTerminationProtection ? { managedTerminationProtection } : {}),
    ...(managedDraining ? { managedDraining } : {}),
  });
  return { capacityProvider: providerOutput(provider) };
};

const describeCapacityProviders: Operation = (world, input) => {
  const names = readStrings(input, 'capacityProviders', INVALID);
  if (names && names.length > 100) throw invalid('capacityProviders can have at most 100 items');
  const maxResults = readInteger(input, 'maxResults', INVALID);
  if (maxResults !== undefined && (maxResults < 1 || maxResults > PAGE_MAX)) throw invalid(`maxResults must be between 1 and ${PAGE_MAX}`);
  const found: ApiOutput[] = [];
  const failures: ApiOutput[] = [];
  const wanted = names ?? [...FARGATE_PROVIDERS, ...world.capacityProviders.keys()];
  for (const ref of wanted) {
    const name = ref.startsWith('arn:') ? (ref.split('capacity-provider/')[1] ?? ref) : ref;
    const provider = world.capacityProviders.get(name);
    if (provider) found.push(providerOutput(provider));
    else if (FARGATE_PROVIDERS.includes(name)) found.push(fargateOutput(name));
    else failures.push({ arn: ref, reason: 'MISSING' });
  }
  const { page, nextToken } = paginate(found, maxResults ?? PAGE_MAX, readString(input, 'nextToken', INVALID), INVALID);
  return { capacityProviders: page, failures, ...(nextToken ? { nextToken } : {}) };
};

const putClusterCapacityProviders: Operation = (world, input) => {
  const cluster = readString(input, 'cluster', INVALID, true)!;
  const names = readStrings(input, 'capacityProviders', INVALID);
  if (!names) throw invalid('capacityProviders is required');
  rulesOf(world).associate(cluster, names);
  const found = world.cluster(cluster);
  return { cluster: { clusterArn: found.arn, clusterName: found.name, status: 'ACTIVE', capacityProviders: [...names], defaultCapacityProviderStrategy: [] } };
};

function rulesOf(world: RuledWorld): CapacityProviderRules {
  return world.rules.capacityProviders;
}

export const capacityProviderOperations: Record<string, Operation> = {
  CreateCapacityProvider: createCapacityProvider,
  DescribeCapacityProviders: describeCapacityProviders,
  PutClusterCapacityProviders: putClusterCapacityProviders,
};
