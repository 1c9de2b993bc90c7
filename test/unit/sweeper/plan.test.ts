import {
  CONSOLIDATION_CANDIDATES_TRIED,
  DRAIN_TIMEOUT_MINUTES,
  attributeChanges,
  freeCapacity,
  instancesToInspect,
  isIdle,
  largestFirst,
  place,
  planScaleIn,
  schedulableTasks,
  taskCount,
  tasksToMove,
} from '../../../lib/sweeper/plan';
import type { SkipReason, SnapshotInstance } from '../../../lib/sweeper/types';
import { NOW, busy, group, instance, minutesAgo, settings, snapshot } from './builders';

const reasonOf = (plan: ReturnType<typeof planScaleIn>, target: SnapshotInstance) =>
  plan.skipped.find((entry) => entry.containerInstanceArn === target.containerInstanceArn)?.reason;

describe('planScaleIn: a reason for every instance not selected', () => {
  const groupInfo = (overrides: Partial<NonNullable<SnapshotInstance['group']>>) => ({
    instanceId: 'i-x',
    autoScalingGroupName: 'asg',
    lifecycleState: 'InService',
    protectedFromScaleIn: false,
    healthStatus: 'HEALTHY',
    ...overrides,
  });

  it.each<[string, Partial<SnapshotInstance>, SkipReason]>([
    ['DRAINING without our marker', { status: 'DRAINING' }, 'not-active'],
    ['REGISTERING', { status: 'REGISTERING' }, 'not-active'],
    ['agent disconnected', { agentConnected: false }, 'agent-disconnected'],
    ['in no Auto Scaling group', { group: undefined }, 'not-in-group'],
    ['in a group the sweeper does not manage', { group: groupInfo({ autoScalingGroupName: 'other' }) }, 'group-not-managed'],
    ['in a group DescribeAutoScalingGroups did not return', { group: groupInfo({ autoScalingGroupName: 'ghost' }) }, 'group-unknown'],
    ['Terminating:Wait', { group: groupInfo({ lifecycleState: 'Terminating:Wait' }) }, 'not-in-service'],
    ['Standby', { group: groupInfo({ lifecycleState: 'Standby' }) }, 'not-in-service'],
    ['protected from scale in', { group: groupInfo({ protectedFromScaleIn: true }) }, 'protected'],
    ['running a service task (counts only)', { runningTasksCount: 3, attributes: {} }, 'busy'],
    ['with a pending task', { pendingTasksCount: 1, attributes: {} }, 'busy'],
    ['idle for 10 of 30 minutes', { attributes: { 'ecs-ec2-keeper.idle-since': minutesAgo(10) } }, 'not-idle-long-enough'],
    ['first seen idle now (no attribute)', { attributes: {} }, 'not-idle-long-enough'],
    ['with an idle-since in the future', { attributes: { 'ecs-ec2-keeper.idle-since': minutesAgo(-60) } }, 'not-idle-long-enough'],
    ['with a malformed idle-since', { attributes: { 'ecs-ec2-keeper.idle-since': 'yesterday' } }, 'not-idle-long-enough'],
  ])('%s', (_name, overrides, expected) => {
    const target = instance(overrides);
    const managed = overrides.group?.autoScalingGroupName === 'other' ? ['asg'] : [];
    const plan = planScaleIn(
      snapshot([target], [group('asg', 0, 10), group('other', 0, 10)]),
      settings({ autoScalingGroups: managed }),
      NOW,
    );
    expect(plan.selected).toEqual([]);
    expect(reasonOf(plan, target)).toBe(expected);
  });

  it('group-at-minimum: counts several removals from the same group', () => {
    const [a, b, c] = [instance({}, 'a'), instance({}, 'b'), instance({}, 'c')];
    const plan = planScaleIn(snapshot([a!, b!, c!], [group('asg', 2, 3)]), settings({ maxRemovalsPerRun: 3 }), NOW);
    expect(plan.selected.map((entry) => entry.containerInstanceArn)).toEqual([a!.containerInstanceArn]);
    expect(reasonOf(plan, b!)).toBe('group-at-minimum');
    expect(reasonOf(plan, c!)).toBe('group-at-minimum');
  });

  it('group-at-minimum: a drain still in progress holds its place in the group', () => {
    const draining = busy(512, 512, { status: 'DRAINING', attributes: { 'ecs-ec2-keeper.drained-at': minutesAgo(5) } }, 'd');
    const idle = instance({}, 'e');
    const plan = planScaleIn(snapshot([draining, idle], [group('asg', 1, 2)]), settings(), NOW);
    expect(plan.selected).toEqual([]);
    expect(reasonOf(plan, idle)).toBe('group-at-minimum');
    expect(reasonOf(plan, draining)).toBe('removal-in-progress');
    expect(plan.finishing).toEqual([expect.objectContaining({ action: 'wait', reason: 'tasks-remaining' })]);
  });

  it('reserve-would-break: skips an instance whose free capacity the reserve needs, takes the next', () => {
    const holder = busy(2048, 4096, {}, 'busy');
    // Longest idle first: the big one is preferred but would break the reserve; the small one fits.
    const big = instance({ attributes: { 'ecs-ec2-keeper.idle-since': minutesAgo(300) } }, 'big');
    const small = instance(
      { registeredCpu: 512, remainingCpu: 512, registeredMemory: 1024, remainingMemory: 1024, attributes: { 'ecs-ec2-keeper.idle-since': minutesAgo(60) } },
      'small',
    );
    const keep = instance({ attributes: { 'ecs-ec2-keeper.idle-since': minutesAgo(5) } }, 'keep');
    const plan = planScaleIn(snapshot([holder, big, small, keep]), settings({ minFreeCpu: 3000, minFreeMemory: 6000 }), NOW);
    expect(plan.free).toEqual({ cpu: 2048 + 2048 + 512, memory: 4096 + 4096 + 1024 });
    expect(plan.selected.map((entry) => entry.containerInstanceArn)).toEqual([small.containerInstanceArn]);
    expect(reasonOf(plan, big)).toBe('reserve-would-break');
    expect(plan.freeAfter).toEqual({ cpu: 4096, memory: 8192 });
  });

  it('budget-used: at most MAX_REMOVALS_PER_RUN, longest idle first', () => {
    const instances = [300, 200, 100, 50].map((minutes, index) =>
      instance({ attributes: { 'ecs-ec2-keeper.idle-since': minutesAgo(minutes) } }, `n${index}`),
    );
    const plan = planScaleIn(snapshot(instances), settings({ maxRemovalsPerRun: 2 }), NOW);
    expect(plan.selected.map((entry) => [entry.ec2InstanceId, entry.idleMinutes])).toEqual([
      [instances[0]!.ec2InstanceId, 300],
      [instances[1]!.ec2InstanceId, 200],
    ]);
    expect(reasonOf(plan, instances[2]!)).toBe('budget-used');
    expect(reasonOf(plan, instances[3]!)).toBe('budget-used');
  });

  it('MAX_REMOVALS_PER_RUN=0 observes only', () => {
    const plan = planScaleIn(snapshot([instance()]), settings({ maxRemovalsPerRun: 0 }), NOW);
    expect(plan.selected).toEqual([]);
    expect(plan.skipped.map((entry) => entry.reason)).toEqual(['budget-used']);
  });

  it('ties in idle time go to the oldest registration, then the ARN', () => {
    const young = instance({ registeredAt: '2026-03-03T00:00:00.000Z' }, 'aaa');
    const old = instance({ registeredAt: '2026-02-01T00:00:00.000Z' }, 'zzz');
    const plan = planScaleIn(snapshot([young, old]), settings({ maxRemovalsPerRun: 1 }), NOW);
    expect(plan.selected[0]?.containerInstanceArn).toBe(old.containerInstanceArn);
  });

  it('daemon tasks alone do not make an instance busy', () => {
    const daemonOnly = instance({ runningTasksCount: 2, workload: { nonDaemon: [], daemonTasks: 2 } });
    expect(isIdle(daemonOnly)).toBe(true);
    const plan = planScaleIn(snapshot([daemonOnly]), settings(), NOW);
    expect(plan.selected).toEqual([expect.objectContaining({ reason: 'idle' })]);
  });
});

describe('planScaleIn: drains started by earlier runs', () => {
  const drained = (overrides: Partial<SnapshotInstance>, minutes = 10) =>
    instance({ status: 'DRAINING', attributes: { 'ecs-ec2-keeper.drained-at': minutesAgo(minutes) }, ...overrides });

  it('terminates an empty one while the group has room', () => {
    const plan = planScaleIn(snapshot([drained({})], [group('asg', 0, 3)]), settings(), NOW);
    expect(plan.finishing).toEqual([expect.objectContaining({ action: 'terminate', reason: 'drained' })]);
  });

  it('sets it ACTIVE again when its group reached its minimum meanwhile', () => {
    const plan = planScaleIn(snapshot([drained({})], [group('asg', 3, 3)]), settings(), NOW);
    expect(plan.finishing).toEqual([expect.objectContaining({ action: 'reactivate', reason: 'group-at-minimum' })]);
  });

  it('waits while tasks remain, and gives up after the drain timeout', () => {
    const slow = drained({ runningTasksCount: 1 }, DRAIN_TIMEOUT_MINUTES - 1);
    const stuck = drained({ runningTasksCount: 1 }, DRAIN_TIMEOUT_MINUTES);
    const plan = planScaleIn(snapshot([slow, stuck]), settings(), NOW);
    expect(plan.finishing.find((step) => step.containerInstanceArn === slow.containerInstanceArn)).toMatchObject({ action: 'wait', reason: 'tasks-remaining' });
    expect(plan.finishing.find((step) => step.containerInstanceArn === stuck.containerInstanceArn)).toMatchObject({ action: 'reactivate', reason: 'drain-timed-out' });
  });

  it('terminates the empty drain first and undoes the one still moving tasks when only one fits above the minimum', () => {
    const moving = drained({ runningTasksCount: 1 });
    const empty = drained({});
    const plan = planScaleIn(snapshot([moving, empty], [group('asg', 3, 4)]), settings(), NOW);
    expect(plan.finishing.find((step) => step.containerInstanceArn === empty.containerInstanceArn)).toMatchObject({ action: 'terminate' });
    expect(plan.finishing.find((step) => step.containerInstanceArn === moving.containerInstanceArn)).toMatchObject({
      action: 'reactivate',
      reason: 'group-at-minimum',
    });
  });

  it('leaves a terminating one to Auto Scaling and a group-less one is set ACTIVE again', () => {
    const terminating = drained({ group: { instanceId: 'i-t', autoScalingGroupName: 'asg', lifecycleState: 'Terminating:Wait', protectedFromScaleIn: false, healthStatus: 'HEALTHY' } });
    const detached = drained({ group: undefined });
    const plan = planScaleIn(snapshot([terminating, detached]), settings(), NOW);
    expect(plan.finishing.find((step) => step.containerInstanceArn === terminating.containerInstanceArn)).toMatchObject({ action: 'wait', reason: 'terminating' });
    expect(plan.finishing.find((step) => step.containerInstanceArn === detached.containerInstanceArn)).toMatchObject({ action: 'reactivate', reason: 'not-in-group' });
  });
});

describe('planScaleIn: consolidation', () => {
  const target = (id: string, freeCpu: number, freeMemory: number) =>
    busy(2048 - freeCpu, 4096 - freeMemory, {}, id);

  it('drains the least used instance when its tasks fit on the others and the reserve holds', () => {
    const light = busy(256, 512, {}, 'light');
    const others = [target('t1', 1024, 2048), target('t2', 1024, 2048)];
    const plan = planScaleIn(snapshot([light, ...others]), settings({ consolidate: true }), NOW);
    expect(plan.selected).toEqual([
      expect.objectContaining({ containerInstanceArn: light.containerInstanceArn, reason: 'consolidate', tasksToMove: ['task-light-512'] }),
    ]);
    // The light instance's own free capacity goes, and its task takes room on another.
    expect(plan.freeAfter).toEqual({ cpu: 2048 - 256, memory: 4096 - 512 });
  });

  it('is off unless CONSOLIDATE=true', () => {
    const plan = planScaleIn(snapshot([busy(256, 512, {}, 'light'), target('t1', 1024, 2048)]), settings(), NOW);
    expect(plan.selected).toEqual([]);
    expect(plan.skipped.every((entry) => entry.reason === 'busy')).toBe(true);
  });

  it('tasks-do-not-fit: enough free capacity in total, but no single instance has room for the task', () => {
    const light = busy(1024, 1024, {}, 'light');
    const plan = planScaleIn(snapshot([light, target('t1', 600, 4000), target('t2', 600, 4000)]), settings({ consolidate: true }), NOW);
    expect(plan.selected).toEqual([]);
    expect(reasonOf(plan, light)).toBe('tasks-do-not-fit');
  });

  it('reserve-would-break: the tasks fit but the reserve would not hold after moving them', () => {
    const light = busy(256, 512, {}, 'light');
    const plan = planScaleIn(
      snapshot([light, target('t1', 1024, 2048)]),
      settings({ consolidate: true, minFreeCpu: 1024, minFreeMemory: 0 }),
      NOW,
    );
    expect(reasonOf(plan, light)).toBe('reserve-would-break');
  });

  it('standalone-tasks: DRAINING does not move standalone tasks, so the instance is never consolidated', () => {
    const light = busy(256, 512, { workload: { nonDaemon: [{ taskArn: 'batch', origin: 'standalone', cpu: 256, memory: 512 }], daemonTasks: 0 } }, 'light');
    const plan = planScaleIn(snapshot([light, busy(512, 512, {}, 't1')]), settings({ consolidate: true }), NOW);
    expect(reasonOf(plan, light)).toBe('standalone-tasks');
  });

  it('consolidation-in-progress: one consolidation at a time', () => {
    const moving = busy(256, 512, { status: 'DRAINING', attributes: { 'ecs-ec2-keeper.drained-at': minutesAgo(5) } }, 'moving');
    const light = busy(256, 512, {}, 'light');
    const plan = planScaleIn(snapshot([moving, light, target('t1', 2048, 4096)]), settings({ consolidate: true }), NOW);
    expect(reasonOf(plan, light)).toBe('consolidation-in-progress');
  });

  it('counts against MAX_REMOVALS_PER_RUN', () => {
    const idle = instance({}, 'idle');
    const light = busy(256, 512, {}, 'light');
    const plan = planScaleIn(snapshot([idle, light, target('t1', 2048, 4096)]), settings({ consolidate: true, maxRemovalsPerRun: 1 }), NOW);
    expect(plan.selected.map((entry) => entry.reason)).toEqual(['idle']);
    expect(reasonOf(plan, light)).toBe('budget-used');
  });

  it('tries every busy instance whose tasks it knows, the least used first, up to CONSOLIDATION_CANDIDATES_TRIED', () => {
    // Lighter instances whose one task (1300 CPU) fits nowhere; the most used candidate's task
    // (1100 CPU, 3600 MiB) fits in the one room left (an instance whose tasks were not read, so no
    // candidate itself): it is consolidated only if the planner gets that far.
    const stuck = (id: string, extraMemory: number) => busy(1300, 3000 + extraMemory, {}, id);
    const movable = busy(1100, 3600, {}, 'movable');
    const room = instance({ runningTasksCount: 1, remainingCpu: 1200, remainingMemory: 3700, attributes: {} }, 'room');
    const plan = (lighter: number) => {
      const candidates = Array.from({ length: lighter }, (_, index) => stuck(`s${String(index).padStart(2, '0')}`, index));
      return { plan: planScaleIn(snapshot([...candidates, movable, room]), settings({ consolidate: true }), NOW), candidates };
    };
    const within = plan(CONSOLIDATION_CANDIDATES_TRIED - 1);
    expect(within.plan.selected).toEqual([expect.objectContaining({ containerInstanceArn: movable.containerInstanceArn, reason: 'consolidate' })]);
    expect(within.candidates.every((candidate) => reasonOf(within.plan, candidate) === 'tasks-do-not-fit')).toBe(true);
    const beyond = plan(CONSOLIDATION_CANDIDATES_TRIED);
    expect(beyond.plan.selected).toEqual([]);
    // Not tried this run: reported as busy.
    expect(reasonOf(beyond.plan, movable)).toBe('busy');
  });

  it('treats unsized tasks as one lump of everything the instance reserves', () => {
    const light = busy(0, 0, { remainingCpu: 1024, remainingMemory: 1024 }, 'light');
    expect(tasksToMove(light)).toEqual([expect.objectContaining({ cpu: 1024, memory: 3072 })]);
  });
});

describe('planner helpers', () => {
  it('free capacity and schedulable tasks count ACTIVE, connected instances only', () => {
    const instances = [
      instance({ remainingCpu: 1000, remainingMemory: 1000 }),
      instance({ remainingCpu: 700, remainingMemory: 5000 }),
      instance({ status: 'DRAINING', remainingCpu: 4096, remainingMemory: 8192 }),
      instance({ agentConnected: false, remainingCpu: 4096, remainingMemory: 8192 }),
    ];
    expect(freeCapacity(instances)).toEqual({ cpu: 1700, memory: 6000 });
    // min(3, 1) + min(2, 9) = 3
    expect(schedulableTasks(instances, 256, 512)).toBe(3);
  });

  it('placement, largest first with best fit, lets a big task keep its hole', () => {
    const tasks = [
      { taskArn: 'small', origin: 'service' as const, cpu: 100, memory: 100 },
      { taskArn: 'big', origin: 'service' as const, cpu: 1000, memory: 1000 },
    ];
    const fits = (rooms: { cpu: number; memory: number }[]) => place(largestFirst(tasks), rooms).ok;
    expect(fits([{ cpu: 1000, memory: 1000 }, { cpu: 100, memory: 100 }])).toBe(true);
    expect(fits([{ cpu: 1050, memory: 1050 }])).toBe(false);
    expect(place([], []).ok).toBe(true);
  });

  it('attributeChanges sets idle-since on newly idle instances and clears it and stale markers on busy ones', () => {
    const fresh = instance({ attributes: {} }, 'fresh');
    const known = instance({}, 'known');
    const busyAgain = busy(256, 256, { attributes: { 'ecs-ec2-keeper.idle-since': minutesAgo(90) } }, 'again');
    const stale = instance({ attributes: { 'ecs-ec2-keeper.idle-since': minutesAgo(5), 'ecs-ec2-keeper.drained-at': minutesAgo(3) } }, 'stale');
    const draining = instance({ status: 'DRAINING', attributes: {} }, 'draining');
    const changes = attributeChanges(snapshot([fresh, known, busyAgain, stale, draining]), NOW);
    expect(changes.set).toEqual([fresh.containerInstanceArn]);
    expect(changes.clear).toEqual([
      { targetId: busyAgain.containerInstanceArn, name: 'ecs-ec2-keeper.idle-since' },
      { targetId: stale.containerInstanceArn, name: 'ecs-ec2-keeper.drained-at' },
    ]);
  });

  it('instancesToInspect reads only instances whose counts allow daemon-only, plus consolidation candidates', () => {
    const empty = instance({ runningTasksCount: 0 }, 'empty');
    const daemonsOnly = instance({ runningTasksCount: 2 }, 'daemons');
    const tooMany = instance({ runningTasksCount: 3, remainingCpu: 100 }, 'many');
    const lightBusy = instance({ runningTasksCount: 5, remainingCpu: 2000 }, 'light');
    const disconnected = instance({ runningTasksCount: 1, agentConnected: false }, 'disc');
    const groups = snapshot([]).groups;
    expect(instancesToInspect([empty, daemonsOnly, tooMany, lightBusy, disconnected], groups, 2, { consolidate: false, autoScalingGroups: [] })).toEqual([
      daemonsOnly.containerInstanceArn,
    ]);
    expect(instancesToInspect([empty, daemonsOnly, tooMany, lightBusy, disconnected], groups, 2, { consolidate: true, autoScalingGroups: [] })).toEqual(
      [daemonsOnly.containerInstanceArn, tooMany.containerInstanceArn, lightBusy.containerInstanceArn].sort(),
    );
  });
});

describe('taskCount (docs/aws-behaviour.md §2)', () => {
  it('counts a PENDING task once: runningTasksCount already includes it', () => {
    const counts = (running: number, pending: number) => taskCount({ runningTasksCount: running, pendingTasksCount: pending } as SnapshotInstance);
    expect(counts(1, 1)).toBe(1);
    expect(counts(3, 1)).toBe(3);
    expect(counts(0, 0)).toBe(0);
    // Never zero while either count is not, whichever way ECS reports them.
    expect(counts(0, 2)).toBe(2);
  });
});
