/**
 * `npm run chaos`: the full fault campaign (bench/chaos/campaign.ts). Every scenario under each
 * fault at several rates and seeds; one table per scenario; exits non-zero when a zero-count is
 * violated. Sizes: CHAOS_SEEDS (default 1,2,3), CHAOS_RATES (default 0.05,0.2,0.5);
 * CHAOS_SCENARIOS (comma separated) runs only those scenarios and prints their tables without
 * replacing bench/results/chaos.json, which holds the whole campaign.
 */
import { scenarioNames } from '../simulator/scenarios/load';
import { FAULTS, runCase, violations, type CaseResult, type CaseSpec } from './chaos/campaign';
import { progress, runMain, sum } from './lib/common';
import { publish, renderTable, tabulate, type Section } from './report';

const SEEDS = (process.env.CHAOS_SEEDS ?? '1,2,3').split(',').map(Number);
const RATES = (process.env.CHAOS_RATES ?? '0.05,0.2,0.5').split(',').map(Number);

export function campaignSpecs(scenarios: readonly string[], seeds: readonly number[], rates: readonly number[]): CaseSpec[] {
  const specs: CaseSpec[] = [];
  for (const scenario of scenarios) {
    for (const seed of seeds) {
      specs.push({ scenario, fault: 'none', rate: 0, seed });
      for (const fault of FAULTS) for (const rate of rates) specs.push({ scenario, fault, rate, seed });
    }
  }
  return specs;
}

const label = (result: CaseSpec) => (result.fault === 'none' ? 'none' : `${result.fault} ${Math.round(result.rate * 100)}%`);

function table(scenario: string, results: CaseResult[]): Section {
  const groups = new Map<string, CaseResult[]>();
  for (const result of results) groups.set(label(result), [...(groups.get(label(result)) ?? []), result]);
  const total = (runs: CaseResult[], pick: (result: CaseResult) => number) => sum(runs.map(pick));
  return {
    title: `Fault campaign: ${scenario} (seeds ${SEEDS.join(', ')})`,
    ...tabulate([...groups.entries()], [
      ['fault', ([fault]) => fault],
      ['runs', ([, runs]) => runs.length],
      ['lifecycle actions completed before expiry', ([, runs]) => `${total(runs, (r) => r.lifecycleActions.completedBeforeExpiry)}/${total(runs, (r) => r.lifecycleActions.started)}`],
      ['expired', ([, runs]) => total(runs, (r) => r.lifecycleActions.expired)],
      ['completed at the drain deadline', ([, runs]) => total(runs, (r) => r.lifecycleActions.forcedAtDeadline)],
      ['terminated with counted tasks before deadline (must be 0)', ([, runs]) => total(runs, (r) => r.terminatedWithCountedTasksBeforeDeadline)],
      ['loops not ended (must be 0)', ([, runs]) => total(runs, (r) => r.loopsNotEnded)],
      ['invalid events that wrote (must be 0)', ([, runs]) => `${total(runs, (r) => r.invalidEventsWithWrites)} of ${total(runs, (r) => r.invalidEventsDelivered)}`],
      ['InService before ready (must be 0)', ([, runs]) => total(runs, (r) => r.inServiceBeforeReady)],
      ['launches abandoned', ([, runs]) => `${total(runs, (r) => r.launches.abandoned)} of ${total(runs, (r) => r.launches.started)}`],
      ['tasks disrupted', ([, runs]) => total(runs, (r) => r.tasksDisrupted)],
      ['5xx + throttles answered', ([, runs]) => total(runs, (r) => r.injected.serverErrors + r.injected.throttles + r.injected.bucketThrottles)],
      ['duplicate deliveries', ([, runs]) => total(runs, (r) => r.injected.duplicateDeliveries)],
      [
        'attribute-limit / group-busy answers / EventBridge repeats',
        ([, runs]) => `${total(runs, (r) => r.injected.attributeLimitAnswers)} / ${total(runs, (r) => r.injected.groupBusyAnswers)} / ${total(runs, (r) => r.injected.eventBridgeDuplicates)}`,
      ],
      ['sweeps failed', ([, runs]) => total(runs, (r) => r.sweepFailures)],
      ['invocation errors (retried)', ([, runs]) => total(runs, (r) => r.handlerErrors)],
      ['AWS calls', ([, runs]) => total(runs, (r) => r.awsCalls)],
    ]),
  };
}

async function main(): Promise<void> {
  const only = (process.env.CHAOS_SCENARIOS ?? '').split(',').filter(Boolean);
  const scenarios = only.length > 0 ? only : scenarioNames();
  const specs = campaignSpecs(scenarios, SEEDS, RATES);
  progress(`chaos: ${specs.length} runs (${scenarios.length} scenarios, faults ${FAULTS.join(', ')} at ${RATES.join(', ')}, seeds ${SEEDS.join(', ')})`);
  const results: CaseResult[] = [];
  const started = Date.now();
  for (const [index, spec] of specs.entries()) {
    results.push(await runCase(spec));
    if ((index + 1) % 20 === 0) progress(`chaos: ${index + 1}/${specs.length} runs, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  const sections = scenarios.map((scenario) => table(scenario, results.filter((result) => result.scenario === scenario)));
  sections.push({
    title: 'Fault campaign: zero-counts over every run',
    columns: [
      'runs',
      'terminated with counted tasks before deadline',
      'loops not ended',
      'invalid events that wrote',
      'InService before ready (launch hook)',
      'sweeps failed under one-instance faults (attributes full, scaling activity)',
      'real s',
    ],
    rows: [[
      results.length,
      sum(results.map((r) => r.terminatedWithCountedTasksBeforeDeadline)),
      sum(results.map((r) => r.loopsNotEnded)),
      sum(results.map((r) => r.invalidEventsWithWrites)),
      sum(results.map((r) => r.inServiceBeforeReady)),
      sum(results.filter((r) => r.fault === 'attributes-full' || r.fault === 'scaling-activity').map((r) => r.sweepFailures)),
      Math.round((Date.now() - started) / 1000),
    ]],
    data: results,
  });
  if (only.length > 0) for (const section of sections) console.log(renderTable(section));
  else publish('chaos', sections);
  const failed = results.flatMap((result) => violations(result).map((problem) => `${result.scenario} / ${label(result)} / seed ${result.seed}: ${problem}`));
  if (failed.length > 0) {
    console.log(`ZERO-COUNTS VIOLATED in ${failed.length} run(s):`);
    for (const line of failed) console.log(`  ${line}`);
    process.exitCode = 1;
  } else {
    console.log(`All zero-counts held over ${results.length} runs (${((Date.now() - started) / 1000).toFixed(0)} s).`);
  }
}

if (require.main === module) runMain(main);
