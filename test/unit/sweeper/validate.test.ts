import { planScaleIn } from '../../../lib/sweeper/plan';
import type { SnapshotInstance } from '../../../lib/sweeper/types';
import { recheckPlan } from '../../../lib/sweeper/validate';
import { NOW, busy, group, instance, minutesAgo, settings, snapshot } from './builders';

const freshOf = (instances: SnapshotInstance[], groups = [group('asg', 0, 10)]) => ({
  instances: new Map(instances.map((entry) => [entry.containerInstanceArn, entry])),
  groups: Object.fromEntries(groups.map((entry) => [entry.autoScalingGroupName, entry])),
});

describe('recheckPlan', () => {
  const idle = instance({}, 'idle');
  const plan = planScaleIn(snapshot([idle]), settings(), NOW);

  it('keeps an instance that did not change', () => {
    expect(recheckPlan(plan, freshOf([idle]), [])).toEqual({ terminate: [], drain: plan.selected, dropped: [] });
  });

  it.each<[string, SnapshotInstance | undefined, string]>([
    ['deregistered', undefined, 'gone'],
    ['now DRAINING', { ...idle, status: 'DRAINING' }, 'not-active'],
    ['agent disconnected', { ...idle, agentConnected: false }, 'agent-disconnected'],
    ['protected', { ...idle, group: { ...idle.group!, protectedFromScaleIn: true } }, 'protected'],
    ['terminating', { ...idle, group: { ...idle.group!, lifecycleState: 'Terminating:Wait' } }, 'not-in-service'],
    ['running a task', { ...idle, runningTasksCount: 1, workload: { nonDaemon: [{ taskArn: 't', origin: 'service', cpu: 1, memory: 1 }], daemonTasks: 0 } }, 'busy'],
  ])('drops one %s', (_name, fresh, reason) => {
    const result = recheckPlan(plan, freshOf(fresh ? [fresh] : []), []);
    expect(result.drain).toEqual([]);
    expect(result.dropped).toEqual([{ containerInstanceArn: idle.containerInstanceArn, ec2InstanceId: idle.ec2InstanceId, reason }]);
  });

  it("drops one whose group's minimum was raised", () => {
    const result = recheckPlan(plan, freshOf([idle], [group('asg', 10, 10)]), []);
    expect(result.dropped.map((entry) => entry.reason)).toEqual(['group-at-minimum']);
  });

  it('drops a consolidation when a task arrived that the plan did not fit elsewhere', () => {
    const light = busy(256, 512, {}, 'light');
    const target = busy(512, 512, {}, 'target');
    const consolidation = planScaleIn(snapshot([light, target]), settings({ consolidate: true }), NOW);
    expect(consolidation.selected).toHaveLength(1);
    const arrived = { ...light, workload: { nonDaemon: [...light.workload!.nonDaemon, { taskArn: 'new', origin: 'service' as const, cpu: 256, memory: 256 }], daemonTasks: 0 } };
    expect(recheckPlan(consolidation, freshOf([arrived, target]), []).dropped.map((entry) => entry.reason)).toEqual(['tasks-changed']);
    // Fewer tasks is fine: ECS only moved some already.
    const fewer = { ...light, workload: { nonDaemon: [], daemonTasks: 0 } };
    expect(recheckPlan(consolidation, freshOf([fewer, target]), []).drain).toHaveLength(1);
  });

  it('re-checks a finished drain before terminating it', () => {
    const drained = instance({ status: 'DRAINING', attributes: { 'ecs-ec2-keeper.drained-at': minutesAgo(20) } }, 'drained');
    const finishing = planScaleIn(snapshot([drained]), settings(), NOW);
    expect(finishing.finishing).toEqual([expect.objectContaining({ action: 'terminate' })]);
    expect(recheckPlan(finishing, freshOf([drained]), []).terminate).toHaveLength(1);
    const reactivated = { ...drained, status: 'ACTIVE' };
    expect(recheckPlan(finishing, freshOf([reactivated]), []).dropped.map((entry) => entry.reason)).toEqual(['status-ACTIVE']);
    const stillStopping = { ...drained, workload: { nonDaemon: [{ taskArn: 'stopping', origin: 'service' as const, cpu: 1, memory: 1 }], daemonTasks: 0 } };
    expect(recheckPlan(finishing, freshOf([stillStopping]), []).dropped.map((entry) => entry.reason)).toEqual(['busy']);
  });

  it('counts drains that wait (tasks moving, or a sibling in a fuller zone) against the group minimum first', () => {
    const drained = instance({ status: 'DRAINING', attributes: { 'ecs-ec2-keeper.drained-at': minutesAgo(20) } }, 'drained');
    const waiting = (reason: 'tasks-remaining' | 'zone-balance') => ({
      cluster: 'prod',
      selected: [],
      skipped: [],
      finishing: [
        { containerInstanceArn: 'waiting', ec2InstanceId: 'i-waiting', autoScalingGroupName: 'asg', action: 'wait' as const, reason },
        { containerInstanceArn: drained.containerInstanceArn, ec2InstanceId: drained.ec2InstanceId, autoScalingGroupName: 'asg', action: 'terminate' as const, reason: 'drained' as const },
      ],
      free: { cpu: 0, memory: 0 },
      freeAfter: { cpu: 0, memory: 0 },
      idleInstances: 0,
      schedulableTasks: 0,
    });
    // Desired 3, minimum 1: the waiting drain leaves too, so one more is the most that fits.
    for (const reason of ['tasks-remaining', 'zone-balance'] as const) {
      expect(recheckPlan(waiting(reason), freshOf([drained], [group('asg', 1, 3)]), []).terminate).toHaveLength(1);
      expect(recheckPlan(waiting(reason), freshOf([drained], [group('asg', 2, 3)]), []).dropped.map((entry) => entry.reason)).toEqual(['group-at-minimum']);
    }
  });
});
