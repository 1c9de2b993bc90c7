import { campaignSpecs } from '../../bench/chaos';
import { runCase, violations, type CaseResult } from '../../bench/chaos/campaign';
import { scenarioNames } from '../../simulator/scenarios/load';

/**
 * The fault campaign of `npm run chaos` at CI size: every scenario, fault-free and under each
 * fault at 20%, two seeds, malformed events planted in every run. The zero-counts must hold.
 */
const SEEDS = [1, 2];
const RATES = [0.2];
const results: CaseResult[] = [];

jest.setTimeout(120_000);

describe('fault campaign (CI size)', () => {
  it.each(scenarioNames())('%s keeps every zero-count under faults', async (scenario) => {
    for (const spec of campaignSpecs([scenario], SEEDS, RATES)) {
      const result = await runCase(spec);
      results.push(result);
      expect({ fault: spec.fault, seed: spec.seed, violations: violations(result) }).toEqual({ fault: spec.fault, seed: spec.seed, violations: [] });
      // The invalid-input check is not vacuous: planted events reached the handlers.
      expect(result.invalidEventsDelivered).toBeGreaterThanOrEqual(3);
    }
    const mine = results.filter((result) => result.scenario === scenario);
    // The faults were really injected: calls were answered with 5xx and throttles.
    expect(mine.filter((r) => r.fault === '5xx').reduce((sum, r) => sum + r.injected.serverErrors, 0)).toBeGreaterThan(0);
    expect(mine.filter((r) => r.fault === 'throttling').reduce((sum, r) => sum + r.injected.throttles, 0)).toBeGreaterThan(0);
  });

  it('delivered duplicates somewhere in the campaign, and every lifecycle action ended before expiry', () => {
    expect(results.reduce((sum, r) => sum + r.injected.duplicateDeliveries, 0)).toBeGreaterThan(0);
    // The AWS-behaviour faults were really met by the handlers, not only switched on.
    const of = (fault: string) => results.filter((r) => r.fault === fault);
    expect(of('attributes-full').reduce((sum, r) => sum + r.injected.attributeLimitAnswers, 0)).toBeGreaterThan(0);
    expect(of('scaling-activity').reduce((sum, r) => sum + r.injected.groupBusyAnswers, 0)).toBeGreaterThan(0);
    expect(of('eventbridge-duplicate-late').reduce((sum, r) => sum + r.injected.eventBridgeDuplicates, 0)).toBeGreaterThan(0);
    const expired = results.filter((r) => r.lifecycleActions.expired > 0).map((r) => `${r.scenario}/${r.fault}/${r.seed}`);
    expect(expired).toEqual([]);
  });
});

describe('violations', () => {
  const clean: CaseResult = {
    scenario: 'x',
    fault: 'none',
    rate: 0,
    seed: 1,
    lifecycleActions: { started: 1, completedBeforeExpiry: 1, forcedAtDeadline: 0, expired: 0 },
    terminatedWithCountedTasksBeforeDeadline: 0,
    loopsNotEnded: 0,
    loopDetail: { inFlight: 0, lateInvocations: 0, globalTimeouts: 0, stillActive: 0, hopsBeyondCap: 0 },
    invalidEventsWithWrites: 0,
    inServiceBeforeReady: 0,
    launches: { started: 0, abandoned: 0 },
    invalidEventsDelivered: 3,
    tasksDisrupted: 0,
    injected: { serverErrors: 0, throttles: 0, bucketThrottles: 0, duplicateDeliveries: 0, attributeLimitAnswers: 0, groupBusyAnswers: 0, eventBridgeDuplicates: 0 },
    sweepFailures: 0,
    handlerErrors: 0,
    awsCalls: 10,
    realMs: 1,
  };

  it('reports each broken zero-count', () => {
    expect(violations(clean)).toEqual([]);
    expect(violations({ ...clean, terminatedWithCountedTasksBeforeDeadline: 1 })).toEqual([
      '1 instance(s) terminated with counted tasks running before the deadline',
    ]);
    expect(violations({ ...clean, loopsNotEnded: 1, loopDetail: { ...clean.loopDetail, inFlight: 1 } })[0]).toMatch(/^1 loop\(s\) did not end/);
    expect(violations({ ...clean, invalidEventsWithWrites: 2 })).toEqual(['2 invalid event(s) caused a write']);
    expect(violations({ ...clean, inServiceBeforeReady: 1 })).toEqual(['1 instance(s) went InService before ECS could place on them']);
    expect(violations({ ...clean, fault: 'attributes-full', sweepFailures: 1 })).toEqual(['1 sweep(s) failed under attributes-full, a fault of one instance']);
    expect(violations({ ...clean, fault: 'scaling-activity', sweepFailures: 2 })).toEqual(['2 sweep(s) failed under scaling-activity, a fault of one instance']);
    // Under server errors a sweep may fail; the next scheduled run takes over.
    expect(violations({ ...clean, fault: '5xx', sweepFailures: 1 })).toEqual([]);
  });
});
