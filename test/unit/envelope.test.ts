import { parseEc2Event } from '../../lib/events/ec2';
import { parseEcsTaskEvent } from '../../lib/events/ecs';
import { parseHealthEvent } from '../../lib/events/health';
import { fixture } from '../fixtures';

let REGION = 'us-east-1';

// One EventBridge envelope for every source (lib/events/envelope.ts): each parser takes the Regions
// of every partition and refuses what is not a Region.
describe.each([
  ['EC2', () => parseEc2Event({ ...fixture('spot-interruption-terminate.json'), region: REGION }, { rebalanceDrain: false, stateChangeDrain: false })],
  ['ECS task', () => parseEcsTaskEvent({ ...fixture('ecs-task-stopped.json'), region: REGION }, { clusters: ['prod-ecs'] })],
  ['AWS Health', () => parseHealthEvent({ ...fixture('health-retirement-scheduled.json'), region: REGION }, { scheduledEventDrain: true })],
])('the %s parser', (_name, parse) => {
  it.each(['eusc-de-east-1', 'us-gov-west-1', 'cn-north-1'])('accepts an event from %s', (region) => {
    REGION = region;
    expect(parse().outcome).not.toBe('invalid');
  });

  it('refuses a Region that is not one', () => {
    REGION = 'moon-base-1x';
    expect(parse().outcome).toBe('invalid');
  });
});

