import type { InvocationContext } from '../../../lib/clock';
import { loadLifecycleConfig } from '../../../lib/lifecycle/config';
import { makeLifecycleHookHandler, type LifecycleHandlerResult } from '../../../lib/lifecycle/handler';
import { MemoryTelemetry } from '../../../lib/telemetry';
import { VirtualClock } from '../../../simulator/clock';
import { InProcessAws } from '../../../simulator/inprocess';
import type { SnsRecord } from '../../../simulator/world/model';
import type { ServiceSpec } from '../../../simulator/world/ecs';
import { World, type WorldOptions } from '../../../simulator/world/world';

/**
 * The lifecycle drainer against the world under what AWS really does (docs/aws-behaviour.md §2,
 * §3.1, §3.2): daemon tasks stopped last, eventually consistent reads, several hooks on a group.
 */
interface Setup {
  world?: Partial<WorldOptions>;
  services?: Omit<ServiceSpec, 'cluster'>[];
  env?: Record<string, string>;
  hooks?: string[];
}

function scaleIn(setup: Setup = {}) {
  const clock = new VirtualClock();
  const world = new World(clock, { seed: 3, ...setup.world });
  world.createCluster({ name: 'prod' });
  const topic = world.createTopic('lifecycle');
  const notifications: SnsRecord[] = [];
  world.subscribe(topic.arn, (record) => notifications.push(record));
  world.createGroup({ name: 'asg', cluster: 'prod', minSize: 0, maxSize: 3, desiredCapacity: 2, instanceCpu: 2048, instanceMemory: 4096 });
  for (const service of setup.services ?? [{ name: 'web', desiredCount: 2, cpu: 256, memory: 512, stopSeconds: 20 }]) {
    world.createService({ cluster: 'prod', ...service });
  }
  world.placeInitialTasks();
  for (const name of setup.hooks ?? ['drain']) {
    world.putLifecycleHook({ groupName: 'asg', name, heartbeatTimeout: 600, defaultResult: 'ABANDON', topicArn: topic.arn });
  }
  const aws = new InProcessAws(world);
  const { ecs, autoScaling, sns, ec2 } = aws.clients();
  const telemetry = new MemoryTelemetry();
  let ids = 0;
  const handler = makeLifecycleHookHandler({
    config: loadLifecycleConfig({ CLUSTERS: 'prod', ...setup.env }),
    clients: { ecs, autoScaling, sns, ec2 },
    telemetry,
    clock,
    newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
  });
  const context = (remainingMs: number): InvocationContext => {
    const endsAt = clock.now() + remainingMs;
    return { getRemainingTimeInMillis: () => endsAt - clock.now(), awsRequestId: 'request-1' };
  };
  /** Runs invocations concurrently as activities of the virtual clock, so their sleeps let world time pass. */
  const invokeAll = (events: SnsRecord[][], remainingMs = 900_000, spacingMs = 0): Promise<LifecycleHandlerResult[]> =>
    clock.runWhile(
      Promise.all(
        events.map(
          (records, index) =>
            clock.track(async () => {
              if (index > 0) await clock.sleep(index * spacingMs);
              return handler({ Records: records }, context(remainingMs));
            }).done,
        ),
      ),
    );
  const terminate = async (hookName = 'drain') => {
    world.setDesiredCapacity('asg', 1);
    await clock.advance(2_000);
    return notifications.filter(
      (record) => record.Sns.Message.includes('autoscaling:EC2_INSTANCE_TERMINATING') && record.Sns.Message.includes(`"LifecycleHookName":"${hookName}"`),
    );
  };
  return { clock, world, aws, telemetry, notifications, invokeAll, terminate };
}

describe('daemon grace (aws-behaviour.md §2: ECS stops daemon tasks last)', () => {
  const services = [
    { name: 'web', desiredCount: 2, cpu: 256, memory: 512, stopSeconds: 20 },
    { name: 'log-router', strategy: 'DAEMON' as const, cpu: 64, memory: 128, stopSeconds: 15 },
  ];

  it('completes only after the daemon tasks have STOPPED too, so none is cut by the shutdown', async () => {
    const { world, invokeAll, terminate } = scaleIn({ services });
    const terminating = await terminate();
    const [action] = [...world.lifecycleActions.values()];
    const daemon = world.tasksByInstance.get(world.containerInstanceOf(action!.instanceId)!.arn)!.find((task) => task.daemon)!;

    const [result] = await invokeAll([terminating]);

    expect(result!.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained', result: 'CONTINUE' });
    expect(action).toMatchObject({ state: 'completed', unstoppedTasksAtEnd: 0, unstoppedDaemonTasksAtEnd: 0 });
    expect(daemon.lastStatus).toBe('STOPPED');
    expect(action!.endedAt!).toBeGreaterThanOrEqual(daemon.stoppedAt!);
    expect(world.killedTasks).toEqual([]);
  });

  it('waits at most DAEMON_GRACE_SECONDS for a daemon that does not stop', async () => {
    // A standalone task ignored by the drain keeps the instance from being drained, so ECS never stops the daemon.
    const { world, clock, invokeAll, terminate } = scaleIn({ services, env: { STANDALONE_TASKS: 'ignore', DAEMON_GRACE_SECONDS: '60', POLL_INTERVAL_SECONDS: '10' } });
    const terminating = await terminate();
    const [action] = [...world.lifecycleActions.values()];
    const victimId = action!.instanceId;
    world.runTask({ cluster: 'prod', ec2InstanceId: victimId, family: 'batch', cpu: 64, memory: 64 });

    const [result] = await invokeAll([terminating]);

    expect(result!.records[0]).toMatchObject({ outcome: 'completed', reason: 'daemon-grace-over', result: 'CONTINUE' });
    const webGone = Math.max(
      ...[...world.clusters.get('prod')!.tasks.values()].filter((task) => task.serviceName === 'web' && task.ec2InstanceId === victimId).map((task) => task.stoppedAt!),
    );
    // From the poll that found the web tasks gone: 60 s, give or take one (10-second) poll.
    expect(action!.endedAt! - webGone).toBeGreaterThanOrEqual(60_000);
    expect(action!.endedAt! - webGone).toBeLessThanOrEqual(60_000 + 10_000);
    expect(clock.now()).toBeLessThan(action!.startedAt + 900_000);
  });
});

describe('eventually consistent ECS reads (aws-behaviour.md §3.1)', () => {
  it('two duplicate chains never both end on stale lease reads, and the action completes', async () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const { world, invokeAll, terminate } = scaleIn({
        world: { seed, readLagMs: { min: 0, max: 15_000 } },
        services: [{ name: 'web', desiredCount: 2, cpu: 256, memory: 512, stopSeconds: 20, deregistrationDelaySeconds: 60 }],
      });
      const terminating = await terminate();
      // The duplicate delivery arrives 3 s after the first.
      const results = await invokeAll([terminating, terminating], 900_000, 3_000);
      const outcomes = results.map((result) => `${result.records[0]!.outcome}:${result.records[0]!.reason}`);
      const [action] = [...world.lifecycleActions.values()];
      expect({ seed, state: action!.state }).toEqual({ seed, state: 'completed' });
      expect({ seed, bothSuperseded: outcomes.every((outcome) => outcome === 'ended:superseded') }).toEqual({ seed, bothSuperseded: false });
      expect({ seed, outcomes, unstopped: action!.unstoppedTasksAtEnd }).toEqual({ seed, outcomes, unstopped: 0 });
    }
  });

  it('does not believe an empty task list read right after DRAINING: a task placed just before is waited for', async () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const { world, invokeAll, terminate } = scaleIn({ world: { seed, taskListLagMs: { min: 1_000, max: 8_000 } }, services: [] });
      const terminating = await terminate();
      const [action] = [...world.lifecycleActions.values()];
      // A job starts on the instance just before the drain reads it; ECS lists it up to 8 s later.
      const job = world.runTask({ cluster: 'prod', ec2InstanceId: action!.instanceId, family: 'job', cpu: 64, memory: 64, runSeconds: 30 });

      const [result] = await invokeAll([terminating]);

      expect({ seed, record: result!.records[0]!.reason }).toEqual({ seed, record: 'drained' });
      expect({ seed, unstopped: action!.unstoppedTasksAtEnd }).toEqual({ seed, unstopped: 0 });
      expect(action!.endedAt!).toBeGreaterThanOrEqual(job.stoppedAt!);
    }
  });
});

describe('several termination hooks on one group (aws-behaviour.md §3.2)', () => {
  it("does not requeue once its own action is over, although another hook still holds the instance in Terminating:Wait", async () => {
    const { world, aws, invokeAll, terminate } = scaleIn({
      hooks: ['drain', 'backup'],
      services: [{ name: 'web', desiredCount: 2, cpu: 256, memory: 512, stopSeconds: 300 }],
    });
    const terminating = await terminate('drain');
    const ours = [...world.lifecycleActions.values()].find((action) => action.hookName === 'drain')!;
    const other = [...world.lifecycleActions.values()].find((action) => action.hookName === 'backup')!;
    // An operator completes our hook's action by hand while the drain polls; the other hook still waits.
    world.rules.autoScaling.completeAction(ours, 'CONTINUE');
    expect(world.groupOf(ours.instanceId)!.instance.lifecycleState).toBe('Terminating:Wait');

    const [result] = await invokeAll([terminating], 60_000);

    expect(result!.records[0]).toMatchObject({ outcome: 'ended', reason: 'action-over' });
    expect(aws.calls('sns:Publish')).toHaveLength(0);
    expect(other.state).toBe('active');
  });
});
