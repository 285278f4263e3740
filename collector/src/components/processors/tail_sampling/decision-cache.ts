// The decision caches (contrib's decision_cache): trace ids decided recently, so a span that arrives after its
// trace was decided follows the decision. lru-cache kept a doubly linked list and several typed arrays per
// entry for a recency order we never use: an id is added once, when its trace is decided, and only looked up
// after (a trace that is cached is never opened again, so never decided or added again). Eviction is
// therefore oldest-added first, which is a ring of ids beside a Set.
export class DecisionCache {
  private readonly ids = new Set<string>();
  /** Ids in the order added; slot `next` holds the oldest once the ring is full. */
  private readonly ring: string[] = [];
  private next = 0;

  constructor(private readonly max: number) {}

  get size(): number {
    return this.ids.size;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Adds `id`, evicting the oldest id when full; an id already present stays where it is. */
  add(id: string): void {
    if (this.ids.has(id)) return;
    if (this.ring.length < this.max) {
      this.ring.push(id);
    } else {
      this.ids.delete(this.ring[this.next]!);
      this.ring[this.next] = id;
      this.next = (this.next + 1) % this.max;
    }
    this.ids.add(id);
  }
}
