/**
 * Collapses concurrent calls for the same key into one: while a call for `key` is in flight, later
 * callers get the same promise. This is what stops a cache stampede: 100 requests missing the same
 * key at once cause one load, not 100.
 */
export class SingleFlight<V> {
  private readonly inFlight = new Map<string, Promise<V>>();

  do(key: string, fn: () => Promise<V>): Promise<V> {
    const existing = this.inFlight.get(key);
    if (existing) return existing;
    const p = (async () => {
      try {
        return await fn();
      } finally {
        this.inFlight.delete(key);
      }
    })();
    this.inFlight.set(key, p);
    return p;
  }

  get size(): number {
    return this.inFlight.size;
  }
}
