import { attributeChanges } from '../../../lib/sweeper/plan';
import { NOW, busy, instance, minutesAgo, snapshot } from './builders';

describe('anti-churn clock', () => {
  it('starts underused-since on underused busy instances only with consolidation and a delay, and clears it when use rises', () => {
    const light = busy(256, 256, {}, 'light');
    const heavy = busy(1800, 3800, { attributes: { 'ecs-ec2-keeper.underused-since': minutesAgo(30) } }, 'heavy');
    const idle = instance({}, 'idle');
    const snap = snapshot([light, heavy, idle]);
    const changes = attributeChanges(snap, NOW, { consolidate: true, consolidateAfterMinutes: 60, underusedPercent: 50 });
    expect(changes.setUnderused).toEqual([light.containerInstanceArn]);
    expect(changes.clear).toContainEqual({ targetId: heavy.containerInstanceArn, name: 'ecs-ec2-keeper.underused-since' });
    expect(attributeChanges(snap, NOW, { consolidate: true, consolidateAfterMinutes: 0 }).setUnderused).toEqual([]);
    expect(attributeChanges(snap, NOW).setUnderused).toEqual([]);
  });
});
