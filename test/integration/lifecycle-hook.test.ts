import type { Simulation } from '../../simulator/runner/simulation';
import { countedTasksOf, scenario, withSimulation } from './helpers';

/**
 * The lifecycle-hook drainer end to end: Auto Scaling holds terminating instances in
 * Terminating:Wait and notifies SNS; the topic delivers to the unmodified handler (at least once),
 * which drains over HTTP, heartbeats, and completes the action.
 */
function expectCompletedOnlyAfterCountedTasksStopped(simulation: Simulation) {
  const actions = [...simulation.world.lifecycleActions.values()];
  expect(actions.length).toBeGreaterThan(0);
  for (const action of actions) {
    expect(action.state).toBe('completed');
    const tasks = countedTasksOf(simulation, action.instanceId);
    for (const task of tasks) {
      // Every task the drain counts reached STOPPED before the action was completed...
      expect(task.stoppedAt).toBeDefined();
      expect(task.stopCode).not.toBe('TerminationNotice');
      expect(task.stoppedAt!).toBeLessThanOrEqual(action.endedAt!);
    }
    // ...and the action was completed before the hook would have expired.
    expect(action.endedAt!).toBeLessThan(action.heartbeatDeadline);
    expect(action.endedAt!).toBeLessThan(action.globalDeadline);
    expect(action.unstoppedTasksAtEnd).toBe(0);
  }
}

describe('lifecycle-hook drainer against the simulator', () => {
  it('holds a slow scale-in with heartbeats and completes each action only after its tasks STOPPED', async () => {
    await withSimulation(scenario('slow-scale-in'), async (simulation) => {
      const report = await simulation.run();
      expectCompletedOnlyAfterCountedTasksStopped(simulation);
      expect(report.lifecycleActions.completedClean).toBe(3);
      // Tasks take ten minutes to stop and the hook's heartbeat timeout is five.
      expect(report.lifecycleActions.heartbeats).toBeGreaterThanOrEqual(3);
      expect(report.tasks.disrupted).toBe(0);
      expect(report.instances.terminatedWithTasksAfterCompletion).toBe(0);
      const group = simulation.world.groups.get('batch-asg')!;
      expect(group.desiredCapacity).toBe(5);
      // Completion comes within one poll interval (30 s) of the instance's last task stopping (its
      // daemon task, which ECS stops last and the drain waits for), plus the reads of that poll.
      for (const action of simulation.world.lifecycleActions.values()) {
        const instance = simulation.world.containerInstanceOf(action.instanceId)!;
        const lastStop = Math.max(...simulation.world.tasksOn(instance).map((task) => task.stoppedAt ?? 0));
        expect(action.endedAt! - lastStop).toBeLessThanOrEqual(31_000);
        expect(action.endedAt! - lastStop).toBeGreaterThan(0);
      }
    });
  });

  it('keeps that promise with duplicated and delayed SNS deliveries, 5xx answers, throttling and DRAINING -> DRAINING refused', async () => {
    const stormy = scenario('slow-scale-in', {
      world: { drainingToDraining: 'failure', bootSeconds: 60, shutdownSeconds: 10 },
      faults: {
        seed: 4,
        throttling: true,
        errorRate: 0.05,
        throttleRate: 0.05,
        latencyMs: { min: 10, max: 200 },
        sns: { duplicateRate: 0.5, delayRate: 0.5, delaySeconds: { min: 1, max: 20 } },
      },
    });
    await withSimulation(stormy, async (simulation) => {
      const report = await simulation.run();
      expect(report.awsCalls.errors).toBeGreaterThan(0);
      expectCompletedOnlyAfterCountedTasksStopped(simulation);
      expect(report.lifecycleActions.expired).toBe(0);
      expect(report.tasks.disrupted).toBe(0);
    });
  });

  it('waits for a standalone task to finish by itself before completing (STANDALONE_TASKS=wait)', async () => {
    await withSimulation(scenario('standalone-task'), async (simulation) => {
      const [action] = [...simulation.world.lifecycleActions.values()];
      await simulation.run();
      const actions = [...simulation.world.lifecycleActions.values()];
      expect(action).toBeUndefined();
      expect(actions).toHaveLength(1);
      const job = countedTasksOf(simulation, actions[0]!.instanceId).find((task) => task.group === 'family:nightly-report')!;
      expect(job.stopCode).toBe('EssentialContainerExited');
      expectCompletedOnlyAfterCountedTasksStopped(simulation);
      // The service tasks had long moved: the action waited for the job alone.
      expect(actions[0]!.endedAt! - job.stoppedAt!).toBeLessThanOrEqual(21_000);
    });
  });

  it('completes an instance that runs only daemon tasks at once, and a scale-in during a deployment without disruption', async () => {
    for (const name of ['daemon-only', 'scale-in-during-deployment']) {
      await withSimulation(scenario(name), async (simulation) => {
        const report = await simulation.run();
        expectCompletedOnlyAfterCountedTasksStopped(simulation);
        expect(report.tasks.disrupted).toBe(0);
      });
    }
  });

  it('ends the action at the drain deadline when tasks cannot stop, and says so', async () => {
    // min 100 % and max 100 %: ECS can never move these tasks (aws-behaviour.md §2).
    const stuck = scenario('slow-scale-in', {
      services: [{ cluster: 'batch', name: 'ingest', desiredCount: 16, cpu: 1024, memory: 2048, minimumHealthyPercent: 100, maximumPercent: 100, stopSeconds: 30 }],
      handlers: {
        spotInterruption: { enabled: false },
        lifecycleHook: { env: { POLL_INTERVAL_SECONDS: '30', DRAIN_TIMEOUT_SECONDS: '600', DEADLINE_RESULT: 'CONTINUE' } },
        scaleInSweeper: { enabled: false },
      },
      durationMinutes: 20,
    });
    await withSimulation(stuck, async (simulation) => {
      const report = await simulation.run();
      expect(report.lifecycleActions.completedForced).toBe(3);
      expect(report.lifecycleActions.expired).toBe(0);
      for (const action of simulation.world.lifecycleActions.values()) {
        expect(action.result).toBe('CONTINUE');
        // Completed at the configured deadline, not earlier, and before the hook expired.
        expect(action.endedAt! - action.startedAt).toBeGreaterThanOrEqual(600_000);
        expect(action.endedAt!).toBeLessThan(action.heartbeatDeadline);
      }
    });
  });
});
