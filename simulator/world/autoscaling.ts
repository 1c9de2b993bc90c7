import { AwsApiError } from '../api';
import type { Ec2Rules } from './ec2';
import type { EcsRules } from './ecs';
import { LAUNCHING, PROCEED_MS, TERMINATING, enterService, hooksOf, launchOutcome, notificationOf } from './autoscaling-launch';
import { ACCOUNT, REGION, type InstanceTypeOverride, type Group, type GroupInstance, type LifecycleAction, type LifecycleHook, type LifecycleTransition, type Termination } from './model';
import type { SnsRules } from './sns';
import { announceLifecycleAction } from './autoscaling-events';
import { retain, retainsOnAbandon, terminateRetained } from './retention';
import { scalingActivityInProgress } from '../faults/errors';
import type { WorldState } from './state';
import { capacityUnits, defaultTerminationOrder, inCapacity, launchType, launchZone, rebalanceStep, unitsOfMember } from './zones';

const LIVE_STATES: ReadonlySet<string> = new Set(['Pending', 'Pending:Wait', 'Pending:Proceed', 'InService']);

/** The group's instances that are launching or in service (an instance refresh's old and new ones). */
export const liveMembers = (group: Group): GroupInstance[] => [...group.instances.values()].filter((member) => LIVE_STATES.has(member.lifecycleState));

/**
 * Instances a refresh may keep above desired capacity now: the room MaxHealthyPercentage leaves,
 * never more than the old instances still to be replaced. The group's target adds it;
 * instance-refresh.ts runs the refresh.
 */
export function refreshSurplus(group: Group): number {
  const refresh = group.refresh;
  if (!refresh || refresh.status !== 'InProgress') return 0;
  const room = Math.max(0, Math.floor((group.desiredCapacity * refresh.maxHealthyPercentage) / 100) - group.desiredCapacity);
  const old = liveMembers(group).filter((member) => refresh.toReplace.has(member.id)).length;
  return Math.min(room, old);
}


export interface GroupSpec {
  name: string;
  cluster: string;
  minSize: number;
  maxSize: number;
  desiredCapacity: number;
  instanceCpu: number;
  instanceMemory: number;
  instanceType?: string;
  spot?: boolean;
  ageSeconds?: number;
  tags?: Record<string, string>;
  /** Fixed ids for the first instances; the rest get seeded random ids. */
  instanceIds?: string[];
  /** The group's zones: instances are spread over them evenly (zones.ts). */
  zones?: string[];
  /** AZRebalance on (zones.ts). */
  azRebalance?: boolean;
  /** Weighted instance types, in priority order: sizes are then capacity units (zones.ts). */
  mixedInstances?: InstanceTypeOverride[];
  /** Instance lifecycle policy: `retain` keeps instances whose termination action was abandoned (retention.ts). */
  terminateHookAbandon?: 'retain' | 'terminate';
}
export interface HookSpec {
  groupName: string;
  name: string;
  /** Default: the termination transition. */
  transition?: LifecycleTransition;
  heartbeatTimeout?: number;
  defaultResult?: 'CONTINUE' | 'ABANDON';
  topicArn?: string;
  metadata?: string;
}

/**
 * Auto Scaling: group capacity, launches, scale-in and termination through lifecycle hooks, with
 * their heartbeat and global timeouts (aws-behaviour.md §3.2).
 */
export class AutoScalingRules {
  private readonly pendingGroupPasses = new Set<string>();

  constructor(
    private readonly world: WorldState,
    private readonly ecs: EcsRules,
    private readonly ec2: Ec2Rules,
    private readonly sns: SnsRules,
  ) {}

  /** Creates a group and its initial instances, InService and registered at once. */
  createGroup(spec: GroupSpec): Group {
    const group: Group = {
      name: spec.name,
      arn: `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:${this.world.random.uuid()}:autoScalingGroupName/${spec.name}`,
      cluster: spec.cluster,
      minSize: spec.minSize,
      maxSize: spec.maxSize,
      desiredCapacity: spec.desiredCapacity,
      instanceType: spec.instanceType ?? 'm5.large',
      instanceCpu: spec.instanceCpu,
      instanceMemory: spec.instanceMemory,
      spot: spec.spot ?? false,
      instances: new Map(),
      hooks: new Map(),
      createdAt: this.world.now(),
      tags: Object.entries(spec.tags ?? {}).map(([key, value]) => ({ key, value })),
      ...(spec.zones ? { zones: [...spec.zones] } : {}),
      ...(spec.azRebalance ? { azRebalance: true } : {}),
      ...(spec.mixedInstances ? { mixedInstances: spec.mixedInstances.map((override) => ({ ...override })) } : {}),
      ...(spec.terminateHookAbandon ? { instanceLifecyclePolicy: { retentionTriggers: { terminateHookAbandon: spec.terminateHookAbandon } } } : {}),
    };
    this.world.groups.set(group.name, group);
    // Desired capacity is in capacity units when the group has weights (one unit per instance otherwise).
    for (let index = 0, units = 0; units < spec.desiredCapacity; index += 1) {
      const type = launchType(group, spec.desiredCapacity - units);
      const instance = this.ec2.addInstance({
        cluster: spec.cluster,
        cpu: type?.cpu ?? spec.instanceCpu,
        memory: type?.memory ?? spec.instanceMemory,
        instanceType: type?.type ?? group.instanceType,
        spot: group.spot,
        groupName: group.name,
        ...(group.zones ? { az: launchZone(this.world, group) } : {}),
        ...(spec.ageSeconds !== undefined ? { ageSeconds: spec.ageSeconds } : {}),
        ...(spec.instanceIds?.[index] ? { id: spec.instanceIds[index] } : {}),
      });
      group.instances.set(instance.ec2InstanceId, {
        id: instance.ec2InstanceId,
        lifecycleState: 'InService',
        healthStatus: 'Healthy',
        protectedFromScaleIn: false,
        launchedAt: this.world.ec2.get(instance.ec2InstanceId)!.launchedAt,
        ...(type ? { weight: type.weight } : {}),
      });
      units += type?.weight ?? 1;
    }
    return group;
  }

  /**
   * Adds a lifecycle hook (termination unless `transition` says launch). Like PutLifecycleHook, it
   * sends the autoscaling:TEST_NOTIFICATION of aws-behaviour.md §1.5 to the hook's topic.
   */
  putLifecycleHook(spec: HookSpec): LifecycleHook {
    const group = this.world.groups.get(spec.groupName);
    if (!group) throw new AwsApiError('ValidationError', `Group ${spec.groupName} not found`, 400);
    const hook: LifecycleHook = {
      name: spec.name,
      groupName: group.name,
      transition: spec.transition ?? TERMINATING,
      heartbeatTimeout: spec.heartbeatTimeout ?? 3600,
      defaultResult: spec.defaultResult ?? 'ABANDON',
      ...(spec.topicArn ? { topicArn: spec.topicArn, roleArn: `arn:aws:iam::${ACCOUNT}:role/autoscaling-notification` } : {}),
      ...(spec.metadata !== undefined ? { metadata: spec.metadata } : {}),
    };
    group.hooks.set(hook.name, hook);
    if (hook.topicArn) {
      this.sns.publish(
        hook.topicArn,
        JSON.stringify({
          AutoScalingGroupName: group.name,
          Service: 'AWS Auto Scaling',
          Time: new Date(this.world.now()).toISOString(),
          AccountId: ACCOUNT,
          Event: 'autoscaling:TEST_NOTIFICATION',
          RequestId: this.world.random.uuid(),
          AutoScalingGroupARN: group.arn,
        }),
        `Auto Scaling: test notification for group "${group.name}"`,
      );
    }
    return hook;
  }


  setDesiredCapacity(groupName: string, desired: number): void {
    const group = this.world.groups.get(groupName);
    if (!group) throw new AwsApiError('ValidationError', `AutoScalingGroup name not found - AutoScalingGroup ${groupName} not found`, 400);
    if (desired > group.maxSize) {
      throw new AwsApiError('ValidationError', `New SetDesiredCapacity value ${desired} is above max value ${group.maxSize} for the AutoScalingGroup.`, 400);
    }
    if (desired < group.minSize) {
      throw new AwsApiError('ValidationError', `New SetDesiredCapacity value ${desired} is below min value ${group.minSize} for the AutoScalingGroup.`, 400);
    }
    this.world.record('group', 'desired capacity set', { group: group.name, from: group.desiredCapacity, to: desired });
    group.desiredCapacity = desired;
    this.requestGroupPass(group.name);
  }


  requestGroupPass(groupName: string): void {
    if (this.pendingGroupPasses.has(groupName)) return;
    this.pendingGroupPasses.add(groupName);
    this.world.clock.schedule(this.world.now() + 1_000, () => {
      this.pendingGroupPasses.delete(groupName);
      const group = this.world.groups.get(groupName);
      if (group) this.runGroup(group);
    });
  }

  private runGroup(group: Group): void {
    // Capacity in units (one per instance without weights, zones.ts); an instance refresh that
    // launches before it terminates may keep more (instance-refresh.ts).
    const capacity = capacityUnits(group);
    const target = group.desiredCapacity + refreshSurplus(group);
    if (capacity < target) {
      for (let units = capacity; units < target; ) units += this.launch(group, undefined, target - units);
    } else if (capacity > target) {
      // Scale-in skips protected instances; with every instance protected nothing terminates
      // (aws-behaviour.md §3.2, SetInstanceProtection). Groups with their own zone list follow the
      // default termination policy (zones.ts); the others keep the oldest-first order.
      const eligible = inCapacity(group).filter(
        (instance) => instance.lifecycleState === 'InService' && !instance.protectedFromScaleIn && instance.id !== group.rebalance?.launchedId,
      );
      const candidates = group.zones
        ? defaultTerminationOrder(this.world, group, eligible)
        : eligible.sort((a, b) => a.launchedAt - b.launchedAt || a.id.localeCompare(b.id));
      let units = capacity;
      for (const instance of candidates) {
        if (units - unitsOfMember(instance) < target) continue;
        units -= unitsOfMember(instance);
        this.beginTermination(group, instance, 'scale-in');
      }
    }
    rebalanceStep(this.world, group, {
      launch: (target, zone) => {
        this.launch(target, zone, 1);
        return [...target.instances.keys()].pop()!;
      },
      terminate: (target, member) => this.beginTermination(target, member, 'az-rebalance'),
    });
  }

  /** Launches one instance (in `zone`, else the group's emptiest zone); returns its capacity units. */
  private launch(group: Group, zone?: string, missingUnits = 1): number {
    const id = `i-${this.world.random.hex(17)}`;
    const now = this.world.now();
    const type = launchType(group, missingUnits);
    this.world.ec2.set(id, {
      id,
      state: 'pending',
      instanceType: type?.type ?? group.instanceType,
      spot: group.spot,
      // Auto Scaling launches in the zone with the fewest of the group's instances (zones.ts).
      az: zone ?? launchZone(this.world, group),
      launchedAt: now,
      cluster: group.cluster,
      groupName: group.name,
      cpu: type?.cpu ?? group.instanceCpu,
      memory: type?.memory ?? group.instanceMemory,
    });
    const member: GroupInstance = {
      id,
      lifecycleState: 'Pending',
      healthStatus: 'Healthy',
      protectedFromScaleIn: false,
      launchedAt: now,
      ...(type ? { weight: type.weight } : {}),
    };
    group.instances.set(id, member);
    this.world.record('group', 'instance launched', { group: group.name, ec2InstanceId: id });
    // Launch hooks hold the new instance in Pending:Wait while it boots (autoscaling-launch.ts).
    this.holdForLaunch(group, member);
    this.world.clock.schedule(now + this.world.timings.bootMs, () => {
      const ec2 = this.world.ec2.get(id);
      if (!ec2 || ec2.state !== 'pending') return;
      ec2.state = 'running';
      this.ecs.register(id, this.world.now());
      if (member.lifecycleState === 'Pending') enterService(this.world, group, member);
      // An AZRebalance waits for its launch to be in service before it terminates.
      if (group.azRebalance) this.requestGroupPass(group.name);
    });
    return type?.weight ?? 1;
  }

  /** A launching member waits in Pending:Wait with one action per launch hook; false when the group has none. */
  holdForLaunch(group: Group, member: GroupInstance): boolean {
    const hooks = hooksOf(group, LAUNCHING);
    if (hooks.length === 0) return false;
    member.lifecycleState = 'Pending:Wait';
    for (const hook of hooks) this.startLifecycleAction(group, member, hook);
    return true;
  }

  /** Termination: through every termination hook (Terminating:Wait), else straight to Proceed. */
  beginTermination(group: Group, member: GroupInstance, cause: Termination['cause']): void {
    if (member.lifecycleState !== 'InService' && member.lifecycleState !== 'Pending') return;
    const hooks = hooksOf(group, TERMINATING);
    this.world.record('group', 'instance terminating', { group: group.name, ec2InstanceId: member.id, cause, hooks: hooks.length });
    this.world.pendingCause.set(member.id, cause);
    group.lastDeparture = { at: this.world.now(), ec2InstanceId: member.id, cause };
    if (hooks.length === 0) {
      member.lifecycleState = 'Terminating';
      this.proceed(group, member);
      return;
    }
    member.lifecycleState = 'Terminating:Wait';
    for (const hook of hooks) this.startLifecycleAction(group, member, hook);
    this.requestGroupPass(group.name);
  }

  private startLifecycleAction(group: Group, member: GroupInstance, hook: LifecycleHook): void {
    const now = this.world.now();
    const heartbeatTimeoutMs = hook.heartbeatTimeout * 1000;
    const action: LifecycleAction = {
      token: this.world.random.uuid(),
      transition: hook.transition,
      hookName: hook.name,
      groupName: group.name,
      instanceId: member.id,
      startedAt: now,
      heartbeatTimeoutMs,
      heartbeatDeadline: now + heartbeatTimeoutMs,
      // Global timeout: min(48 h, 100 × heartbeat timeout) (aws-behaviour.md §3.2).
      globalDeadline: now + Math.min(172_800_000, 100 * heartbeatTimeoutMs),
      state: 'active',
      heartbeats: 0,
    };
    this.world.lifecycleActions.set(action.token, action);
    this.armHeartbeatTimer(action);
    this.world.clock.schedule(action.globalDeadline, () => this.expire(action, 'global-timeout'));
    this.world.record('lifecycle', 'lifecycle action started', { ec2InstanceId: member.id, hook: hook.name, token: action.token });
    announceLifecycleAction(this.world, group, hook, action);
    if (hook.topicArn) {
      const { message, subject } = notificationOf(hook, group, member, action.token, this.world.random.uuid(), now, ACCOUNT);
      this.sns.publish(hook.topicArn, JSON.stringify(message), subject);
    }
  }

  private armHeartbeatTimer(action: LifecycleAction): void {
    this.world.clock.schedule(action.heartbeatDeadline, () => {
      if (action.state === 'active' && this.world.now() >= action.heartbeatDeadline) this.expire(action, 'expired');
    });
  }

  private expire(action: LifecycleAction, state: 'expired' | 'global-timeout'): void {
    if (action.state !== 'active') return;
    const hook = this.world.groups.get(action.groupName)?.hooks.get(action.hookName);
    this.world.record('lifecycle', state === 'expired' ? 'lifecycle action expired' : 'lifecycle action hit the global timeout', {
      ec2InstanceId: action.instanceId,
      result: hook?.defaultResult ?? 'ABANDON',
    });
    this.endAction(action, state, hook?.defaultResult ?? 'ABANDON');
  }

  /** Records a heartbeat: the heartbeat window restarts, never beyond the global timeout. */
  heartbeat(action: LifecycleAction): void {
    action.heartbeats += 1;
    action.heartbeatDeadline = Math.min(this.world.now() + action.heartbeatTimeoutMs, action.globalDeadline);
    this.armHeartbeatTimer(action);
  }

  completeAction(action: LifecycleAction, result: 'CONTINUE' | 'ABANDON'): void {
    const instance = this.world.containerInstanceOf(action.instanceId);
    const unstopped = instance && instance.status !== 'INACTIVE' ? this.world.unstoppedTasksOn(instance) : [];
    this.world.record('lifecycle', 'lifecycle action completed', {
      ec2InstanceId: action.instanceId,
      result,
      unstoppedTasks: unstopped.filter((task) => !task.daemon).length,
      unstoppedDaemonTasks: unstopped.filter((task) => task.daemon).length,
    });
    this.endAction(action, 'completed', result);
  }

  private endAction(action: LifecycleAction, state: LifecycleAction['state'], result: 'CONTINUE' | 'ABANDON'): void {
    action.state = state;
    action.result = result;
    action.endedAt = this.world.now();
    const instance = this.world.containerInstanceOf(action.instanceId);
    const unstopped = instance && instance.status !== 'INACTIVE' ? this.world.unstoppedTasksOn(instance) : [];
    action.unstoppedTasksAtEnd = unstopped.filter((task) => !task.daemon).length;
    action.unstoppedDaemonTasksAtEnd = unstopped.filter((task) => task.daemon).length;
    if (action.transition === LAUNCHING) {
      this.endLaunch(action, result);
      return;
    }
    const membership = this.world.groupOf(action.instanceId);
    if (!membership || membership.instance.lifecycleState !== 'Terminating:Wait') return;
    const others = [...this.world.lifecycleActions.values()].filter(
      (candidate) => candidate.instanceId === action.instanceId && candidate.state === 'active',
    );
    // ABANDON skips the remaining hooks; CONTINUE waits for them (aws-behaviour.md §3.2).
    if (result === 'ABANDON') for (const other of others) other.state = 'completed';
    else if (others.length > 0) action.othersHolding = others.length;
    if (result === 'ABANDON' && retainsOnAbandon(membership.group)) {
      retain(this.world, membership.group, membership.instance, () => this.requestGroupPass(membership.group.name));
    } else if (result === 'ABANDON' || others.length === 0) this.proceed(membership.group, membership.instance, action);
  }

  /** TerminateInstanceInAutoScalingGroup on an instance in Terminating:Retained (retention.ts). */
  terminateRetainedInstance(group: Group, member: GroupInstance): void {
    terminateRetained(this.world, group, member, () => this.proceed(group, member));
  }

  /** A launch action ended: on to InService, or the instance is terminated and replaced (autoscaling-launch.ts). */
  private endLaunch(action: LifecycleAction, result: 'CONTINUE' | 'ABANDON'): void {
    const outcome = launchOutcome(this.world, action, result);
    if (outcome === 'none') return;
    const { group, instance: member } = this.world.groupOf(action.instanceId)!;
    for (const other of this.world.lifecycleActions.values()) {
      if (other.instanceId === member.id && other.state === 'active') other.state = 'completed';
    }
    if (outcome === 'abandon') {
      this.world.record('group', 'launch abandoned', { group: group.name, ec2InstanceId: member.id });
      this.world.pendingCause.set(member.id, 'launch-abandoned');
      group.lastDeparture = { at: this.world.now(), ec2InstanceId: member.id, cause: 'launch-abandoned' };
      member.lifecycleState = 'Terminating';
      this.proceed(group, member, action);
      return;
    }
    member.lifecycleState = 'Pending:Proceed';
    this.world.clock.schedule(this.world.now() + PROCEED_MS, () => {
      if (member.lifecycleState !== 'Pending:Proceed') return;
      enterService(this.world, group, member);
      this.requestGroupPass(group.name);
    });
  }

  private proceed(group: Group, member: GroupInstance, action?: LifecycleAction): void {
    member.lifecycleState = 'Terminating:Proceed';
    const cause = this.world.pendingCause.get(member.id) ?? 'scale-in';
    const ec2 = this.world.ec2.get(member.id);
    if (ec2 && (ec2.state === 'running' || ec2.state === 'pending')) {
      this.ec2.shutDown(member.id, cause, action);
    } else if (action) {
      const termination = [...this.world.terminations].reverse().find((candidate) => candidate.ec2InstanceId === member.id);
      if (termination) {
        termination.lifecycle = action.state;
        termination.lifecycleUnstoppedTasks = 0;
      }
    }
    this.world.clock.schedule(this.world.now() + this.world.timings.shutdownMs, () => {
      member.lifecycleState = 'Terminated';
      group.instances.delete(member.id);
      this.requestGroupPass(group.name);
    });
    this.requestGroupPass(group.name);
  }

  // ---------------------------------------------------------------- scaling activities

  private readonly activityUntil = new Map<string, number>();

  /**
   * Auto Scaling refuses some writes while the group has a scaling activity in progress
   * (`ScalingActivityInProgressFault`); the SDK does not retry it (aws-behaviour.md §3.2). Random
   * refusals for a fault campaign, and `ResourceContentionFault`, come from
   * simulator/faults/scaling-activity.ts in front of the world. This marks the group busy with an
   * activity (a refresh, a deployment) for `durationMs`.
   */
  beginActivity(groupName: string, durationMs: number): void {
    this.activityUntil.set(groupName, this.world.now() + durationMs);
    this.world.record('group', 'scaling activity in progress', { group: groupName, untilMs: durationMs });
  }

  /** Throws the fault a write to the group gets now, if any. */
  checkWrite(groupName: string, operation: 'TerminateInstanceInAutoScalingGroup' | 'SetDesiredCapacity' | 'SetInstanceProtection'): void {
    // SetInstanceProtection is not refused for an activity (its API reference lists no such fault).
    if (operation !== 'SetInstanceProtection' && (this.activityUntil.get(groupName) ?? 0) > this.world.now()) {
      throw scalingActivityInProgress(`group ${groupName}`);
    }
  }
}
