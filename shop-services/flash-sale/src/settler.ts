import { AppError, type Logger } from '@lantern/shop-common';
import type { SaleStore } from './db/sale-store.js';
import type { InventoryAllocations } from './inventory-client.js';
import type { SaleCounters } from './redis/sale-counters.js';
import type { RemainingGauge } from './remaining-gauge.js';
import type { SaleCache } from './sale-cache.js';
import type { SoldOutFlags } from './sold-out-flags.js';
import { unitsReleasedTotal, unitsReturnedTotal } from './metrics.js';

export interface SettlerDeps {
  store: SaleStore;
  counters: SaleCounters;
  inventory: InventoryAllocations;
  sales: SaleCache;
  soldOut: SoldOutFlags;
  gauge: RemainingGauge;
  logger: Logger;
  /** Wait after a sale's end before settling it. */
  graceMs: number;
  /** A hold older than this without a purchase row is given back. */
  staleHoldMs: number;
  /** An `allocating` sale older than this is cancelled (its creating request is long gone). */
  staleAllocatingMs?: number;
  /** Active sales looked at per run (gauge, holds). */
  maxActiveSales: number;
  now?: () => number;
}

export interface SettleReport {
  settled: number;
  unitsReturned: number;
  cancelled: number;
  staleHoldsReleased: number;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Background upkeep, every step idempotent so several instances may run it at once:
 * - settles sales past their end: Postgres stops taking purchases and owes the unsold units to inventory;
 * - gives owed units back to inventory (retried until inventory confirms; each return carries an
 *   idempotency key naming the owed total, so a retry never returns twice);
 * - cancels sales stuck allocating, giving back whatever inventory set aside;
 * - gives back Redis holds whose request died between the Lua script and the Postgres commit;
 * - refreshes flash_sale_remaining_units.
 */
export class Settler {
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(private readonly deps: SettlerDeps) {
    this.now = deps.now ?? Date.now;
  }

  start(intervalMs: number): void {
    if (intervalMs <= 0) return;
    const tick = () => {
      this.running = this.runOnce()
        .catch((err: unknown) => this.deps.logger.error({ err: errorText(err) }, 'flash-sale settler run failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, intervalMs).unref();
        });
    };
    this.timer = setTimeout(tick, intervalMs).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  async runOnce(): Promise<SettleReport> {
    const settled = await this.settleEnded();
    const unitsReturned = await this.returnOwed();
    const cancelled = await this.cancelStaleAllocations();
    const staleHoldsReleased = await this.reconcileHolds();
    return { settled, unitsReturned, cancelled, staleHoldsReleased };
  }

  private async settleEnded(): Promise<number> {
    const settled = await this.deps.store.settleEnded(new Date(this.now()), this.deps.graceMs);
    for (const sale of settled) {
      this.deps.gauge.remove(sale.id);
      this.deps.sales.forget(sale.id);
      this.deps.logger.info({ saleId: sale.id, sold: sale.stock - sale.unsoldUnits, unsold: sale.unsoldUnits }, 'flash sale settled');
    }
    return settled.length;
  }

  private async returnOwed(): Promise<number> {
    let returned = 0;
    for (const sale of await this.deps.store.owingReturns()) {
      const quantity = sale.unsoldUnits - sale.returnedUnits;
      try {
        await this.deps.inventory.giveBack(sale.id, quantity, `${sale.id}:return:${sale.unsoldUnits}`);
        await this.deps.store.confirmReturned(sale.id, sale.unsoldUnits);
        unitsReturnedTotal.inc(quantity);
        returned += quantity;
      } catch (err) {
        this.deps.logger.warn({ saleId: sale.id, quantity, err: errorText(err) }, 'returning unsold units to inventory failed; will retry');
      }
    }
    return returned;
  }

  private async cancelStaleAllocations(): Promise<number> {
    let cancelled = 0;
    const olderThan = new Date(this.now() - (this.deps.staleAllocatingMs ?? 60_000));
    for (const sale of await this.deps.store.staleAllocating(olderThan)) {
      try {
        await this.deps.inventory.giveBack(sale.id, sale.stock, `${sale.id}:cancel`);
      } catch (err) {
        // inventory never set anything aside for it: nothing to give back
        const neverAllocated = err instanceof AppError && err.status === 404;
        if (!neverAllocated) {
          this.deps.logger.warn({ saleId: sale.id, err: errorText(err) }, 'cancelling a stale allocation failed; will retry');
          continue;
        }
      }
      if (await this.deps.store.cancel(sale.id)) cancelled++;
    }
    return cancelled;
  }

  /**
   * Holds older than staleHoldMs: a committed one is just cleared; otherwise its slot is given back (the
   * user stays a buyer if they hold another purchase, e.g. the undo of a refused duplicate never ran).
   */
  private async reconcileHolds(): Promise<number> {
    const { store, counters, soldOut, logger } = this.deps;
    let released = 0;
    const active = await store.activeSales(new Date(this.now()), this.deps.maxActiveSales);
    const before = this.now() - this.deps.staleHoldMs;
    for (const sale of active) {
      try {
        const holds = await counters.holdsOlderThan(sale.id, before);
        if (holds.length === 0) continue;
        const slots = await store.purchaseSlots(sale.id, holds.map((h) => h.userId));
        for (const hold of holds) {
          const owned = slots.get(hold.userId);
          if (owned === hold.slot) {
            await counters.commitHold(sale.id, hold);
            continue;
          }
          const remaining = await counters.release(sale.id, hold, owned === undefined ? 'hold' : 'hold-keep-buyer');
          if (remaining === undefined) continue;
          released++;
          unitsReleasedTotal.inc({ reason: 'stale_hold' });
          soldOut.clear(sale.id);
          logger.warn({ saleId: sale.id, slot: hold.slot }, 'a stale flash-sale hold was given back (its request never recorded the purchase)');
        }
      } catch (err) {
        logger.warn({ saleId: sale.id, err: errorText(err) }, 'hold reconciliation failed for a sale; will retry');
      }
    }
    await this.refreshGauge(active.filter((s) => s.endsAt.getTime() > this.now()).map((s) => s.id));
    return released;
  }

  private async refreshGauge(activeIds: string[]): Promise<void> {
    this.deps.gauge.retain(new Set(activeIds));
    try {
      const remaining = await this.deps.counters.remaining(activeIds);
      activeIds.forEach((id, i) => {
        const r = remaining[i];
        if (r !== undefined) this.deps.gauge.set(id, r);
      });
    } catch (err) {
      this.deps.logger.warn({ err: errorText(err) }, 'could not refresh flash_sale_remaining_units from Redis');
    }
  }
}
