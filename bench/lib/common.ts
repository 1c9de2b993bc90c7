/**
 * Shared pieces of the simulator benchmarks: scenario builders, event builders and call-count
 * arithmetic. Everything runs against the simulator (simulator/runner/simulation.ts) through its
 * HTTP endpoint, so every AWS call is serialized and parsed by the real SDK.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';

import type { CallLogSnapshot } from '../../simulator/faults';
import { ACCOUNT, REGION } from '../../simulator/world/model';

/** Runs a benchmark's `main`; a failure is printed and fails the process. */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}

/** Progress goes to stderr so that stdout holds only the tables. */
export function progress(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** Calls by `service:operation` made between two snapshots of the call log. */
export function callsBetween(before: CallLogSnapshot, after: CallLogSnapshot): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const [operation, counts] of Object.entries(after.operations)) {
    const delta = counts.calls - (before.operations[operation]?.calls ?? 0);
    if (delta > 0) calls[operation] = delta;
  }
  return calls;
}

export function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((sum, value) => sum + value, 0);
}

/** `ecs:ListTasks 3, ecs:DescribeTasks 1` style summary, sorted by operation. */
export function formatCalls(counts: Record<string, number>): string {
  const entries = Object.entries(counts).filter(([, value]) => value > 0);
  if (entries.length === 0) return '-';
  return entries
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([operation, value]) => `${operation.replace(/^[a-z]+:/, '')} ${value}`)
    .join(', ');
}

/** The EC2 Spot Instance Interruption Warning as EventBridge delivers it (aws-behaviour.md §1.1). */
export function spotWarning(ec2InstanceId: string, at: number, id: string): Record<string, unknown> {
  return {
    version: '0',
    id,
    'detail-type': 'EC2 Spot Instance Interruption Warning',
    source: 'aws.ec2',
    account: ACCOUNT,
    time: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: REGION,
    resources: [`arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${ec2InstanceId}`],
    detail: { 'instance-id': ec2InstanceId, 'instance-action': 'terminate' },
  };
}

export function sum(values: readonly number[]): number {
  return values.reduce((acc, value) => acc + value, 0);
}

export function max(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((acc, value) => Math.max(acc, value), Number.NEGATIVE_INFINITY);
}
