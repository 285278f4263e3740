import type { Span } from '@opentelemetry/api';
import { AppError, type Logger } from '@lantern/shop-common';
import type { Sale, SaleStore } from './db/sale-store.js';
import type { InventoryAllocations } from './inventory-client.js';
import type { Hold, SaleCounters } from './redis/sale-counters.js';
import type { RemainingGauge } from './remaining-gauge.js';
import type { SaleCache } from './sale-cache.js';
import type { SoldOutFlags } from './sold-out-flags.js';
import { unitsReleasedTotal, unitsReturnedTotal } from './metrics.js';
import { inJobSpan, recordFailure } from './tracing.js';

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

  /**
   * One run. Each step first looks for its work with a query (reconcileHolds: and a Redis look per
   * active sale) that runs outside any span, so the SDK leaves it untraced, and opens its span only
   * around the work it found: most runs find nothing and leave no trace, and each step that works is
   * one trace of its own (flash_sale.settle, .return_units, .cancel_allocations, .release_holds) with
   * its SQL, Redis and inventory calls inside. A step's span would not be "dropped" if it found
   * nothing: the OpenTelemetry API cannot unsample a started span, and its children would be orphans.
   */
  async runOnce(): Promise<SettleReport> {
    const settled = await this.settleEnded();
    const unitsReturned = await this.returnOwed();
    const cancelled = await this.cancelStaleAllocations();
    const staleHoldsReleased = await this.reconcileHolds();
    return { settled, unitsReturned, cancelled, staleHoldsReleased };
  }

  private async settleEnded(): Promise<number> {
    const due = await this.deps.store.endedSaleIds(new Date(this.now()), this.deps.graceMs);
    if (due.length === 0) return 0;
    return inJobSpan('flash_sale.settle', { 'flash_sale.sales': due.length }, async (span) => {
      let settled = 0;
      for (const id of due) {
        const sale = await this.deps.store.settle(id);
        if (!sale) continue; // another instance settled it
        settled++;
        this.deps.gauge.remove(sale.id);
        this.deps.sales.forget(sale.id);
        this.deps.logger.info({ saleId: sale.id, sold: sale.stock - sale.unsoldUnits, unsold: sale.unsoldUnits }, 'flash sale settled');
      }
      span.setAttribute('flash_sale.settled', settled);
      return settled;
    });
  }

  private async returnOwed(): Promise<number> {
    const owing = await this.deps.store.owingReturns();
    if (owing.length === 0) return 0;
    return inJobSpan('flash_sale.return_units', { 'flash_sale.sales': owing.length }, async (span) => {
      let returned = 0;
      let failed = 0;
      for (const sale of owing) {
        const quantity = sale.unsoldUnits - sale.returnedUnits;
        try {
          await this.deps.inventory.giveBack(sale.id, quantity, `${sale.id}:return:${sale.unsoldUnits}`);
          await this.deps.store.confirmReturned(sale.id, sale.unsoldUnits);
          unitsReturnedTotal.inc(quantity);
          returned += quantity;
        } catch (err) {
          failed++;
          recordFailure(span, err);
          this.deps.logger.warn({ saleId: sale.id, quantity, err: errorText(err) }, 'returning unsold units to inventory failed; will retry');
        }
      }
      span.setAttributes({ 'flash_sale.units_returned': returned, 'flash_sale.failed': failed });
      return returned;
    });
  }

  private async cancelStaleAllocations(): Promise<number> {
    const olderThan = new Date(this.now() - (this.deps.staleAllocatingMs ?? 60_000));
    const stale = await this.deps.store.staleAllocating(olderThan);
    if (stale.length === 0) return 0;
    return inJobSpan('flash_sale.cancel_allocations', { 'flash_sale.sales': stale.length }, async (span) => {
      let cancelled = 0;
      let failed = 0;
      for (const sale of stale) {
        try {
          await this.deps.inventory.giveBack(sale.id, sale.stock, `${sale.id}:cancel`);
        } catch (err) {
          // inventory never set anything aside for it: nothing to give back
          const neverAllocated = err instanceof AppError && err.status === 404;
          if (!neverAllocated) {
            failed++;
            recordFailure(span, err);
            this.deps.logger.warn({ saleId: sale.id, err: errorText(err) }, 'cancelling a stale allocation failed; will retry');
            continue;
          }
        }
        if (await this.deps.store.cancel(sale.id)) cancelled++;
      }
      span.setAttributes({ 'flash_sale.cancelled': cancelled, 'flash_sale.failed': failed });
      return cancelled;
    });
  }

  /**
   * Holds older than staleHoldMs: a committed one is just cleared; otherwise its slot is given back (the
   * user stays a buyer if they hold another purchase, e.g. the undo of a refused duplicate never ran).
   * The look for old holds is the check; the remaining-units gauge is refreshed every run, untraced
   * (a read of Redis for a metric, not work worth a trace every few seconds).
   */
  private async reconcileHolds(): Promise<number> {
    const active = await this.deps.store.activeSales(new Date(this.now()), this.deps.maxActiveSales);
    const stale = await this.staleHolds(active);
    const released = stale.length === 0 ? 0 : await inJobSpan('flash_sale.release_holds', { 'flash_sale.sales': stale.length }, (span) => this.releaseHolds(stale, span));
    await this.refreshGauge(active.filter((s) => s.endsAt.getTime() > this.now()).map((s) => s.id));
    return released;
  }

  /** The sales with holds older than staleHoldMs, with those holds. */
  private async staleHolds(active: readonly Sale[]): Promise<{ saleId: string; holds: Hold[] }[]> {
    const before = this.now() - this.deps.staleHoldMs;
    const found: { saleId: string; holds: Hold[] }[] = [];
    for (const sale of active) {
      try {
        const holds = await this.deps.counters.holdsOlderThan(sale.id, before);
        if (holds.length > 0) found.push({ saleId: sale.id, holds });
      } catch (err) {
        this.deps.logger.warn({ saleId: sale.id, err: errorText(err) }, 'hold reconciliation failed for a sale; will retry');
      }
    }
    return found;
  }

  private async releaseHolds(stale: readonly { saleId: string; holds: Hold[] }[], span: Span): Promise<number> {
    const { store, counters, soldOut, logger } = this.deps;
    let released = 0;
    let committed = 0;
    for (const { saleId, holds } of stale) {
      try {
        const slots = await store.purchaseSlots(saleId, holds.map((h) => h.userId));
        for (const hold of holds) {
          const owned = slots.get(hold.userId);
          if (owned === hold.slot) {
            await counters.commitHold(saleId, hold);
            committed++;
            continue;
          }
          const remaining = await counters.release(saleId, hold, owned === undefined ? 'hold' : 'hold-keep-buyer');
          if (remaining === undefined) continue;
          released++;
          unitsReleasedTotal.inc({ reason: 'stale_hold' });
          soldOut.clear(saleId);
          logger.warn({ saleId, slot: hold.slot }, 'a stale flash-sale hold was given back (its request never recorded the purchase)');
        }
      } catch (err) {
        recordFailure(span, err);
        logger.warn({ saleId, err: errorText(err) }, 'hold reconciliation failed for a sale; will retry');
      }
    }
    span.setAttributes({ 'flash_sale.holds_released': released, 'flash_sale.holds_committed': committed });
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
