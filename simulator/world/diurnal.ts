import type { EcsRules } from './ecs';
import type { WorldState } from './state';

/**
 * Diurnal load: a replica service's desired count follows a day curve, low at night and high at
 * the peak hour (a raised cosine over 24 hours), set every step as an application's own service
 * auto scaling would. Load, not an AWS rule: scenarios and benchmarks use it to give the scale-in
 * sweeper work at night.
 */
export interface DiurnalSpec {
  cluster: string;
  service: string;
  /** Desired count at the quietest hour. */
  night: number;
  /** Desired count at the peak hour. */
  peak: number;
  /** UTC hour of the peak (0-23.99). */
  peakHour: number;
  /** Minutes between changes of the desired count. */
  stepMinutes: number;
}

const DAY = 24 * 3_600_000;

/** The desired count at a time: night + (peak - night) × (1 + cos(2π (t - peak) / 24 h)) / 2, rounded. */
export function diurnalCount(spec: Pick<DiurnalSpec, 'night' | 'peak' | 'peakHour'>, at: number): number {
  const sinceMidnight = ((at % DAY) + DAY) % DAY;
  const phase = ((sinceMidnight - spec.peakHour * 3_600_000) / DAY) * 2 * Math.PI;
  return Math.round(spec.night + ((spec.peak - spec.night) * (1 + Math.cos(phase))) / 2);
}

/** Sets the service's desired count from the curve now and every step until `until`. */
export function scheduleDiurnal(world: WorldState, ecs: EcsRules, spec: DiurnalSpec, until: number): void {
  const step = spec.stepMinutes * 60_000;
  const apply = (at: number) => {
    if (at > until) return;
    world.clock.schedule(at, () => {
      ecs.setServiceDesiredCount(spec.cluster, spec.service, diurnalCount(spec, at));
      apply(at + step);
    });
  };
  apply(world.now());
}
