import { SPOT_INTERRUPTION } from '../../lib/events/ec2';
import { custom, runningCount, scenario, withSimulation } from './helpers';

/**
 * The Spot drainer end to end: EventBridge delivers the simulator's warnings to the unmodified
 * handler, whose SDK calls go over HTTP to the simulated control plane.
 */
describe('Spot interruption drainer against the simulator', () => {
  it('drains every interrupted instance inside the warning; service tasks run elsewhere before the reclaim', async () => {
    await withSimulation(scenario('spot-storm'), async (simulation) => {
      const report = await simulation.run();
      const reclaims = simulation.world.terminations.filter((termination) => termination.cause === 'spot-interruption');
      expect(reclaims).toHaveLength(6);
      for (const reclaim of reclaims) {
        const drain = simulation.world.drains.find((entry) => entry.ec2InstanceId === reclaim.ec2InstanceId);
        expect(drain).toBeDefined();
        // Drained within seconds of the warning, two minutes before the reclaim.
        expect(reclaim.at - drain!.at).toBeGreaterThan(110_000);
        // Nothing but STOPPED service tasks was left when the instance went away.
        expect(reclaim.unstoppedTasks).toBe(0);
      }
      expect(report.tasks.disrupted).toBe(0);
      expect(report.instances.spotReclaimedWithServiceTasks).toBe(0);
      expect(runningCount(simulation, 'prod-ecs', 'web')).toBe(30);
      expect(runningCount(simulation, 'prod-ecs', 'worker')).toBe(20);
      // One list, one describe and one update per warning with one configured cluster (a Spot terminate drain is not recorded).
      const spotCalls = simulation.lambdas.invocations.filter((invocation) => invocation.fn === 'spotInterruption' && !invocation.invalidInput);
      expect(spotCalls.map((invocation) => invocation.calls.length)).toEqual([3, 3, 3, 3, 3, 3]);
      expect(spotCalls.flatMap((invocation) => invocation.writes)).toEqual(Array.from({ length: 6 }, () => 'UpdateContainerInstancesState'));
    });
  });

  it('without spare capacity, tasks are lost at the reclaim: the report says so', async () => {
    const tight = custom({
      name: 'tight',
      durationMinutes: 5,
      clusters: [{ name: 'c' }],
      groups: [{ name: 'g', cluster: 'c', minSize: 2, maxSize: 2, desiredCapacity: 2, spot: true, instance: { cpu: 1024, memory: 2048 } }],
      services: [{ cluster: 'c', name: 'web', desiredCount: 4, cpu: 512, memory: 512, minimumHealthyPercent: 100, maximumPercent: 200 }],
      events: [{ type: 'spot-interruption', atSeconds: 10, group: 'g', count: 1 }],
    });
    await withSimulation(tight, async (simulation) => {
      const report = await simulation.run();
      expect(report.drains).toBe(1);
      // min 100 % with no room for replacements: the drain cannot move anything in two minutes.
      expect(report.tasks.disrupted).toBe(2);
      expect(report.instances.spotReclaimedWithServiceTasks).toBe(1);
    });
  });

  it.each(['succeed', 'failure'] as const)(
    'copes with duplicate warnings whatever DRAINING -> DRAINING answers (%s)',
    async (drainingToDraining) => {
      const base = custom({
        name: 'duplicates',
        durationMinutes: 3,
        world: { drainingToDraining },
        clusters: [{ name: 'c' }],
        groups: [{ name: 'g', cluster: 'c', minSize: 1, maxSize: 3, desiredCapacity: 2, spot: true, instance: { cpu: 2048, memory: 4096 }, instanceIds: ['i-0b662ef9931388ba0'] }],
        services: [{ cluster: 'c', name: 'web', desiredCount: 2, cpu: 256, memory: 256 }],
      });
      const warning = {
        version: '0',
        id: 'dup-1',
        'detail-type': SPOT_INTERRUPTION,
        source: 'aws.ec2',
        account: '123456789012',
        time: '2026-03-04T10:00:10Z',
        region: 'us-east-1',
        resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-0b662ef9931388ba0'],
        detail: { 'instance-id': 'i-0b662ef9931388ba0', 'instance-action': 'terminate' },
      };
      const input = custom({
        ...base,
        events: [0, 0, 5].map((second) => ({ type: 'invoke' as const, atSeconds: 10 + second, function: 'spotInterruption' as const, event: warning, invalid: false })),
      });
      await withSimulation(input, async (simulation) => {
        await simulation.run();
        const invocations = simulation.lambdas.invocations.filter((invocation) => invocation.fn === 'spotInterruption');
        expect(invocations.map((invocation) => invocation.outcome)).toEqual(['ok', 'ok', 'ok']);
        expect(simulation.world.containerInstanceOf('i-0b662ef9931388ba0')?.status).toBe('DRAINING');
        expect(simulation.world.drains).toHaveLength(1);
      });
    },
  );

  it('keeps every instance drained and nothing disrupted under throttling, 5xx and latency', async () => {
    const faulty = scenario('spot-storm', {
      faults: { throttling: true, errorRate: 0.1, throttleRate: 0.05, latencyMs: { min: 20, max: 400 }, seed: 99 },
    });
    await withSimulation(faulty, async (simulation) => {
      const report = await simulation.run();
      expect(report.awsCalls.errors).toBeGreaterThan(0);
      expect(report.drains).toBe(6);
      expect(report.tasks.disrupted).toBe(0);
      expect(report.invalidEventsWithWrites).toBe(0);
    });
  });
});
