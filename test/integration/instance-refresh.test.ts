import { formatReport } from '../../simulator/report';
import { scenario, withSimulation } from './helpers';

/**
 * The launch hook and the termination hook together, end to end over HTTP: the scenario
 * `instance-refresh` replaces every instance of a group while the unmodified lifecycle function
 * holds each new instance until ECS can place on it and drains each old one.
 */
describe('instance refresh with a launch hook and a termination hook', () => {
  it('replaces every instance with no task disrupted and no new instance InService before it is ready for ECS', async () => {
    await withSimulation(scenario('instance-refresh'), async (simulation) => {
      const { world } = simulation;
      const original = simulation.groupInstances('web-asg');
      const report = await simulation.run();

      expect(report.instanceRefreshes).toMatchObject({ started: 1, successful: 1, replaced: 4 });
      expect(simulation.groupInstances('web-asg').some((id) => original.includes(id))).toBe(false);
      expect(report.tasks).toEqual({ killed: 0, disrupted: 0, killedByOrigin: { service: 0, daemon: 0, standalone: 0 } });
      expect(report.launches).toMatchObject({ started: 4, continued: 4, abandoned: 0, expired: 0, stillWaiting: 0, inServiceBeforeReady: 0 });
      expect(report.lifecycleActions).toMatchObject({ started: 4, completedClean: 4, completedForced: 0, expired: 0 });

      // Each new instance went InService only after its log router ran there, and within one poll
      // (LAUNCH_POLL_INTERVAL_SECONDS, 15 s) plus Pending:Proceed of it; the GPU exporter, whose
      // constraint leaves m5.xlarge out, was never waited for.
      const entries = world.inService.filter((entry) => entry.groupName === 'web-asg');
      expect(entries).toHaveLength(4);
      for (const entry of entries) {
        expect(entry).toMatchObject({ launchHooks: 1, containerInstance: 'ACTIVE', daemonsNotRunning: [] });
        const instance = world.containerInstanceOf(entry.ec2InstanceId)!;
        const daemons = world.tasksOn(instance).filter((task) => task.daemon);
        expect(daemons.map((task) => task.serviceName)).toEqual(['log-router']);
        expect(entry.at - daemons[0]!.startedAt!).toBeGreaterThanOrEqual(0);
        expect(entry.at - daemons[0]!.startedAt!).toBeLessThanOrEqual(16_000);
      }

      // The report names every launch and how long the hook held it: at least the boot, the agent's
      // registration and the daemon's start (60 + 20 s), at most one poll more.
      expect(report.launches.held.map((entry) => entry.ec2InstanceId).sort()).toEqual(entries.map((entry) => entry.ec2InstanceId).sort());
      for (const held of report.launches.held) {
        expect(held).toMatchObject({ result: 'CONTINUE', endedBy: 'handler' });
        expect(held.seconds).toBeGreaterThanOrEqual(80);
        expect(held.seconds).toBeLessThanOrEqual(96);
      }
      const text = formatReport(report);
      for (const held of report.launches.held) expect(text).toContain(`${held.ec2InstanceId}`);
      expect(text).toMatch(/InService before ACTIVE with its daemons RUNNING\.+ 0/);

      // Old instances went only once replacements were InService: the api never ran short.
      const terminations = world.terminations.filter((termination) => termination.cause === 'instance-refresh');
      const firstInService = Math.min(...entries.map((entry) => entry.at));
      expect(terminations).toHaveLength(4);
      for (const termination of terminations) expect(termination.at).toBeGreaterThan(firstInService);
      expect(report.invalidEventsWithWrites).toBe(0);
    });
  });
});
