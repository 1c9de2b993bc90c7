import { AsyncLocalStorage } from 'node:async_hooks';
import type { Clock } from '../lib/clock';

/**
 * Clocks for the simulator. Both implement the suite's `Clock` (so handlers get them as their
 * `clock` dependency) and `Scheduler` (so the world can schedule its own events on them).
 *
 * - `VirtualClock`: a discrete-event clock for tests, benchmarks and the demo. Time only moves when
 *   `runUntil` advances it, and it advances only when every running activity (a handler
 *   invocation) is blocked on a virtual sleep: an invocation awaiting an HTTP answer keeps time
 *   still, so a simulated hour takes as long as the work done in it, not an hour. An optional
 *   `rate` paces the jumps in real time for a watchable live timeline.
 * - `RealTimeClock`: wall-clock time, optionally accelerated; for `--serve`, where the callers are
 *   other processes the simulator cannot observe.
 */
export interface TimerHandle {
  readonly at: number;
  cancelled: boolean;
}

export interface Scheduler {
  now(): number;
  /** Runs `fn` at time `at` (clock milliseconds); timers at the same time run in creation order. */
  schedule(at: number, fn: () => void): TimerHandle;
  cancel(handle: TimerHandle): void;
}

export type SimClock = Clock & Scheduler;

interface Timer extends TimerHandle {
  readonly seq: number;
  readonly fn: () => void;
}

/** One unit of work that time waits for: a handler invocation. */
export interface Activity {
  readonly id: string;
  /** Pending virtual sleeps started inside this activity. */
  sleeping: number;
  /** A frozen activity (a Lambda invocation past its timeout) never wakes up and never holds time. */
  frozen: boolean;
  /** Requests in flight that it started (see `VirtualClock.hold`). */
  holds: number;
  done: boolean;
}

const activityStorage = new AsyncLocalStorage<Activity>();

/** The activity the caller runs in, if any (async context follows awaits, timers and callbacks). */
export function currentActivity(): Activity | undefined {
  return activityStorage.getStore();
}

/** A binary min-heap of timers ordered by (at, seq). */
class TimerQueue {
  private readonly heap: Timer[] = [];

  push(timer: Timer): void {
    const heap = this.heap;
    heap.push(timer);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(heap[index]!, heap[parent]!)) break;
      [heap[index], heap[parent]] = [heap[parent]!, heap[index]!];
      index = parent;
    }
  }

  peek(): Timer | undefined {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    return this.heap[0];
  }

  pop(): Timer | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        const right = left + 1;
        let smallest = index;
        if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === index) break;
        [heap[index], heap[smallest]] = [heap[smallest]!, heap[index]!];
        index = smallest;
      }
    }
    return top;
  }
}

function before(left: Timer, right: Timer): boolean {
  return left.at < right.at || (left.at === right.at && left.seq < right.seq);
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Longer than any SDK request can take (10 s timeout, a few attempts). */
const STALL_LIMIT_MS = 120_000;

export interface RunOptions {
  /**
   * Virtual milliseconds per real millisecond. Unset: jump straight to the next event (tests,
   * benchmarks). Set: wait in real time before each jump, for a live demo.
   */
  rate?: number;
  /** Called after every timer that fired (progress output). */
  onAdvance?: (now: number) => void;
}

export class VirtualClock implements Clock, Scheduler {
  private current: number;
  private seq = 0;
  private readonly queue = new TimerQueue();
  private readonly activities = new Set<Activity>();
  /** Virtual sleeps that hold up a request in flight: server-side latency, SDK retry backoff. */
  private requestSleeps = 0;
  /** AWS requests in flight from activities (counted by the runner's SDK middleware). */
  private holds = 0;
  private waiter: (() => void) | undefined;
  private activityCount = 0;

  constructor(start: number = Date.UTC(2026, 2, 4, 10, 0, 0)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  schedule(at: number, fn: () => void): TimerHandle {
    const timer: Timer = { at: Math.max(at, this.current), seq: this.seq++, fn, cancelled: false };
    this.queue.push(timer);
    this.changed();
    return timer;
  }

  cancel(handle: TimerHandle): void {
    handle.cancelled = true;
  }

  /**
   * A virtual sleep. Inside an activity it marks the activity as blocked until the timer fires;
   * an activity that was frozen meanwhile never wakes up (a Lambda killed at its timeout does not
   * run on). Outside any activity (server-side latency), or with `blocksRequest` (the SDK's retry
   * backoff, made virtual by the runner), it is assumed to hold up one request in flight.
   */
  sleep(ms: number, options: { blocksRequest?: boolean } = {}): Promise<void> {
    const activity = currentActivity();
    const blocksRequest = options.blocksRequest === true || !activity;
    return new Promise<void>((resolve) => {
      if (activity?.frozen) return;
      if (activity) activity.sleeping += 1;
      if (blocksRequest) this.requestSleeps += 1;
      this.schedule(this.current + Math.max(0, ms), () => {
        if (blocksRequest) this.requestSleeps -= 1;
        if (activity) {
          activity.sleeping -= 1;
          if (activity.frozen) return;
        }
        resolve();
      });
    });
  }

  /** Runs `fn` as an activity: virtual time does not advance while it works (only while it sleeps). */
  track<T>(fn: () => Promise<T>, id = `activity-${++this.activityCount}`): { activity: Activity; done: Promise<T> } {
    const activity: Activity = { id, sleeping: 0, frozen: false, done: false, holds: 0 };
    this.activities.add(activity);
    const finish = () => {
      activity.done = true;
      this.activities.delete(activity);
      this.changed();
    };
    const done = activityStorage.run(activity, () => {
      // Start on a later turn so the caller can register callbacks first, whatever fn does.
      return Promise.resolve().then(fn);
    });
    done.then(finish, finish);
    return { activity, done };
  }

  /** Stops waiting for an activity (it may still finish in the background; its sleeps never end). */
  freeze(activity: Activity): void {
    if (activity.frozen) return;
    activity.frozen = true;
    // Its requests no longer hold time: a retry backoff it was sleeping will never end.
    this.holds -= activity.holds;
    activity.holds = 0;
    this.activities.delete(activity);
    this.changed();
  }

  /**
   * Marks an AWS request in flight; call the returned function when it is answered. An
   * invocation may run several records at once (one sleeping, one waiting for an answer), so
   * requests are counted on their own rather than per activity.
   */
  hold(): () => void {
    const activity = currentActivity();
    if (activity?.frozen) return () => undefined;
    this.holds += 1;
    if (activity) activity.holds += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // A frozen activity's holds were given back when it was frozen.
      if (activity?.frozen) return;
      this.holds -= 1;
      if (activity) activity.holds -= 1;
      this.changed();
    };
  }

  /**
   * True when nothing can happen before the next timer: every request in flight is held up by a
   * virtual sleep on the server side (fault latency), and every activity is sleeping or waiting
   * for such a request.
   */
  isIdle(): boolean {
    if (this.holds > this.requestSleeps) return false;
    if (this.holds > 0) return true;
    for (const activity of this.activities) if (activity.sleeping === 0) return false;
    return true;
  }

  get activeCount(): number {
    return this.activities.size;
  }

  /**
   * Resolves once every activity is blocked on virtual time (or none is left). Rejects when
   * nothing has become idle for `STALL_LIMIT_MS` of real time: a run that can never advance is a
   * bug to report, not a hang.
   */
  async settle(): Promise<void> {
    const started = Date.now();
    for (;;) {
      if (this.activities.size === 0 && this.holds === 0) return;
      if (Date.now() - started > STALL_LIMIT_MS) {
        throw new Error(
          `virtual clock stalled: ${this.activities.size} activities, ${this.holds} requests in flight, ${this.requestSleeps} of them held by virtual sleeps`,
        );
      }
      // Let promise chains and I/O callbacks run before judging.
      await nextTurn();
      if (this.isIdle()) {
        await nextTurn();
        if (this.isIdle()) return;
        continue;
      }
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        // I/O completions do not call changed(); poll on the next turns as well.
        setImmediate(resolve);
      });
    }
  }

  /** Fires every timer due up to `until` (inclusive), one at a time, settling activities in between. */
  async runUntil(until: number, options: RunOptions = {}): Promise<void> {
    await this.fire(until, () => false, options);
    if (options.rate && until > this.current && Number.isFinite(until)) await realSleep((until - this.current) / options.rate);
    if (Number.isFinite(until)) this.current = Math.max(this.current, until);
  }

  /** Advances by `ms` of virtual time. */
  advance(ms: number, options?: RunOptions): Promise<void> {
    return this.runUntil(this.current + ms, options);
  }

  /** Waits for `promise` while advancing time as needed (bounded by `limit` of virtual time). */
  async runWhile<T>(promise: Promise<T>, limitMs = 24 * 3_600_000): Promise<T> {
    let settled = false;
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    await this.fire(this.current + limitMs, () => settled, {});
    return promise;
  }

  /** Fires the timers due up to `until`, settling activities before each, until there are none or `done()`. */
  private async fire(until: number, done: () => boolean, options: RunOptions): Promise<void> {
    while (!done()) {
      await this.settle();
      const next = this.queue.peek();
      if (done() || !next || next.at > until) return;
      if (options.rate && next.at > this.current) await realSleep((next.at - this.current) / options.rate);
      this.queue.pop();
      this.current = Math.max(this.current, next.at);
      next.fn();
      options.onAdvance?.(this.current);
    }
  }

  private changed(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}

function realSleep(ms: number): Promise<void> {
  // Capped so that a long quiet stretch does not freeze the demo.
  return new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(0, ms), 2_000)));
}

/**
 * Wall-clock time, `rate` times faster than real time, starting at `start`. Timers are real
 * `setTimeout`s; used when the simulator serves other processes (`npm start -- --serve`).
 */
export class RealTimeClock implements Clock, Scheduler {
  private readonly realStart = Date.now();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly start: number = Date.now(),
    private readonly rate = 1,
  ) {}

  now(): number {
    return this.start + (Date.now() - this.realStart) * this.rate;
  }

  schedule(at: number, fn: () => void): TimerHandle {
    const handle: TimerHandle & { timeout?: NodeJS.Timeout } = { at, cancelled: false };
    const timeout = setTimeout(
      () => {
        this.timers.delete(timeout);
        if (!handle.cancelled) fn();
      },
      Math.max(0, (at - this.now()) / this.rate),
    );
    timeout.unref?.();
    this.timers.add(timeout);
    return handle;
  }

  cancel(handle: TimerHandle): void {
    handle.cancelled = true;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms) / this.rate));
  }

  /** Clears every pending timer. */
  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
