// One limiter per processor id per collector, shared by every pipeline that lists it, as upstream
// shares it: one timer, one measurement, and above all one forced GC per check, not one per pipeline.
import type { Host } from '../../../pipeline/types.js';
import type { LimiterState, MemoryLimiter } from './limiter.js';

type Listener = (state: LimiterState) => void;

interface Entry {
  limiter: MemoryLimiter;
  listeners: Set<Listener>;
}

const byHost = new WeakMap<Host, Map<string, Entry>>();

export interface Lease {
  limiter: MemoryLimiter;
  release(): void;
}

/**
 * The running limiter of `id`, made (with `make`, given the callback that fans each check out to the
 * listeners) and started by the first pipeline; stopped when the last one releases it. A reload shuts
 * every old instance down before creating the new ones, so a changed config gets a new limiter.
 */
export function acquireLimiter(host: Host, id: string, make: (onCheck: Listener) => MemoryLimiter, listener: Listener): Lease {
  let entries = byHost.get(host);
  if (!entries) byHost.set(host, (entries = new Map()));
  let entry = entries.get(id);
  if (entry) {
    entry.listeners.add(listener);
    listener(entry.limiter.current);
  } else {
    const listeners = new Set<Listener>([listener]);
    entry = { limiter: make((state) => listeners.forEach((l) => l(state))), listeners };
    entries.set(id, entry);
    entry.limiter.start();
  }
  const e = entry;
  const map = entries;
  return {
    limiter: e.limiter,
    release() {
      e.listeners.delete(listener);
      if (e.listeners.size > 0) return;
      e.limiter.stop();
      if (map.get(id) === e) map.delete(id);
    },
  };
}
