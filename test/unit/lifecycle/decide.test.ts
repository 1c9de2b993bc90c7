import fc from 'fast-check';
import type { ClassifiedTask, TaskOrigin } from '../../../lib/aws/tasks';
import {
  GLOBAL_TIMEOUT_MARGIN_MS,
  countTasks,
  decideLifecycleStep,
  deadlineOf,
  type ChainState,
  type LifecycleDecisionConfig,
  type LifecycleSnapshot,
  type LifecycleStep,
} from '../../../lib/lifecycle/decide';

const T0 = Date.parse('2026-03-04T10:20:11.210Z');
const S = 1000;
const CI_ARN = 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/0d3cf3c5a4b84e7b9a3d1e2f4b5c6d7e';

let taskNumber = 0;
function task(origin: TaskOrigin, lastStatus = 'RUNNING', desiredStatus = 'RUNNING'): ClassifiedTask {
  taskNumber += 1;
  const group = origin === 'standalone' ? 'family:batch' : origin === 'daemon' ? 'service:agent' : 'service:web';
  return {
    taskArn: `arn:aws:ecs:us-east-1:123456789012:task/prod/${origin}${taskNumber}`,
    lastStatus,
    desiredStatus,
    group,
    ...(origin === 'standalone' ? {} : { serviceName: group.slice('service:'.length) }),
    cpu: 256,
    memory: 512,
    origin,
  };
}

const baseConfig: LifecycleDecisionConfig = {
  standaloneTasks: 'wait',
  pollIntervalSeconds: 10,
  drainTimeoutSeconds: 900,
  deadlineResult: 'CONTINUE',
  maxHops: 100,
  dryRun: false,
};

function chain(overrides: Partial<ChainState> = {}): ChainState {
  return {
    chainId: 'chain-0001',
    attempt: 0,
    firstSeenAt: T0,
    lastHeartbeatAt: T0,
    heartbeatTimeoutSeconds: 600,
    globalTimeoutSeconds: 60_000,
    cluster: 'prod',
    containerInstanceArn: CI_ARN,
    notification: {
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      AutoScalingGroupName: 'ecs-cluster-asg',
      LifecycleHookName: 'ecs-drain-hook',
      EC2InstanceId: 'i-05629ab7d9287e205',
      LifecycleActionToken: '465e0162-e6af-4786-b4e8-bb544ae58790',
    },
    ...overrides,
  };
}

function snapshot(overrides: Partial<LifecycleSnapshot> = {}): LifecycleSnapshot {
  return {
    instance: { status: 'DRAINING' },
    tasks: [],
    actionOver: false,
    lease: { mine: 'lease-mine', claimed: true, current: 'lease-mine' },
    invocationEndsAt: T0 + 800 * S,
    ...overrides,
  };
}

const NOW = T0 + 60 * S;

interface Row {
  name: string;
  snapshot?: Partial<LifecycleSnapshot>;
  chain?: Partial<ChainState>;
  config?: Partial<LifecycleDecisionConfig>;
  now?: number;
  expected: LifecycleStep;
}

const running = task('service');
const deactivating = task('service', 'DEACTIVATING', 'STOPPED');
const stopping = task('service', 'STOPPING', 'STOPPED');
const stoppedService = task('service', 'STOPPED', 'STOPPED');
const daemon = task('daemon');
const standalone = task('standalone');
const standaloneStopping = task('standalone', 'STOPPING', 'STOPPED');
const pendingService = task('service', 'PENDING', 'RUNNING');

const wait = (until: number) => ({ kind: 'wait', reason: 'tasks-remaining', until }) as const;

const rows: Row[] = [
  // Found or not
  {
    name: 'no container instance on the first round: complete CONTINUE at once',
    snapshot: { instance: undefined },
    chain: { cluster: undefined, containerInstanceArn: undefined, heartbeatTimeoutSeconds: undefined },
    expected: { kind: 'complete', result: 'CONTINUE', reason: 'not-a-container-instance' },
  },
  {
    name: 'container instance deregistered during the drain (MISSING)',
    snapshot: { instance: undefined, tasks: [running] },
    expected: { kind: 'complete', result: 'CONTINUE', reason: 'instance-gone' },
  },
  {
    name: 'container instance INACTIVE',
    snapshot: { instance: { status: 'INACTIVE' }, tasks: [running] },
    expected: { kind: 'complete', result: 'CONTINUE', reason: 'instance-gone' },
  },
  {
    name: 'ACTIVE with tasks: drain',
    snapshot: { instance: { status: 'ACTIVE' }, tasks: [running] },
    expected: { kind: 'drain', reason: 'instance-active' },
  },
  {
    name: 'ACTIVE and empty: drain first, so nothing is placed on it meanwhile',
    snapshot: { instance: { status: 'ACTIVE' } },
    expected: { kind: 'drain', reason: 'instance-active' },
  },
  {
    name: 'ACTIVE past the deadline: still drained first',
    snapshot: { instance: { status: 'ACTIVE' }, tasks: [running] },
    now: T0 + 901 * S,
    expected: { kind: 'drain', reason: 'instance-active' },
  },
  // Task states
  { name: 'DRAINING and no task: complete', expected: { kind: 'complete', result: 'CONTINUE', reason: 'drained' } },
  { name: 'a RUNNING service task: wait one poll', snapshot: { tasks: [running] }, expected: wait(NOW + 10 * S) },
  { name: 'a PENDING service task counts', snapshot: { tasks: [pendingService] }, expected: wait(NOW + 10 * S) },
  {
    name: 'DEACTIVATING with desired STOPPED still counts',
    snapshot: { tasks: [deactivating] },
    expected: wait(NOW + 10 * S),
  },
  { name: 'STOPPING with desired STOPPED still counts', snapshot: { tasks: [stopping] }, expected: wait(NOW + 10 * S) },
  {
    name: 'a STOPPED task does not count',
    snapshot: { tasks: [stoppedService] },
    expected: { kind: 'complete', result: 'CONTINUE', reason: 'drained' },
  },
  {
    name: 'REGISTERING (cannot be drained) with a task: wait',
    snapshot: { instance: { status: 'REGISTERING' }, tasks: [running] },
    expected: wait(NOW + 10 * S),
  },
  // Daemons
  {
    name: 'only daemon tasks: complete (ECS stops them last)',
    snapshot: { tasks: [daemon, task('daemon', 'RUNNING', 'STOPPED')] },
    expected: { kind: 'complete', result: 'CONTINUE', reason: 'drained' },
  },
  { name: 'daemon and service tasks: wait', snapshot: { tasks: [daemon, running] }, expected: wait(NOW + 10 * S) },
  // Standalone tasks
  { name: 'standalone, STANDALONE_TASKS=wait: wait', snapshot: { tasks: [standalone] }, expected: wait(NOW + 10 * S) },
  {
    name: 'standalone, STANDALONE_TASKS=ignore: complete',
    snapshot: { tasks: [standalone, daemon] },
    config: { standaloneTasks: 'ignore' },
    expected: { kind: 'complete', result: 'CONTINUE', reason: 'drained' },
  },
  {
    name: 'standalone, STANDALONE_TASKS=stop, service tasks gone: stop it',
    snapshot: { tasks: [standalone, daemon, stoppedService] },
    config: { standaloneTasks: 'stop' },
    expected: { kind: 'stop-standalone', reason: 'service-tasks-gone', taskArns: [standalone.taskArn] },
  },
  {
    name: 'standalone, STANDALONE_TASKS=stop, service tasks still running: wait for them first',
    snapshot: { tasks: [standalone, running] },
    config: { standaloneTasks: 'stop' },
    expected: wait(NOW + 10 * S),
  },
  {
    name: 'standalone, STANDALONE_TASKS=stop, already told to stop: wait, no second StopTask',
    snapshot: { tasks: [standaloneStopping] },
    config: { standaloneTasks: 'stop' },
    expected: wait(NOW + 10 * S),
  },
  // Heartbeats
  {
    name: 'heartbeat due at half the heartbeat timeout',
    snapshot: { tasks: [running] },
    now: T0 + 300 * S,
    expected: { kind: 'heartbeat', reason: 'heartbeat-due', dueAt: T0 + 300 * S },
  },
  {
    name: 'heartbeat due counts from the last heartbeat, not the first notification',
    snapshot: { tasks: [running] },
    chain: { lastHeartbeatAt: T0 + 200 * S },
    now: T0 + 400 * S,
    expected: wait(T0 + 410 * S),
  },
  {
    name: 'a wait ends when the heartbeat falls due',
    snapshot: { tasks: [running] },
    now: T0 + 295 * S,
    expected: wait(T0 + 300 * S),
  },
  {
    name: 'no heartbeat when the drain is done: complete instead',
    now: T0 + 500 * S,
    expected: { kind: 'complete', result: 'CONTINUE', reason: 'drained' },
  },
  // Deadline
  {
    name: 'deadline passed with tasks left: complete with DEADLINE_RESULT',
    snapshot: { tasks: [running] },
    now: T0 + 900 * S,
    expected: { kind: 'complete', result: 'CONTINUE', reason: 'deadline' },
  },
  {
    name: 'deadline passed, DEADLINE_RESULT=ABANDON',
    snapshot: { tasks: [stopping] },
    now: T0 + 901 * S,
    config: { deadlineResult: 'ABANDON' },
    expected: { kind: 'complete', result: 'ABANDON', reason: 'deadline' },
  },
  {
    name: 'deadline passed but drained: a normal completion',
    snapshot: { tasks: [daemon] },
    now: T0 + 2000 * S,
    expected: { kind: 'complete', result: 'CONTINUE', reason: 'drained' },
  },
  {
    name: "the hook's global timeout comes before DRAIN_TIMEOUT_SECONDS",
    snapshot: { tasks: [running] },
    chain: { heartbeatTimeoutSeconds: 30, globalTimeoutSeconds: 3000, lastHeartbeatAt: T0 + 2870 * S },
    config: { drainTimeoutSeconds: 7200 },
    now: T0 + 3000 * S - GLOBAL_TIMEOUT_MARGIN_MS,
    expected: { kind: 'complete', result: 'CONTINUE', reason: 'deadline' },
  },
  {
    name: 'a wait never sleeps past the deadline',
    snapshot: { tasks: [running], invocationEndsAt: T0 + 1000 * S },
    chain: { lastHeartbeatAt: T0 + 600 * S },
    now: T0 + 895 * S,
    expected: wait(T0 + 900 * S),
  },
  // Hop cap and the end of the invocation
  {
    name: 'arrived past the hop cap: complete with DEADLINE_RESULT',
    snapshot: { tasks: [running] },
    chain: { attempt: 101 },
    expected: { kind: 'complete', result: 'CONTINUE', reason: 'hop-cap' },
  },
  {
    name: 'invocation ending on the last allowed hop: complete instead of requeueing',
    snapshot: { tasks: [running], invocationEndsAt: NOW + 5 * S, groupState: 'Terminating:Wait' },
    chain: { attempt: 100 },
    config: { deadlineResult: 'ABANDON' },
    expected: { kind: 'complete', result: 'ABANDON', reason: 'hop-cap' },
  },
  {
    name: 'invocation ending, lifecycle state not read yet: read it first',
    snapshot: { tasks: [running], invocationEndsAt: NOW + 5 * S },
    chain: { attempt: 99 },
    expected: { kind: 'check-group', reason: 'before-requeue' },
  },
  {
    name: 'invocation ending, still Terminating:Wait: requeue',
    snapshot: { tasks: [running], invocationEndsAt: NOW + 5 * S, groupState: 'Terminating:Wait' },
    chain: { attempt: 99 },
    expected: { kind: 'requeue', reason: 'invocation-ending' },
  },
  {
    name: 'warm pool instance in Warmed:Terminating:Wait: requeue',
    snapshot: { tasks: [running], invocationEndsAt: NOW + 5 * S, groupState: 'Warmed:Terminating:Wait' },
    expected: { kind: 'requeue', reason: 'invocation-ending' },
  },
  {
    name: 'instance no longer in Terminating:Wait (completed by a duplicate): end',
    snapshot: { tasks: [running], groupState: 'Terminating:Proceed' },
    expected: { kind: 'end', reason: 'action-over' },
  },
  {
    name: 'instance in no group any more: end',
    snapshot: { tasks: [running], groupState: 'absent' },
    expected: { kind: 'end', reason: 'action-over' },
  },
  {
    name: 'Auto Scaling answered "No active Lifecycle Action found": end',
    snapshot: { tasks: [running], actionOver: true, instance: { status: 'ACTIVE' } },
    expected: { kind: 'end', reason: 'action-over' },
  },
  // Duplicate chains
  {
    name: 'another round took the lease after ours: this chain is the duplicate',
    snapshot: { tasks: [running], lease: { mine: 'lease-mine', claimed: true, current: 'lease-other' } },
    expected: { kind: 'end', reason: 'superseded' },
  },
  {
    name: "the previous round's lease before ours is written: take it over",
    snapshot: { tasks: [running], lease: { mine: 'lease-mine', claimed: false, current: 'lease-previous' } },
    expected: { kind: 'claim-lease', reason: 'before-waiting' },
  },
  {
    name: 'no lease needed when the drain completes at once',
    snapshot: { lease: { mine: 'lease-mine', claimed: false } },
    expected: { kind: 'complete', result: 'CONTINUE', reason: 'drained' },
  },
  {
    name: 'lease unavailable: wait without it',
    snapshot: { tasks: [running], lease: { mine: 'lease-mine', claimed: false, unavailable: true } },
    expected: wait(NOW + 10 * S),
  },
  // Dry run
  {
    name: 'dry run, ACTIVE: report the drain',
    snapshot: { instance: { status: 'ACTIVE' }, tasks: [running] },
    config: { dryRun: true },
    expected: { kind: 'dry-run', reason: 'instance-active', wouldDo: { kind: 'drain', reason: 'instance-active' } },
  },
  {
    name: 'dry run, drained: report the completion',
    config: { dryRun: true },
    expected: {
      kind: 'dry-run',
      reason: 'drained',
      wouldDo: { kind: 'complete', result: 'CONTINUE', reason: 'drained' },
    },
  },
  {
    name: 'dry run, tasks left: report the wait, take no lease',
    snapshot: { tasks: [running], lease: { mine: 'lease-mine', claimed: false } },
    config: { dryRun: true },
    expected: { kind: 'dry-run', reason: 'tasks-remaining', wouldDo: wait(NOW + 10 * S) },
  },
  {
    name: 'dry run, heartbeat due: report it',
    snapshot: { tasks: [running] },
    config: { dryRun: true },
    now: T0 + 400 * S,
    expected: {
      kind: 'dry-run',
      reason: 'heartbeat-due',
      wouldDo: { kind: 'heartbeat', reason: 'heartbeat-due', dueAt: T0 + 300 * S },
    },
  },
  {
    name: 'dry run, action over: end like a real run',
    snapshot: { actionOver: true },
    config: { dryRun: true },
    expected: { kind: 'end', reason: 'action-over' },
  },
];

describe('decideLifecycleStep', () => {
  it.each(rows.map((row) => [row.name, row] as const))('%s', (_name, row) => {
    const step = decideLifecycleStep(
      snapshot(row.snapshot),
      chain(row.chain),
      row.now ?? NOW,
      { ...baseConfig, ...row.config },
    );
    expect(step).toEqual(row.expected);
  });
});

describe('countTasks', () => {
  it('counts service tasks until STOPPED, never daemons, standalone tasks by policy', () => {
    const tasks = [running, deactivating, stopping, stoppedService, daemon, standalone, standaloneStopping];
    expect(countTasks(tasks, 'wait')).toEqual({ counted: 5, service: 3, standalone: 2, daemon: 1, stopping: 3 });
    expect(countTasks(tasks, 'stop')).toEqual({ counted: 5, service: 3, standalone: 2, daemon: 1, stopping: 3 });
    expect(countTasks(tasks, 'ignore')).toEqual({ counted: 3, service: 3, standalone: 2, daemon: 1, stopping: 2 });
  });
});

describe('deadlineOf', () => {
  it('is DRAIN_TIMEOUT_SECONDS after the first notification when the hook allows it', () => {
    expect(deadlineOf(chain(), { drainTimeoutSeconds: 900 })).toBe(T0 + 900 * S);
  });
  it('comes before the global timeout with a margin', () => {
    expect(deadlineOf(chain({ globalTimeoutSeconds: 3000 }), { drainTimeoutSeconds: 172_800 })).toBe(
      T0 + 3000 * S - GLOBAL_TIMEOUT_MARGIN_MS,
    );
  });
});

describe('decideLifecycleStep properties', () => {
  const origin = fc.constantFrom<TaskOrigin>('service', 'daemon', 'standalone');
  const status = fc.constantFrom('PROVISIONING', 'PENDING', 'ACTIVATING', 'RUNNING', 'DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED');
  const arbTask = fc
    .tuple(origin, status, fc.constantFrom('RUNNING', 'STOPPED'))
    .map(([o, last, desired]) => task(o, last, desired));
  const arbInput = fc.record({
    tasks: fc.array(arbTask, { maxLength: 6 }),
    instanceStatus: fc.constantFrom('ACTIVE', 'DRAINING', 'INACTIVE', 'REGISTERING', 'DEREGISTERING', undefined),
    attempt: fc.integer({ min: 0, max: 120 }),
    elapsedSeconds: fc.integer({ min: 0, max: 2000 }),
    sinceHeartbeatSeconds: fc.integer({ min: 0, max: 400 }),
    remainingSeconds: fc.integer({ min: 0, max: 900 }),
    groupState: fc.constantFrom(undefined, 'Terminating:Wait', 'Terminating:Proceed', 'absent'),
    claimed: fc.boolean(),
    foreignLease: fc.boolean(),
    standaloneTasks: fc.constantFrom('wait' as const, 'stop' as const, 'ignore' as const),
    dryRun: fc.boolean(),
  });

  type Input = typeof arbInput extends fc.Arbitrary<infer T> ? T : never;
  function run(input: Input) {
    const now = T0 + input.elapsedSeconds * S;
    const c = chain({ attempt: input.attempt, lastHeartbeatAt: Math.max(T0, now - input.sinceHeartbeatSeconds * S) });
    const config = { ...baseConfig, standaloneTasks: input.standaloneTasks, dryRun: input.dryRun };
    const snap = snapshot({
      tasks: input.tasks,
      ...(input.instanceStatus ? { instance: { status: input.instanceStatus } } : { instance: undefined }),
      ...(input.groupState ? { groupState: input.groupState } : {}),
      lease: { mine: 'lease-mine', claimed: input.claimed, current: input.foreignLease ? 'lease-other' : 'lease-mine' },
      invocationEndsAt: now + input.remainingSeconds * S,
    });
    return { step: decideLifecycleStep(snap, c, now, config), now, c, config, snap };
  }

  it('completes as drained only when no counted task is short of STOPPED', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const { step, config } = run(input);
        const acted = step.kind === 'dry-run' ? step.wouldDo : step;
        if (acted.kind === 'complete' && acted.reason === 'drained') {
          expect(countTasks(input.tasks, config.standaloneTasks).counted).toBe(0);
        }
      }),
    );
  });

  it('never waits into the past or past the deadline, and never requeues beyond the hop cap', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const { step, now, c, config } = run(input);
        const acted = step.kind === 'dry-run' ? step.wouldDo : step;
        if (acted.kind === 'wait') {
          expect(acted.until).toBeGreaterThan(now);
          expect(acted.until).toBeLessThanOrEqual(deadlineOf(c, config));
          expect(acted.until).toBeLessThanOrEqual(now + config.pollIntervalSeconds * S);
        }
        if (acted.kind === 'requeue') expect(c.attempt).toBeLessThan(config.maxHops);
      }),
    );
  });

  it('a dry run only ever reads', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const { step } = run({ ...input, dryRun: true });
        expect(['dry-run', 'end', 'check-group']).toContain(step.kind);
      }),
    );
  });
});
