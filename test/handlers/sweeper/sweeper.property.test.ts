import fc from 'fast-check';
import { loadSweeperConfig } from '../../../lib/sweeper/config';
import { makeScaleInSweeperHandler } from '../../../lib/sweeper/handler';
import { MemoryTelemetry } from '../../../lib/telemetry';
import { FakeAws } from './fake-aws';

/**
 * End-state properties of whole sweeps over random clusters (in-memory AWS): whatever the
 * cluster and the settings, over several runs no termination is ever refused for the group's
 * minimum (nor would take a group below it), no instance is
 * terminated while a non-daemon task runs on it, and a run that drains anything leaves the reserve
 * free on the ACTIVE instances.
 */
const NOW = Date.parse('2026-03-04T10:30:00.000Z');
const fake = new FakeAws();
afterAll(() => fake.restore());

const worldArb = fc.record({
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

type World = typeof worldArb extends fc.Arbitrary<infer T> ? T : never;

function build(world: World): void {
  fake.clear();
  fake.daemonServices.set('prod', world.daemon ? ['agent'] : []);
  world.groups.forEach((group, groupIndex) => {
    const name = `asg-${groupIndex}`;
    for (const spec of group.instances) {
      const [instance] = fake.addInstances('prod', name, 1, {
        tasksPerInstance: spec.tasks,
        ...(spec.idleMinutes !== undefined ? { idleSinceMinutesAgo: spec.idleMinutes, now: NOW } : {}),
      });
      if (spec.tasks === 0 && spec.idleMinutes === undefined) instance!.attributes = {};
    }
    fake.groups.get(name)!.min = Math.min(group.min, group.instances.length);
  });
}

const nonDaemonTasksOn = (instanceId: string) =>
  (fake.tasks.get('prod') ?? []).filter((task) => task.instanceId === instanceId && task.lastStatus !== 'STOPPED' && !task.group.startsWith('service:agent'));

function freeOnActive(): { cpu: number; memory: number } {
  const free = { cpu: 0, memory: 0 };
  for (const instance of fake.instances.get('prod') ?? []) {
    if (instance.status !== 'ACTIVE') continue;
    const used = (fake.tasks.get('prod') ?? []).filter((task) => task.instanceId === instance.id && task.lastStatus !== 'STOPPED');
    free.cpu += instance.registeredCpu - used.reduce((sum, task) => sum + (task.cpu ?? 0), 0);
    free.memory += instance.registeredMemory - used.reduce((sum, task) => sum + (task.memory ?? 0), 0);
  }
  return free;
}

describe('sweeps over random clusters', () => {
  it('keep every group at or above its minimum, never terminate a busy instance, and keep the reserve', async () => {
    await fc.assert(
      fc.asyncProperty(worldArb, async (world) => {
        build(world);
        let now = NOW;
        const config = loadSweeperConfig({ CLUSTERS: 'prod', ...world.env });
        const handler = makeScaleInSweeperHandler({
          config,
          clients: fake.clients(),
          telemetry: new MemoryTelemetry(),
          clock: { now: () => now, sleep: async () => undefined },
        });
        const terminatedBusy: string[] = [];
        fake.hooks.set('TerminateInstanceInAutoScalingGroup', () => {
          const request = fake.requests[fake.requests.length - 1]!;
          const instance = fake.instance('prod', String(request.input.InstanceId));
          if (instance && nonDaemonTasksOn(instance.id).length > 0) terminatedBusy.push(instance.ec2InstanceId);
        });
        for (let run = 0; run < 3; run += 1) {
          const result = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' });
          for (const group of fake.groups.values()) expect(group.desired).toBeGreaterThanOrEqual(group.min);
          // The fake, like Auto Scaling, refuses a termination below the minimum; the sweeper must never ask.
          expect(result.clusters[0]?.execution.refused).toEqual([]);
          expect(terminatedBusy).toEqual([]);
          const drained = result.clusters[0]?.execution.drained.length ?? 0;
          if (drained > 0) {
            const free = freeOnActive();
            expect(free.cpu).toBeGreaterThanOrEqual(config.minFreeCpu);
            expect(free.memory).toBeGreaterThanOrEqual(config.minFreeMemory);
          }
          // Between runs ECS stops the tasks of DRAINING instances (their replacements are not modelled).
          for (const instance of fake.instances.get('prod') ?? []) {
            if (instance.status === 'DRAINING') for (const task of nonDaemonTasksOn(instance.id)) task.lastStatus = 'STOPPED';
          }
          now += 30 * 60_000;
        }
      }),
      { numRuns: 60 },
    );
  });
});
