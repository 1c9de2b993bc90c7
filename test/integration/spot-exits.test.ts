import { DRAINED_FOR } from '../../lib/spot/record';
import { runningCount, scenario, withSimulation } from './helpers';

/** The stop/start and scheduled-retirement scenarios end to end (simulator/scenarios). */
describe('instances that leave and come back', () => {
  it('stop-start: drained on stopping, ACTIVE again after it starts, with no record left', async () => {
    await withSimulation(scenario('stop-start'), async (simulation) => {
      const id = 'i-0e0e0e0e0e0e0e0e1';
      const report = await simulation.run();
      const instance = simulation.world.containerInstanceOf(id)!;
      expect(simulation.world.drains.filter((drain) => drain.ec2InstanceId === id)).toHaveLength(1);
      expect(simulation.world.ec2.get(id)!.state).toBe('running');
      expect(instance.status).toBe('ACTIVE');
      expect(instance.agentConnected).toBe(true);
      expect(instance.attributes.has(DRAINED_FOR)).toBe(false);
      const undone = simulation.world.timeline.filter((entry) => entry.message === 'container instance ACTIVE again' && entry.fields?.ec2InstanceId === id);
      const started = simulation.world.timeline.find((entry) => entry.message === 'instance running again' && entry.fields?.ec2InstanceId === id)!;
      expect(undone).toHaveLength(1);
      expect(undone[0]!.at).toBeGreaterThanOrEqual(started.at);
      expect(report.invalidEventsWithWrites).toBe(0);
      expect(runningCount(simulation, 'ops', 'web')).toBe(6);
    });
  });

  it('scheduled-retirement: replaced through its group and drained before the window, 0 tasks killed', async () => {
    await withSimulation(scenario('scheduled-retirement'), async (simulation) => {
      const id = 'i-0c1d2e3f4a5b6c7d8';
      const report = await simulation.run();
      const termination = simulation.world.terminations.find((entry) => entry.ec2InstanceId === id)!;
      expect(termination).toBeDefined();
      expect(termination.cause).toBe('terminate-api');
      expect(termination.unstoppedTasks).toBe(0);
      const windowAt = simulation.world.timeline.find((entry) => entry.kind === 'health' && entry.fields?.statusCode === 'open')!.at;
      expect(termination.at).toBeLessThan(windowAt);
      expect(simulation.world.killedTasks).toEqual([]);
      expect(report.tasks.disrupted).toBe(0);
      // Replaced, not shrunk: the group is back at three InService instances.
      const group = simulation.world.groups.get('prod-asg')!;
      expect(group.desiredCapacity).toBe(3);
      expect([...group.instances.values()].filter((member) => member.lifecycleState === 'InService')).toHaveLength(3);
      // One termination request across the repeated notices.
      const spot = simulation.lambdas.invocations.filter((invocation) => invocation.fn === 'spotInterruption');
      expect(spot.length).toBeGreaterThanOrEqual(4);
      expect(spot.flatMap((invocation) => invocation.calls).filter((call) => call === 'TerminateInstanceInAutoScalingGroup')).toHaveLength(1);
      expect(runningCount(simulation, 'prod', 'web')).toBe(9);
    });
  });
});
