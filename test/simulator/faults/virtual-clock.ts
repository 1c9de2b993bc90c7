import type { Clock } from '../../../lib/clock';

/** A clock that only moves when told to; sleeping moves it at once. */
export class VirtualClock implements Clock {
  constructor(private time = Date.UTC(2026, 10, 22, 3, 0, 0)) {}
  now(): number {
    return this.time;
  }
  async sleep(ms: number): Promise<void> {
    this.time += Math.max(0, ms);
  }
  advance(ms: number): void {
    this.time += ms;
  }
}
