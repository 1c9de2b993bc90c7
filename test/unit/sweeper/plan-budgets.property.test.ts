import fc from 'fast-check';
import { disruptionAllowance, isOwnDrain, place, planScaleIn, roomOf, zoneOf } from '../../../lib/sweeper/plan';
import type { ClusterSnapshot, PlanSettings, ReserveTasks, ScaleInPlan, SnapshotInstance } from '../../../lib/sweeper/types';
import { NOW, group, instance, minutesAgo, settings as baseSettings } from './builders';

const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
const GROUPS = ['g1', 'g2'];

const instanceArb = (index: number): fc.Arbitrary<SnapshotInstance> =>
  fc
    .record({
      zone: fc.nat(ZONES.length - 1),
      groupIndex: fc.nat(GROUPS.length - 1),
      weight: fc.constantFrom(undefined, 1, 2, 4),
      used: fc.constantFrom(0, 0, 256, 512, 1024, 1536, 2048),
      ownDrain: fc.constantFrom(false, false, false, true),
      idleMinutes: fc.constantFrom(10, 60, 240),
      optOut: fc.constantFrom(false, false, false, true),
    })
    .map((raw) => {
      const suffix = index.toString(16).padStart(6, '0');
      const ec2InstanceId = `i-${suffix.padStart(17, '0')}`;
      const attributes: Record<string, string> = {};
      if (raw.used === 0) attributes['ecs-ec2-keeper.idle-since'] = minutesAgo(raw.idleMinutes);
      if (raw.ownDrain) attributes['ecs-ec2-keeper.drained-at'] = minutesAgo(5);
      if (raw.optOut) attributes['do-not-disrupt'] = 'true';
      const tasks = raw.used === 0 ? [] : [{ taskArn: `task-${index}`, origin: 'service' as const, cpu: raw.used, memory: raw.used }];
      return instance(
        {
          status: raw.ownDrain ? 'DRAINING' : 'ACTIVE',
          runningTasksCount: tasks.length,
          remainingCpu: 2048 - raw.used,
          remainingMemory: 4096 - raw.used,
          attributes,
          group: {
            instanceId: ec2InstanceId,
            autoScalingGroupName: GROUPS[raw.groupIndex]!,
            lifecycleState: 'InService',
            protectedFromScaleIn: false,
            healthStatus: 'HEALTHY',
            availabilityZone: ZONES[raw.zone]!,
            ...(raw.weight ? { weightedCapacity: raw.weight } : {}),
          },
          workload: { nonDaemon: tasks, daemonTasks: 0 },
        },
        suffix,
      );
    });

const clusterArb = fc.integer({ min: 1, max: 24 }).chain((count) =>
  fc.tuple(
    fc.tuple(...Array.from({ length: count }, (_, index) => instanceArb(index))),
    fc.tuple(fc.nat(6), fc.nat(30)),
    fc.tuple(fc.nat(6), fc.nat(30)),
  ),
);

const settingsArb: fc.Arbitrary<PlanSettings> = fc
  .record({
    maxRemovalsPerRun: fc.integer({ min: 0, max: 6 }),
    maxDraining: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
    maxDrainingPercent: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
    reserve: fc.option(
      fc.record({ count: fc.integer({ min: 1, max: 3 }), cpu: fc.constantFrom(256, 1024, 2048), memory: fc.constantFrom(512, 2048) }),
      { nil: undefined },
    ),
    consolidate: fc.boolean(),
  })
  .map((raw) => ({
    ...baseSettings({ maxRemovalsPerRun: raw.maxRemovalsPerRun, consolidate: raw.consolidate }),
    ...(raw.maxDraining !== undefined ? { maxDraining: raw.maxDraining } : {}),
    ...(raw.maxDrainingPercent !== undefined ? { maxDrainingPercent: raw.maxDrainingPercent } : {}),
    ...(raw.reserve ? { reserveTasks: [raw.reserve as ReserveTasks] } : {}),
  }));

const toSnapshot = ([instances, g1, g2]: [SnapshotInstance[], [number, number], [number, number]]): ClusterSnapshot => ({
  cluster: 'prod',
  instances,
  groups: { g1: group('g1', g1[0], g1[0] + g1[1]), g2: group('g2', g2[0], g2[0] + g2[1]) },
  daemonServices: [],
});

/** Instances per zone of a group that stay after the plan (own drains that are not undone leave). */
function zoneCounts(snapshot: ClusterSnapshot, leaving: ReadonlySet<string>): Map<string, Map<string, number>> {
  const counts = new Map<string, Map<string, number>>();
  for (const instance of snapshot.instances) {
    const name = instance.group!.autoScalingGroupName;
    if (!counts.has(name)) counts.set(name, new Map(ZONES.map((zone) => [zone, 0])));
    if (leaving.has(instance.containerInstanceArn)) continue;
    const zones = counts.get(name)!;
    zones.set(zoneOf(instance)!, zones.get(zoneOf(instance)!)! + 1);
  }
  return counts;
}
const spread = (zones: Map<string, number>) => {
  const present = [...zones.values()];
  return Math.max(...present) - Math.min(...present);
};

describe('planScaleIn properties: budgets, zones, task-shaped reserve', () => {
  /** Checks `check` on 300 generated clusters, with the plan made for each (under `adjust`ed settings). */
  const property = (check: (snapshot: ClusterSnapshot, settings: PlanSettings, plan: ScaleInPlan) => void, adjust = (settings: PlanSettings) => settings) =>
    fc.assert(
      fc.property(clusterArb, settingsArb, (cluster, generated) => {
        const snapshot = toSnapshot(cluster);
        const settings = adjust(generated);
        check(snapshot, settings, planScaleIn(snapshot, settings, NOW));
      }),
      { numRuns: 300 },
    );

  it('never exceeds the disruption budget, counting drains in progress', () =>
    property((snapshot, settings, plan) => {
      const inProgress = plan.finishing.filter((step) => step.action !== 'reactivate').length;
      const allowance = disruptionAllowance(settings, snapshot.instances.length);
      if (plan.selected.length > 0) expect(inProgress + plan.selected.length).toBeLessThanOrEqual(allowance);
    }));

  it('never widens a group’s zone spread beyond one, or beyond what it already was', () =>
    property((snapshot, settings, plan) => {
      const draining = new Set(plan.finishing.filter((step) => step.action !== 'reactivate').map((step) => step.containerInstanceArn));
      const before = zoneCounts(snapshot, draining);
      const after = zoneCounts(snapshot, new Set([...draining, ...plan.selected.map((entry) => entry.containerInstanceArn)]));
      for (const [name, zones] of after) {
        const touched = plan.selected.some((entry) => entry.autoScalingGroupName === name);
        if (touched) expect(spread(zones)).toBeLessThanOrEqual(Math.max(1, spread(before.get(name)!)));
      }
    }));

  it('never terminates a finished drain that leaves its zone two below another while the other drains are still there', () =>
    property((snapshot, settings, plan) => {
      // Terminations happen one by one; drains that wait or go back stay in their zones meanwhile.
      const terminated = new Set<string>();
      const before = zoneCounts(snapshot, terminated);
      for (const step of plan.finishing.filter((entry) => entry.action === 'terminate')) {
        terminated.add(step.containerInstanceArn);
        const zones = zoneCounts(snapshot, terminated).get(step.autoScalingGroupName!)!;
        expect(spread(zones)).toBeLessThanOrEqual(Math.max(1, spread(before.get(step.autoScalingGroupName!)!)));
      }
    }));

  it('keeps the task-shaped reserve placeable in every zone whenever it removes an idle instance', () =>
    property((snapshot, settings, plan) => {
      if (!settings.reserveTasks || plan.selected.length === 0) return;
      const removed = new Set(plan.selected.map((entry) => entry.containerInstanceArn));
      const shapes = settings.reserveTasks.flatMap((entry) => Array.from({ length: entry.count }, () => ({ cpu: entry.cpu, memory: entry.memory })));
      const zones = new Set(snapshot.instances.filter((instance) => instance.status === 'ACTIVE').map((instance) => zoneOf(instance)!));
      for (const zone of zones) {
        const rooms = snapshot.instances
          .filter((instance) => instance.status === 'ACTIVE' && !isOwnDrain(instance) && zoneOf(instance) === zone && !removed.has(instance.containerInstanceArn))
          .map((instance) => roomOf(instance));
        expect(place(shapes, rooms).ok).toBe(true);
      }
    }, (settings) => ({ ...settings, consolidate: false })));

  it('is deterministic: the same input, in any order, gives the same plan', () => {
    fc.assert(
      fc.property(clusterArb, settingsArb, fc.func(fc.integer()), (cluster, settings, key) => {
        const snapshot = toSnapshot(cluster);
        const shuffled = { ...snapshot, instances: [...snapshot.instances].sort((a, b) => key(a.containerInstanceArn) - key(b.containerInstanceArn)) };
        const plan = planScaleIn(snapshot, settings, NOW);
        expect(planScaleIn(snapshot, settings, NOW)).toEqual(plan);
        const again = planScaleIn(shuffled, settings, NOW);
        expect(again.selected).toEqual(plan.selected);
        expect(new Set(again.skipped.map((entry) => `${entry.containerInstanceArn}:${entry.reason}`))).toEqual(
          new Set(plan.skipped.map((entry) => `${entry.containerInstanceArn}:${entry.reason}`)),
        );
      }),
      { numRuns: 200 },
    );
  });
});
