import fixture from '../../events/spot-interruption-terminate.json';
import { DEFAULT_SCENARIO, ScenarioError, loadScenario, parseScenario, scenarioNames } from '../../simulator/scenarios/load';

describe('scenario files', () => {
  it('include the required scenarios and every one of them validates', () => {
    expect(scenarioNames()).toEqual(
      expect.arrayContaining(['spot-storm', 'slow-scale-in', 'scale-in-during-deployment', 'standalone-task', 'daemon-only', 'idle-half-empty']),
    );
    for (const name of scenarioNames()) {
      const scenario = loadScenario(name);
      expect(scenario.name).toBe(name);
      expect(scenario.description.length).toBeGreaterThan(40);
    }
  });

  it('puts the instance of the spot-interruption fixture in the default world', () => {
    expect(loadScenario(DEFAULT_SCENARIO).groups.flatMap((group) => group.instanceIds)).toContain(fixture.detail['instance-id']);
  });

  it('reports every problem of an invalid scenario at once, with its path', () => {
    let message = '';
    try {
      parseScenario({
        name: 'broken',
        durationMinutes: 0,
        clusters: [{ name: 'c' }],
        groups: [{ name: 'g', cluster: 'nope', minSize: 3, maxSize: 2, desiredCapacity: 1, instance: { cpu: 1, memory: 1 } }],
        events: [{ type: 'spot-interruption', atSeconds: 1, group: 'ghost' }, { type: 'warp', atSeconds: 1 }],
      });
    } catch (error) {
      expect(error).toBeInstanceOf(ScenarioError);
      message = (error as Error).message;
    }
    expect(message).toContain('durationMinutes');
    expect(message).toContain('events.1');
    expect(message).not.toBe('');
  });

  it('rejects unknown scenario names with the list of known ones', () => {
    expect(() => loadScenario('../package')).toThrow(/unknown scenario "..\/package"; available: .*spot-storm/);
  });
});
