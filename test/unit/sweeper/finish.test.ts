import { DRAIN_POLL_SECONDS, drainsToWatch, finishingSettings, keepWaiting, sortWatched, type WatchOutcome } from '../../../lib/sweeper/finish';
import { planScaleIn } from '../../../lib/sweeper/plan';
import type { FinishStep, ScaleInPlan, Selected } from '../../../lib/sweeper/types';
import { NOW, busy, group, instance, minutesAgo, settings, snapshot } from './builders';

const arn = (id: string) => `arn:aws:ecs:us-east-1:123456789012:container-instance/prod/${id}`;
const selected = (id: string, reason: Selected['reason']): Selected => ({ containerInstanceArn: arn(id), ec2InstanceId: `i-${id}`, autoScalingGroupName: 'asg', reason });
const step = (id: string, action: FinishStep['action'], reason: FinishStep['reason']): FinishStep => ({
  containerInstanceArn: arn(id),
  ec2InstanceId: `i-${id}`,
  autoScalingGroupName: 'asg',
  action,
  reason,
});
const plan = (chosen: Selected[], finishing: FinishStep[]): ScaleInPlan => ({
  cluster: 'prod',
  selected: chosen,
  skipped: [],
  finishing,
  free: { cpu: 0, memory: 0 },
  freeAfter: { cpu: 0, memory: 0 },
  idleInstances: 0,
  schedulableTasks: 0,
});
const outcome = (overrides: Partial<WatchOutcome> = {}): WatchOutcome => ({
  drained: [],
  terminated: [],
  awaitingDaemons: [],
  refused: [],
  deferredTerminations: [],
  failed: [],
  dropped: [],
  ...overrides,
});
const ids = (watched: { ec2InstanceId: string }[]) => watched.map((entry) => entry.ec2InstanceId);

describe('drainsToWatch: what a run waits for before it ends', () => {
  it('watches the drains of this run that were not terminated, and the earlier drains still moving tasks or held for daemons', () => {
    const chosen = [selected('a', 'idle'), selected('b', 'idle'), selected('c', 'consolidate')];
    const finishing = [step('d', 'wait', 'tasks-remaining'), step('e', 'terminate', 'drained'), step('f', 'terminate', 'drained'), step('g', 'reactivate', 'zone-balance')];
    const watched = drainsToWatch(
      plan(chosen, finishing),
      outcome({ drained: ['i-a', 'i-b', 'i-c'], terminated: ['i-a', 'i-e'], awaitingDaemons: [{ ec2InstanceId: 'i-b' }, { ec2InstanceId: 'i-f' }] }),
    );
    // a and e were terminated; g goes back into service: nothing to wait for.
    expect(ids(watched)).toEqual(['i-b', 'i-c', 'i-d', 'i-f']);
    expect(watched.find((entry) => entry.ec2InstanceId === 'i-c')?.containerInstanceArn).toBe(arn('c'));
  });

  it('does not watch what something other than time holds: refused, deferred, failed and dropped instances', () => {
    const chosen = [selected('a', 'idle'), selected('b', 'idle'), selected('c', 'consolidate'), selected('d', 'idle')];
    const watched = drainsToWatch(
      plan(chosen, [step('e', 'terminate', 'drained')]),
      outcome({
        drained: ['i-a', 'i-b', 'i-c', 'i-d'],
        refused: [{ ec2InstanceId: 'i-a' }],
        deferredTerminations: [{ ec2InstanceId: 'i-b' }, { ec2InstanceId: 'i-e' }],
        failed: [{ ec2InstanceId: 'i-c' }],
        awaitingDaemons: [{ ec2InstanceId: 'i-e' }],
      }),
    );
    expect(ids(watched)).toEqual(['i-d']);
    expect(drainsToWatch(plan([selected('x', 'idle')], []), outcome({ drained: ['i-x'], dropped: [{ ec2InstanceId: 'i-x' }] }))).toEqual([]);
  });

  it('does not watch selected instances the run did not drain (deferred, dropped before DRAINING)', () => {
    expect(drainsToWatch(plan([selected('a', 'consolidate')], []), outcome({ drained: [] }))).toEqual([]);
  });
});

describe('keepWaiting: the wait is bounded by its length, its looks and the invocation', () => {
  const base = { now: NOW, waitUntil: NOW + 120_000, waitMs: 120_000, looks: 0, timeLeftMs: 300_000, pollMs: DRAIN_POLL_SECONDS * 1000, reserveMs: 15_000 };

  it('waits while the next look comes before the end of the wait', () => {
    expect(keepWaiting(base)).toBe(true);
    expect(keepWaiting({ ...base, now: NOW + 105_000, looks: 7 })).toBe(true);
    expect(keepWaiting({ ...base, now: NOW + 105_001, looks: 7 })).toBe(false);
  });

  it('stops after wait / poll looks, whatever the clock says (a clock that never moves cannot hold the run)', () => {
    expect(keepWaiting({ ...base, looks: 7 })).toBe(true);
    expect(keepWaiting({ ...base, looks: 8 })).toBe(false);
    expect(keepWaiting({ ...base, waitMs: 0, waitUntil: NOW })).toBe(false);
  });

  it('stops when the next look would leave the invocation less than the reserve for its reads and writes', () => {
    expect(keepWaiting({ ...base, timeLeftMs: 30_000 })).toBe(true);
    expect(keepWaiting({ ...base, timeLeftMs: 29_999 })).toBe(false);
  });
});

describe('sortWatched: which watched drains are worth a finishing pass', () => {
  it('is ready when every task has been told to stop, moving while a task is still wanted, and forgotten when no longer its own drain', () => {
    const marker = { 'ecs-ec2-keeper.drained-at': minutesAgo(1) };
    const empty = instance({ status: 'DRAINING', attributes: marker }, 'empty');
    const moving = instance({ status: 'DRAINING', attributes: marker, runningTasksCount: 2 }, 'moving');
    const starting = instance({ status: 'DRAINING', attributes: marker, pendingTasksCount: 1 }, 'starting');
    const reactivated = instance({ status: 'ACTIVE', attributes: {} }, 'reactivated');
    const someoneElses = instance({ status: 'DRAINING', attributes: {} }, 'other');
    const sorted = sortWatched([empty, moving, starting, reactivated, someoneElses]);
    expect(sorted.ready).toEqual([empty]);
    expect(sorted.moving).toEqual([moving, starting]);
  });
});

describe('finishingSettings: a finishing pass only finishes drains', () => {
  it('plans no new removal and no consolidation, and still terminates an empty drain of this sweeper', () => {
    const marker = { 'ecs-ec2-keeper.drained-at': minutesAgo(1) };
    const drained = instance({ status: 'DRAINING', attributes: marker }, 'drained');
    const idle = instance({}, 'idle');
    const light = busy(256, 512, {}, 'light');
    const result = planScaleIn(snapshot([drained, idle, light], [group('asg', 0, 3)]), finishingSettings(settings({ consolidate: true, maxRemovalsPerRun: 5 })), NOW);
    expect(result.selected).toEqual([]);
    expect(result.finishing).toEqual([expect.objectContaining({ ec2InstanceId: drained.ec2InstanceId, action: 'terminate', reason: 'drained' })]);
    expect(finishingSettings(settings({ minFreeCpu: 512, consolidate: true }))).toMatchObject({ minFreeCpu: 512, consolidate: false, maxRemovalsPerRun: 0 });
  });
});
