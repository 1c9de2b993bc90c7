import type { GroupInstanceView } from '../../lib/aws/autoscaling';
import type { ContainerInstanceView } from '../../lib/aws/ecs';
import type { DrainSignal } from '../../lib/events/types';
import { decideDrain } from '../../lib/spot/decide';
import { DRAINED_FOR, RECORDED, UNDOABLE, drainReason, formatRecord, readRecord } from '../../lib/spot/record';
import { decideScheduled } from '../../lib/spot/scheduled';
import { decideUndrain, terminationUnderWay } from '../../lib/spot/undrain';
import { instance } from './sweeper/builders';

const view = (status: string, attributes: Record<string, string> = {}): ContainerInstanceView => instance({ status, attributes });
const member = (lifecycleState: string, group = 'asg'): GroupInstanceView => ({
  instanceId: 'i-0a0a0a0a0a0a0a0a1',
  autoScalingGroupName: group,
  lifecycleState,
  protectedFromScaleIn: false,
  healthStatus: 'Healthy',
});
const signal = (kind: DrainSignal['kind'], extra: Partial<DrainSignal> = {}): DrainSignal => ({
  kind,
  ec2InstanceId: 'i-0a0a0a0a0a0a0a0a1',
  eventId: 'e',
  time: '2026-03-04T10:00:00Z',
  region: 'us-east-1',
  account: '123456789012',
  ...extra,
});

describe('decideDrain', () => {
  it.each([
    ['no container instance', undefined, false, { action: 'none', reason: 'not-a-container-instance' }],
    ['ACTIVE', view('ACTIVE'), false, { action: 'drain', reason: 'active' }],
    ['ACTIVE in dry run', view('ACTIVE'), true, { action: 'none', reason: 'dry-run' }],
    ['DRAINING', view('DRAINING'), false, { action: 'none', reason: 'already-draining' }],
    ['DRAINING in dry run', view('DRAINING'), true, { action: 'none', reason: 'already-draining' }],
    ['REGISTERING', view('REGISTERING'), false, { action: 'none', reason: 'not-active' }],
    ['DEREGISTERING', view('DEREGISTERING'), false, { action: 'none', reason: 'not-active' }],
    ['INACTIVE', view('INACTIVE'), false, { action: 'none', reason: 'not-active' }],
  ])('%s', (_name, subject, dryRun, expected) => {
    expect(decideDrain(subject, dryRun)).toEqual(expected);
  });
});

describe('drain record', () => {
  it('names each drain by its cause, and only survivable ones are undoable', () => {
    expect(drainReason(signal('spot-interruption', { instanceAction: 'terminate' }))).toBe('spot-terminate');
    expect(drainReason(signal('spot-interruption', { instanceAction: 'stop' }))).toBe('spot-stop');
    expect(drainReason(signal('spot-interruption', { instanceAction: 'hibernate' }))).toBe('spot-hibernate');
    expect(drainReason(signal('rebalance-recommendation'))).toBe('rebalance');
    expect(drainReason(signal('instance-state-change', { state: 'stopping' }))).toBe('stopping');
    expect(drainReason(signal('instance-state-change', { state: 'shutting-down' }))).toBe('shutting-down');
    expect(drainReason(signal('scheduled-event'))).toBe('scheduled-event');
    expect([...UNDOABLE].sort()).toEqual(['rebalance', 'spot-hibernate', 'spot-stop', 'stopping']);
    expect(RECORDED.has('spot-terminate')).toBe(false);
    expect(RECORDED.has('shutting-down')).toBe(false);
    for (const reason of UNDOABLE) expect(RECORDED.has(reason)).toBe(true);
  });

  it('round-trips its value and reads nothing it did not write', () => {
    const value = formatRecord('rebalance', 1_772_618_400_999);
    expect(value).toBe('rebalance@1772618400');
    expect(readRecord({ [DRAINED_FOR]: value })).toEqual({ reason: 'rebalance', at: 1_772_618_400_000 });
    expect(readRecord({})).toBeUndefined();
    for (const bad of ['rebalance', 'whatever@1', 'rebalance@soon', '@1', 'rebalance@1@2']) expect(readRecord({ [DRAINED_FOR]: bad })).toBeUndefined();
  });
});

describe('decideUndrain', () => {
  const record = (reason: string) => ({ [DRAINED_FOR]: `${reason}@1772618400` });
  it.each([
    ['no container instance', undefined, undefined, { action: 'none', reason: 'not-a-container-instance' }],
    ['no record', view('DRAINING'), undefined, { action: 'none', reason: 'not-drained-by-suite' }],
    ['a record of another tool', view('DRAINING', { [DRAINED_FOR]: 'manual' }), undefined, { action: 'none', reason: 'not-drained-by-suite' }],
    ['a scheduled-event record', view('DRAINING', record('scheduled-event')), undefined, { action: 'none', reason: 'termination-drain' }],
    ['a spot-terminate record', view('DRAINING', record('spot-terminate')), undefined, { action: 'none', reason: 'termination-drain' }],
    ['Terminating:Wait', view('DRAINING', record('rebalance')), member('Terminating:Wait'), { action: 'none', reason: 'termination-under-way' }],
    ['Terminating:Proceed', view('DRAINING', record('stopping')), member('Terminating:Proceed'), { action: 'none', reason: 'termination-under-way' }],
    ['Terminating:Retained', view('DRAINING', record('stopping')), member('Terminating:Retained'), { action: 'none', reason: 'termination-under-way' }],
    ['Detaching', view('DRAINING', record('spot-stop')), member('Detaching'), { action: 'none', reason: 'termination-under-way' }],
    ['INACTIVE', view('INACTIVE', record('stopping')), undefined, { action: 'none', reason: 'not-draining' }],
    ['ACTIVE with its record left', view('ACTIVE', record('stopping')), member('InService'), { action: 'clear-record' }],
    ['DRAINING, InService', view('DRAINING', record('rebalance')), member('InService'), { action: 'undrain' }],
    ['DRAINING, no group', view('DRAINING', record('spot-hibernate')), undefined, { action: 'undrain' }],
  ] as const)('%s', (_name, instance, group, expected) => {
    expect(decideUndrain(instance, group, false)).toEqual(expected);
  });

  it('writes nothing in a dry run', () => {
    expect(decideUndrain(view('DRAINING', record('rebalance')), undefined, true)).toEqual({ action: 'none', reason: 'dry-run' });
  });

  it('treats no membership as no termination', () => {
    expect(terminationUnderWay(undefined)).toBe(false);
    expect(terminationUnderWay(member('InService'))).toBe(false);
    expect(terminationUnderWay(member('Terminated'))).toBe(true);
  });
});

describe('decideScheduled', () => {
  it.each([
    ['no container instance', undefined, undefined, [], { action: 'none', reason: 'not-a-container-instance' }],
    ['InService in a group', view('ACTIVE'), member('InService'), [], { action: 'replace', group: 'asg' }],
    ['InService in a configured group', view('ACTIVE'), member('InService'), ['asg'], { action: 'replace', group: 'asg' }],
    ['already DRAINING but InService', view('DRAINING'), member('InService'), [], { action: 'replace', group: 'asg' }],
    ['already terminating', view('DRAINING'), member('Terminating:Wait'), [], { action: 'none', reason: 'termination-under-way' }],
    ['Pending', view('ACTIVE'), member('Pending'), [], { action: 'none', reason: 'not-in-service' }],
    ['Standby', view('ACTIVE'), member('Standby'), [], { action: 'none', reason: 'not-in-service' }],
    ['in a group it may not act on', view('ACTIVE'), member('InService', 'other'), ['asg'], { action: 'drain' }],
    ['outside a group', view('ACTIVE'), undefined, [], { action: 'drain' }],
    ['outside a group, DRAINING', view('DRAINING'), undefined, [], { action: 'none', reason: 'already-draining' }],
    ['outside a group, REGISTERING', view('REGISTERING'), undefined, [], { action: 'none', reason: 'not-active' }],
  ] as const)('%s', (_name, instance, group, groups, expected) => {
    expect(decideScheduled(instance, group, groups, false)).toEqual(expected);
  });

  it('writes nothing in a dry run', () => {
    expect(decideScheduled(view('ACTIVE'), member('InService'), [], true)).toEqual({ action: 'none', reason: 'dry-run' });
    expect(decideScheduled(view('ACTIVE'), undefined, [], true)).toEqual({ action: 'none', reason: 'dry-run' });
  });
});
