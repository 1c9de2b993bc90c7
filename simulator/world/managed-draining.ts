import type { AutoScalingRules } from './autoscaling';
import { TERMINATE_LIFECYCLE_ACTION } from './autoscaling-events';
import type { EcsRules } from './ecs';
import type { BusEvent, LifecycleAction } from './model';
import type { WorldState } from './state';

/**
 * ECS's managed instance draining, as an actor of the world (docs/aws-behaviour.md §3.5). For a
 * capacity provider with managed draining that serves a cluster, ECS keeps its own termination hook
 * on the group and listens to Auto Scaling's lifecycle events on EventBridge. When an instance
 * enters Terminating:Wait it sets the container instance DRAINING (unless it already is), keeps its
 * own action alive, and completes it with CONTINUE once every task on the instance has stopped
 * (service tasks are replaced, standalone tasks are waited for, daemon tasks stop last), or after
 * 48 hours. Other termination hooks run in parallel; Auto Scaling waits for all of them. It drains
 * on a Spot interruption warning too.
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/managed-instance-draining.html
 *
 * Modelled timings (UNVERIFIED, AWS does not publish them): ECS reacts a second after the event and
 * checks the instance every 5 seconds.
 */
export const MANAGED_DRAINING_HOOK = 'ecs-managed-draining-termination-hook';
const REACTION_MS = 1_000;
const CHECK_EVERY_MS = 5_000;
const DRAIN_LIMIT_MS = 48 * 3_600_000;

export class ManagedDrainingActor {
  constructor(
    private readonly world: WorldState,
    private readonly ecs: EcsRules,
    private readonly autoScaling: AutoScalingRules,
  ) {
    world.onBusEvent((event) => this.onEvent(event));
  }

  private onEvent(event: BusEvent): void {
    if (event.source === 'aws.autoscaling' && event['detail-type'] === TERMINATE_LIFECYCLE_ACTION && event.detail.LifecycleHookName === MANAGED_DRAINING_HOOK) {
      const token = String(event.detail.LifecycleActionToken);
      this.world.clock.schedule(this.world.now() + REACTION_MS, () => this.takeOver(token));
    }
    if (event.source === 'aws.ec2' && event['detail-type'] === 'EC2 Spot Instance Interruption Warning') {
      const id = String(event.detail['instance-id']);
      const groupName = this.world.ec2.get(id)?.groupName;
      if (groupName && this.hasManagedDraining(groupName)) this.world.clock.schedule(this.world.now() + REACTION_MS, () => this.drainForSpot(id));
    }
  }

  private drainForSpot(ec2InstanceId: string): void {
    const instance = this.world.containerInstanceOf(ec2InstanceId);
    if (instance?.status === 'ACTIVE') this.ecs.setContainerInstanceStatus(instance, 'DRAINING', 'ecs-managed-draining');
  }

  private hasManagedDraining(groupName: string): boolean {
    return [...this.world.capacityProviders.values()].some(
      (provider) => provider.groupName === groupName && provider.cluster !== undefined && provider.managedDraining === 'ENABLED',
    );
  }

  private takeOver(token: string): void {
    const action = this.world.lifecycleActions.get(token);
    if (!action || action.state !== 'active') return;
    const instance = this.world.containerInstanceOf(action.instanceId);
    const record: WorldState['managedDrains'][number] = {
      at: this.world.now(),
      ec2InstanceId: action.instanceId,
      groupName: action.groupName,
      alreadyDraining: instance?.status === 'DRAINING',
    };
    this.world.managedDrains.push(record);
    if (instance?.status === 'ACTIVE') this.ecs.setContainerInstanceStatus(instance, 'DRAINING', 'ecs-managed-draining');
    this.world.record('lifecycle', 'ECS managed draining took over', { ec2InstanceId: action.instanceId, alreadyDraining: record.alreadyDraining });
    this.check(action, record);
  }

  private check(action: LifecycleAction, record: WorldState['managedDrains'][number]): void {
    if (action.state !== 'active') return;
    const now = this.world.now();
    const instance = this.world.containerInstanceOf(action.instanceId);
    const gone = !instance || instance.status === 'INACTIVE';
    if (gone || this.world.unstoppedTasksOn(instance).length === 0 || now - action.startedAt >= DRAIN_LIMIT_MS) {
      record.completedAt = now;
      this.autoScaling.completeAction(action, 'CONTINUE');
      return;
    }
    // Keeps its own action open while it drains: a heartbeat at half the heartbeat window.
    if (action.heartbeatDeadline - now <= action.heartbeatTimeoutMs / 2) this.autoScaling.heartbeat(action);
    this.world.clock.schedule(now + CHECK_EVERY_MS, () => this.check(action, record));
  }
}
