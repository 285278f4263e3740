/** Injectable time, so timer semantics (group_wait, group_interval, for) are testable without sleeping long. */
export interface Clock {
  now(): Date;
  setTimeout(fn: () => void, ms: number): { clear(): void };
}

/** A timer as an object with a method: no closure per timer (tsx names every closure it creates, at a cost). */
class SystemTimer {
  constructor(private readonly timeout: NodeJS.Timeout) {}

  clear(): void {
    clearTimeout(this.timeout);
  }
}

export const systemClock: Clock = {
  now: () => new Date(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return new SystemTimer(t);
  },
};
