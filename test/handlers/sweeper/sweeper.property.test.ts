import fc from 'fast-check';
import { loadSweeperConfig } from '../../../lib/sweeper/config';
import { makeScaleInSweeperHandler } from '../../../lib/sweeper/handler';
import { MemoryTelemetry } from '../../../lib/telemetry';
import { SweeperWorld } from './world';

/**
 * End-state properties of whole sweeps over random clusters (the simulator's world, answered in
 * process): whatever the cluster and the settings, over several runs no termination is ever
 * refused for the group's minimum (nor would take a group below it), no instance is terminated
 * while a non-daemon task runs on it, and a run that drains anything leaves the reserve free on the
 * ACTIVE instances. Between runs the world's service scheduler replaces the tasks of DRAINING
 * instances where capacity allows.
 */
const clusterArb = fc.record({
  groups: fc.array(fc.record({ min: fc.nat(3), instances: fc.array(fc.record({ tasks: fc.nat(3), idleMinutes: fc.option(fc.nat(120), { nil: undefined }) }), { minLength: 1, maxLength: 6 }) }), { minLength: 1, maxLength: 2 }),
  daemon: fc.boolean(),
  env: fc.record({
    MIN_IDLE_MINUTES: fc.constantFrom('0', '30'),
    MIN_FREE_CPU: fc.constantFrom('0', '1024', '4096'),
    MIN_FREE_MEMORY: fc.constantFrom('0', '2048'),
    MAX_REMOVALS_PER_RUN: fc.constantFrom('1', '2', '5'),
    CONSOLIDATE: fc.constantFrom('true', 'false'),
  }),
});

type Cluster = typeof clusterArb extends fc.Arbitrary<infer T> ? T : never;

function build(cluster: Cluster): SweeperWorld {
  const aws = new SweeperWorld();
  aws.daemons('prod', cluster.daemon ? ['agent'] : []);
  cluster.groups.forEach((group, groupIndex) => {
    const name = `asg-${groupIndex}`;
    for (const spec of group.instances) {
      aws.addInstances('prod', name, 1, { serviceTasks: spec.tasks, ...(spec.idleMinutes !== undefined ? { idleSinceMinutesAgo: spec.idleMinutes } : {}) });
    }
    aws.world.groups.get(name)!.minSize = Math.min(group.min, group.instances.length);
  });
  return aws;
}

const freeOnActive = (aws: SweeperWorld) => aws.world.freeCapacity(aws.world.clusters.get('prod')!, (instance) => instance.status === 'ACTIVE');

describe('sweeps over random clusters', () => {
  it('keep every group at or above its minimum, never terminate a busy instance, and keep the reserve', async () => {
    await fc.assert(
      fc.asyncProperty(clusterArb, async (cluster) => {
        const aws = build(cluster);
        const config = loadSweeperConfig({ CLUSTERS: 'prod', ...cluster.env });
        const handler = makeScaleInSweeperHandler({
          config,
          clients: aws.clients(),
          telemetry: new MemoryTelemetry(),
          clock: { now: () => aws.clock.now(), sleep: async () => undefined },
        });
        const terminatedBusy: string[] = [];
        aws.aws.before('autoscaling:TerminateInstanceInAutoScalingGroup', (input) => {
          const ec2InstanceId = String(input.InstanceId);
          if (aws.world.containerInstanceOf(ec2InstanceId) && aws.workOn(ec2InstanceId).length > 0) terminatedBusy.push(ec2InstanceId);
        });
        for (let run = 0; run < 3; run += 1) {
          const result = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' });
          for (const group of aws.world.groups.values()) expect(group.desiredCapacity).toBeGreaterThanOrEqual(group.minSize);
          // Auto Scaling refuses a termination below the minimum; the sweeper must never ask.
          expect(result.clusters[0]?.execution.refused).toEqual([]);
          expect(terminatedBusy).toEqual([]);
          const drained = result.clusters[0]?.execution.drained.length ?? 0;
          if (drained > 0) {
            const free = freeOnActive(aws);
            expect(free.cpu).toBeGreaterThanOrEqual(config.minFreeCpu);
            expect(free.memory).toBeGreaterThanOrEqual(config.minFreeMemory);
          }
          await aws.clock.advance(30 * 60_000);
        }
      }),
      { numRuns: 60 },
    );
  });
});
