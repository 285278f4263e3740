import { LRUCache } from 'lru-cache';
import type { Sale, SaleStore } from './db/sale-store.js';

/**
 * Sale rows reused from memory on the purchase path: a sale's window, price and product never change
 * after creation, so only a new sale (or a status change, which the window check and Postgres guard
 * cover) can make a cached row stale. Unknown ids are remembered briefly too, so a flood of made-up ids
 * costs one query each per `negativeTtlMs`, not one per request; concurrent misses share one query.
 */
export class SaleCache {
  private readonly cache: LRUCache<string, { sale: Sale | null }>;
  private readonly loading = new Map<string, Promise<Sale | undefined>>();
  private readonly negativeTtlMs: number;

  constructor(
    private readonly store: SaleStore,
    opts: { ttlMs: number; negativeTtlMs?: number; max?: number },
  ) {
    this.cache = new LRUCache({ max: opts.max ?? 10_000, ttl: opts.ttlMs });
    this.negativeTtlMs = opts.negativeTtlMs ?? 1000;
  }

  async get(id: string): Promise<Sale | undefined> {
    const hit = this.cache.get(id);
    if (hit) return hit.sale ?? undefined;
    let pending = this.loading.get(id);
    if (!pending) {
      pending = this.store.get(id).finally(() => this.loading.delete(id));
      this.loading.set(id, pending);
      const sale = await pending;
      // only allocated sales are sellable; a sale still allocating is looked up again next time
      if (!sale || sale.status === 'cancelled') this.cache.set(id, { sale: null }, { ttl: this.negativeTtlMs });
      else if (sale.status !== 'allocating') this.cache.set(id, { sale });
      return sale;
    }
    return pending;
  }

  /** The creating instance knows the new row already. */
  put(sale: Sale): void {
    this.cache.set(sale.id, { sale });
  }

  forget(id: string): void {
    this.cache.delete(id);
  }
}
