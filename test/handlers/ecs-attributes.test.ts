import { putInstanceAttributes } from '../../lib/aws/ecs';
import { VirtualClock } from '../../simulator/clock';
import { InProcessAws } from '../../simulator/inprocess';
import { World } from '../../simulator/world/world';

/** putInstanceAttributes against the world's 10-custom-attribute limit (docs/aws-behaviour.md §3.1). */
function setup() {
  const world = new World(new VirtualClock(Date.UTC(2026, 2, 4)), { seed: 2 });
  world.createCluster({ name: 'c' });
  const [free, full] = [0, 1].map(() => world.addInstance({ cluster: 'c', cpu: 2048, memory: 4096 }));
  for (let index = 0; index < 10; index += 1) full!.attributes.set(`team.l${index}`, 'x');
  const aws = new InProcessAws(world);
  return { aws, ecs: aws.clients().ecs, free: free!, full: full! };
}

describe('putInstanceAttributes', () => {
  it('writes the other instances of a batch one by one and returns the full ones (skipFull)', async () => {
    const { aws, ecs, free, full } = setup();
    const result = await putInstanceAttributes(
      ecs,
      'c',
      [free, full].map((instance) => ({ targetId: instance.arn, name: 'x.mark', value: 'v' })),
      { skipFull: true },
    );
    expect(result).toEqual({ full: [full.arn] });
    expect(free.attributes.get('x.mark')).toBe('v');
    expect(full.attributes.has('x.mark')).toBe(false);
    expect(aws.calls('ecs:PutAttributes').map((call) => call.outcome)).toEqual(['AttributeLimitExceededException', 'ok', 'AttributeLimitExceededException']);
  });

  it('without skipFull (the lifecycle lease), writes the others and then throws the limit error', async () => {
    const { ecs, free, full } = setup();
    await expect(
      putInstanceAttributes(ecs, 'c', [free, full].map((instance) => ({ targetId: instance.arn, name: 'x.mark', value: 'v' }))),
    ).rejects.toMatchObject({ name: 'AttributeLimitExceededException' });
    expect(free.attributes.get('x.mark')).toBe('v');
    await expect(putInstanceAttributes(ecs, 'c', [{ targetId: full.arn, name: 'x.lease', value: 'v' }])).rejects.toMatchObject({
      name: 'AttributeLimitExceededException',
    });
  });

  it('passes any other error through, writing nothing more', async () => {
    const { aws, ecs, free } = setup();
    aws.fail({ operation: 'ecs:PutAttributes', error: 'AccessDeniedException' });
    await expect(putInstanceAttributes(ecs, 'c', [{ targetId: free.arn, name: 'x.mark', value: 'v' }], { skipFull: true })).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    expect(aws.calls('ecs:PutAttributes')).toHaveLength(1);
  });
});
