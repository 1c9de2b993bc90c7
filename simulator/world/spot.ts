import type { AutoScalingRules } from './autoscaling';
import type { Ec2Rules } from './ec2';
import type { WorldState } from './state';

/** EC2 Spot: the interruption warning and the reclaim, and the group's reaction to the lost instance. */
export class SpotRules {
  constructor(
    private readonly world: WorldState,
    private readonly ec2: Ec2Rules,
    private readonly autoScaling: AutoScalingRules,
  ) {}

  // ---------------------------------------------------------------- events over time

  /** The EC2 Spot interruption: the warning now, the reclaim two minutes later (aws-behaviour.md §1.1). */
  interruptSpot(ec2InstanceId: string, options: { rebalanceFirstMs?: number; action?: 'terminate' | 'stop' | 'hibernate' } = {}): void {
    const ec2 = this.world.ec2.get(ec2InstanceId);
    if (!ec2 || ec2.state !== 'running') return;
    if (options.rebalanceFirstMs !== undefined) {
      this.world.emit('EC2 Instance Rebalance Recommendation', [ec2InstanceId], { 'instance-id': ec2InstanceId });
    }
    const warn = () => {
      if (ec2.state !== 'running') return;
      this.world.record('spot', 'spot interruption warning', { ec2InstanceId });
      this.world.emit('EC2 Spot Instance Interruption Warning', [ec2InstanceId], {
        'instance-id': ec2InstanceId,
        'instance-action': options.action ?? 'terminate',
      });
      // A lifecycle hook does not hold a Spot instance (aws-behaviour.md §3.2).
      this.world.clock.schedule(this.world.now() + this.world.timings.spotNoticeMs, () => this.reclaimSpot(ec2InstanceId));
    };
    if (options.rebalanceFirstMs) this.world.clock.schedule(this.world.now() + options.rebalanceFirstMs, warn);
    else warn();
  }

  private reclaimSpot(ec2InstanceId: string): void {
    const ec2 = this.world.ec2.get(ec2InstanceId);
    if (!ec2 || ec2.state === 'terminated' || ec2.state === 'shutting-down') return;
    this.world.record('spot', 'spot instance reclaimed', { ec2InstanceId });
    const membership = this.world.groupOf(ec2InstanceId);
    this.ec2.shutDown(ec2InstanceId, 'spot-interruption');
    if (membership && membership.instance.lifecycleState === 'InService') {
      // The group notices the lost instance, runs its termination hooks on an instance that is
      // already gone, and launches a replacement (aws-behaviour.md §3.2).
      membership.instance.healthStatus = 'Unhealthy';
      this.autoScaling.beginTermination(membership.group, membership.instance, 'spot-interruption');
    }
  }
}
