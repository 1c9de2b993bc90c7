import type { AutoScalingRules } from './autoscaling';
import type { WorldState } from './state';

/**
 * A step scaling policy that only scales out, driven by a cluster's reservation, as a CloudWatch
 * alarm on ECS's CPUReservation / MemoryReservation metrics would drive it: every period (ECS
 * publishes the cluster metrics once a minute) the larger of the two reservations is compared with
 * the threshold, and at or above it the group's desired capacity rises by the step (capacity units),
 * up to MaxSize. While an instance it launched warms up, the policy does not act again. Reservation
 * is what tasks reserve over what ACTIVE and DRAINING container instances registered. Tasks a
 * service cannot place (desired above the tasks it has) breach too, as an alarm on the services'
 * desired and running task counts would.
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html
 * https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-simple-step.html
 * Scaling in is left to whoever the scenario tests (the scale-in sweeper).
 */
export interface ReservationStepPolicySpec {
  groupName: string;
  cluster: string;
  /** Alarm threshold: reservation (percent, the larger of CPU and memory) at or above which the group grows. */
  thresholdPercent?: number;
  /**
   * Alarm on free capacity instead (metric math over the reservation and registered metrics): the
   * group grows while ACTIVE instances have less free CPU units or MiB than this.
   */
  minFreeCpu?: number;
  minFreeMemory?: number;
  /** Capacity units added per alarm evaluation in breach. */
  stepUnits: number;
  /** Seconds between evaluations (60: ECS's metric period). */
  periodSeconds?: number;
  /** Seconds after a scale-out during which the policy does not act again (instance warm-up). */
  warmupSeconds?: number;
}

export class ReservationStepPolicy {
  private lastScaleOut = -Infinity;
  private stopAt = Infinity;
  /** Scale-outs made: time, desired capacity before and after, reservation seen. */
  readonly actions: { at: number; from: number; to: number; reservationPercent: number }[] = [];

  constructor(
    private readonly world: WorldState,
    private readonly autoScaling: AutoScalingRules,
    readonly spec: ReservationStepPolicySpec,
  ) {}

  /** Evaluates every period until `until` (the clock's timers must end for a run to settle). */
  start(until: number): void {
    this.stopAt = until;
    this.tick(this.world.now() + this.periodMs());
  }

  private periodMs(): number {
    return (this.spec.periodSeconds ?? 60) * 1000;
  }

  private tick(at: number): void {
    if (at > this.stopAt) return;
    this.world.clock.schedule(at, () => {
      this.evaluate();
      this.tick(at + this.periodMs());
    });
  }

  /** The cluster's reservation, in percent: the larger of CPU and memory. */
  reservationPercent(): number {
    const cluster = this.world.clusters.get(this.spec.cluster);
    if (!cluster) return 0;
    let registeredCpu = 0;
    let registeredMemory = 0;
    let cpu = 0;
    let memory = 0;
    for (const instance of cluster.instances.values()) {
      if (instance.status !== 'ACTIVE' && instance.status !== 'DRAINING') continue;
      const used = this.world.usage(instance);
      registeredCpu += instance.registeredCpu;
      registeredMemory += instance.registeredMemory;
      cpu += used.cpu;
      memory += used.memory;
    }
    if (registeredCpu === 0 || registeredMemory === 0) return 100;
    return Math.max((cpu / registeredCpu) * 100, (memory / registeredMemory) * 100);
  }

  private breached(reservation: number): boolean {
    const { thresholdPercent, minFreeCpu, minFreeMemory } = this.spec;
    if (thresholdPercent !== undefined && reservation >= thresholdPercent) return true;
    const cluster = this.world.clusters.get(this.spec.cluster);
    if (!cluster) return false;
    const free = this.world.freeCapacity(cluster);
    if ((minFreeCpu !== undefined && free.cpu < minFreeCpu) || (minFreeMemory !== undefined && free.memory < minFreeMemory)) return true;
    for (const service of cluster.services.values()) {
      if (service.strategy !== 'REPLICA') continue;
      let live = 0;
      for (const task of cluster.tasks.values()) if (task.serviceName === service.name && task.desiredStatus === 'RUNNING') live += 1;
      if (live < service.desiredCount) return true;
    }
    return false;
  }

  /** One alarm evaluation: the new desired capacity when the policy scaled out, else undefined. */
  evaluate(): number | undefined {
    const group = this.world.groups.get(this.spec.groupName);
    if (!group) return undefined;
    const now = this.world.now();
    if (now - this.lastScaleOut < (this.spec.warmupSeconds ?? 300) * 1000) return undefined;
    const reservation = this.reservationPercent();
    if (!this.breached(reservation) || group.desiredCapacity >= group.maxSize) return undefined;
    const from = group.desiredCapacity;
    const to = Math.min(group.maxSize, from + this.spec.stepUnits);
    this.autoScaling.setDesiredCapacity(group.name, to);
    this.lastScaleOut = now;
    this.actions.push({ at: now, from, to, reservationPercent: reservation });
    return to;
  }
}
