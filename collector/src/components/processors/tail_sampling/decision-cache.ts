// The decision caches (contrib's decision_cache): trace ids decided recently, so a span that arrives after its
// trace was decided follows the decision. lru-cache kept a doubly linked list and several typed arrays per
// entry for a recency order we never use: an id is added once, when its trace is decided, and only looked up
// after (a trace that is cached is never opened again, so never decided or added again). Eviction is
// therefore oldest-added first, which is a ring of ids.
//
// The ids live in a Map the caller may share: the processor keeps its pending traces and both caches in one
// Map (id → pending trace, 'sampled' or 'dropped'), so a span's trace is found with one lookup, and deciding a
// trace overwrites its entry instead of deleting it from one table and adding it to another.
export class DecisionCache<M> {
  /** Ids in the order added; slot `next` holds the oldest once the ring is full. */
  private readonly ring: string[] = [];
  private next = 0;

  /** `map` holds `mark` for every id of this cache (and may hold other entries, other caches' marks included). */
  constructor(
    private readonly max: number,
    private readonly map: Map<string, unknown> = new Map<string, M>(),
    private readonly mark: M = true as M,
  ) {}

  get size(): number {
    return this.ring.length;
  }

  has(id: string): boolean {
    return this.map.get(id) === this.mark;
  }

  /** Adds `id` (replacing whatever the map held for it), evicting the oldest id when full; an id already present stays where it is. */
  add(id: string): void {
    if (this.map.get(id) === this.mark) return;
    if (this.ring.length < this.max) {
      this.ring.push(id);
    } else {
      const oldest = this.ring[this.next]!;
      // the entry may since have become something else (evicted, reopened as a pending trace): only this cache's mark goes
      if (this.map.get(oldest) === this.mark) this.map.delete(oldest);
      this.ring[this.next] = id;
      this.next = (this.next + 1) % this.max;
    }
    this.map.set(id, this.mark);
  }
}
