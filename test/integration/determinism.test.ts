import type { SimulationReport } from '../../simulator/report';
import { scenario, withSimulation } from './helpers';

const runOnce = (name: string) => withSimulation(scenario(name), (simulation) => simulation.run());
const withoutTiming = ({ realMs: _realMs, ...rest }: SimulationReport) => rest;

describe('repeatability from the seed', () => {
  it('gives the same run, call for call, without random API faults', async () => {
    const first = await runOnce('tour');
    const second = await runOnce('tour');
    expect(withoutTiming(second)).toEqual(withoutTiming(first));
    expect(first.awsCalls.total).toBeGreaterThan(100);
  });

  it('gives the same end state with random API faults', async () => {
    const endState = (report: SimulationReport) => ({
      tasks: report.tasks,
      drains: report.drains,
      instances: report.instances,
      completed: report.lifecycleActions.completedClean,
      invalidWrites: report.invalidEventsWithWrites,
    });
    const first = await runOnce('tour-with-faults');
    const second = await runOnce('tour-with-faults');
    expect(endState(second)).toEqual(endState(first));
  });
});
