import { performance } from 'node:perf_hooks';
import { spotWarning } from '../../../bench/lib/common';
import { SPOT_INTERRUPTION } from '../../../lib/functions';
import { VirtualClock } from '../../../simulator/clock';
import { ExecutionEnvironments, LambdaRuntime } from '../../../simulator/runner/lambda';
import { Simulation } from '../../../simulator/runner/simulation';
import { parseScenario } from '../../../simulator/scenarios/load';
import { World } from '../../../simulator/world/world';

/**
 * The runner's Lambda model (simulator/runner/lambda.ts): every SDK retry backoff is slept on the
 * simulated clock, not in real time, and concurrent invocations get execution environments of
 * their own.
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

describe('execution environments', () => {
  it('sleeps the SDK backoff on the simulated clock: nine throttled retries take simulated tens of seconds, not real ones', async () => {
    // The SDK's own strategy: full jitter on 1 s × 2^n after a throttle, capped at 20 s.
    const simulation = await Simulation.start(scenario(1, { AWS_MAX_ATTEMPTS: '10', AWS_RETRY_MAX_DELAY_MS: '20000' }));
    try {
      const [instance] = simulation.groupInstances('spot');
      const started = performance.now();
      simulation.lambdas.invoke(SPOT_INTERRUPTION, spotWarning(instance!, simulation.clock.now(), 'warning-1'));
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
      await simulation.close();
    }
  });

  it('gives concurrent invocations their own environment and reuses a free one', async () => {
    const simulation = await Simulation.start(scenario(0));
    try {
      const instances = simulation.groupInstances('spot');
      simulation.lambdas.invoke(SPOT_INTERRUPTION, spotWarning(instances[0]!, simulation.clock.now(), 'warning-1'));
      await simulation.runFor(1000);
      simulation.lambdas.invoke(SPOT_INTERRUPTION, spotWarning(instances[1]!, simulation.clock.now(), 'warning-2'));
      await simulation.runFor(1000);
      // Sequential invocations share one warm environment.
      expect(simulation.coldStarts(SPOT_INTERRUPTION)).toBe(1);
      simulation.lambdas.invoke(SPOT_INTERRUPTION, spotWarning(instances[0]!, simulation.clock.now(), 'warning-3'));
      simulation.lambdas.invoke(SPOT_INTERRUPTION, spotWarning(instances[2]!, simulation.clock.now(), 'warning-4'));
      await simulation.runFor(1000);
      // Two at once need a second one.
      expect(simulation.coldStarts(SPOT_INTERRUPTION)).toBe(2);
      expect(simulation.world.drains.map((drain) => drain.ec2InstanceId).sort()).toEqual([instances[0], instances[1], instances[2]].sort());
    } finally {
      await simulation.close();
    }
  });

  it('keeps an environment whose invocation failed, and never reuses one whose invocation timed out', async () => {
    const clock = new VirtualClock(0);
    const lambdas = new LambdaRuntime(clock, new World(clock, { seed: 1 }));
    const built: number[] = [];
    const environments = new ExecutionEnvironments(() => {
      const id = built.length + 1;
      built.push(id);
      return async (event) => {
        if (event === 'fail') throw new Error(`failed in environment ${id}`);
        if (event === 'hang') await clock.sleep(60_000);
        return id;
      };
    });
    lambdas.register({ name: SPOT_INTERRUPTION, handler: environments.handler, timeoutMs: 10_000, maximumRetryAttempts: 0 });

    lambdas.invoke(SPOT_INTERRUPTION, 'fail');
    await clock.runUntil(1000);
    lambdas.invoke(SPOT_INTERRUPTION, 'ok');
    await clock.runUntil(2000);
    // The function error kept environment 1 warm.
    expect(lambdas.invocations.map((invocation) => [invocation.outcome, invocation.result ?? invocation.error])).toEqual([
      ['error', 'Error: failed in environment 1'],
      ['ok', 1],
    ]);

    lambdas.invoke(SPOT_INTERRUPTION, 'hang');
    await clock.runUntil(100_000);
    lambdas.invoke(SPOT_INTERRUPTION, 'ok');
    await clock.runUntil(101_000);
    // The timed-out invocation froze environment 1 for good: the next one is a cold start.
    expect(lambdas.invocations.slice(2).map((invocation) => [invocation.outcome, invocation.result])).toEqual([['timeout', undefined], ['ok', 2]]);
    expect(environments.coldStarts).toBe(2);
  });
});
