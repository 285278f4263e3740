// A clock tests move by hand. Timers fire in due order; after each one the clock waits for the engine
// to settle (every dispatcher idle), so DB work a timer starts finishes before virtual time moves on.
import type { Clock } from '../../src/model/clock.js';

interface Timer {
  due: number;
  seq: number;
  fn: () => void;
}

export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private timers = new Set<Timer>();
  settle: () => Promise<void> = async () => undefined;

  constructor(readonly start: Date) {
    this.t = start.getTime();
  }

  now(): Date {
    return new Date(this.t);
  }

  setTimeout(fn: () => void, ms: number): { clear(): void } {
    const timer: Timer = { due: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.add(timer);
    return { clear: () => void this.timers.delete(timer) };
  }

  /** Seconds since `start`. */
  get seconds(): number {
    return (this.t - this.start.getTime()) / 1000;
  }

  /** Moves to `start + s` seconds, firing every timer due on the way. */
  async to(s: number): Promise<void> {
    const target = this.start.getTime() + Math.round(s * 1000);
    await this.settle();
    for (;;) {
      let next: Timer | undefined;
      for (const x of this.timers) if (x.due <= target && (!next || x.due < next.due || (x.due === next.due && x.seq < next.seq))) next = x;
      if (!next) break;
      this.timers.delete(next);
      this.t = Math.max(this.t, next.due);
      next.fn();
      await this.settle();
    }
    this.t = Math.max(this.t, target);
    await this.settle();
  }
}
