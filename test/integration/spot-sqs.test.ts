import { loadScenario } from '../../simulator/scenarios/load';
import { scenario, withSimulation } from './helpers';

/**
 * The Spot drainer fed as serverless.yml deploys it: EventBridge → SQS → event source mapping,
 * in the simulator (simulator/runner/sqs-mapping.ts), with the unmodified handler and real SDK calls.
 */
const stormThroughSqs = () => {
  const base = loadScenario('spot-storm');
  return scenario('spot-storm', {
    handlers: { ...base.handlers, spotInterruption: { env: {}, sqs: { batchSize: 1000, batchWindowSeconds: 1, maximumConcurrency: 2 } } },
  });
};

describe('Spot drainer through the SQS queue', () => {
  it('drains the six warnings of a storm in one or two batches, each instance once, within the window and delivery', async () => {
    await withSimulation(stormThroughSqs(), async (simulation) => {
      const warnings = new Map<string, number>();
      simulation.world.onBusEvent((event) => {
        if (event['detail-type'] === 'EC2 Spot Instance Interruption Warning') warnings.set(String(event.detail['instance-id']), simulation.clock.now());
      });
      const report = await simulation.run();
      const queue = simulation.spotQueue;
      expect(queue).toBeDefined();
      expect(warnings.size).toBe(6);
      // Six warnings sent together become at most two batches (maximum concurrency 2), none redelivered.
      expect(queue!.batches.length).toBeLessThanOrEqual(2);
      expect(queue!.batches.reduce((total, batch) => total + batch.size, 0)).toBe(6);
      expect(queue!.batches.every((batch) => batch.failed === 0 && batch.redelivered === 0)).toBe(true);
      expect(queue!.deadLetters).toEqual([]);
      expect(queue!.depth).toBe(0);
      for (const [id, warnedAt] of warnings) {
        const drains = simulation.world.drains.filter((drain) => drain.ec2InstanceId === id);
        expect(drains).toHaveLength(1);
        // EventBridge's half second plus the 1 s batching window.
        expect(drains[0]!.at - warnedAt).toBeLessThanOrEqual(1500);
      }
      expect(report.tasks.disrupted).toBe(0);
      expect(report.instances.spotReclaimedWithServiceTasks).toBe(0);
      // The malformed event the scenario invokes directly is still acknowledged without a write.
      const invalid = simulation.lambdas.invocations.filter((invocation) => invocation.fn === 'spotInterruption' && invocation.invalidInput);
      expect(invalid).toHaveLength(1);
      expect(invalid[0]!.writes).toEqual([]);
      // Batches cost fewer ECS calls than a warning each (3 per warning when delivered one by one).
      const batchCalls = simulation.lambdas.invocations
        .filter((invocation) => invocation.fn === 'spotInterruption' && !invocation.invalidInput)
        .reduce((total, invocation) => total + invocation.calls.length, 0);
      expect(batchCalls).toBeLessThan(3 * 6);
    });
  });
});
