import { loadSweeperConfig, parseReserveTask, parseWindow } from '../../../lib/sweeper/config';
import { GroupBudget, fitsIn, inWindow, planScaleIn, schedulableTasks } from '../../../lib/sweeper/plan';
import type { SnapshotInstance } from '../../../lib/sweeper/types';
import { NOW, busy, group, instance, minutesAgo, settings, snapshot } from './builders';

const inZone = (zone: string, overrides: Partial<SnapshotInstance> = {}, id?: string) => {
  const base = instance(overrides, id);
  return { ...base, group: { ...base.group!, availabilityZone: zone, ...(overrides.group ?? {}) } };
};
const busyInZone = (zone: string, cpu: number, memory: number, overrides: Partial<SnapshotInstance> = {}, id?: string) => {
  const base = busy(cpu, memory, overrides, id);
  return { ...base, group: { ...base.group!, availabilityZone: zone } };
};
const reasonOf = (plan: ReturnType<typeof planScaleIn>, target: SnapshotInstance) =>
  plan.selected.find((entry) => entry.containerInstanceArn === target.containerInstanceArn)?.reason ??
  plan.skipped.find((entry) => entry.containerInstanceArn === target.containerInstanceArn)?.reason;

describe('planScaleIn: zones, weights, disruption budgets, reserve of tasks', () => {
  it('zone-balance: keeps the only instance of a zone that has fewer instances than another', () => {
    const lone = inZone('us-east-1a', {}, 'lone');
    const b1 = busyInZone('us-east-1b', 1024, 1024, {}, 'b1');
    const b2 = busyInZone('us-east-1b', 1024, 1024, {}, 'b2');
    const plan = planScaleIn(snapshot([lone, b1, b2]), settings(), NOW);
    expect(reasonOf(plan, lone)).toBe('zone-balance');
    expect(plan.selected).toEqual([]);
  });

  it('zone-balance counts every instance of the group, from the group\'s own instance list', () => {
    const idle = inZone('us-east-1a', {}, 'seen');
    const members = [
      { instanceId: idle.ec2InstanceId, availabilityZone: 'us-east-1a', lifecycleState: 'InService' },
      { instanceId: 'i-other-a', availabilityZone: 'us-east-1a', lifecycleState: 'InService' },
      ...['b1', 'b2', 'b3'].map((id) => ({ instanceId: `i-${id}`, availabilityZone: 'us-east-1b', lifecycleState: 'InService' })),
    ];
    expect(reasonOf(planScaleIn(snapshot([idle]), settings(), NOW), idle)).toBe('idle');
    const withMembers = planScaleIn(snapshot([idle], [{ ...group('asg', 0, 10), members }]), settings(), NOW);
    expect(reasonOf(withMembers, idle)).toBe('zone-balance');
  });

  it('prefers the zone with the most instances of the group over the longest idle instance', () => {
    const longIdle = inZone('us-east-1a', { attributes: { 'ecs-ec2-keeper.idle-since': minutesAgo(600) } }, 'long');
    const a2 = busyInZone('us-east-1a', 1024, 1024, {}, 'a2');
    const shortIdle = inZone('us-east-1b', { attributes: { 'ecs-ec2-keeper.idle-since': minutesAgo(60) } }, 'short');
    const b2 = busyInZone('us-east-1b', 1024, 1024, {}, 'b2');
    const b3 = busyInZone('us-east-1b', 1024, 1024, {}, 'b3');
    const plan = planScaleIn(snapshot([longIdle, a2, shortIdle, b2, b3]), settings({ maxRemovalsPerRun: 1 }), NOW);
    expect(plan.selected.map((entry) => entry.containerInstanceArn)).toEqual([shortIdle.containerInstanceArn]);
    expect(reasonOf(plan, longIdle)).toBe('budget-used');
  });

  it('takes from alternating zones when several removals are allowed, never leaving a zone two below another', () => {
    const idle = ['a', 'a', 'b', 'b'].map((zone, index) => inZone(`us-east-1${zone}`, {}, `idle${index}`));
    const plan = planScaleIn(snapshot(idle), settings({ maxRemovalsPerRun: 3 }), NOW);
    expect(plan.selected).toHaveLength(3);
    const zoneOfArn = new Map(idle.map((entry) => [entry.containerInstanceArn, entry.group.availabilityZone]));
    const taken = plan.selected.map((entry) => zoneOfArn.get(entry.containerInstanceArn)).sort();
    // One zone keeps one instance, the other none — within one of each other.
    expect(new Set(taken).size).toBe(2);
    expect(reasonOf(plan, idle.find((entry) => !plan.selected.some((chosen) => chosen.containerInstanceArn === entry.containerInstanceArn))!)).toBe('budget-used');
    expect(planScaleIn(snapshot(idle), settings({ maxRemovalsPerRun: 4 }), NOW).selected).toHaveLength(4);
  });

  it('weights: group-at-minimum counts capacity units', () => {
    const heavy = (id: string) => {
      const base = inZone('us-east-1a', {}, id);
      return { ...base, group: { ...base.group!, weightedCapacity: 4 } };
    };
    const [h1, h2] = [heavy('h1'), heavy('h2')];
    const plan = planScaleIn(snapshot([h1, h2], [group('asg', 4, 8)]), settings(), NOW);
    expect(plan.selected).toHaveLength(1);
    expect(plan.skipped.map((entry) => entry.reason)).toEqual(['group-at-minimum']);
  });

  it('disruption-budget: drains in progress count against MAX_DRAINING', () => {
    const draining = instance({ status: 'DRAINING', runningTasksCount: 1, attributes: { 'ecs-ec2-keeper.drained-at': minutesAgo(5) }, workload: { nonDaemon: [{ taskArn: 't', origin: 'service', cpu: 1, memory: 1 }], daemonTasks: 0 } }, 'draining');
    const idle = instance({}, 'idle');
    const plan = planScaleIn(snapshot([draining, idle]), settings({ maxDraining: 1 }), NOW);
    expect(reasonOf(plan, idle)).toBe('disruption-budget');
    expect(planScaleIn(snapshot([draining, idle]), settings({ maxDraining: 2 }), NOW).selected).toHaveLength(1);
  });

  it('disruption-budget: a percentage is rounded down', () => {
    const idle = Array.from({ length: 9 }, (_, index) => instance({}, `p${index}`));
    expect(planScaleIn(snapshot(idle), settings({ maxDrainingPercent: 10, maxRemovalsPerRun: 5 }), NOW).selected).toHaveLength(0);
    expect(planScaleIn(snapshot(idle), settings({ maxDrainingPercent: 25, maxRemovalsPerRun: 5 }), NOW).selected).toHaveLength(2);
  });

  it('outside-consolidation-window and not-underused-long-enough hold back consolidation, not idle removal', () => {
    const light = busy(256, 256, {}, 'light');
    const other = busy(256, 256, {}, 'other');
    const closed = settings({ consolidate: true, consolidationWindows: [parseWindow('mon-fri 22:00-06:00') as never] });
    expect(reasonOf(planScaleIn(snapshot([light, other]), closed, NOW), light)).toBe('outside-consolidation-window');
    const open = settings({ consolidate: true, consolidationWindows: [parseWindow('wed 11:00-13:00') as never] });
    expect(reasonOf(planScaleIn(snapshot([light, other]), open, NOW), light)).toBe('consolidate');

    const recent = busy(256, 256, { attributes: { 'ecs-ec2-keeper.underused-since': minutesAgo(10) } }, 'recent');
    const target = busy(256, 256, { attributes: {} }, 'target');
    const waiting = settings({ consolidate: true, consolidateAfterMinutes: 60 });
    const plan = planScaleIn(snapshot([recent, target]), waiting, NOW);
    expect(reasonOf(plan, recent)).toBe('not-underused-long-enough');
    const old = { ...recent, attributes: { 'ecs-ec2-keeper.underused-since': minutesAgo(90) } };
    expect(reasonOf(planScaleIn(snapshot([old, target]), waiting, NOW), old)).toBe('consolidate');
  });

  it('do-not-disrupt: the attribute opts an instance out unless it says false', () => {
    const optOut = instance({ attributes: { 'ecs-ec2-keeper.idle-since': minutesAgo(120), 'do-not-disrupt': 'true' } }, 'opt');
    const notOut = instance({ attributes: { 'ecs-ec2-keeper.idle-since': minutesAgo(120), 'do-not-disrupt': 'false' } }, 'notopt');
    const plan = planScaleIn(snapshot([optOut, notOut]), settings(), NOW);
    expect(reasonOf(plan, optOut)).toBe('do-not-disrupt');
    expect(reasonOf(plan, notOut)).toBe('idle');
  });

  it('managed-by-capacity-provider: stands down for a group ECS manages, unless told to cooperate', () => {
    const idle = instance({}, 'cp');
    const groups = [{ ...group('asg', 0, 10), ecsManaged: true }];
    expect(reasonOf(planScaleIn(snapshot([idle], groups), settings(), NOW), idle)).toBe('managed-by-capacity-provider');
    expect(reasonOf(planScaleIn(snapshot([idle], groups), settings({ capacityProviderMode: 'cooperate' }), NOW), idle)).toBe('idle');
  });

  it('eni-limit-unknown: an awsvpc task is not moved to instances whose ENI room is unknown', () => {
    const awsvpc = busy(256, 256, { workload: { nonDaemon: [{ taskArn: 'vpc', origin: 'service', cpu: 256, memory: 256, eni: true }], daemonTasks: 0 } }, 'vpc');
    const target = busy(512, 512, {}, 'target');
    expect(reasonOf(planScaleIn(snapshot([awsvpc, target]), settings({ consolidate: true }), NOW), awsvpc)).toBe('eni-limit-unknown');
    const known = { ...target, attributes: { 'ecs.instance-type': 'm5.large' } };
    expect(reasonOf(planScaleIn(snapshot([awsvpc, known]), settings({ consolidate: true }), NOW), awsvpc)).toBe('consolidate');
    const full = { ...known, workload: { nonDaemon: [1, 2].map((n) => ({ taskArn: `e${n}`, origin: 'service' as const, cpu: 1, memory: 1, eni: true })), daemonTasks: 0 } };
    expect(reasonOf(planScaleIn(snapshot([awsvpc, full]), settings({ consolidate: true }), NOW), awsvpc)).toBe('tasks-do-not-fit');
  });

  it('reserve of tasks: keeps the only instance that can hold a reserve task, although raw free capacity is plenty', () => {
    // Eight instances with 512 CPU free each: 4,096 CPU free, yet no room for one 1,024-CPU task but the idle one.
    const fragments = Array.from({ length: 8 }, (_, index) => busyInZone('us-east-1a', 1536, 1024, {}, `f${index}`));
    const idle = inZone('us-east-1a', {}, 'idle');
    const plain = planScaleIn(snapshot([...fragments, idle]), settings({ minFreeCpu: 1024 }), NOW);
    expect(reasonOf(plain, idle)).toBe('idle');
    const shaped = planScaleIn(snapshot([...fragments, idle]), settings({ minFreeCpu: 1024, reserveTasks: [{ count: 1, cpu: 1024, memory: 1024 }] }), NOW);
    expect(reasonOf(shaped, idle)).toBe('reserve-would-break');
  });

  it('reserve of tasks is per zone: a zone left without room breaks it', () => {
    const a = inZone('us-east-1a', {}, 'a');
    const a2 = inZone('us-east-1a', {}, 'a2');
    const b = busyInZone('us-east-1b', 2000, 1024, {}, 'b');
    const b2 = busyInZone('us-east-1b', 2000, 1024, {}, 'b2');
    const plan = planScaleIn(snapshot([a, a2, b, b2]), settings({ reserveTasks: [{ count: 1, cpu: 1024, memory: 1024 }] }), NOW);
    // Zone b holds no 1,024-CPU task already: every removal would leave the reserve broken.
    expect(plan.selected).toEqual([]);
  });

  it('a group spanning two clusters is budgeted once with a shared ledger', () => {
    const one = instance({ cluster: 'one' }, 'one');
    const two = instance({ cluster: 'two' }, 'two');
    const groups = [group('asg', 1, 2)];
    const ledger = new GroupBudget({});
    const first = planScaleIn({ ...snapshot([one], groups), cluster: 'one' }, settings(), NOW, ledger);
    const second = planScaleIn({ ...snapshot([two], groups), cluster: 'two' }, settings(), NOW, ledger);
    expect(first.selected).toHaveLength(1);
    expect(reasonOf(second, two)).toBe('group-at-minimum');
    // Without the ledger each cluster would have removed one: the group would fall below its minimum.
    expect(planScaleIn({ ...snapshot([two], groups), cluster: 'two' }, settings(), NOW).selected).toHaveLength(1);
  });
});

describe('fit check: GPUs, host ports, ENIs', () => {
  it.each([
    ['cpu and memory only', { cpu: 100, memory: 100 }, { cpu: 100, memory: 100 }, true],
    ['a GPU task on an instance without GPUs', { cpu: 100, memory: 100 }, { cpu: 10, memory: 10, gpu: 1 }, false],
    ['a GPU task with a GPU free', { cpu: 100, memory: 100, gpu: 1 }, { cpu: 10, memory: 10, gpu: 1 }, true],
    ['a host port already taken', { cpu: 100, memory: 100, usedPorts: new Set(['tcp/80']) }, { cpu: 10, memory: 10, hostPorts: ['tcp/80'] }, false],
    ['the same port in UDP', { cpu: 100, memory: 100, usedPorts: new Set(['tcp/53']) }, { cpu: 10, memory: 10, hostPorts: ['udp/53'] }, true],
    ['an ENI where the count is unknown', { cpu: 100, memory: 100 }, { cpu: 10, memory: 10, eni: true }, 'unknown'],
    ['an ENI where none is free', { cpu: 100, memory: 100, enis: 0 }, { cpu: 10, memory: 10, eni: true }, false],
  ] as const)('%s', (_name, room, task, expected) => {
    expect(fitsIn(room, task)).toBe(expected);
  });

  it('SchedulableTasks counts what the fit check would place, one static port per instance', () => {
    const free = instance({ usedPorts: ['tcp/22'] }, 'ports');
    expect(schedulableTasks([free], 256, 512)).toBe(8);
  });
});

describe('schedule windows and new settings', () => {
  it.each([
    ['wed 11:00-13:00', NOW, true],
    ['mon-fri 22:00-06:00', NOW, false],
    ['mon-fri 22:00-06:00', Date.parse('2026-03-05T03:00:00Z'), true],
    ['sat-sun 00:00-24:00', NOW, false],
    ['10:00-14:00', NOW, true],
  ])('%s at %s', (text, now, expected) => {
    const window = parseWindow(text);
    expect(typeof window).toBe('object');
    expect(inWindow([window as never], now)).toBe(expected);
  });

  it('parses reserve tasks and rejects malformed ones', () => {
    expect(parseReserveTask('2x1024/2048')).toEqual({ count: 2, cpu: 1024, memory: 2048 });
    expect(parseReserveTask('1x4096/16384/gpu=1/eni/port=tcp/80')).toEqual({ count: 1, cpu: 4096, memory: 16384, gpu: 1, eni: true, hostPorts: ['tcp/80'] });
    expect(typeof parseReserveTask('2 tasks')).toBe('string');
  });

  it('reads and validates the new settings at cold start', () => {
    const config = loadSweeperConfig({
      MAX_DRAINING: '3',
      MAX_DRAINING_PERCENT: '20',
      CONSOLIDATION_WINDOWS: 'mon-fri 22:00-06:00, sat-sun 00:00-24:00',
      CONSOLIDATE_AFTER_MINUTES: '45',
      UNDERUSED_PERCENT: '40',
      RESERVE_TASKS: '2x1024/2048',
      CAPACITY_PROVIDERS: 'cooperate',
    });
    expect(config).toMatchObject({
      maxDraining: 3,
      maxDrainingPercent: 20,
      consolidateAfterMinutes: 45,
      underusedPercent: 40,
      reserveTasks: [{ count: 2, cpu: 1024, memory: 2048 }],
      capacityProviderMode: 'cooperate',
    });
    expect(config.consolidationWindows).toHaveLength(2);
    expect(loadSweeperConfig({})).toMatchObject({ consolidationWindows: [], reserveTasks: [], capacityProviderMode: 'stand-down', consolidateAfterMinutes: 0 });
    expect(loadSweeperConfig({}).maxDraining).toBeUndefined();
    for (const bad of [{ MAX_DRAINING: '-1' }, { MAX_DRAINING_PERCENT: '101' }, { CONSOLIDATION_WINDOWS: 'mon 25:00-26:00' }, { RESERVE_TASKS: '1x0/2' }, { CAPACITY_PROVIDERS: 'fight' }]) {
      expect(() => loadSweeperConfig(bad)).toThrow();
    }
  });
});

describe('planScaleIn: zone balance when finishing earlier drains', () => {
  const drainedIn = (zone: string, id: string) => {
    const base = instance({ status: 'DRAINING', attributes: { 'ecs-ec2-keeper.drained-at': minutesAgo(10) } }, id);
    return { ...base, group: { ...base.group!, availabilityZone: zone } };
  };
  const member = (instanceId: string, availabilityZone: string, lifecycleState = 'InService') => ({ instanceId, availabilityZone, lifecycleState });

  it('sets a drained instance ACTIVE again (zone-balance) when terminating it would leave its zone two below another', () => {
    // Since the drain, a launch went to us-east-1a: a=3, b=2 with the drained one, c=2. Terminating
    // it leaves b at 1 and Auto Scaling's AZRebalance would terminate a busy instance in a.
    const drained = drainedIn('us-east-1b', 'drained');
    const members = [
      member('i-a1', 'us-east-1a'), member('i-a2', 'us-east-1a'), member('i-a3', 'us-east-1a'),
      member(drained.ec2InstanceId, 'us-east-1b'), member('i-b2', 'us-east-1b'),
      member('i-c1', 'us-east-1c'), member('i-c2', 'us-east-1c'),
    ];
    const plan = planScaleIn(snapshot([drained], [{ ...group('asg', 0, 7), members }]), settings(), NOW);
    expect(plan.finishing).toEqual([expect.objectContaining({ action: 'reactivate', reason: 'zone-balance' })]);
    // Balanced zones: the same drain terminates.
    const balanced = members.filter((entry) => entry.instanceId !== 'i-a3');
    const ok = planScaleIn(snapshot([drained], [{ ...group('asg', 0, 6), members: balanced }]), settings(), NOW);
    expect(ok.finishing).toEqual([expect.objectContaining({ action: 'terminate', reason: 'drained' })]);
  });

  it('terminates finished drains fullest zone first, so two drains of one run both end whatever their ARNs', () => {
    const inA = drainedIn('us-east-1a', 'zz-a');
    const inB = drainedIn('us-east-1b', 'aa-b');
    const members = [
      member(inA.ec2InstanceId, 'us-east-1a'), member('i-a2', 'us-east-1a'), member('i-a3', 'us-east-1a'), member('i-a4', 'us-east-1a'),
      member(inB.ec2InstanceId, 'us-east-1b'), member('i-b2', 'us-east-1b'), member('i-b3', 'us-east-1b'),
      member('i-c1', 'us-east-1c'), member('i-c2', 'us-east-1c'), member('i-c3', 'us-east-1c'),
    ];
    // a=4, b=3, c=3, one drain in a and one in b (whose ARN sorts first). Ending b's first would
    // leave b=2 beside a=4 and set it ACTIVE again; ending a's first gives a=3, then b=2: balanced.
    const plan = planScaleIn(snapshot([inB, inA], [{ ...group('asg', 0, 10), members }]), settings(), NOW);
    expect(plan.finishing.map((step) => [step.ec2InstanceId, step.action])).toEqual([
      [inA.ec2InstanceId, 'terminate'],
      [inB.ec2InstanceId, 'terminate'],
    ]);
  });

  it('an empty drain that would unbalance the zones waits (zone-balance) while a sibling drain in the fuller zone still moves its tasks', () => {
    const inB = drainedIn('us-east-1b', 'empty-b');
    const movingA = { ...drainedIn('us-east-1a', 'moving-a'), runningTasksCount: 1 };
    const members = [
      member(movingA.ec2InstanceId, 'us-east-1a'), member('i-a2', 'us-east-1a'), member('i-a3', 'us-east-1a'), member('i-a4', 'us-east-1a'),
      member(inB.ec2InstanceId, 'us-east-1b'), member('i-b2', 'us-east-1b'), member('i-b3', 'us-east-1b'),
      member('i-c1', 'us-east-1c'), member('i-c2', 'us-east-1c'), member('i-c3', 'us-east-1c'),
    ];
    const plan = planScaleIn(snapshot([inB, movingA], [{ ...group('asg', 0, 10), members }]), settings(), NOW);
    expect(plan.finishing).toEqual([
      expect.objectContaining({ ec2InstanceId: inB.ec2InstanceId, action: 'wait', reason: 'zone-balance' }),
      expect.objectContaining({ ec2InstanceId: movingA.ec2InstanceId, action: 'wait', reason: 'tasks-remaining' }),
    ]);
    // Both still count as leaving for the group's minimum.
    const tight = planScaleIn(snapshot([inB, movingA], [{ ...group('asg', 8, 10), members }]), settings(), NOW);
    expect(tight.finishing.map((step) => step.action)).toEqual(['wait', 'wait']);
    const tighter = planScaleIn(snapshot([inB, movingA], [{ ...group('asg', 9, 10), members }]), settings(), NOW);
    expect(tighter.finishing.map((step) => step.action)).toEqual(['wait', 'reactivate']);
    // Without the sibling, the same drain goes back into service.
    const alone = planScaleIn(snapshot([inB], [{ ...group('asg', 0, 10), members }]), settings(), NOW);
    expect(alone.finishing).toEqual([expect.objectContaining({ action: 'reactivate', reason: 'zone-balance' })]);
  });

  it('counts instances still launching (Pending) in their zone', () => {
    const idle = inZone('us-east-1b', {}, 'idle-b');
    const members = [
      member('i-a1', 'us-east-1a'), member('i-a2', 'us-east-1a', 'Pending'),
      member(idle.ec2InstanceId, 'us-east-1b'), member('i-b2', 'us-east-1b'),
      member('i-c1', 'us-east-1c'), member('i-c2', 'us-east-1c'),
    ];
    // a=2 (one launching), b=2, c=2: taking b to 1 is within one of the others.
    expect(reasonOf(planScaleIn(snapshot([idle], [{ ...group('asg', 0, 6), members }]), settings(), NOW), idle)).toBe('idle');
    // a=3 with a second launch: b would end two below a.
    const more = [...members, member('i-a3', 'us-east-1a', 'Pending')];
    expect(reasonOf(planScaleIn(snapshot([idle], [{ ...group('asg', 0, 7), members: more }]), settings(), NOW), idle)).toBe('zone-balance');
  });
});
