import { performance } from 'node:perf_hooks';
import { spotWarning } from '../../bench/lib/common';
import { useSandboxes } from '../../bench/lib/handlers';
import { Simulation } from '../../simulator/runner/simulation';
import { parseScenario } from '../../simulator/scenarios/load';

/**
 * The benchmarks' Lambda model (bench/lib/sandboxes.ts): every SDK retry backoff is slept on the
 * simulated clock, not in real time, and concurrent invocations get sandboxes of their own.
 */
function scenario(throttleRate: number) {
  return parseScenario({
    name: 'sandbox-test',
    durationMinutes: 5,
    clusters: [{ name: 'prod' }],
    groups: [{ name: 'spot', cluster: 'prod', minSize: 0, maxSize: 6, desiredCapacity: 3, instance: { cpu: 2048, memory: 4096 }, spot: true }],
    handlers: { spotInterruption: { env: {} }, lifecycleHook: { enabled: false }, scaleInSweeper: { enabled: false } },
    faults: { seed: 3, throttleRate },
  });
}

describe('benchmark sandboxes', () => {
  it('sleeps the SDK backoff on the simulated clock: four throttled attempts take simulated seconds, not real ones', async () => {
    const simulation = await Simulation.start(scenario(1));
    const pools = useSandboxes(simulation, 1);
    try {
      const [instance] = simulation.groupInstances('spot');
      const started = performance.now();
      simulation.lambdas.invoke('spotInterruption', spotWarning(instance!, simulation.clock.now(), 'warning-1'));
      await simulation.runFor(30_000);
      const realMs = performance.now() - started;
      const [invocation] = simulation.lambdas.invocations;
      expect(invocation?.outcome).toBe('error');
      // AWS_MAX_ATTEMPTS=4: one command, sent once and retried three times, every attempt throttled.
      expect(invocation?.calls).toEqual(['ListContainerInstances']);
      expect(simulation.callLog.snapshot().operations['ecs:ListContainerInstances']).toEqual({ calls: 4, ok: 0, errors: { ThrottlingException: 4 } });
      // Three backoffs of up to 1 s, 2 s and 4 s (full jitter) passed in simulated time...
      const simulatedMs = (invocation?.endedAt ?? 0) - (invocation?.startedAt ?? 0);
      expect(simulatedMs).toBeGreaterThan(0);
      expect(simulatedMs).toBeLessThanOrEqual(7000);
      // ...while the real run took a fraction of that: nothing slept in real time.
      expect(simulatedMs).toBeGreaterThan(1000);
      expect(realMs).toBeLessThan(simulatedMs / 2);
    } finally {
      for (const pool of pools) pool.close();
      await simulation.close();
    }
  });

  it('gives concurrent invocations their own sandbox and reuses a free one', async () => {
    const simulation = await Simulation.start(scenario(0));
    const [pool] = useSandboxes(simulation, 1);
    try {
      const instances = simulation.groupInstances('spot');
      simulation.lambdas.invoke('spotInterruption', spotWarning(instances[0]!, simulation.clock.now(), 'warning-1'));
      await simulation.runFor(1000);
      simulation.lambdas.invoke('spotInterruption', spotWarning(instances[1]!, simulation.clock.now(), 'warning-2'));
      await simulation.runFor(1000);
      // Sequential invocations share one warm sandbox.
      expect(pool?.coldStarts).toBe(1);
      expect(simulation.world.drains.map((drain) => drain.ec2InstanceId).sort()).toEqual([instances[0], instances[1]].sort());
    } finally {
      pool?.close();
      await simulation.close();
    }
  });
});
