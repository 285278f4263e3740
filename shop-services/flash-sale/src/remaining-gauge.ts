import { remainingUnits } from './metrics.js';

/**
 * flash_sale_remaining_units{sale_id} with bounded cardinality: only sales this instance has seen
 * active are labelled, at most `maxSales` of them; a settled sale's series is removed.
 */
export class RemainingGauge {
  private readonly labelled = new Set<string>();

  constructor(private readonly maxSales: number) {}

  set(saleId: string, remaining: number): void {
    if (!this.labelled.has(saleId)) {
      if (this.labelled.size >= this.maxSales) return;
      this.labelled.add(saleId);
    }
    remainingUnits.set({ sale_id: saleId }, remaining);
  }

  remove(saleId: string): void {
    if (!this.labelled.delete(saleId)) return;
    remainingUnits.remove({ sale_id: saleId });
  }

  /** Drops every series not in `active` (sales that ended elsewhere). */
  retain(active: ReadonlySet<string>): void {
    for (const id of this.labelled) if (!active.has(id)) this.remove(id);
  }

  get size(): number {
    return this.labelled.size;
  }
}
