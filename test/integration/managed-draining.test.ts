import type { CustomNotification } from '../../lib/notify';
import { LIFECYCLE_HOOK, SCALE_IN_SWEEPER } from '../../lib/functions';
import { scenario, withSimulation } from './helpers';

/**
 * The scenarios managed-draining and retained-instance end to end, the functions over HTTP against
 * the simulator (docs/aws-behaviour.md §3.4, §3.5).
 */
describe('a capacity provider with managed draining next to a plain group', () => {
  it('ECS drains its group, the suite drains the plain one; no conflicting write, no task killed, and the report says who drained', async () => {
    await withSimulation(scenario('managed-draining'), async (simulation) => {
      const report = await simulation.run();
      const { world } = simulation;
      const managed = new Set(world.groups.get('cp-asg')!.instances.keys());
      for (const termination of world.terminations) if (termination.groupName === 'cp-asg') managed.add(termination.ec2InstanceId);

      expect(report.tasks).toMatchObject({ killed: 0, disrupted: 0 });
      expect(report.drainsBy).toEqual({ 'ecs-managed-draining': 3, api: 1 });
      for (const drain of report.drainedBy) expect(drain.by).toBe(managed.has(drain.ec2InstanceId) ? 'ecs-managed-draining' : 'api');
      // The suite made no DRAINING request for instances ECS drained.
      expect(report.managedDraining).toEqual({ tookOver: 3, alreadyDraining: 0, apiDrainWrites: 0 });
      // The instances ECS drained: no ECS write of the suite's names them.
      const arns = world.managedDrains.map((entry) => world.containerInstanceOf(entry.ec2InstanceId)?.arn).filter((arn): arn is string => arn !== undefined);
      expect(arns).toHaveLength(3);
      const ecsWritesOnManaged = simulation.callLog
        .writes()
        .filter((call) => call.service === 'ecs' && arns.some((arn) => JSON.stringify(call.input).includes(arn)));
      expect(ecsWritesOnManaged).toEqual([]);

      // The suite's hook was completed at once with CONTINUE (managed-draining); ECS's hook held the instance.
      // The plain group's drain was completed by its last task's STOPPED event (the task rule is on).
      const telemetry = simulation.telemetry[LIFECYCLE_HOOK];
      expect(telemetry.metricTotal('LifecycleCompleted', { reason: 'managed-draining', result: 'CONTINUE' })).toBe(3);
      expect(telemetry.metricTotal('TaskEvent', { outcome: 'completed' })).toBe(1);
      expect(telemetry.metricTotal('InstanceDrained')).toBe(1);
      expect(report.lifecycleActions).toMatchObject({ completedWhileOthersHeld: 3, completedForced: 0, expired: 0, stillActive: 0 });
      for (const action of world.lifecycleActions.values()) {
        if (action.hookName === 'ecs-managed-draining-termination-hook') expect(action).toMatchObject({ state: 'completed', result: 'CONTINUE', unstoppedTasksAtEnd: 0 });
      }
      expect(report.instances.terminatedWithTasksAfterCompletion).toBe(0);

      // The sweeper stood down in the capacity provider's group, with the reason in its plan.
      const sweeps = simulation.telemetry[SCALE_IN_SWEEPER].logs.filter((entry) => entry.message === 'sweep decision');
      expect(sweeps.length).toBeGreaterThan(0);
      for (const sweep of sweeps) expect((sweep.fields?.skippedByReason as Record<string, number>)['managed-scaling']).toBeGreaterThan(0);
    });
  });
});

describe('a group that retains abandoned instances', () => {
  it('a drain cut short with ABANDON leaves the instance retained and running; the chain ends and the operators are told', async () => {
    await withSimulation(scenario('retained-instance'), async (simulation) => {
      const notices: CustomNotification[] = [];
      simulation.world.subscribe('arn:aws:sns:us-east-1:123456789012:ops', (record) => notices.push(JSON.parse(record.Sns.Message) as CustomNotification));
      const report = await simulation.run();
      const [retained] = simulation.world.retainedInstances;
      expect(report.instances.retained).toBe(1);
      expect(report.instances.removed).toBe(0);
      // The job runs on: nothing was killed, the instance is running and DRAINING.
      expect(report.tasks).toMatchObject({ killed: 0, disrupted: 0 });
      expect(simulation.world.ec2.get(retained!.ec2InstanceId)!.state).toBe('running');
      expect(simulation.world.containerInstanceOf(retained!.ec2InstanceId)!.status).toBe('DRAINING');
      expect(notices.map((notice) => notice.metadata.eventType)).toEqual(['ecs-ec2-keeper.deadline', 'ecs-ec2-keeper.retained']);
      expect(notices[1]!.content.title).toContain(`${retained!.ec2InstanceId} is retained`);
      const telemetry = simulation.telemetry[LIFECYCLE_HOOK];
      expect(telemetry.metricTotal('InstanceRetained')).toBe(1);
      expect(telemetry.metricTotal('LifecycleRequeued')).toBe(0);
      // The group replaced it: two instances in service besides the retained one.
      expect([...simulation.world.groups.get('jobs-asg')!.instances.values()].filter((member) => member.lifecycleState === 'InService')).toHaveLength(2);
    });
  });
});
