import { DAEMON_STOP_BOUND_MINUTES, daemonHold } from '../../../lib/sweeper/plan';

const NOW = Date.parse('2026-03-04T10:30:00.000Z');
const minutesAgo = (minutes: number) => NOW - minutes * 60_000;

/**
 * When a drained, idle instance may be terminated: ECS stops daemon tasks on a DRAINING instance
 * last (docs/aws-behaviour.md §2), and only a group's termination hook waits for them.
 */
describe('daemonHold: termination waits for daemon tasks only where no hook does', () => {
  it.each<[string, { unstoppedTasks: number; terminationHook: boolean; drainedAt: number | undefined }, 'daemons-stopping' | undefined]>([
    ['drained this run, daemons running, no hook: drain now, terminate later', { unstoppedTasks: 2, terminationHook: false, drainedAt: undefined }, 'daemons-stopping'],
    ['drained this run, daemons running, hook: terminate now', { unstoppedTasks: 2, terminationHook: true, drainedAt: undefined }, undefined],
    ['drained this run, no task at all, no hook: terminate now', { unstoppedTasks: 0, terminationHook: false, drainedAt: undefined }, undefined],
    ['own drain, a daemon still stopping, 3 min old, no hook: wait', { unstoppedTasks: 1, terminationHook: false, drainedAt: minutesAgo(3) }, 'daemons-stopping'],
    ['own drain, just under the bound: wait', { unstoppedTasks: 1, terminationHook: false, drainedAt: minutesAgo(DAEMON_STOP_BOUND_MINUTES) + 1 }, 'daemons-stopping'],
    ['own drain at the bound: a stuck daemon no longer holds it', { unstoppedTasks: 1, terminationHook: false, drainedAt: minutesAgo(DAEMON_STOP_BOUND_MINUTES) }, undefined],
    ['own drain, 40 min old (next run): terminate', { unstoppedTasks: 1, terminationHook: false, drainedAt: minutesAgo(40) }, undefined],
    ['own drain, every task STOPPED: terminate', { unstoppedTasks: 0, terminationHook: false, drainedAt: minutesAgo(1) }, undefined],
    ['own drain, daemons running, hook: terminate', { unstoppedTasks: 3, terminationHook: true, drainedAt: minutesAgo(1) }, undefined],
  ])('%s', (_name, input, expected) => {
    expect(daemonHold({ ...input, now: NOW })).toBe(expected);
  });
});
