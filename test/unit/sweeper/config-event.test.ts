import { ConfigError } from '../../../lib/config';
import { loadSweeperConfig } from '../../../lib/sweeper/config';
import { parseSweepEvent } from '../../../lib/sweeper/event';
import { configProblems } from '../../fixtures';

describe('loadSweeperConfig', () => {
  it('has the documented defaults', () => {
    expect(loadSweeperConfig({})).toMatchObject({
      autoScalingGroups: [],
      minIdleMinutes: 30,
      minFreeCpu: 1024,
      minFreeMemory: 2048,
      maxRemovalsPerRun: 2,
      consolidate: false,
      schedulableTaskCpu: 256,
      schedulableTaskMemory: 512,
      dryRun: false,
      metricsNamespace: 'EcsEc2Keeper',
      drainWaitSeconds: 120,
    });
  });

  it('reads DRAIN_WAIT_SECONDS from 0 (the next run finishes drains) to 600', () => {
    expect(loadSweeperConfig({ DRAIN_WAIT_SECONDS: '0' }).drainWaitSeconds).toBe(0);
    expect(loadSweeperConfig({ DRAIN_WAIT_SECONDS: '600' }).drainWaitSeconds).toBe(600);
    expect(() => loadSweeperConfig({ DRAIN_WAIT_SECONDS: '601' })).toThrow('DRAIN_WAIT_SECONDS must be a whole number from 0 to 600');
    expect(() => loadSweeperConfig({ DRAIN_WAIT_SECONDS: 'soon' })).toThrow(ConfigError);
  });

  it('reads every setting, and group ARNs as group names', () => {
    const config = loadSweeperConfig({
      AUTO_SCALING_GROUPS: 'prod-asg, arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:0b1c:autoScalingGroupName/spot-asg',
      MIN_IDLE_MINUTES: '0',
      MIN_FREE_CPU: '4096',
      MIN_FREE_MEMORY: '8192',
      MAX_REMOVALS_PER_RUN: '5',
      CONSOLIDATE: 'yes',
      SCHEDULABLE_TASK_CPU: '1024',
      SCHEDULABLE_TASK_MEMORY: '2048',
    });
    expect(config).toMatchObject({
      autoScalingGroups: ['prod-asg', 'spot-asg'],
      minIdleMinutes: 0,
      minFreeCpu: 4096,
      minFreeMemory: 8192,
      maxRemovalsPerRun: 5,
      consolidate: true,
      schedulableTaskCpu: 1024,
      schedulableTaskMemory: 2048,
    });
  });

  it('reports every problem at once, naming the variable and the allowed values', () => {
    const problems = configProblems(() => loadSweeperConfig({ MIN_IDLE_MINUTES: 'soon', MAX_REMOVALS_PER_RUN: '-1', CONSOLIDATE: 'maybe', SCHEDULABLE_TASK_CPU: '0' }));
    expect(problems).toHaveLength(4);
    expect(problems).toEqual(
      expect.arrayContaining([
        'MIN_IDLE_MINUTES must be a whole number from 0 to 10080',
        'MAX_REMOVALS_PER_RUN must be a whole number from 0 to 100',
        'CONSOLIDATE must be one of true, 1, yes, false, 0, no',
        'SCHEDULABLE_TASK_CPU must be a whole number from 1 to 1000000',
      ]),
    );
  });
});

describe('parseSweepEvent', () => {
  it.each([
    ['the scheduled event', { source: 'aws.events', 'detail-type': 'Scheduled Event', id: 'e1', time: '2026-03-04T10:30:00Z', detail: {} }, { outcome: 'ok', trigger: 'schedule', eventId: 'e1', time: '2026-03-04T10:30:00Z' }],
    ['an empty object (manual run)', {}, { outcome: 'ok', trigger: 'manual' }],
  ])('accepts %s', (_name, event, expected) => {
    expect(parseSweepEvent(event)).toEqual(expected);
  });

  it.each([
    ['null', null, 'not-an-object'],
    ['a string', 'sweep', 'not-an-object'],
    ['an array', [], 'not-an-object'],
    ['another source', { source: 'aws.ec2', 'detail-type': 'Scheduled Event' }, 'unexpected-source'],
    ['no source', { 'detail-type': 'Scheduled Event' }, 'unexpected-source'],
    ['another detail-type', { source: 'aws.events', 'detail-type': 'EC2 Spot Instance Interruption Warning' }, 'unexpected-detail-type'],
    ['a detail-type of the wrong type', { source: 'aws.events', 'detail-type': 7 }, 'unexpected-detail-type'],
    ['an SNS envelope', { Records: [{ Sns: {} }] }, 'unexpected-source'],
  ])('rejects %s', (_name, event, reason) => {
    expect(parseSweepEvent(event)).toMatchObject({ outcome: 'invalid', reason });
  });
});
