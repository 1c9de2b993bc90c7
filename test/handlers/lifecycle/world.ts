import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock, InvocationContext } from '../../../lib/clock';
import { REQUEUE_KIND } from '../../../lib/events/lifecycle';
import { loadLifecycleConfig } from '../../../lib/lifecycle/config';
import { makeLifecycleHookHandler } from '../../../lib/lifecycle/handler';
import { MemoryTelemetry } from '../../../lib/telemetry';
import { VirtualClock } from '../../../simulator/clock';
import { InProcessAws } from '../../../simulator/inprocess';
import type { ContainerInstance, LifecycleAction, Task } from '../../../simulator/world/model';
import { World } from '../../../simulator/world/world';

/**
 * The lifecycle drainer's handler tier on the simulator's world, answered in process
 * (simulator/inprocess): the group, hook, topic and instance the fixtures in events/ name, a
 * container instance of cluster `prod` in `Terminating:Wait` with a lifecycle action the world
 * started, and tasks whose stop times follow from the world's rules. Nothing here answers for AWS.
 */
export const T0 = Date.parse('2026-03-04T10:20:11.210Z');
export const S = 1000;
export const INSTANCE_ID = 'i-05629ab7d9287e205';
export const OTHER_ID = 'i-0bbbbbbbbbbbbbbbb';
export const GROUP = 'ecs-cluster-asg';
export const HOOK = 'ecs-drain-hook';
export const CLUSTER = 'prod';
export const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ecs-ec2-keeper-dev-lifecycle';
export const OPS_TOPIC = 'arn:aws:sns:us-east-1:123456789012:ops';

type SnsEvent = { Records: { Sns: { Message: string; MessageId: string; TopicArn: string } }[] };

export function fixture(name: string): SnsEvent {
  return JSON.parse(readFileSync(join(__dirname, '../../../events', name), 'utf8')) as SnsEvent;
}

export interface WorldOptions {
  heartbeatTimeout?: number;
  /** The victim's ECS agent never registered: it is no container instance. */
  unregistered?: boolean;
  /** The victim is already DRAINING when the notification arrives. */
  draining?: boolean;
  /** Auto Scaling starts terminating the victim at T0 (default); false: it stays InService. */
  terminating?: boolean;
  /** Daemon services of the cluster (one task on every ACTIVE instance). */
  daemons?: string[];
  /**
   * A REPLICA service `web` with `count` tasks on the victim and room on another instance. Once the
   * victim is DRAINING at T0, the scheduler's pass 1 s later starts replacements elsewhere (RUNNING
   * 5 s later); the pass after that, at T0 + 7 s, stops the old tasks, which reach STOPPED
   * `stopSeconds` later (aws-behaviour.md §2, minimumHealthyPercent 100).
   */
  service?: { count: number; stopSeconds: number };
}

export class LifecycleWorld {
  readonly clock = new VirtualClock(T0);
  readonly world = new World(this.clock, { seed: 5 });
  readonly aws = new InProcessAws(this.world);
  /** Every sleep the handlers asked for, in ms. */
  readonly sleeps: number[] = [];
  /** Times at which a heartbeat call reached the world. */
  readonly heartbeats: number[] = [];
  /** Runs before each of the handlers' sleeps (a change made while a round waits). */
  onSleep?: () => void;
  private ids = 0;
  readonly victim?: ContainerInstance;
  readonly action?: LifecycleAction;

  constructor(readonly options: WorldOptions = {}) {
    const world = this.world;
    world.createCluster({ name: CLUSTER });
    world.createTopic('ecs-ec2-keeper-dev-lifecycle');
    world.createTopic('ops');
    for (const name of options.daemons ?? []) world.createService({ cluster: CLUSTER, name, strategy: 'DAEMON', cpu: 64, memory: 128 });
    if (options.unregistered) {
      // An instance whose ECS agent never joined the cluster: in the group, not in ECS.
      world.createGroup({ name: GROUP, cluster: CLUSTER, minSize: 0, maxSize: 4, desiredCapacity: 0, instanceCpu: 2048, instanceMemory: 4096 });
      world.ec2.set(INSTANCE_ID, { id: INSTANCE_ID, state: 'running', instanceType: 'm5.large', spot: false, az: 'us-east-1a', launchedAt: T0, cluster: CLUSTER, groupName: GROUP, cpu: 2048, memory: 4096 });
      const group = world.groups.get(GROUP)!;
      group.instances.set(INSTANCE_ID, { id: INSTANCE_ID, lifecycleState: 'InService', healthStatus: 'Healthy', protectedFromScaleIn: false, launchedAt: T0 });
      group.desiredCapacity = 1;
    } else {
      world.createGroup({ name: GROUP, cluster: CLUSTER, minSize: 0, maxSize: 4, desiredCapacity: 1, instanceCpu: 2048, instanceMemory: 4096, instanceIds: [INSTANCE_ID] });
      this.victim = world.containerInstanceOf(INSTANCE_ID)!;
    }
    if (options.service) {
      const { count, stopSeconds } = options.service;
      world.createService({ cluster: CLUSTER, name: 'web', desiredCount: count, cpu: 256, memory: 512, stopSeconds });
    }
    world.placeInitialTasks();
    // Room for the service's replacements, outside the group.
    if (options.service) world.addInstance({ cluster: CLUSTER, cpu: 2048, memory: 4096, id: OTHER_ID });
    world.putLifecycleHook({ groupName: GROUP, name: HOOK, heartbeatTimeout: options.heartbeatTimeout ?? 600, defaultResult: 'ABANDON', topicArn: TOPIC });
    this.aws.before('autoscaling:RecordLifecycleActionHeartbeat', () => this.heartbeats.push(this.clock.now()));
    if (options.terminating ?? true) {
      // TerminateInstanceInAutoScalingGroup, shrinking the group: no replacement is launched.
      world.callSync('autoscaling', 'TerminateInstanceInAutoScalingGroup', { InstanceId: INSTANCE_ID, ShouldDecrementDesiredCapacity: true });
      this.action = [...world.lifecycleActions.values()].find((action) => action.instanceId === INSTANCE_ID);
    }
    if (options.draining && this.victim) world.setContainerInstanceStatus(this.victim, 'DRAINING');
  }

  get ciArn(): string {
    return this.victim!.arn;
  }

  get token(): string {
    return this.action!.token;
  }

  /** A standalone task on the victim; with `runSeconds` it ends by itself exactly then. */
  standalone(family: string, runSeconds?: number, stopSeconds?: number): Task {
    return this.world.runTask({
      cluster: CLUSTER,
      ec2InstanceId: INSTANCE_ID,
      family,
      cpu: 256,
      memory: 512,
      ...(runSeconds !== undefined ? { runSeconds } : {}),
      ...(stopSeconds !== undefined ? { stopSeconds } : {}),
    });
  }

  /** The service `web`'s tasks on the victim. */
  webTasks(): Task[] {
    return this.tasksOnVictim().filter((task) => task.serviceName === 'web');
  }

  tasksOnVictim(): Task[] {
    return this.world.tasksOn(this.victim!);
  }

  /** The notification Auto Scaling published for the victim's action, as the fixture carries it. */
  notification(): Record<string, unknown> {
    const message = JSON.parse(fixture('lifecycle-terminating.json').Records[0]!.Sns.Message) as Record<string, unknown>;
    return this.action ? { ...message, LifecycleActionToken: this.token } : message;
  }

  /** The fixture lifecycle-terminating.json, naming the world's lifecycle action. */
  terminating(): SnsEvent {
    return snsEvent(this.notification());
  }

  /** A requeue message for the victim's drain, as a first round at T0 would have published it. */
  requeued(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      ...(JSON.parse(fixture('lifecycle-requeue.json').Records[0]!.Sns.Message) as Record<string, unknown>),
      kind: REQUEUE_KIND,
      heartbeatTimeoutSeconds: this.options.heartbeatTimeout ?? 600,
      // The hook's global timeout: min(48 h, 100 × heartbeat timeout) (aws-behaviour.md §3.2).
      globalTimeoutSeconds: Math.min(172_800, 100 * (this.options.heartbeatTimeout ?? 600)),
      cluster: CLUSTER,
      containerInstanceArn: this.victim?.arn ?? `arn:aws:ecs:us-east-1:123456789012:container-instance/${CLUSTER}/0d3cf3c5a4b84e7b9a3d1e2f4b5c6d7e`,
      firstSeenAt: new Date(T0).toISOString(),
      lastHeartbeatAt: new Date(T0).toISOString(),
      notification: this.notification(),
      ...overrides,
    };
  }

  /** A handler on this world's clients; two handlers stand for two Lambda execution environments. */
  handler(env: Record<string, string> = {}) {
    const telemetry = new MemoryTelemetry();
    const clock: Clock = {
      now: () => this.clock.now(),
      sleep: (ms: number) => {
        this.sleeps.push(ms);
        this.onSleep?.();
        return this.clock.sleep(ms);
      },
    };
    const { ecs, autoScaling, sns, ec2 } = this.aws.clients();
    const handler = makeLifecycleHookHandler({
      // The scripted timings of these tests assume 10-second polls (the default is 60: task events complete drains).
      config: loadLifecycleConfig({ CLUSTERS: CLUSTER, POLL_INTERVAL_SECONDS: '10', ...env }),
      clients: { ecs, autoScaling, sns, ec2 },
      telemetry,
      clock,
      newId: () => `00000000-0000-4000-8000-${String(++this.ids).padStart(12, '0')}`,
    });
    return { handler, telemetry };
  }

  /** A Lambda context whose remaining time runs on the virtual clock. */
  context(remainingMs = 900_000): InvocationContext {
    const endsAt = this.clock.now() + remainingMs;
    return { getRemainingTimeInMillis: () => endsAt - this.clock.now(), awsRequestId: 'request-1' };
  }

  /** Runs invocations as activities of the virtual clock, so their sleeps let world time pass. */
  run<T>(...invocations: (() => Promise<T>)[]): Promise<T[]> {
    return this.clock.runWhile(Promise.all(invocations.map((invocation) => this.clock.track(invocation).done)));
  }

  async invoke(event: unknown, env: Record<string, string> = {}, remainingMs?: number) {
    const { handler, telemetry } = this.handler(env);
    const [result] = await this.run(() => handler(event, this.context(remainingMs)));
    return { result: result!, telemetry };
  }

  /** The SNS messages the handlers published (never Auto Scaling's own). */
  published(): { TopicArn?: string; Subject?: string; Message?: string }[] {
    return this.aws.inputs('sns:Publish') as { TopicArn?: string; Subject?: string; Message?: string }[];
  }

  /** Write operations the handlers sent, in order. */
  writes(): string[] {
    return this.aws.operations().filter((operation) => !/^(Describe|List|Get)/.test(operation));
  }
}

/** An SNS event carrying `messages` as records, like the fixtures. */
export function snsEvent(...messages: unknown[]): SnsEvent {
  return {
    Records: messages.map((message, index) => ({
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      Sns: {
        Type: 'Notification',
        MessageId: `message-${index + 1}`,
        TopicArn: TOPIC,
        Message: typeof message === 'string' ? message : JSON.stringify(message),
      },
    })),
  };
}
