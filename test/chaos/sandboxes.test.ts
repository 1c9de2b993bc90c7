import { performance } from 'node:perf_hooks';
import { spotWarning } from '../../bench/lib/common';
import { useSandboxes } from '../../bench/lib/handlers';
import { Simulation } from '../../simulator/runner/simulation';
import { parseScenario } from '../../simulator/scenarios/load';

/**
 * The benchmarks' Lambda model (bench/lib/sandboxes.ts): every SDK retry backoff is slept on the
 * simulated clock, not in real time, and concurrent invocations get sandboxes of their own.
 */
function scenario(throttleRate: number, env: Record<string, string> = {}) {
  return parseScenario({
    name: 'sandbox-test',
    durationMinutes: 5,
    clusters: [{ name: 'prod' }],
    groups: [{ name: 'spot', cluster: 'prod', minSize: 0, maxSize: 6, desiredCapacity: 3, instance: { cpu: 2048, memory: 4096 }, spot: true }],
    handlers: { spotInterruption: { env }, lifecycleHook: { enabled: false }, scaleInSweeper: { enabled: false } },
    faults: { seed: 3, throttleRate },
  });
}

describe('benchmark sandboxes', () => {
  it('sleeps the SDK backoff on the simulated clock: nine throttled retries take simulated tens of seconds, not real ones', async () => {
    // The SDK's own strategy: full jitter on 1 s × 2^n after a throttle, capped at 20 s.
    const simulation = await Simulation.start(scenario(1, { AWS_MAX_ATTEMPTS: '10', AWS_RETRY_MAX_DELAY_MS: '20000' }));
    const pools = useSandboxes(simulation, 1);
    try {
      const [instance] = simulation.groupInstances('spot');
      const started = performance.now();
      simulation.lambdas.invoke('spotInterruption', spotWarning(instance!, simulation.clock.now(), 'warning-1'));
      await simulation.runFor(85_000);
      const realMs = performance.now() - started;
      const [invocation] = simulation.lambdas.invocations;
      expect(invocation?.outcome).toBe('error');
      // One command, sent once and retried nine times, every attempt throttled.
      expect(invocation?.calls).toEqual(['ListContainerInstances']);
      expect(simulation.callLog.snapshot().operations['ecs:ListContainerInstances']).toEqual({ calls: 10, ok: 0, errors: { ThrottlingException: 10 } });
      // Nine backoffs (about 55 s expected) passed in simulated time...
      const simulatedMs = (invocation?.endedAt ?? 0) - (invocation?.startedAt ?? 0);
      expect(simulatedMs).toBeGreaterThan(10_000);
      expect(simulatedMs).toBeLessThanOrEqual(1000 + 2000 + 4000 + 8000 + 16_000 + 4 * 20_000);
      // ...while the real run took a few milliseconds per call: nothing slept in real time.
      expect(realMs).toBeLessThan(5000);
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
