import { SweeperWorld } from './world';

/**
 * The sweeper in groups ECS manages through capacity providers (docs/aws-behaviour.md §3.5): it
 * stands down per group for managed scaling and for managed termination protection, with the
 * reason in the plan, reads the settings from the cluster's capacity providers, and falls back to
 * the group's AmazonECSManaged tag when it cannot.
 */
function setup(env: Record<string, string> = {}) {
  const aws = new SweeperWorld();
  for (const group of ['plain', 'scaled', 'protected', 'draining-only']) aws.addInstances('prod', group, 2, { idleSinceMinutesAgo: 120 });
  aws.world.createCapacityProvider({ name: 'cp-scaled', group: 'scaled', managedScaling: 'ENABLED' });
  aws.world.createCapacityProvider({ name: 'cp-protected', group: 'protected', managedTerminationProtection: 'ENABLED' });
  aws.world.createCapacityProvider({ name: 'cp-draining', group: 'draining-only', managedDraining: 'ENABLED' });
  aws.world.putClusterCapacityProviders('prod', ['cp-scaled', 'cp-protected', 'cp-draining', 'FARGATE']);
  const { handler, telemetry } = aws.sweeper({ MAX_REMOVALS_PER_RUN: '10', ...env });
  const sweep = async () => {
    await handler({}, undefined);
    return telemetry.logs.find((entry) => entry.message === 'sweep decision')!.fields as {
      selected: { group: string }[];
      skippedByReason: Record<string, number>;
    };
  };
  return { aws, telemetry, sweep };
}

const groupsOf = (selected: { group: string }[]) => [...new Set(selected.map((entry) => entry.group))].sort();

describe('scale-in sweeper: capacity providers (CAPACITY_PROVIDERS=stand-down)', () => {
  it('stands down per group for managed scaling and managed termination protection; managed draining alone and plain groups are swept', async () => {
    const { aws, sweep } = setup();
    const decision = await sweep();
    expect(groupsOf(decision.selected)).toEqual(['draining-only', 'plain']);
    expect(decision.skippedByReason).toMatchObject({ 'managed-scaling': 2, 'managed-termination-protection': 2 });
    expect(decision.skippedByReason).not.toHaveProperty('managed-by-capacity-provider');
    // One read of the cluster's providers per sweep: one DescribeClusters, one page of providers.
    expect(aws.aws.calls('ecs:DescribeClusters')).toHaveLength(1);
    expect(aws.aws.inputs('ecs:DescribeCapacityProviders')).toEqual([{ capacityProviders: ['cp-scaled', 'cp-protected', 'cp-draining', 'FARGATE'], maxResults: 10 }]);
  });

  it('providers that cannot be read: every tagged group stands down by its tag, logged and counted; plain groups are swept', async () => {
    const { aws, telemetry, sweep } = setup();
    aws.aws.fail({ operation: 'ecs:DescribeCapacityProviders', error: 'AccessDeniedException' });
    const decision = await sweep();
    expect(groupsOf(decision.selected)).toEqual(['plain']);
    expect(decision.skippedByReason).toMatchObject({ 'managed-by-capacity-provider': 6 });
    expect(telemetry.messages('WARN')).toContain('capacity providers not read; groups tagged AmazonECSManaged stand down');
    expect(telemetry.metricTotal('CapacityProviderReadFailed', { function: 'scaleInSweeper', errorClass: 'fatal' })).toBe(1);
  });

  it('CAPACITY_PROVIDERS=cooperate: plans everywhere and reads no capacity provider', async () => {
    const { aws, sweep } = setup({ CAPACITY_PROVIDERS: 'cooperate' });
    const decision = await sweep();
    expect(groupsOf(decision.selected)).toEqual(['draining-only', 'plain', 'protected', 'scaled']);
    expect(aws.aws.calls('ecs:DescribeClusters')).toEqual([]);
  });

  it('a cluster without a tagged group costs no capacity-provider read', async () => {
    const aws = new SweeperWorld();
    aws.addInstances('prod', 'plain', 2, { idleSinceMinutesAgo: 120 });
    await aws.sweeper().handler({}, undefined);
    expect(aws.aws.calls('ecs:DescribeClusters')).toEqual([]);
    expect(aws.aws.calls('autoscaling:TerminateInstanceInAutoScalingGroup')).toHaveLength(2);
  });
});
