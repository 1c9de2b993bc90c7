import { VirtualClock } from '../../simulator/clock';

const realDelay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('VirtualClock', () => {
  it('fires timers in time order, same-time timers in creation order, and stops at the limit', async () => {
    const clock = new VirtualClock(0);
    const fired: string[] = [];
    clock.schedule(300, () => fired.push('c'));
    clock.schedule(100, () => fired.push('a'));
    clock.schedule(100, () => fired.push('b'));
    const cancelled = clock.schedule(200, () => fired.push('x'));
    clock.cancel(cancelled);
    await clock.runUntil(250);
    expect(fired).toEqual(['a', 'b']);
    expect(clock.now()).toBe(250);
    await clock.runUntil(1000);
    expect(fired).toEqual(['a', 'b', 'c']);
  });

  it('does not advance while an activity works in real time, only once it sleeps on the virtual clock', async () => {
    const clock = new VirtualClock(0);
    const seen: number[] = [];
    clock.schedule(1_000, () => seen.push(clock.now()));
    const { done } = clock.track(async () => {
      // Real work (an HTTP round trip, say): virtual time must stand still meanwhile.
      await realDelay(20);
      seen.push(clock.now());
      await clock.sleep(5_000);
      seen.push(clock.now());
      return 'finished';
    });
    await clock.runUntil(10_000);
    expect(seen).toEqual([0, 1_000, 5_000]);
    await expect(done).resolves.toBe('finished');
  });

  it('holds time while a request is in flight, unless a virtual sleep (retry backoff) holds the request up', async () => {
    const clock = new VirtualClock(0);
    const order: string[] = [];
    clock.schedule(10, () => order.push(`timer@${clock.now()}`));
    clock.track(async () => {
      const release = clock.hold();
      await realDelay(15);
      order.push(`answered@${clock.now()}`);
      release();
      // A retry backoff slept on the virtual clock holds the request up: time may move.
      const retrying = clock.hold();
      await clock.sleep(50, { blocksRequest: true });
      order.push(`backoff-done@${clock.now()}`);
      retrying();
    });
    await clock.runUntil(1_000);
    expect(order).toEqual(['answered@0', 'timer@10', 'backoff-done@50']);
  });

  it('freezes an activity: its sleeps never end and it no longer holds time', async () => {
    const clock = new VirtualClock(0);
    let woke = false;
    const { activity } = clock.track(async () => {
      await clock.sleep(100);
      woke = true;
    });
    await clock.runUntil(50);
    clock.freeze(activity);
    await clock.runUntil(500);
    expect(woke).toBe(false);
    expect(clock.activeCount).toBe(0);
  });

  it('lets time move on when an activity is frozen in the middle of a retry backoff', async () => {
    const clock = new VirtualClock(0);
    const { activity } = clock.track(async () => {
      clock.hold();
      await clock.sleep(10_000, { blocksRequest: true });
    });
    clock.schedule(5_000, () => clock.freeze(activity));
    let late = false;
    clock.schedule(60_000, () => (late = true));
    await clock.runUntil(100_000);
    expect(late).toBe(true);
    expect(clock.now()).toBe(100_000);
  });

  it('paces jumps in real time when given a rate', async () => {
    const clock = new VirtualClock(0);
    clock.schedule(100, () => undefined);
    const started = Date.now();
    await clock.runUntil(100, { rate: 2 });
    // 100 virtual ms at 2 virtual ms per real ms: about 50 real ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
  });
});
