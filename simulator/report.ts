import type { CallLogSnapshot } from './faults';
import type { FunctionName, FunctionStats, Invocation } from './runner/lambda';
import type { InServiceEntry, LifecycleAction } from './world/model';
import type { World } from './world/world';

/**
 * What a simulation run did, in the terms an operator cares about: tasks disrupted, drains,
 * lifecycle actions and how they ended, instances removed, AWS calls by operation, and the
 * zero-counts that must hold (invalid events that wrote, instances terminated with tasks still
 * running while their lifecycle action was held open).
 */
export interface SimulationReport {
  scenario: string;
  seed: number;
  simulatedSeconds: number;
  realMs: number;
  tasks: {
    /** Tasks still not STOPPED when their instance went away. */
    killed: number;
    /** Killed standalone tasks, and service tasks killed while their service lacked RUNNING replacements. */
    disrupted: number;
    killedByOrigin: { service: number; daemon: number; standalone: number };
  };
  /** Container instances set to DRAINING. */
  drains: number;
  /** Who set them DRAINING: `api` (the suite's functions, or an operator) or ECS's managed instance draining. */
  drainsBy: Record<string, number>;
  /** Each drained instance and who drained it, in order. */
  drainedBy: { ec2InstanceId: string; by: string }[];
  /** ECS's managed instance draining (simulator/world/managed-draining.ts). */
  managedDraining: {
    /** Terminations ECS's own hook took over. */
    tookOver: number;
    /** Of those, instances already DRAINING when ECS came (someone drained first). */
    alreadyDraining: number;
    /** DRAINING requests through the API for instances ECS drained: a second drainer's writes. */
    apiDrainWrites: number;
  };
  lifecycleActions: {
    started: number;
    /** Completed by a handler after every non-daemon task on the instance had STOPPED. */
    completedClean: number;
    /** Completed by a handler while non-daemon tasks were still not STOPPED (the drain deadline). */
    completedForced: number;
    /** Completed while daemon tasks still ran (they are killed with the instance). */
    completedWithDaemonsRunning: number;
    /** Completed with CONTINUE while another hook (ECS's managed draining) still held the instance. */
    completedWhileOthersHeld: number;
    /** Ended by the heartbeat timeout (DefaultResult). */
    expired: number;
    globalTimeout: number;
    stillActive: number;
    heartbeats: number;
    /**
     * For actions completed clean: seconds from the moment the instance had nothing left to wait
     * for (its last non-daemon task STOPPED, or the action's start if that came later) to completion.
     */
    completionDelaySeconds: { max: number; mean: number };
  };
  /**
   * Launch lifecycle hooks: how long each held its instance in Pending:Wait and how it ended, and
   * the instances of groups with a launch hook that entered InService before ECS could place on
   * them (must be 0).
   */
  launches: {
    started: number;
    continued: number;
    abandoned: number;
    /** Ended by the heartbeat or global timeout (the hook's default result), not by a handler. */
    expired: number;
    stillWaiting: number;
    /** One entry per launch action, in start order. */
    held: { ec2InstanceId: string; seconds: number; result: string; endedBy: 'handler' | 'timeout' | 'waiting' }[];
    holdSeconds: { min: number; mean: number; max: number };
    /** InService while the container instance was missing, not ACTIVE or disconnected, or a daemon it should run was not RUNNING. */
    inServiceBeforeReady: number;
    inServiceBeforeReadyDetail: InServiceEntry[];
  };
  instanceRefreshes: { started: number; successful: number; replaced: number; seconds: number[] };
  instances: {
    removed: number;
    byCause: Record<string, number>;
    /** Terminated through a lifecycle action that a handler completed while non-daemon tasks still ran. */
    terminatedWithTasksAfterCompletion: number;
    /** Spot instances reclaimed while service tasks on them had not reached STOPPED. */
    spotReclaimedWithServiceTasks: number;
    /** Kept in Terminating:Retained by an instance lifecycle policy (still running at the end unless terminated). */
    retained: number;
  };
  awsCalls: { total: number; errors: number; byOperation: Record<string, number>; errorsByCode: Record<string, number> };
  faults: { throttled: Record<string, number>; serverErrors: number; injectedThrottles: number };
  invocations: Record<FunctionName, FunctionStats>;
  /** Invocations given invalid input (or a test notification) that made a write call: must be 0. */
  invalidEventsWithWrites: number;
  /** SNS Publish calls made by the handlers (requeue hops, and notices to OPS_TOPIC_ARN). */
  handlerPublishes: number;
}

export interface ReportInputs {
  scenario: string;
  seed: number;
  world: World;
  startedAt: number;
  realStartedAt: number;
  calls: CallLogSnapshot;
  throttled: Record<string, number>;
  injected: { serverErrors: number; throttles: number };
  invocations: readonly Invocation[];
  invocationStats: Record<FunctionName, FunctionStats>;
}

export function buildReport(inputs: ReportInputs): SimulationReport {
  const { world } = inputs;
  const killed = world.killedTasks;
  // Launch actions have their own section; the drain figures are about termination actions.
  const launchActions = [...world.lifecycleActions.values()].filter((action) => action.transition === 'autoscaling:EC2_INSTANCE_LAUNCHING');
  const actions = [...world.lifecycleActions.values()].filter((action) => action.transition !== 'autoscaling:EC2_INSTANCE_LAUNCHING');
  const completed = actions.filter((action) => action.state === 'completed');
  const byCause: Record<string, number> = {};
  for (const termination of world.terminations) byCause[termination.cause] = (byCause[termination.cause] ?? 0) + 1;
  const byOperation: Record<string, number> = {};
  const errorsByCode: Record<string, number> = {};
  for (const [operation, counts] of Object.entries(inputs.calls.operations)) {
    byOperation[operation] = counts.calls;
    for (const [code, count] of Object.entries(counts.errors)) errorsByCode[code] = (errorsByCode[code] ?? 0) + count;
  }
  // An action that ended while another hook still held the instance released nothing.
  const released = completed.filter((action) => (action.othersHolding ?? 0) === 0);
  const drainsBy: Record<string, number> = {};
  for (const drain of world.drains) drainsBy[drain.by] = (drainsBy[drain.by] ?? 0) + 1;
  const managedIds = new Set(world.managedDrains.map((entry) => entry.ec2InstanceId));
  const spotKills = new Set(
    killed.filter((task) => task.origin === 'service').map((task) => task.ec2InstanceId),
  );
  return {
    scenario: inputs.scenario,
    seed: inputs.seed,
    simulatedSeconds: Math.round((world.now() - inputs.startedAt) / 1000),
    realMs: Date.now() - inputs.realStartedAt,
    tasks: {
      killed: killed.length,
      disrupted: killed.filter((task) => task.disrupted).length,
      killedByOrigin: {
        service: killed.filter((task) => task.origin === 'service').length,
        daemon: killed.filter((task) => task.origin === 'daemon').length,
        standalone: killed.filter((task) => task.origin === 'standalone').length,
      },
    },
    drains: world.drains.length,
    drainsBy,
    drainedBy: world.drains.map((drain) => ({ ec2InstanceId: drain.ec2InstanceId, by: drain.by })),
    managedDraining: {
      tookOver: world.managedDrains.length,
      alreadyDraining: world.managedDrains.filter((entry) => entry.alreadyDraining).length,
      apiDrainWrites: world.drainRequests.filter((request) => request.by === 'api' && managedIds.has(request.ec2InstanceId)).length,
    },
    lifecycleActions: {
      started: actions.length,
      completedClean: completed.filter((action) => (action.unstoppedTasksAtEnd ?? 0) === 0).length,
      completedForced: released.filter((action) => (action.unstoppedTasksAtEnd ?? 0) > 0).length,
      completedWithDaemonsRunning: released.filter((action) => (action.unstoppedDaemonTasksAtEnd ?? 0) > 0).length,
      completedWhileOthersHeld: completed.filter((action) => (action.othersHolding ?? 0) > 0).length,
      expired: actions.filter((action) => action.state === 'expired').length,
      globalTimeout: actions.filter((action) => action.state === 'global-timeout').length,
      stillActive: actions.filter((action) => action.state === 'active').length,
      heartbeats: actions.reduce((sum, action) => sum + action.heartbeats, 0),
      completionDelaySeconds: completionDelays(world, completed.filter((action) => (action.unstoppedTasksAtEnd ?? 0) === 0)),
    },
    launches: launchesOf(world, launchActions),
    instanceRefreshes: {
      started: world.instanceRefreshes.length,
      successful: world.instanceRefreshes.filter((refresh) => refresh.status === 'Successful').length,
      replaced: world.instanceRefreshes.reduce((sum, refresh) => sum + refresh.replaced, 0),
      seconds: world.instanceRefreshes.filter((refresh) => refresh.endedAt !== undefined).map((refresh) => Math.round((refresh.endedAt! - refresh.startedAt) / 1000)),
    },
    instances: {
      removed: world.terminations.length,
      byCause,
      // A Spot reclaim happens before its hook runs: that is counted on the next line instead.
      terminatedWithTasksAfterCompletion: world.terminations.filter(
        (termination) => termination.cause !== 'spot-interruption' && termination.lifecycle === 'completed' && termination.unstoppedTasks > 0,
      ).length,
      spotReclaimedWithServiceTasks: world.terminations.filter(
        (termination) => termination.cause === 'spot-interruption' && spotKills.has(termination.ec2InstanceId),
      ).length,
      retained: world.retainedInstances.length,
    },
    awsCalls: { total: inputs.calls.total, errors: inputs.calls.errors, byOperation, errorsByCode },
    faults: { throttled: inputs.throttled, serverErrors: inputs.injected.serverErrors, injectedThrottles: inputs.injected.throttles },
    invocations: inputs.invocationStats,
    invalidEventsWithWrites: inputs.invocations.filter((invocation) => invocation.invalidInput && invocation.writes.length > 0).length,
    handlerPublishes: inputs.invocations.reduce((sum, invocation) => sum + invocation.writes.filter((op) => op === 'Publish').length, 0),
  };
}

/** An instance let InService by a group with a launch hook before it was ready for ECS to place on. */
export function enteredBeforeReady(entry: InServiceEntry): boolean {
  return entry.launchHooks > 0 && (entry.containerInstance !== 'ACTIVE' || entry.daemonsNotRunning.length > 0);
}

function launchesOf(world: World, actions: readonly LifecycleAction[]): SimulationReport['launches'] {
  const held = actions.map((action) => ({
    ec2InstanceId: action.instanceId,
    seconds: Math.round(((action.endedAt ?? world.now()) - action.startedAt) / 1000),
    result: action.result ?? '-',
    endedBy: action.state === 'completed' ? ('handler' as const) : action.state === 'active' ? ('waiting' as const) : ('timeout' as const),
  }));
  const ended = held.filter((entry) => entry.endedBy !== 'waiting').map((entry) => entry.seconds);
  const early = world.inService.filter(enteredBeforeReady);
  return {
    started: actions.length,
    continued: actions.filter((action) => action.state !== 'active' && action.result === 'CONTINUE').length,
    abandoned: actions.filter((action) => action.state !== 'active' && action.result === 'ABANDON').length,
    expired: actions.filter((action) => action.state === 'expired' || action.state === 'global-timeout').length,
    stillWaiting: actions.filter((action) => action.state === 'active').length,
    held,
    holdSeconds:
      ended.length === 0
        ? { min: 0, mean: 0, max: 0 }
        : { min: Math.min(...ended), mean: Math.round((ended.reduce((sum, value) => sum + value, 0) / ended.length) * 10) / 10, max: Math.max(...ended) },
    inServiceBeforeReady: early.length,
    inServiceBeforeReadyDetail: early,
  };
}

function completionDelays(world: World, actions: readonly LifecycleAction[]): { max: number; mean: number } {
  const delays = actions.map((action) => {
    const instance = world.containerInstanceOf(action.instanceId);
    const stops = instance ? world.tasksOn(instance).filter((task) => !task.daemon).map((task) => task.stoppedAt ?? 0) : [];
    const readyAt = Math.max(action.startedAt, ...stops);
    return Math.max(0, (action.endedAt ?? readyAt) - readyAt) / 1000;
  });
  if (delays.length === 0) return { max: 0, mean: 0 };
  return { max: Math.max(...delays), mean: Math.round((delays.reduce((sum, delay) => sum + delay, 0) / delays.length) * 10) / 10 };
}

/** The report as the text `npm start` prints. */
export function formatReport(report: SimulationReport): string {
  const lines: string[] = [];
  const row = (label: string, value: string | number) => lines.push(`  ${label.padEnd(58, '.')} ${value}`);
  lines.push(`Report: scenario ${report.scenario} (seed ${report.seed}), ${formatDuration(report.simulatedSeconds)} simulated in ${(report.realMs / 1000).toFixed(1)} s`);
  lines.push('');
  lines.push('Tasks');
  row('disrupted (stopped without a replacement running)', report.tasks.disrupted);
  row('killed by an instance going away', `${report.tasks.killed} (service ${report.tasks.killedByOrigin.service}, daemon ${report.tasks.killedByOrigin.daemon}, standalone ${report.tasks.killedByOrigin.standalone})`);
  lines.push('Drains');
  row('container instances set to DRAINING', `${report.drains} ${formatCounts(report.drainsBy)}`);
  // Who drained each instance, when there are few enough to list.
  if (report.drainedBy.length > 0 && report.drainedBy.length <= 20) for (const drain of report.drainedBy) row(`  ${drain.ec2InstanceId} drained by`, drain.by);
  if (report.managedDraining.tookOver > 0) {
    row('taken over by ECS managed draining (already DRAINING)', `${report.managedDraining.tookOver} (${report.managedDraining.alreadyDraining})`);
    row('DRAINING requests through the API on those instances', report.managedDraining.apiDrainWrites);
  }
  lines.push('Lifecycle actions');
  row('started', report.lifecycleActions.started);
  row('completed after every non-daemon task STOPPED', report.lifecycleActions.completedClean);
  row('completed with non-daemon tasks still running', report.lifecycleActions.completedForced);
  row('completed with daemon tasks still running', report.lifecycleActions.completedWithDaemonsRunning);
  if (report.lifecycleActions.completedWhileOthersHeld > 0) row('completed while another hook still held the instance', report.lifecycleActions.completedWhileOthersHeld);
  row('expired (heartbeat timeout, default result)', report.lifecycleActions.expired);
  row('hit the global timeout', report.lifecycleActions.globalTimeout);
  row('still waiting at the end', report.lifecycleActions.stillActive);
  row('heartbeats recorded', report.lifecycleActions.heartbeats);
  row('completion after the last task STOPPED (mean / max)', `${report.lifecycleActions.completionDelaySeconds.mean} s / ${report.lifecycleActions.completionDelaySeconds.max} s`);
  if (report.launches.started > 0) {
    const launches = report.launches;
    lines.push('Launch hook');
    row('launch actions started', launches.started);
    row('completed CONTINUE / ABANDON', `${launches.continued} / ${launches.abandoned} (expired at the timeout: ${launches.expired}, still waiting: ${launches.stillWaiting})`);
    row('held in Pending:Wait (min / mean / max)', `${launches.holdSeconds.min} s / ${launches.holdSeconds.mean} s / ${launches.holdSeconds.max} s`);
    for (const entry of launches.held) row(`  ${entry.ec2InstanceId}`, `held ${entry.seconds} s, ${entry.result}${entry.endedBy === 'handler' ? '' : ` (${entry.endedBy})`}`);
    row('InService before ACTIVE with its daemons RUNNING', launches.inServiceBeforeReady);
  }
  if (report.instanceRefreshes.started > 0) {
    const refreshes = report.instanceRefreshes;
    row('instance refreshes (successful, instances replaced)', `${refreshes.started} (${refreshes.successful} successful in ${refreshes.seconds.map((seconds) => formatDuration(seconds)).join(', ') || '-'}, ${refreshes.replaced} replaced)`);
  }
  lines.push('Instances');
  row('removed', `${report.instances.removed} ${formatCounts(report.instances.byCause)}`);
  row('terminated after completion with non-daemon tasks running', report.instances.terminatedWithTasksAfterCompletion);
  row('Spot reclaimed with service tasks not yet STOPPED', report.instances.spotReclaimedWithServiceTasks);
  if (report.instances.retained > 0) row('retained (Terminating:Retained, still running)', report.instances.retained);
  lines.push('Handlers');
  for (const [name, stats] of Object.entries(report.invocations)) {
    if (stats.invocations === 0) continue;
    row(name, `${stats.invocations} invocations, ${stats.errors} errors, ${stats.timeouts} timeouts, ${stats.retries} retries, ${(stats.billedMs / 1000).toFixed(1)} s billed`);
  }
  row('SNS publishes (requeue hops, operators\' notices)', report.handlerPublishes);
  row('invalid events that caused a write', report.invalidEventsWithWrites);
  lines.push(`AWS calls: ${report.awsCalls.total} (${report.awsCalls.errors} answered with an error)`);
  for (const [operation, count] of Object.entries(report.awsCalls.byOperation).sort(([a], [b]) => a.localeCompare(b))) row(operation, count);
  if (Object.keys(report.awsCalls.errorsByCode).length > 0) row('errors by code', formatCounts(report.awsCalls.errorsByCode));
  return lines.join('\n');
}

function formatCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  return entries.length === 0 ? '' : `(${entries.map(([key, value]) => `${key} ${value}`).join(', ')})`;
}

export function formatDuration(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes} min ${seconds % 60} s` : `${seconds} s`;
}
