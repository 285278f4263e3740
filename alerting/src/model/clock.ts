/** Injectable time, so timer semantics (group_wait, group_interval, for) are testable without sleeping long. */
export interface Clock {
  now(): Date;
  setTimeout(fn: () => void, ms: number): { clear(): void };
}

export const systemClock: Clock = {
  now: () => new Date(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { clear: () => clearTimeout(t) };
  },
};
