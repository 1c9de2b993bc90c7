import type { Simulation } from '../../simulator/runner/simulation';
import { scenario, withSimulation } from './helpers';

/**
 * The scale-in sweeper end to end on its schedule, with the lifecycle drainer completing the
 * terminations it starts: the reserve of free capacity holds, the group never goes below its
 * minimum, and no task is disrupted.
 */

/** Samples the group every simulated minute while the scenario runs. */
async function runSampling(simulation: Simulation, groupName: string, cluster: string) {
  const samples: { desired: number; inService: number; freeCpu: number; freeMemory: number }[] = [];
  for (let at = simulation.startedAt + 60_000; at < simulation.endsAt; at += 60_000) {
    simulation.clock.schedule(at, () => {
      const group = simulation.world.groups.get(groupName)!;
      const inService = [...group.instances.values()].filter((instance) => instance.lifecycleState === 'InService').length;
      const free = simulation.world.freeCapacity(simulation.world.clusters.get(cluster)!);
      samples.push({ desired: group.desiredCapacity, inService, freeCpu: free.cpu, freeMemory: free.memory });
    });
  }
  const report = await simulation.run();
  return { samples, report };
}

const sweeperEnv = (overrides: Record<string, string>) => ({
  spotInterruption: { enabled: false },
  lifecycleHook: { env: { POLL_INTERVAL_SECONDS: '10', DRAIN_TIMEOUT_SECONDS: '900' } },
  scaleInSweeper: {
    everyMinutes: 10,
    firstAtMinutes: 1,
    env: { MIN_IDLE_MINUTES: '15', MIN_FREE_CPU: '2048', MIN_FREE_MEMORY: '4096', MAX_REMOVALS_PER_RUN: '2', ...overrides },
  },
});

describe('scale-in sweeper against the simulator', () => {
  it('removes idle instances at most two per run, keeping the reserve, without disrupting anything', async () => {
    await withSimulation(scenario('idle-half-empty'), async (simulation) => {
      const { samples, report } = await runSampling(simulation, 'dev-asg', 'dev');
      expect(report.instances.removed).toBe(4);
      expect(report.tasks.disrupted).toBe(0);
      expect(report.tasks.killedByOrigin.service + report.tasks.killedByOrigin.standalone).toBe(0);
      for (const sample of samples) {
        expect(sample.desired).toBeGreaterThanOrEqual(3);
        expect(sample.freeCpu).toBeGreaterThanOrEqual(2048);
        expect(sample.freeMemory).toBeGreaterThanOrEqual(4096);
      }
      const sweeps = simulation.lambdas.invocations.filter((invocation) => invocation.fn === 'scaleInSweeper');
      for (const sweep of sweeps) {
        expect(sweep.writes.filter((operation) => operation === 'TerminateInstanceInAutoScalingGroup').length).toBeLessThanOrEqual(2);
      }
      // Only instances that ran nothing but daemon tasks were removed.
      for (const termination of simulation.world.terminations) expect(termination.unstoppedTasks).toBe(0);
    });
  });

  it('never takes the group below its minimum size', async () => {
    const input = scenario('idle-half-empty', {
      groups: [
        {
          name: 'dev-asg',
          cluster: 'dev',
          minSize: 6,
          maxSize: 10,
          desiredCapacity: 8,
          instance: { cpu: 2048, memory: 8192, type: 'm5.large' },
          ageMinutes: 240,
          hook: { name: 'ecs-drain-hook', heartbeatTimeoutSeconds: 300, defaultResult: 'ABANDON' },
        },
      ],
      handlers: sweeperEnv({ MAX_REMOVALS_PER_RUN: '5' }),
    });
    await withSimulation(input, async (simulation) => {
      const { samples, report } = await runSampling(simulation, 'dev-asg', 'dev');
      expect(report.instances.removed).toBe(2);
      expect(Math.min(...samples.map((sample) => sample.desired))).toBe(6);
      expect(simulation.world.groups.get('dev-asg')!.desiredCapacity).toBe(6);
    });
  });

  it('keeps a larger reserve by removing fewer instances', async () => {
    const input = scenario('idle-half-empty', { handlers: sweeperEnv({ MIN_FREE_CPU: '5000' }) });
    await withSimulation(input, async (simulation) => {
      const { samples, report } = await runSampling(simulation, 'dev-asg', 'dev');
      expect(report.instances.removed).toBeGreaterThan(0);
      expect(report.instances.removed).toBeLessThan(4);
      for (const sample of samples) expect(sample.freeCpu).toBeGreaterThanOrEqual(5000);
    });
  });
});
