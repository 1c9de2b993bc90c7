import { SCALE_IN_SWEEPER, SPOT_INTERRUPTION } from '../../lib/functions';
import { scenario, withSimulation } from './helpers';

/**
 * Lambda's asynchronous delivery as deployed (docs/aws-behaviour.md §4): each function retried as
 * its definition says, and EventBridge events that arrive late and more than once.
 */
describe('Lambda settings and EventBridge delivery in the simulation', () => {
  it('never retries a failed sweep: the sweeper is deployed with maximumRetryAttempts 0', async () => {
    const failing = scenario('idle-half-empty', {
      durationMinutes: 25,
      faults: { throttling: false, errorRate: 1, throttleRate: 0, latencyMs: { min: 0, max: 0 } },
    });
    await withSimulation(failing, async (simulation) => {
      await simulation.run();
      const sweeps = simulation.lambdas.invocations.filter((invocation) => invocation.fn === SCALE_IN_SWEEPER);
      expect(sweeps.length).toBeGreaterThanOrEqual(2);
      expect(sweeps.every((invocation) => invocation.outcome === 'error')).toBe(true);
      expect(sweeps.map((invocation) => invocation.attempt)).toEqual(sweeps.map(() => 1));
    });
  });

  it('tour-with-faults repeats and delays EventBridge deliveries by default, and every warned instance is still drained once', async () => {
    await withSimulation(scenario('tour-with-faults'), async (simulation) => {
      expect(simulation.scenario.faults.eventBridge.duplicateRate).toBeGreaterThan(0);
      await simulation.run();
      const deliveries = simulation.lambdas.invocations.filter((invocation) => invocation.fn === SPOT_INTERRUPTION && invocation.attempt === 1 && invocation.eventId);
      const ids = deliveries.map((invocation) => invocation.eventId!);
      expect(ids.length - new Set(ids).size).toBeGreaterThan(0);
      const warned = simulation.world.timeline.filter((entry) => entry.kind === 'spot' && /warning/i.test(entry.message)).map((entry) => entry.fields?.ec2InstanceId);
      expect(warned.length).toBeGreaterThan(0);
      for (const ec2InstanceId of warned) expect(simulation.world.drains.filter((drain) => drain.ec2InstanceId === ec2InstanceId)).toHaveLength(1);
    });
  });
});
