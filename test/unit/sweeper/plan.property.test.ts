import fc from 'fast-check';
import { freeCapacity, isIdle, planScaleIn, tasksToMove } from '../../../lib/sweeper/plan';
import type { ClusterSnapshot, PlanSettings, ScaleInPlan, SnapshotInstance } from '../../../lib/sweeper/types';
import { NOW, group, instance, minutesAgo } from './builders';

const GROUPS = ['g1', 'g2', 'g3'];

const groupsArb = fc.tuple(...GROUPS.map(() => fc.tuple(fc.nat(6), fc.nat(8)))).map((sizes) =>
  sizes.map(([min, extra], index) => group(GROUPS[index]!, min, min + extra)),
);

const taskArb = (id: number) =>
  fc.record({
    taskArn: fc.constant(`task-${id}`),
    origin: fc.constantFrom('service' as const, 'service' as const, 'standalone' as const),
    cpu: fc.constantFrom(0, 128, 256, 512, 1024),
    memory: fc.constantFrom(0, 256, 512, 1024, 2048),
  });

const instanceArb = (index: number): fc.Arbitrary<SnapshotInstance> =>
  fc
    .record({
      status: fc.constantFrom('ACTIVE', 'ACTIVE', 'ACTIVE', 'ACTIVE', 'DRAINING', 'REGISTERING', 'DEREGISTERING'),
      agentConnected: fc.constantFrom(true, true, true, false),
      runningTasksCount: fc.nat(4),
      pendingTasksCount: fc.constantFrom(0, 0, 0, 1),
      registeredCpu: fc.constantFrom(1024, 2048, 4096),
      registeredMemory: fc.constantFrom(2048, 4096, 8192),
      usedCpu: fc.double({ min: 0, max: 1, noNaN: true }),
      usedMemory: fc.double({ min: 0, max: 1, noNaN: true }),
      idleMinutes: fc.option(fc.integer({ min: -10, max: 600 }), { nil: undefined }),
      drainedMinutes: fc.option(fc.integer({ min: 0, max: 120 }), { nil: undefined }),
      groupIndex: fc.option(fc.nat(GROUPS.length), { nil: undefined }),
      lifecycleState: fc.constantFrom('InService', 'InService', 'InService', 'Terminating:Wait', 'Standby', 'Pending'),
      protectedFromScaleIn: fc.boolean(),
      workload: fc.option(
        fc.record({ nonDaemon: fc.array(taskArb(index), { maxLength: 2 }), daemonTasks: fc.nat(2) }),
        { nil: undefined },
      ),
    })
    .map((raw) => {
      const suffix = index.toString(16).padStart(6, '0');
      const ec2InstanceId = `i-${suffix.padStart(17, '0')}`;
      const attributes: Record<string, string> = {};
      if (raw.idleMinutes !== undefined) attributes['ecs-ec2-keeper.idle-since'] = minutesAgo(raw.idleMinutes);
      if (raw.drainedMinutes !== undefined) attributes['ecs-ec2-keeper.drained-at'] = minutesAgo(raw.drainedMinutes);
      // Index GROUPS.length stands for a group DescribeAutoScalingGroups did not return.
      const groupName = raw.groupIndex === undefined ? undefined : (GROUPS[raw.groupIndex] ?? 'ghost');
      return instance(
        {
          status: raw.status,
          agentConnected: raw.agentConnected,
          runningTasksCount: raw.runningTasksCount,
          pendingTasksCount: raw.pendingTasksCount,
          registeredCpu: raw.registeredCpu,
          registeredMemory: raw.registeredMemory,
          remainingCpu: Math.floor(raw.registeredCpu * (1 - raw.usedCpu)),
          remainingMemory: Math.floor(raw.registeredMemory * (1 - raw.usedMemory)),
          registeredAt: minutesAgo(1000 + index),
          attributes,
          group: groupName
            ? { instanceId: ec2InstanceId, autoScalingGroupName: groupName, lifecycleState: raw.lifecycleState, protectedFromScaleIn: raw.protectedFromScaleIn, healthStatus: 'HEALTHY' }
            : undefined,
          workload: raw.workload,
        },
        suffix,
      );
    });

const snapshotArb: fc.Arbitrary<ClusterSnapshot> = fc
  .tuple(groupsArb, fc.integer({ min: 0, max: 24 }))
  .chain(([groups, size]) =>
    fc.tuple(...Array.from({ length: size }, (_, index) => instanceArb(index))).map((instances) => ({
      cluster: 'prod',
      instances,
      groups: Object.fromEntries(groups.map((entry) => [entry.autoScalingGroupName, entry])),
      daemonServices: [],
    })),
  );

const settingsArb: fc.Arbitrary<PlanSettings> = fc.record({
  autoScalingGroups: fc.constantFrom([], ['g1', 'g2'], ['g3']),
  minIdleMinutes: fc.constantFrom(0, 15, 30, 120),
  minFreeCpu: fc.constantFrom(0, 512, 1024, 4096),
  minFreeMemory: fc.constantFrom(0, 1024, 2048, 8192),
  maxRemovalsPerRun: fc.nat(4),
  consolidate: fc.boolean(),
  schedulableTaskCpu: fc.constantFrom(256, 512),
  schedulableTaskMemory: fc.constantFrom(512, 1024),
});

const byArn = (snapshot: ClusterSnapshot) => new Map(snapshot.instances.map((instance) => [instance.containerInstanceArn, instance]));

function leavingByGroup(plan: ScaleInPlan): Map<string, number> {
  const leaving = new Map<string, number>();
  const add = (name: string | undefined) => name && leaving.set(name, (leaving.get(name) ?? 0) + 1);
  for (const entry of plan.selected) add(entry.autoScalingGroupName);
  for (const step of plan.finishing) {
    if (step.action === 'terminate' || (step.action === 'wait' && step.reason === 'tasks-remaining')) add(step.autoScalingGroupName);
  }
  return leaving;
}

describe('planScaleIn properties', () => {
  const property = (check: (snapshot: ClusterSnapshot, settings: PlanSettings, plan: ScaleInPlan) => void) =>
    fc.assert(
      fc.property(snapshotArb, settingsArb, (snapshot, settings) => check(snapshot, settings, planScaleIn(snapshot, settings, NOW))),
      { numRuns: 400 },
    );

  it('never takes a group below its minimum, counting removals in flight', () =>
    property((snapshot, _settings, plan) => {
      const selectedOrTerminated = new Set([
        ...plan.selected.map((entry) => entry.autoScalingGroupName),
        ...plan.finishing.filter((step) => step.action === 'terminate').map((step) => step.autoScalingGroupName),
      ]);
      for (const [name, leaving] of leavingByGroup(plan)) {
        if (!selectedOrTerminated.has(name)) continue;
        const entry = snapshot.groups[name]!;
        expect(entry.desiredCapacity - leaving).toBeGreaterThanOrEqual(entry.minSize);
      }
    }));

  it('never breaks the reserve', () =>
    property((snapshot, settings, plan) => {
      if (plan.selected.length === 0) return;
      const instances = byArn(snapshot);
      const free = freeCapacity(snapshot.instances);
      let cpu = free.cpu;
      let memory = free.memory;
      for (const entry of plan.selected) {
        const instance = instances.get(entry.containerInstanceArn)!;
        cpu -= instance.remainingCpu;
        memory -= instance.remainingMemory;
        if (entry.reason === 'consolidate') {
          for (const task of tasksToMove(instance)) {
            cpu -= task.cpu;
            memory -= task.memory;
          }
        }
      }
      expect(cpu).toBeGreaterThanOrEqual(settings.minFreeCpu);
      expect(memory).toBeGreaterThanOrEqual(settings.minFreeMemory);
      expect(plan.freeAfter).toEqual({ cpu, memory });
    }));

  it('never selects a busy, protected, disconnected, non-ACTIVE, unmanaged or not-InService instance', () =>
    property((snapshot, settings, plan) => {
      const instances = byArn(snapshot);
      for (const entry of plan.selected) {
        const instance = instances.get(entry.containerInstanceArn)!;
        expect(instance.status).toBe('ACTIVE');
        expect(instance.agentConnected).toBe(true);
        expect(instance.group?.protectedFromScaleIn).toBe(false);
        expect(instance.group?.lifecycleState).toBe('InService');
        expect(Object.keys(snapshot.groups)).toContain(instance.group?.autoScalingGroupName);
        if (settings.autoScalingGroups.length > 0) expect(settings.autoScalingGroups).toContain(instance.group?.autoScalingGroupName);
        if (entry.reason === 'idle') {
          expect(isIdle(instance)).toBe(true);
          expect(entry.idleMinutes).toBeGreaterThanOrEqual(settings.minIdleMinutes);
        } else {
          expect(settings.consolidate).toBe(true);
          expect(instance.workload?.nonDaemon.some((task) => task.origin === 'standalone')).toBe(false);
        }
      }
    }));

  it('never exceeds the budget, and consolidates at most one instance', () =>
    property((_snapshot, settings, plan) => {
      expect(plan.selected.length).toBeLessThanOrEqual(settings.maxRemovalsPerRun);
      expect(plan.selected.filter((entry) => entry.reason === 'consolidate').length).toBeLessThanOrEqual(1);
    }));

  it('gives every instance exactly one outcome', () =>
    property((snapshot, _settings, plan) => {
      const outcomes = [...plan.selected.map((entry) => entry.containerInstanceArn), ...plan.skipped.map((entry) => entry.containerInstanceArn)];
      expect(outcomes.sort()).toEqual(snapshot.instances.map((instance) => instance.containerInstanceArn).sort());
    }));

  it('is deterministic: the same input, in any order, gives the same plan', () =>
    fc.assert(
      fc.property(snapshotArb, settingsArb, fc.nat(), (snapshot, settings, seed) => {
        const first = planScaleIn(snapshot, settings, NOW);
        expect(planScaleIn(structuredClone(snapshot), settings, NOW)).toEqual(first);
        const shuffled = [...snapshot.instances].sort((a, b) => ((a.ec2InstanceId.charCodeAt(20) ^ seed) & 7) - ((b.ec2InstanceId.charCodeAt(20) ^ seed) & 7));
        const reordered = planScaleIn({ ...snapshot, instances: shuffled }, settings, NOW);
        expect(reordered.selected).toEqual(first.selected);
        expect(reordered.finishing).toEqual(first.finishing);
        expect([...reordered.skipped].sort((a, b) => a.containerInstanceArn.localeCompare(b.containerInstanceArn))).toEqual(
          [...first.skipped].sort((a, b) => a.containerInstanceArn.localeCompare(b.containerInstanceArn)),
        );
      }),
      { numRuns: 200 },
    ));
});
