import {
  AutoScalingClient,
  AutoScalingServiceException,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeLifecycleHooksCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListContainerInstancesCommand,
  ListTasksCommand,
  PutAttributesCommand,
  StopTaskCommand,
  UpdateContainerInstancesStateCommand,
  type ContainerInstance,
  type Task,
} from '@aws-sdk/client-ecs';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock, InvocationContext } from '../../../lib/clock';
import { loadLifecycleConfig } from '../../../lib/lifecycle/config';
import { makeLifecycleHookHandler } from '../../../lib/lifecycle/handler';
import { LEASE_ATTRIBUTE } from '../../../lib/lifecycle/lease';
import { MemoryTelemetry } from '../../../lib/telemetry';

/**
 * A small, stateful stand-in for ECS, Auto Scaling and SNS behind aws-sdk-client-mock: tasks stop
 * at given virtual times, DRAINING and attributes stick, lifecycle actions complete once. Tests
 * assert both the calls made and the end state.
 */

export const T0 = Date.parse('2026-03-04T10:20:11.210Z');
export const INSTANCE_ID = 'i-05629ab7d9287e205';
export const TOKEN = '465e0162-e6af-4786-b4e8-bb544ae58790';
export const GROUP = 'ecs-cluster-asg';
export const HOOK = 'ecs-drain-hook';
export const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ecs-ec2-keeper-dev-lifecycle';
export const OPS_TOPIC = 'arn:aws:sns:us-east-1:123456789012:ops';
export const CLUSTER = 'prod';
export const CI_ARN = 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/0d3cf3c5a4b84e7b9a3d1e2f4b5c6d7e';

export const ecsMock = mockClient(ECSClient);
export const autoScalingMock = mockClient(AutoScalingClient);
export const snsMock = mockClient(SNSClient);

export class FakeClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(public time = T0) {}
  now(): number {
    return this.time;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.time += ms;
  }
}

export interface FakeTask {
  arn: string;
  group: string;
  desiredStatus: 'RUNNING' | 'STOPPED';
  /** lastStatus until stopAt (or forever). */
  lastStatus: string;
  /** Virtual time at which the task reaches STOPPED. */
  stopAt?: number;
  /** StopTask makes the task STOPPED this many ms later. */
  stopsAfterMs?: number;
}

export interface World {
  clock: FakeClock;
  instance?: { status: string; attributes: Record<string, string> };
  tasks: FakeTask[];
  daemonServices: string[];
  hook?: { HeartbeatTimeout: number; GlobalTimeout?: number };
  groupState: string | undefined;
  completed?: string;
  actionOver: boolean;
  heartbeats: number[];
  published: { TopicArn?: string; Subject?: string; Message?: string }[];
  stopped: string[];
}

export function task(name: string, group: string, lastStatus = 'RUNNING', desiredStatus: 'RUNNING' | 'STOPPED' = 'RUNNING', stopAt?: number): FakeTask {
  return { arn: `arn:aws:ecs:us-east-1:123456789012:task/prod/${name}`, group, lastStatus, desiredStatus, ...(stopAt !== undefined ? { stopAt } : {}) };
}

export function validationError(message: string) {
  return new AutoScalingServiceException({ name: 'ValidationError', $fault: 'client', message, $metadata: { httpStatusCode: 400 } });
}

function currentStatus(world: World, fake: FakeTask): { lastStatus: string; desiredStatus: string } {
  if (fake.stopAt !== undefined && world.clock.now() >= fake.stopAt) return { lastStatus: 'STOPPED', desiredStatus: 'STOPPED' };
  return { lastStatus: fake.lastStatus, desiredStatus: fake.desiredStatus };
}

function containerInstance(world: World): ContainerInstance {
  return {
    containerInstanceArn: CI_ARN,
    ec2InstanceId: INSTANCE_ID,
    status: world.instance?.status ?? 'INACTIVE',
    agentConnected: true,
    attributes: Object.entries(world.instance?.attributes ?? {}).map(([name, value]) => ({ name, value })),
    // As ECS counts them: tasks whose desired status is RUNNING, and those still PENDING.
    runningTasksCount: world.tasks.filter((fake) => currentStatus(world, fake).desiredStatus === 'RUNNING' && currentStatus(world, fake).lastStatus !== 'PENDING').length,
    pendingTasksCount: world.tasks.filter((fake) => currentStatus(world, fake).desiredStatus === 'RUNNING' && currentStatus(world, fake).lastStatus === 'PENDING').length,
  };
}

/** Wires the three mocks to a fresh world and returns it. */
let ids = 0;

export function makeWorld(overrides: Partial<World> = {}): World {
  ids = 0;
  ecsMock.reset();
  autoScalingMock.reset();
  snsMock.reset();
  const world: World = {
    clock: new FakeClock(),
    instance: { status: 'ACTIVE', attributes: {} },
    tasks: [],
    daemonServices: [],
    hook: { HeartbeatTimeout: 600 },
    groupState: 'Terminating:Wait',
    actionOver: false,
    heartbeats: [],
    published: [],
    stopped: [],
    ...overrides,
  };

  ecsMock.on(ListContainerInstancesCommand).callsFake(() => ({
    containerInstanceArns: world.instance && world.instance.status !== 'INACTIVE' ? [CI_ARN] : [],
  }));
  ecsMock.on(DescribeContainerInstancesCommand).callsFake(() =>
    world.instance
      ? { containerInstances: [containerInstance(world)], failures: [] }
      : { containerInstances: [], failures: [{ arn: CI_ARN, reason: 'MISSING' }] },
  );
  ecsMock.on(UpdateContainerInstancesStateCommand).callsFake(() => {
    if (world.instance) world.instance.status = 'DRAINING';
    return { containerInstances: [containerInstance(world)], failures: [] };
  });
  ecsMock.on(PutAttributesCommand).callsFake((input: { attributes: { name: string; value: string }[] }) => {
    for (const attribute of input.attributes) world.instance!.attributes[attribute.name] = attribute.value;
    return { attributes: input.attributes };
  });
  ecsMock.on(ListTasksCommand).callsFake((input: { desiredStatus?: string }) => ({
    taskArns: world.tasks.filter((fake) => currentStatus(world, fake).desiredStatus === (input.desiredStatus ?? 'RUNNING')).map((fake) => fake.arn),
  }));
  ecsMock.on(DescribeTasksCommand).callsFake((input: { tasks: string[] }) => ({
    tasks: world.tasks
      .filter((fake) => input.tasks.includes(fake.arn))
      .map((fake): Task => ({ taskArn: fake.arn, group: fake.group, ...currentStatus(world, fake), cpu: '256', memory: '512' })),
    failures: [],
  }));
  ecsMock.on(DescribeServicesCommand).callsFake((input: { services: string[] }) => ({
    services: input.services.map((serviceName) => ({
      serviceName,
      schedulingStrategy: world.daemonServices.includes(serviceName) ? 'DAEMON' : 'REPLICA',
    })),
  }));
  ecsMock.on(StopTaskCommand).callsFake((input: { task: string }) => {
    const fake = world.tasks.find((candidate) => candidate.arn === input.task);
    if (fake) {
      fake.desiredStatus = 'STOPPED';
      fake.lastStatus = 'STOPPING';
      fake.stopAt = world.clock.now() + (fake.stopsAfterMs ?? 5000);
      world.stopped.push(fake.arn);
    }
    return {};
  });

  autoScalingMock.on(DescribeLifecycleHooksCommand).callsFake(() => ({
    LifecycleHooks: world.hook ? [{ LifecycleHookName: HOOK, AutoScalingGroupName: GROUP, DefaultResult: 'CONTINUE', ...world.hook }] : [],
  }));
  autoScalingMock.on(CompleteLifecycleActionCommand).callsFake((input: { LifecycleActionResult: string }) => {
    if (world.actionOver) throw validationError(`No active Lifecycle Action found with token ${TOKEN}`);
    world.completed = input.LifecycleActionResult;
    world.actionOver = true;
    world.groupState = 'Terminating:Proceed';
    return {};
  });
  autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).callsFake(() => {
    if (world.actionOver) throw validationError(`No active Lifecycle Action found with token ${TOKEN}`);
    world.heartbeats.push(world.clock.now());
    return {};
  });
  autoScalingMock.on(DescribeAutoScalingInstancesCommand).callsFake(() => ({
    AutoScalingInstances: world.groupState
      ? [{ InstanceId: INSTANCE_ID, AutoScalingGroupName: GROUP, LifecycleState: world.groupState, HealthStatus: 'HEALTHY', AvailabilityZone: 'us-east-1a', ProtectedFromScaleIn: false }]
      : [],
  }));
  snsMock.on(PublishCommand).callsFake((input: { TopicArn?: string; Subject?: string; Message?: string }) => {
    world.published.push(input);
    return { MessageId: `published-${world.published.length}` };
  });
  return world;
}

export function setup(world: World, env: Record<string, string> = {}) {
  const telemetry = new MemoryTelemetry();
  const handler = makeLifecycleHookHandler({
    // The scripted timings of these tests were written for 10 s polls (the default is 60 s).
    config: loadLifecycleConfig({ CLUSTERS: CLUSTER, POLL_INTERVAL_SECONDS: '10', ...env }),
    clients: {
      ecs: new ECSClient({ region: 'us-east-1' }),
      autoScaling: new AutoScalingClient({ region: 'us-east-1' }),
      sns: new SNSClient({ region: 'us-east-1' }),
    },
    telemetry,
    clock: world.clock,
    // Unique within a world, across handlers too: two handlers stand for two Lambda instances.
    newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
  });
  return { handler, telemetry };
}

/** A Lambda context whose remaining time runs on the fake clock. */
export function contextFor(clock: Clock, remainingMs = 900_000): InvocationContext {
  const endsAt = clock.now() + remainingMs;
  return { getRemainingTimeInMillis: () => endsAt - clock.now(), awsRequestId: 'request-1' };
}

export function fixture(name: string): { Records: { Sns: { Message: string; MessageId: string; TopicArn: string } }[] } {
  return JSON.parse(readFileSync(join(__dirname, '../../../events', name), 'utf8')) as {
    Records: { Sns: { Message: string; MessageId: string; TopicArn: string } }[];
  };
}

/** An SNS event carrying `messages` as records, like the fixtures. */
export function snsEvent(...messages: unknown[]) {
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

export const terminatingMessage = (): Record<string, unknown> =>
  JSON.parse(fixture('lifecycle-terminating.json').Records[0]!.Sns.Message) as Record<string, unknown>;

export const commandNames = (mock: { calls(): { args: unknown[] }[] }) =>
  mock.calls().map((call) => (call.args[0] as { constructor: { name: string } }).constructor.name);

export { LEASE_ATTRIBUTE };
