import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { z } from 'zod';
import type { TokenBucketLimiter } from '@lantern/sdk';
import { AppError, ConflictError, NotFoundError, TooManyRequestsError, type AuthUser, type FlashSalePurchaseRequested, type Logger } from '@lantern/shop-common';
import type { Purchase, Sale, SaleStore } from './db/sale-store.js';
import type { Hold, ReleaseMode, SaleCounters } from './redis/sale-counters.js';
import type { SaleCache } from './sale-cache.js';
import type { SoldOutFlags } from './sold-out-flags.js';
import type { RemainingGauge } from './remaining-gauge.js';
import { ATTEMPT_OUTCOMES, attemptsTotal, counterRebuildsTotal, purchaseTransitionsTotal, soldOutAnswersTotal, unitsReleasedTotal, type AttemptOutcome } from './metrics.js';

export const PURCHASE_REQUESTED = 'flash_sale.purchase_requested';

/** Writes an event into the transactional outbox, inside the caller's transaction (shop-common's enqueueEvent). */
export type EnqueueEvent = (trx: Knex.Transaction, e: { topic: string; type: string; key: string; data: unknown }) => Promise<unknown>;

export interface PurchaseServiceDeps {
  store: SaleStore;
  counters: SaleCounters;
  sales: SaleCache;
  soldOut: SoldOutFlags;
  limiter: TokenBucketLimiter;
  gauge: RemainingGauge;
  enqueue: EnqueueEvent;
  /** Topic of `flash_sale.purchase_requested`. */
  topic: string;
  logger: Logger;
  now?: () => number;
}

export interface PurchaseAccepted {
  purchaseId: string;
  status: 'queued';
}

const emailSchema = z.email().max(254);

/** Slots tried per purchase when Postgres says Redis handed out a taken one. */
const MAX_SLOT_TRIES = 5;

/** The hot path's counter children, resolved once. */
const soldOutLocal = soldOutAnswersTotal.labels({ path: 'local' });
const attemptCounters = Object.fromEntries(ATTEMPT_OUTCOMES.map((o) => [o, attemptsTotal.labels({ outcome: o })])) as Record<AttemptOutcome, ReturnType<typeof attemptsTotal.labels>>;

class SaleNotActiveError extends ConflictError {
  constructor(message: string) {
    super(message, 'sale_not_active');
  }
}

/** Redis or Postgres could not take the purchase: the buyer may try again, nothing was kept. */
class PurchaseUnavailableError extends AppError {
  constructor(message: string, cause: unknown) {
    super(503, 'flash_sale_unavailable', message, { cause, headers: { 'retry-after': '1' } });
  }
}

function alreadyPurchased(saleId: string): ConflictError {
  return new ConflictError(`you already have a purchase in flash sale ${saleId}`, 'already_purchased');
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The purchase path, cheapest checks first:
 * 1. sold out, known locally → 409 without Redis or Postgres;
 * 2. the sale row from memory, its window on the local clock → 404 / 409 sale_not_active;
 * 3. the per-user token bucket → 429;
 * 4. one Lua script in Redis: window (Redis clock), buyer set, a free unit slot; take it and hold it;
 * 5. Postgres, one transaction: the sale still active, the purchase row with its slot (unique per sale)
 *    and its user (one per sale), the outbox event. If it fails, the Redis hold is given back; if
 *    Postgres refuses, Redis is corrected (a taken slot is dropped and another one tried).
 * Accepted purchases answer 202 before any order exists: the order service creates it from the event.
 */
export class PurchaseService {
  private readonly rebuilding = new Map<string, Promise<void>>();
  private readonly now: () => number;

  constructor(private readonly deps: PurchaseServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  async purchase(saleId: string, user: AuthUser): Promise<PurchaseAccepted> {
    let outcome: AttemptOutcome = 'error';
    try {
      const result = await this.attempt(saleId, user);
      outcome = 'accepted';
      return result;
    } catch (err) {
      outcome = outcomeOf(err);
      throw err;
    } finally {
      attemptCounters[outcome].inc();
    }
  }

  private async attempt(saleId: string, user: AuthUser): Promise<PurchaseAccepted> {
    const { soldOut: flags, limiter } = this.deps;
    if (flags.isSoldOut(saleId)) {
      soldOutLocal.inc();
      throw flags.error(saleId);
    }
    const sale = await this.deps.sales.get(saleId);
    if (!sale || sale.status === 'allocating' || sale.status === 'cancelled') throw new NotFoundError(`flash sale ${saleId} not found`, 'sale_not_found');
    const now = this.now();
    if (now < sale.startsAt.getTime()) throw new SaleNotActiveError(`flash sale ${saleId} starts at ${sale.startsAt.toISOString()}`);
    if (now >= sale.endsAt.getTime() || sale.status === 'settled') throw new SaleNotActiveError(`flash sale ${saleId} ended at ${sale.endsAt.toISOString()}`);
    const decision = limiter.take(user.id);
    if (!decision.allowed) throw new TooManyRequestsError(`too many purchase attempts; retry in ${Math.ceil(decision.retryAfterMs / 1000)} s`, decision.retryAfterMs, 'rate_limited');

    // a slot Postgres says is taken (Redis was rebuilt while purchases were in flight) is dropped and
    // another one tried; each try removes one stale slot, so this ends
    for (let tries = 0; tries < MAX_SLOT_TRIES; tries++) {
      const held = await this.hold(sale, user.id);
      if (held.remaining === 0) flags.set(saleId); // the last unit: later requests need not ask Redis
      const accepted = await this.record(sale, user, held);
      if (accepted) return accepted;
    }
    throw new PurchaseUnavailableError('flash sale counters are being repaired; try again', undefined);
  }

  /** Step 4: the Lua script, rebuilding the counters from Postgres once if they were lost. */
  private async hold(sale: Sale, userId: string): Promise<Hold & { remaining: number }> {
    const { counters, soldOut: flags, gauge } = this.deps;
    let r: Awaited<ReturnType<SaleCounters['purchase']>>;
    try {
      r = await counters.purchase(sale.id, userId);
      if (r.outcome === 'not_loaded') {
        await this.rebuild(sale.id);
        r = await counters.purchase(sale.id, userId);
      }
    } catch (err) {
      throw new PurchaseUnavailableError('flash sale counters unavailable; try again', err);
    }
    switch (r.outcome) {
      case 'accepted':
        gauge.set(sale.id, r.remaining);
        if (r.remaining > 0) flags.clear(sale.id); // units came back since the flag was learnt
        return { userId, slot: r.slot, remaining: r.remaining };
      case 'sold_out':
        flags.set(sale.id);
        gauge.set(sale.id, 0);
        soldOutAnswersTotal.inc({ path: 'redis' });
        throw flags.error(sale.id);
      case 'already_purchased':
        throw alreadyPurchased(sale.id);
      case 'not_started':
        throw new SaleNotActiveError(`flash sale ${sale.id} has not started`);
      case 'ended':
        throw new SaleNotActiveError(`flash sale ${sale.id} has ended`);
      case 'not_loaded':
        throw new PurchaseUnavailableError('flash sale counters could not be loaded; try again', undefined);
    }
  }

  /**
   * Step 5: the durable record and the event; or the hold given back. Undefined when the slot turned
   * out to be taken (try another).
   */
  private async record(sale: Sale, user: AuthUser, hold: Hold & { remaining: number }): Promise<PurchaseAccepted | undefined> {
    const { store, counters, logger } = this.deps;
    const purchaseId = randomUUID();
    let result: Awaited<ReturnType<SaleStore['recordPurchase']>>;
    try {
      result = await store.recordPurchase({ id: purchaseId, saleId: sale.id, userId: user.id, slot: hold.slot }, (trx, purchase) => this.enqueueRequested(trx, sale, user, purchase));
    } catch (err) {
      // nothing was kept in Postgres: give the unit back so another buyer (or this one) can have it
      logger.error({ saleId: sale.id, err: errorText(err) }, 'flash-sale purchase not recorded; releasing the Redis hold');
      await this.release(sale.id, hold, 'hold', 'db_failed');
      throw new PurchaseUnavailableError('purchase could not be recorded; try again', err);
    }
    if (!result.ok) {
      // Redis let it through but Postgres (the source of truth) did not: Redis was rebuilt or lost
      // keys while purchases were in flight. Correct Redis and go by what Postgres said.
      switch (result.reason) {
        case 'slot_taken':
          await this.release(sale.id, hold, 'hold-slot-taken', 'refused');
          return undefined;
        case 'already_purchased':
          await this.release(sale.id, hold, 'hold-keep-buyer', 'refused');
          throw alreadyPurchased(sale.id);
        case 'not_active':
          await this.release(sale.id, hold, 'hold', 'refused');
          throw new SaleNotActiveError(`flash sale ${sale.id} has ended`);
      }
    }
    // the hold is now a purchase row; a failure here only leaves a hold the reconciler will clear
    await counters.commitHold(sale.id, hold).catch((err: unknown) => logger.warn({ saleId: sale.id, err: errorText(err) }, 'could not clear the Redis hold of a recorded purchase'));
    purchaseTransitionsTotal.inc({ status: 'queued' });
    logger.info({ saleId: sale.id, purchaseId, slot: hold.slot, remaining: hold.remaining }, 'flash-sale purchase accepted');
    return { purchaseId, status: 'queued' };
  }

  private async enqueueRequested(trx: Knex.Transaction, sale: Sale, user: AuthUser, purchase: Purchase): Promise<void> {
    const email = user.email && emailSchema.safeParse(user.email).success ? user.email : undefined;
    const data: FlashSalePurchaseRequested = {
      purchaseId: purchase.id,
      saleId: sale.id,
      userId: user.id,
      ...(email ? { email } : {}),
      productId: sale.productId,
      ...(sale.sku ? { sku: sale.sku } : {}),
      unitPriceCents: sale.priceCents,
      currency: sale.currency,
      quantity: 1,
      at: purchase.createdAt.toISOString(),
    };
    await this.deps.enqueue(trx, { topic: this.deps.topic, type: PURCHASE_REQUESTED, key: sale.id, data });
  }

  /**
   * Gives a held unit back. If Redis is unreachable now, the hold stays in the holds set and the
   * reconciler returns it once it is stale.
   */
  private async release(saleId: string, hold: Hold, mode: Exclude<ReleaseMode, 'unit'>, reason: string): Promise<void> {
    try {
      const remaining = await this.deps.counters.release(saleId, hold, mode);
      if (remaining === undefined || mode === 'hold-slot-taken') return;
      unitsReleasedTotal.inc({ reason });
      this.deps.gauge.set(saleId, remaining);
      if (remaining > 0) this.deps.soldOut.clear(saleId);
    } catch (err) {
      this.deps.logger.error({ saleId, err: errorText(err) }, 'could not release a Redis hold; the stale-hold reconciler will');
    }
  }

  /** Loads a sale's counters from Postgres into Redis; concurrent callers share one rebuild. */
  rebuild(saleId: string): Promise<void> {
    let pending = this.rebuilding.get(saleId);
    if (!pending) {
      pending = this.load(saleId).finally(() => this.rebuilding.delete(saleId));
      this.rebuilding.set(saleId, pending);
    }
    return pending;
  }

  private async load(saleId: string): Promise<void> {
    const c = await this.deps.store.counters(saleId);
    if (!c) throw new NotFoundError(`flash sale ${saleId} not found`, 'sale_not_found');
    const taken = new Set(c.takenSlots);
    const freeSlots: number[] = [];
    for (let slot = 1; slot <= c.stock; slot++) if (!taken.has(slot)) freeSlots.push(slot);
    const loaded = await this.deps.counters.load(saleId, { stock: c.stock, startsAt: c.startsAt, endsAt: c.endsAt, freeSlots, buyers: c.buyers });
    if (loaded) {
      counterRebuildsTotal.inc();
      this.deps.logger.warn({ saleId, remaining: freeSlots.length, buyers: c.buyers.length }, 'flash-sale counters rebuilt in Redis from Postgres');
    }
  }
}

function outcomeOf(err: unknown): AttemptOutcome {
  if (!(err instanceof AppError)) return 'error';
  switch (err.code) {
    case 'sold_out':
      return 'sold_out';
    case 'already_purchased':
      return 'already_purchased';
    case 'rate_limited':
      return 'rate_limited';
    case 'sale_not_active':
      return 'not_active';
    case 'sale_not_found':
      return 'not_found';
    default:
      return 'error';
  }
}
