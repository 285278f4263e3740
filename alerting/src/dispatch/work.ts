// Counts the dispatcher's work in progress, so a caller (a test driving a manual clock, or shutdown) can wait
// until everything started has finished or is only waiting on the clock (a retry backoff).
import type { Clock } from '../model/clock.js';
import { clockSleep } from '../notify/retry.js';

export class WorkTracker {
  private active = 0;
  private waiters: Array<() => void> = [];

  /** Runs `fn`, counting it as busy; the count rises before this returns, so callers can rely on it at once. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    this.active++;
    let p: Promise<T>;
    try {
      p = fn();
    } catch (err) {
      p = Promise.reject(err as Error);
    }
    return p.finally(() => this.done());
  }

  /** A backoff wait on the clock, not counted as busy (a manual clock must be advanced to end it). */
  async sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
    this.done();
    try {
      await clockSleep(clock, ms, signal);
    } finally {
      this.active++;
    }
  }

  /** Resolves once nothing is busy (work parked on the clock does not count). */
  async idle(): Promise<void> {
    // Let just-resolved promises schedule their follow-up work before judging.
    for (;;) {
      if (this.active === 0) {
        await new Promise((r) => setImmediate(r));
        if (this.active === 0) return;
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  private done(): void {
    this.active--;
    if (this.active === 0) {
      const ws = this.waiters;
      this.waiters = [];
      for (const w of ws) w();
    }
  }
}
