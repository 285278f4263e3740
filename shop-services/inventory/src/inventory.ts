import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ConflictError, type Logger } from '@lantern/shop-common';
import type { Allocation, Line, Reservation, Shortage, StockRow, StockStore } from './db/stock-store.js';
import { allocationNotFound, idempotencyConflict, insufficientStock, reservationNotFound, reservationState, stockNotFound } from './errors.js';
import { expiredSweptTotal, gateUndoneTotal, recordReserve, redisFallbackTotal, reservationTransitionsTotal, reservePathTotal, type FallbackReason, type ReserveOutcome, type StockLevelGauge } from './metrics.js';
import type { StockGate } from './redis/stock-gate.js';
import { requestHash } from './request-hash.js';
import { inJobSpan } from './tracing.js';

/** What the reconciler offers the request path: repairs it asks for, without waiting for them. */
export interface ReconcileTrigger {
  /** These products' Redis stock is missing or wrong: reconcile them soon. */
  requestProducts(productIds: readonly string[]): void;
  /** Redis missed changes (it was unreachable): reconcile everything soon. */
  markDirty(): void;
}

export interface InventoryOptions {
  store: StockStore;
  gate: StockGate;
  reconciler: ReconcileTrigger;
  gauge: StockLevelGauge;
  logger: Logger;
  defaultTtlSeconds: number;
}

/** How a request that takes units was decided before Postgres ran. */
type Decision =
  | { path: 'redis'; opId: string }
  | { path: 'postgres_only'; opId: string; marked: boolean }
  | { path: 'refused'; shortages: Shortage[] };

const itemPath = (i: number) => `body.items.${i}.quantity`;

/**
 * The inventory's operations. Units leave "available" only through Redis's atomic hold (the fast
 * gate) followed by Postgres's conditional UPDATE (the truth): if Redis says yes and Postgres no,
 * Postgres wins and the hold is undone; if Redis is unreachable or has lost the product's key,
 * Postgres decides alone. Units come back Postgres first, then Redis. See README "Oversell".
 */
export class Inventory {
  private readonly store: StockStore;
  private readonly gate: StockGate;
  private readonly reconciler: ReconcileTrigger;
  private readonly gauge: StockLevelGauge;
  private readonly logger: Logger;

  constructor(private readonly opts: InventoryOptions) {
    this.store = opts.store;
    this.gate = opts.gate;
    this.reconciler = opts.reconciler;
    this.gauge = opts.gauge;
    this.logger = opts.logger;
  }

  // ---- reads -----------------------------------------------------------------------------------

  async stock(productId: string): Promise<StockRow> {
    const row = await this.store.getStock(productId);
    if (!row) throw stockNotFound(productId);
    return row;
  }

  stocks(productIds: readonly string[]): Promise<StockRow[]> {
    return this.store.getStocks(productIds);
  }

  async reservation(orderId: string): Promise<Reservation> {
    const r = await this.store.getReservation(orderId);
    if (!r) throw reservationNotFound(orderId);
    return r;
  }

  async allocation(allocationId: string): Promise<Allocation> {
    const a = await this.store.getAllocation(allocationId);
    if (!a) throw allocationNotFound(allocationId);
    return a;
  }

  // ---- reservations ----------------------------------------------------------------------------

  /** All or nothing; idempotent by order id (same request → the stored reservation, other request → 409). */
  async reserve(req: { orderId: string; items: Line[]; ttlSeconds?: number }): Promise<Reservation> {
    const started = performance.now();
    const ttlSeconds = req.ttlSeconds ?? this.opts.defaultTtlSeconds;
    const hash = requestHash('reserve', { lines: req.items, ttlSeconds: req.ttlSeconds });
    let outcome: ReserveOutcome = 'error';
    try {
      const existing = await this.store.getReservation(req.orderId);
      if (existing) {
        outcome = existing.requestHash === hash ? 'replayed' : 'conflict';
        return this.replay(existing, hash);
      }
      const decision = await this.decide(req.items);
      if (decision.path === 'refused') {
        // a concurrent copy of this request may hold the units: then this is its retry, not a shortage
        const winner = await this.store.getReservation(req.orderId);
        outcome = winner ? (winner.requestHash === hash ? 'replayed' : 'conflict') : 'insufficient';
        if (winner) return this.replay(winner, hash);
        throw insufficientStock(decision.shortages, itemPath);
      }
      let tx;
      try {
        tx = await this.store.reserve({ opId: decision.opId, orderId: req.orderId, requestHash: hash, ttlSeconds, lines: req.items });
      } catch (err) {
        await this.afterTake(decision, req.items, false, 'postgres_error');
        throw err;
      }
      await this.afterTake(decision, req.items, tx.kind === 'reserved', tx.kind === 'short' ? 'postgres_refused' : 'duplicate');
      if (tx.kind === 'reserved') {
        this.publishLevels(tx.rows);
        outcome = 'reserved';
        return tx.reservation;
      }
      // 'exists': a concurrent request with the same order id won the insert. 'short': the statement
      // decides before it inserts, so a concurrent copy of this request that committed meanwhile (it
      // held the stock lock the statement waited for) is found only here: answer as its retry.
      const winner = await this.store.getReservation(req.orderId);
      if (!winner && tx.kind === 'short') {
        outcome = 'insufficient';
        throw insufficientStock(tx.shortages, itemPath);
      }
      if (!winner) throw reservationNotFound(req.orderId);
      outcome = winner.requestHash === hash ? 'replayed' : 'conflict';
      return this.replay(winner, hash);
    } finally {
      recordReserve('order', outcome, (performance.now() - started) / 1000);
    }
  }

  /** The stored reservation answers a retry; another request under the same order id is a conflict. */
  private replay(stored: Reservation, hash: string): Reservation {
    if (stored.requestHash !== hash) throw idempotencyConflict('the reservation of order', stored.orderId);
    return stored;
  }

  /** Confirms a held reservation (units leave on-hand). Idempotent; after release or expiry → 409. */
  async confirm(orderId: string): Promise<Reservation> {
    const tx = await this.store.confirm(orderId);
    switch (tx.kind) {
      case 'not_found':
        throw reservationNotFound(orderId);
      case 'confirmed':
        reservationTransitionsTotal.inc({ status: 'confirmed' });
        return tx.reservation;
      case 'unchanged':
        if (tx.reservation.status === 'confirmed') return tx.reservation;
        throw reservationState(orderId, tx.reservation.status, 'confirm');
      case 'due':
        // its deadline passed before the sweeper got to it: expire it now, then refuse
        await this.releaseHeld([tx.reservation], 'expired');
        throw reservationState(orderId, 'expired', 'confirm');
    }
  }

  /** Gives a held reservation's units back. Idempotent (released or expired → the same answer); confirmed → 409. */
  async release(orderId: string): Promise<Reservation> {
    const existing = await this.reservation(orderId);
    if (existing.status === 'confirmed') throw reservationState(orderId, 'confirmed', 'release');
    if (existing.status !== 'reserved') return existing;
    const [released] = await this.releaseHeld([existing], 'released');
    if (released) return released;
    // changed under us (confirmed or released by another request): answer from what it is now
    const now = await this.reservation(orderId);
    if (now.status === 'confirmed') throw reservationState(orderId, 'confirmed', 'release');
    return now;
  }

  /**
   * One sweeper run: releases every reservation past its deadline, `batch` per statement; returns
   * how many. The first look-up is the check and runs outside any span (the SDK leaves its SQL
   * untraced), so a run that finds nothing, nearly every run, makes no trace; one that finds some
   * opens `inventory.sweep` around the releases and the look-ups of further batches.
   */
  async sweep(batch: number): Promise<number> {
    const due = await this.store.dueReservations(batch);
    if (due.length === 0) return 0;
    return inJobSpan('inventory.sweep', { 'inventory.sweep.batch_size': batch }, async (span) => {
      let total = 0;
      let batches = 0;
      for (let next = due; next.length > 0; next = await this.store.dueReservations(batch)) {
        const released = await this.expire(next);
        total += released;
        batches++;
        // less than a full batch released: the backlog is drained
        if (released < batch) break;
      }
      span.setAttributes({ 'inventory.sweep.expired': total, 'inventory.sweep.batches': batches });
      return total;
    });
  }

  /** The sweeper's step: releases up to `limit` reservations past their deadline; returns how many. */
  async expireDue(limit: number): Promise<number> {
    const due = await this.store.dueReservations(limit);
    return due.length === 0 ? 0 : this.expire(due);
  }

  private async expire(due: readonly Reservation[]): Promise<number> {
    const released = await this.releaseHeld(due, 'expired');
    expiredSweptTotal.inc(released.length);
    if (released.length) this.logger.info({ count: released.length }, 'expired reservations released');
    return released.length;
  }

  /**
   * Postgres first, then Redis (units come back): markers before, deltas after (README). `held`:
   * the reservations as read just before (their items name the products to mark; items never
   * change). Postgres releases only those still held when it locks them.
   */
  private async releaseHeld(held: readonly Reservation[], status: 'released' | 'expired'): Promise<Reservation[]> {
    const orderIds = held.map((r) => r.orderId);
    const products = [...new Set(held.flatMap((r) => r.items.map((l) => l.productId)))];
    const opId = randomUUID();
    const marked = await this.beginMarkers(opId, products);
    let tx;
    try {
      tx = await this.store.release({ opId, orderIds, status, onlyDue: status === 'expired', skipLocked: status === 'expired' });
    } catch (err) {
      if (marked) await this.finishMarkers(opId, products, new Map());
      throw err;
    }
    if (marked) await this.finishMarkers(opId, products, tx.deltas);
    this.publishLevels(tx.rows);
    for (const _ of tx.released) reservationTransitionsTotal.inc({ status });
    return tx.released;
  }

  // ---- admin -----------------------------------------------------------------------------------

  /** Adds units on hand; with `sku`, creates the stock row of a product that has none. */
  async restock(productId: string, quantity: number, sku?: string): Promise<StockRow> {
    const opId = randomUUID();
    const marked = await this.beginMarkers(opId, [productId]);
    let row: StockRow | undefined;
    try {
      row = await this.store.restock({ opId, productId, quantity, ...(sku !== undefined ? { sku } : {}) });
    } finally {
      if (marked) await this.finishMarkers(opId, [productId], new Map(row ? [[productId, quantity]] : []));
    }
    if (!row) throw stockNotFound(productId);
    // a new row has no Redis key yet; an old one may have missed changes: either way, cheap to check
    this.reconciler.requestProducts([productId]);
    this.publishLevels([row]);
    return row;
  }

  // ---- flash-sale allocations ------------------------------------------------------------------

  /** Sets units aside for a sale (they do not expire). Idempotent by allocation id. */
  async allocate(req: { allocationId: string; productId: string; quantity: number }): Promise<Allocation> {
    const started = performance.now();
    const hash = requestHash('allocate', { productId: req.productId, quantity: req.quantity });
    const lines = [{ productId: req.productId, quantity: req.quantity }];
    let outcome: ReserveOutcome = 'error';
    try {
      const existing = await this.store.getAllocation(req.allocationId);
      if (existing) {
        outcome = existing.requestHash === hash ? 'replayed' : 'conflict';
        if (existing.requestHash !== hash) throw idempotencyConflict('allocation', req.allocationId);
        return existing;
      }
      const decision = await this.decide(lines);
      if (decision.path === 'refused') {
        outcome = 'insufficient';
        throw insufficientStock(decision.shortages, () => 'body.quantity');
      }
      let tx;
      try {
        tx = await this.store.allocate({ opId: decision.opId, allocationId: req.allocationId, productId: req.productId, quantity: req.quantity, requestHash: hash });
      } catch (err) {
        await this.afterTake(decision, lines, false, 'postgres_error');
        throw err;
      }
      await this.afterTake(decision, lines, tx.kind === 'allocated', tx.kind === 'short' ? 'postgres_refused' : 'duplicate');
      if (tx.kind === 'allocated') {
        this.publishLevels([tx.row]);
        outcome = 'reserved';
        return tx.allocation;
      }
      if (tx.kind === 'short') {
        outcome = 'insufficient';
        throw insufficientStock([tx.shortage], () => 'body.quantity');
      }
      const winner = await this.allocation(req.allocationId);
      outcome = winner.requestHash === hash ? 'replayed' : 'conflict';
      if (winner.requestHash !== hash) throw idempotencyConflict('allocation', req.allocationId);
      return winner;
    } finally {
      recordReserve('allocation', outcome, (performance.now() - started) / 1000);
    }
  }

  /** A sold unit of a sale becomes the order's reservation (then confirmed or released like any other). */
  async consume(req: { allocationId: string; orderId: string; quantity: number; ttlSeconds?: number }): Promise<Reservation> {
    const hash = requestHash('consume', { allocationId: req.allocationId, quantity: req.quantity });
    const tx = await this.store.consume({ ...req, requestHash: hash, ttlSeconds: req.ttlSeconds ?? this.opts.defaultTtlSeconds });
    switch (tx.kind) {
      case 'consumed':
      case 'replay':
        return tx.reservation;
      case 'order_taken':
        throw idempotencyConflict('the reservation of order', req.orderId);
      case 'allocation_not_found':
        throw allocationNotFound(req.allocationId);
      case 'allocation_closed':
        throw new ConflictError(`allocation ${req.allocationId} is closed (its unsold units were returned)`, 'allocation_closed');
      case 'exhausted':
        throw new ConflictError(`allocation ${req.allocationId} has ${tx.allocation.remaining} units left, ${req.quantity} requested`, 'allocation_exhausted');
    }
  }

  /**
   * Unsold units back to available; without `quantity`, everything left, and the allocation closes.
   * `returnKey` (the caller's Idempotency-Key) makes a retried return count once.
   */
  async returnUnits(req: { allocationId: string; quantity?: number; returnKey?: string }): Promise<Allocation> {
    const current = await this.allocation(req.allocationId);
    const opId = randomUUID();
    const marked = await this.beginMarkers(opId, [current.productId]);
    let deltas = new Map<string, number>();
    try {
      const tx = await this.store.returnUnits({ opId, allocationId: req.allocationId, quantity: req.quantity, ...(req.returnKey !== undefined ? { returnKey: req.returnKey } : {}) });
      switch (tx.kind) {
        case 'not_found':
          throw allocationNotFound(req.allocationId);
        case 'too_many':
          throw new ConflictError(`allocation ${req.allocationId} has ${tx.allocation.remaining} units left, cannot return ${req.quantity ?? 0}`, 'allocation_exhausted');
        case 'key_reused':
          throw idempotencyConflict('the return', req.returnKey ?? '');
        case 'replay':
          return tx.allocation;
      }
      deltas = new Map([[current.productId, tx.returned]]);
      this.publishLevels([tx.row]);
      return tx.allocation;
    } finally {
      if (marked) await this.finishMarkers(opId, [current.productId], deltas);
    }
  }

  // ---- the gate --------------------------------------------------------------------------------

  /**
   * Redis's verdict on taking `lines`: held (Postgres next), refused, or "ask Postgres alone"
   * (Redis unreachable, key missing, or Redis has fewer units than Postgres can explain).
   */
  private async decide(lines: readonly Line[]): Promise<Decision> {
    const opId = randomUUID();
    let hold;
    try {
      hold = await this.gate.hold(opId, lines);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'redis unavailable for the stock gate; Postgres decides alone');
      this.reconciler.markDirty();
      return this.postgresOnly(opId, lines, 'redis_unavailable');
    }
    if (hold.kind === 'held') {
      reservePathTotal.inc({ path: 'redis' });
      return { path: 'redis', opId };
    }
    if (hold.kind === 'missing') {
      this.reconciler.requestProducts(lines.map((l) => l.productId));
      return this.postgresOnly(opId, lines, 'redis_key_missing');
    }
    // Redis says no. Postgres may know better: Redis lost units (drift) or never learnt them.
    const { shortages, available } = await this.store.shortages(lines);
    if (shortages.length) return { path: 'refused', shortages };
    const line = lines[hold.index];
    const truth = line ? available.get(line.productId) : undefined;
    // Postgres lags Redis by at most the holds still in flight; more than that is drift
    if (line && truth !== undefined && truth > hold.available + hold.inFlight) {
      this.reconciler.requestProducts([line.productId]);
      return this.postgresOnly(opId, lines, 'redis_low');
    }
    // Holds in flight explain the gap, but they may still fail (or be this very order's retry, whose
    // reservation row Postgres makes us wait for): Redis's "no" is final only once Postgres agrees.
    return this.postgresOnly(opId, lines, 'holds_in_flight');
  }

  private async postgresOnly(opId: string, lines: readonly Line[], reason: FallbackReason): Promise<Decision> {
    redisFallbackTotal.inc({ reason });
    reservePathTotal.inc({ path: 'postgres_only' });
    const marked = reason === 'redis_unavailable' ? false : await this.beginMarkers(opId, lines.map((l) => l.productId));
    return { path: 'postgres_only', opId, marked };
  }

  /** After Postgres decided a take: settle or undo the Redis hold, or finish the Postgres-only markers. */
  private async afterTake(decision: Decision, lines: readonly Line[], committed: boolean, failure: string): Promise<void> {
    const ids = lines.map((l) => l.productId);
    try {
      if (decision.path === 'redis') {
        if (committed) await this.gate.settle(decision.opId, ids);
        else {
          gateUndoneTotal.inc({ reason: failure });
          await this.gate.undo(decision.opId, ids);
          // Redis had units Postgres does not: have those products checked
          if (failure === 'postgres_refused') this.reconciler.requestProducts(ids);
        }
      } else if (decision.path === 'postgres_only' && decision.marked) {
        await this.gate.finish(decision.opId, new Map(lines.map((l) => [l.productId, committed ? -l.quantity : 0])));
      }
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'redis unavailable after a stock change; a reconciliation will repair it');
      this.reconciler.markDirty();
    }
  }

  /** In-flight markers of a Postgres-first change; false (and a full reconciliation later) when Redis is away. */
  private async beginMarkers(opId: string, productIds: readonly string[]): Promise<boolean> {
    if (productIds.length === 0) return false;
    try {
      await this.gate.begin(opId, productIds);
      return true;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'redis unavailable before a stock change; a reconciliation will repair it');
      this.reconciler.markDirty();
      return false;
    }
  }

  private async finishMarkers(opId: string, productIds: readonly string[], deltas: ReadonlyMap<string, number>): Promise<void> {
    try {
      await this.gate.finish(opId, new Map(productIds.map((id) => [id, deltas.get(id) ?? 0])));
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'redis unavailable after a stock change; a reconciliation will repair it');
      this.reconciler.markDirty();
    }
  }

  private publishLevels(rows: readonly StockRow[]): void {
    for (const r of rows) this.gauge.set(r.sku, r.available);
  }
}
