import { scenario, withSimulation } from './helpers';

/**
 * The lifecycle drainer's task events as serverless.yml deploys them: the task rule → the
 * task-event queue → the event source mapping (batches gathered for 1 s, at most two at once,
 * simulator/runner/sqs-mapping.ts), with the unmodified handler and real SDK calls.
 */
describe('lifecycle drainer: task events through the SQS queue', () => {
  it('completes every drain of a fleet scale-in on a task event, seconds after its last task STOPPED; every batch acknowledged whole', async () => {
    await withSimulation(scenario('fleet-scale-in'), async (simulation) => {
      const report = await simulation.run();
      const queue = simulation.taskEventQueue;
      expect(queue).toBeDefined();
      const actions = [...simulation.world.lifecycleActions.values()];
      expect(actions).toHaveLength(5);
      expect(actions.every((action) => action.state === 'completed' && action.unstoppedTasksAtEnd === 0)).toBe(true);
      // The task events complete the drains; a round whose poll happens to fall in the seconds between
      // the last task STOPPED and the event's check completes its own drain first (the event then
      // finds the action over), which depends on how the invocations interleave.
      const telemetry = simulation.telemetry.lifecycleHook;
      expect(telemetry.metricTotal('LifecycleCompleted', { reason: 'drained-on-event' })).toBeGreaterThanOrEqual(3);
      expect(telemetry.metricTotal('LifecycleCompleted')).toBe(5);
      // Every STOPPED event of the managed cluster went through the queue: received in batches,
      // deleted after its batch, none redelivered, none to the dead-letter queue.
      expect(queue!.batches.length).toBeGreaterThan(0);
      expect(queue!.batches.every((batch) => batch.outcome === 'ok' && batch.failed === 0 && batch.redelivered === 0)).toBe(true);
      expect(queue!.deleted).toBe(queue!.batches.reduce((total, batch) => total + batch.size, 0));
      expect(queue!.deadLetters).toEqual([]);
      expect(queue!.depth).toBe(0);
      // Never more than the mapping's maximum concurrency at once.
      const invocations = simulation.lambdas.invocations.filter((invocation) => invocation.fn === 'lifecycleHook' && (invocation.result as { batchItemFailures?: unknown })?.batchItemFailures !== undefined);
      expect(invocations).toHaveLength(queue!.batches.length);
      for (const invocation of invocations) {
        const overlapping = invocations.filter((other) => other.startedAt < (invocation.endedAt ?? Number.POSITIVE_INFINITY) && (other.endedAt ?? Number.POSITIVE_INFINITY) > invocation.startedAt);
        expect(overlapping.length).toBeLessThanOrEqual(2);
      }
      // From the instance's last task STOPPED (its daemon task, which ECS stops last and the drain
      // waits for): EventBridge (0.5 s) + the 1 s window + the spaced reads of the last check (2 a
      // second, decide.ts eventReadSpacingMs): a few seconds.
      for (const action of actions) {
        const instance = simulation.world.containerInstanceOf(action.instanceId)!;
        const lastStop = Math.max(...simulation.world.tasksOn(instance).map((task) => task.stoppedAt ?? 0));
        expect(action.endedAt! - lastStop).toBeGreaterThanOrEqual(1500);
        expect(action.endedAt! - lastStop).toBeLessThanOrEqual(5000);
      }
      expect(report.tasks.disrupted).toBe(0);
      // One completion per action. The polling rounds end on the event path's mark, unless a poll was
      // already under way when the event completed the action: Auto Scaling answers that round's
      // completion with "no active lifecycle action", and it ends.
      const outcomes = simulation.callLog.writes().filter((call) => call.operation === 'CompleteLifecycleAction').map((call) => call.outcome);
      expect(outcomes.filter((outcome) => outcome === 'ok')).toHaveLength(5);
      expect(outcomes.filter((outcome) => outcome !== 'ok').every((outcome) => outcome === 'ValidationError')).toBe(true);
      expect(outcomes.length).toBeLessThan(2 * 5);
    });
  });
});
