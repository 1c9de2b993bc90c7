import type { Scenario, ScenarioEvent } from '../scenarios/load';
import { scheduleDiurnal } from '../world/diurnal';
import { ReservationStepPolicy } from '../world/step-scaling';
import type { World } from '../world/world';
import type { FunctionName } from './lambda';

export interface PopulateOptions {
  /** The lifecycle hooks' notification topic (created by the caller, subscribed before the hooks exist). */
  topicArn: string;
  /** Clock time of the scenario's second 0. */
  start: number;
  /** Delivers a scenario `invoke` event. */
  invoke?: (fn: FunctionName, event: unknown, invalid: boolean) => void;
  /** Schedule the scenario's events (default true); `--serve` serves the initial state only. */
  events?: boolean;
}

/** Builds the scenario's initial state in `world` and schedules its events on the world's clock. */
export function populateWorld(world: World, scenario: Scenario, options: PopulateOptions): void {
  for (const cluster of scenario.clusters) world.createCluster(cluster);
  for (const topic of scenario.topics) world.createTopic(topic);
  for (const group of scenario.groups) {
    world.createGroup({
      name: group.name,
      cluster: group.cluster,
      minSize: group.minSize,
      maxSize: group.maxSize,
      desiredCapacity: group.desiredCapacity,
      instanceCpu: group.instance.cpu,
      instanceMemory: group.instance.memory,
      instanceType: group.instance.type,
      spot: group.spot,
      ageSeconds: group.ageMinutes * 60,
      instanceIds: group.instanceIds,
      ...(group.zones ? { zones: group.zones } : {}),
      ...(group.azRebalance ? { azRebalance: true } : {}),
      ...(group.mixedInstances ? { mixedInstances: group.mixedInstances } : {}),
      ...(group.terminateHookAbandon ? { terminateHookAbandon: group.terminateHookAbandon } : {}),
    });
  }
  for (const instance of scenario.instances) {
    world.addInstance({ cluster: instance.cluster, cpu: instance.cpu, memory: instance.memory, id: instance.id, instanceType: instance.type, spot: instance.spot });
  }
  // Standalone tasks first: they were there before the services' tasks filled the instances.
  for (const task of scenario.standaloneTasks) {
    const instance = groupInstances(world, task.group)[task.index];
    if (!instance) throw new Error(`group ${task.group} has no instance #${task.index}`);
    world.runTask({
      cluster: task.cluster,
      ec2InstanceId: instance,
      family: task.family,
      cpu: task.cpu,
      memory: task.memory,
      stopSeconds: task.stopSeconds,
      ...(task.runSeconds !== undefined ? { runSeconds: task.runSeconds } : {}),
    });
  }
  for (const service of scenario.services) world.createService(service);
  world.placeInitialTasks();
  for (const group of scenario.groups) {
    if (group.hook) {
      world.putLifecycleHook({
        groupName: group.name,
        name: group.hook.name,
        heartbeatTimeout: group.hook.heartbeatTimeoutSeconds,
        defaultResult: group.hook.defaultResult,
        topicArn: options.topicArn,
        ...(group.hook.metadata !== undefined ? { metadata: group.hook.metadata } : {}),
      });
    }
    if (group.launchHook) {
      world.putLifecycleHook({
        groupName: group.name,
        name: group.launchHook.name,
        transition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
        heartbeatTimeout: group.launchHook.heartbeatTimeoutSeconds,
        defaultResult: group.launchHook.defaultResult,
        topicArn: options.topicArn,
      });
    }
  }
  // Capacity providers after the suite's hooks, as when ECS is set up on groups that already drain.
  const providers = new Map<string, string[]>();
  for (const group of scenario.groups) {
    if (!group.capacityProvider) continue;
    world.createCapacityProvider({ group: group.name, ...group.capacityProvider });
    providers.set(group.cluster, [...(providers.get(group.cluster) ?? []), group.capacityProvider.name]);
  }
  for (const [cluster, names] of providers) world.putClusterCapacityProviders(cluster, names);
  if (options.events === false) return;
  const end = options.start + scenario.durationMinutes * 60_000;
  for (const group of scenario.groups) {
    if (!group.stepScaling) continue;
    new ReservationStepPolicy(world, world.rules.autoScaling, { groupName: group.name, cluster: group.cluster, ...group.stepScaling }).start(end);
  }
  for (const load of scenario.diurnal) scheduleDiurnal(world, world.rules.ecs, load, end);
  for (const event of scenario.events) world.clock.schedule(options.start + event.atSeconds * 1000, () => applyEvent(world, event, options));
}

/** EC2 ids of a group's instances, in launch order. */
export function groupInstances(world: World, groupName: string): string[] {
  const group = world.groups.get(groupName);
  return group ? [...group.instances.keys()] : [];
}

function applyEvent(world: World, event: ScenarioEvent, options: PopulateOptions): void {
  switch (event.type) {
    case 'spot-interruption': {
      const candidates = [...(world.groups.get(event.group)?.instances.values() ?? [])].filter(
        (instance) => instance.lifecycleState === 'InService' && world.ec2.get(instance.id)?.state === 'running',
      );
      const chosen: string[] = [];
      while (chosen.length < event.count && candidates.length > 0) {
        const index = world.random.int(0, candidates.length - 1);
        chosen.push(candidates.splice(index, 1)[0]!.id);
      }
      world.record('scenario', 'spot interruptions', { group: event.group, count: chosen.length });
      for (const id of chosen) world.interruptSpot(id, event.rebalanceLeadSeconds ? { rebalanceFirstMs: event.rebalanceLeadSeconds * 1000 } : {});
      return;
    }
    case 'set-desired-capacity':
      world.setDesiredCapacity(event.group, event.desiredCapacity);
      return;
    case 'terminate-instance': {
      // An operator (or another tool) calling TerminateInstanceInAutoScalingGroup.
      const instanceId = groupInstances(world, event.group)[event.index];
      if (!instanceId) return;
      world.record('scenario', 'instance termination requested', { group: event.group, ec2InstanceId: instanceId });
      world.callSync('autoscaling', 'TerminateInstanceInAutoScalingGroup', {
        InstanceId: instanceId,
        ShouldDecrementDesiredCapacity: event.shouldDecrementDesiredCapacity,
      });
      return;
    }
    case 'deploy':
      world.deployService(event.cluster, event.service);
      return;
    case 'instance-refresh':
      world.startInstanceRefresh({
        groupName: event.group,
        minHealthyPercentage: event.minHealthyPercentage,
        maxHealthyPercentage: event.maxHealthyPercentage,
        instanceWarmupSeconds: event.instanceWarmupSeconds,
      });
      return;
    case 'stop-start': {
      world.record('scenario', 'instance stopped by an operator', { ec2InstanceId: event.ec2InstanceId, stoppedSeconds: event.stoppedSeconds });
      if (!world.stopInstance(event.ec2InstanceId)) return;
      // Started once it has stopped (StartInstances refuses an instance still stopping).
      const startAt = world.now() + Math.max(event.stoppedSeconds * 1000, world.timings.shutdownMs + 1);
      world.clock.schedule(startAt, () => {
        world.record('scenario', 'instance started by an operator', { ec2InstanceId: event.ec2InstanceId });
        world.startInstance(event.ec2InstanceId);
      });
      return;
    }
    case 'health-event': {
      const id = event.ec2InstanceId ?? groupInstances(world, event.group ?? '')[event.index];
      if (!id) return;
      world.scheduleHealthEvent({
        ec2InstanceIds: [id],
        eventTypeCode: event.eventTypeCode,
        startsAt: world.now() + event.windowInMinutes * 60_000,
        repeatEveryMs: event.repeatEveryMinutes * 60_000,
      });
      return;
    }
    case 'invoke':
      if (!options.invoke) return;
      world.record('scenario', 'event sent to a handler', { fn: event.function, invalid: event.invalid });
      options.invoke(event.function, event.event, event.invalid);
      return;
  }
}
