import type { Knex } from 'knex';
import { isUniqueViolation } from '@lantern/shop-common';

export type SaleStatus = 'allocating' | 'active' | 'settled' | 'cancelled';
export type PurchaseStatus = 'queued' | 'ordered' | 'failed';

export interface Sale {
  id: string;
  productId: string;
  sku: string | null;
  priceCents: number;
  currency: string;
  stock: number;
  /** Units held by purchases that have not failed. */
  sold: number;
  perUserLimit: number;
  startsAt: Date;
  endsAt: Date;
  status: SaleStatus;
  unsoldUnits: number;
  returnedUnits: number;
  createdAt: Date;
}

export interface Purchase {
  id: string;
  saleId: string;
  userId: string;
  status: PurchaseStatus;
  failureReason: string | null;
  createdAt: Date;
}

interface SaleRow {
  id: string;
  product_id: string;
  sku: string | null;
  price_cents: number;
  currency: string;
  stock: number;
  sold: number;
  per_user_limit: number;
  starts_at: Date;
  ends_at: Date;
  status: SaleStatus;
  unsold_units: number;
  returned_units: number;
  created_at: Date;
}

interface PurchaseRow {
  id: string;
  sale_id: string;
  user_id: string;
  status: PurchaseStatus;
  failure_reason: string | null;
  created_at: Date;
}

const SALE_COLUMNS = ['id', 'product_id', 'sku', 'price_cents', 'currency', 'stock', 'sold', 'per_user_limit', 'starts_at', 'ends_at', 'status', 'unsold_units', 'returned_units', 'created_at'];
const PURCHASE_COLUMNS = ['id', 'sale_id', 'user_id', 'status', 'failure_reason', 'created_at'];

function toSale(r: SaleRow): Sale {
  return {
    id: r.id,
    productId: r.product_id,
    sku: r.sku,
    priceCents: r.price_cents,
    currency: r.currency,
    stock: r.stock,
    sold: r.sold,
    perUserLimit: r.per_user_limit,
    startsAt: r.starts_at,
    endsAt: r.ends_at,
    status: r.status,
    unsoldUnits: r.unsold_units,
    returnedUnits: r.returned_units,
    createdAt: r.created_at,
  };
}

function toPurchase(r: PurchaseRow): Purchase {
  return { id: r.id, saleId: r.sale_id, userId: r.user_id, status: r.status, failureReason: r.failure_reason, createdAt: r.created_at };
}

export interface NewSale {
  id: string;
  productId: string;
  priceCents: number;
  currency: string;
  stock: number;
  startsAt: Date;
  endsAt: Date;
  createdBy: string;
}

/** Why Postgres refused a purchase that Redis had accepted. */
export type PurchaseRefusal = 'sold_out' | 'not_active' | 'already_purchased';

export type RecordPurchaseResult = { ok: true; purchase: Purchase; sale: { sold: number; stock: number } } | { ok: false; reason: PurchaseRefusal };

/** What Redis needs to rebuild a sale's counters after they were lost. */
export interface SaleCounters {
  stock: number;
  sold: number;
  startsAt: Date;
  endsAt: Date;
  status: SaleStatus;
  /** Every user with a purchase (failed ones too: a user gets one attempt that got through). */
  buyers: string[];
}

/** Every SQL statement of the service; all parametrised through knex. */
export class SaleStore {
  constructor(readonly knex: Knex) {}

  async insertAllocating(s: NewSale): Promise<Sale> {
    const [row] = await this.knex('flash_sales')
      .insert({
        id: s.id,
        product_id: s.productId,
        price_cents: s.priceCents,
        currency: s.currency,
        stock: s.stock,
        starts_at: s.startsAt,
        ends_at: s.endsAt,
        status: 'allocating',
        created_by: s.createdBy,
      })
      .returning(SALE_COLUMNS);
    return toSale(row as unknown as SaleRow);
  }

  /** allocating → active once inventory holds the stock. */
  async activate(id: string, sku: string | null): Promise<Sale | undefined> {
    const [row] = await this.knex('flash_sales')
      .where({ id, status: 'allocating' })
      .update({ status: 'active', sku, updated_at: this.knex.fn.now() })
      .returning(SALE_COLUMNS);
    return row ? toSale(row as unknown as SaleRow) : undefined;
  }

  /** allocating → cancelled (inventory refused, or the allocation never completed). */
  async cancel(id: string): Promise<boolean> {
    const n = await this.knex('flash_sales').where({ id, status: 'allocating' }).update({ status: 'cancelled', updated_at: this.knex.fn.now() });
    return n > 0;
  }

  async get(id: string): Promise<Sale | undefined> {
    const row = await this.knex('flash_sales').select(SALE_COLUMNS).where({ id }).first();
    return row ? toSale(row as unknown as SaleRow) : undefined;
  }

  /** Public listing: sales that were allocated, newest start first. */
  async list(opts: { when?: 'upcoming' | 'active' | 'ended'; limit: number; now: Date }): Promise<Sale[]> {
    const q = this.knex('flash_sales').select(SALE_COLUMNS).whereIn('status', ['active', 'settled']);
    if (opts.when === 'upcoming') q.where('starts_at', '>', opts.now);
    if (opts.when === 'active') q.where('starts_at', '<=', opts.now).where('ends_at', '>', opts.now).where('status', 'active');
    if (opts.when === 'ended') q.where('ends_at', '<=', opts.now);
    const rows = await q.orderBy([{ column: 'starts_at', order: 'desc' }, { column: 'id', order: 'asc' }]).limit(opts.limit);
    return (rows as unknown as SaleRow[]).map(toSale);
  }

  /**
   * The durable half of a purchase, in one transaction: take a unit (only while the sale is active and
   * not sold out: the guard against overselling even when Redis was wrong), insert the purchase (one per
   * user), then `onRecorded` (the outbox write) inside the same transaction.
   */
  async recordPurchase(p: { id: string; saleId: string; userId: string }, onRecorded: (trx: Knex.Transaction, purchase: Purchase) => Promise<void>): Promise<RecordPurchaseResult> {
    try {
      return await this.knex.transaction(async (trx) => {
        const [taken] = (await trx('flash_sales')
          .where({ id: p.saleId, status: 'active' })
          .whereRaw('sold < stock')
          .increment('sold', 1)
          .returning(['sold', 'stock'])) as { sold: number; stock: number }[];
        if (!taken) {
          const sale = await trx('flash_sales').select('status', 'sold', 'stock').where({ id: p.saleId }).first();
          return { ok: false, reason: sale && sale.status === 'active' ? 'sold_out' : 'not_active' } as const;
        }
        const [row] = await trx('purchases').insert({ id: p.id, sale_id: p.saleId, user_id: p.userId, status: 'queued' }).returning(PURCHASE_COLUMNS);
        const purchase = toPurchase(row as unknown as PurchaseRow);
        await onRecorded(trx, purchase);
        return { ok: true, purchase, sale: taken } as const;
      });
    } catch (err) {
      if (isUniqueViolation(err, 'purchases_one_per_user')) return { ok: false, reason: 'already_purchased' };
      throw err;
    }
  }

  async purchaseOf(saleId: string, userId: string): Promise<Purchase | undefined> {
    const row = await this.knex('purchases').select(PURCHASE_COLUMNS).where({ sale_id: saleId, user_id: userId }).first();
    return row ? toPurchase(row as unknown as PurchaseRow) : undefined;
  }

  async purchase(id: string, trx: Knex | Knex.Transaction = this.knex): Promise<Purchase | undefined> {
    const row = await trx('purchases').select(PURCHASE_COLUMNS).where({ id }).first();
    return row ? toPurchase(row as unknown as PurchaseRow) : undefined;
  }

  /** Users holding a purchase of this sale (a Redis rebuild input). Bounded by the sale's stock plus failures. */
  async counters(saleId: string): Promise<SaleCounters | undefined> {
    // one snapshot for both reads, so `sold` and the buyer list agree
    return this.knex.transaction(
      async (trx) => {
        const sale = await trx('flash_sales').select('stock', 'sold', 'starts_at', 'ends_at', 'status').where({ id: saleId }).first();
        if (!sale) return undefined;
        const buyers = (await trx('purchases').where({ sale_id: saleId }).pluck('user_id')) as string[];
        return { stock: sale.stock, sold: sale.sold, startsAt: sale.starts_at, endsAt: sale.ends_at, status: sale.status, buyers };
      },
      { isolationLevel: 'repeatable read', readOnly: true },
    );
  }

  /** queued → ordered. False when it was not queued (already ordered, failed, or unknown). */
  async markOrdered(trx: Knex.Transaction, purchaseId: string): Promise<boolean> {
    const n = await trx('purchases').where({ id: purchaseId, status: 'queued' }).update({ status: 'ordered', updated_at: trx.fn.now() });
    return n > 0;
  }

  /**
   * queued → failed, giving the unit back: to the sale while it is active, or owed to inventory once it
   * is settled. Returns the sale id when the purchase changed.
   */
  async markFailed(trx: Knex.Transaction, purchaseId: string, reason: string): Promise<{ saleId: string; userId: string; settled: boolean } | undefined> {
    const [row] = (await trx('purchases')
      .where({ id: purchaseId, status: 'queued' })
      .update({ status: 'failed', failure_reason: reason.slice(0, 500), updated_at: trx.fn.now() })
      .returning(['sale_id', 'user_id'])) as { sale_id: string; user_id: string }[];
    if (!row) return undefined;
    const [sale] = (await trx('flash_sales')
      .where({ id: row.sale_id })
      .update({
        sold: trx.raw('sold - 1'),
        unsold_units: trx.raw(`CASE WHEN status = 'settled' THEN unsold_units + 1 ELSE unsold_units END`),
        updated_at: trx.fn.now(),
      })
      .returning(['status'])) as { status: SaleStatus }[];
    return { saleId: row.sale_id, userId: row.user_id, settled: sale?.status === 'settled' };
  }

  /**
   * Ends every active sale whose end (plus `graceMs`) has passed: no purchase can commit after this
   * (recordPurchase requires status active), and the units not sold become owed to inventory.
   */
  async settleEnded(now: Date, graceMs: number): Promise<Sale[]> {
    const rows = await this.knex('flash_sales')
      .where({ status: 'active' })
      .where('ends_at', '<=', new Date(now.getTime() - graceMs))
      .update({ status: 'settled', unsold_units: this.knex.raw('stock - sold'), settled_at: this.knex.fn.now(), updated_at: this.knex.fn.now() })
      .returning(SALE_COLUMNS);
    return (rows as unknown as SaleRow[]).map(toSale);
  }

  /** Settled sales with units inventory has not confirmed taking back yet. */
  async owingReturns(limit = 100): Promise<Sale[]> {
    const rows = await this.knex('flash_sales').select(SALE_COLUMNS).where({ status: 'settled' }).whereRaw('returned_units < unsold_units').limit(limit);
    return (rows as unknown as SaleRow[]).map(toSale);
  }

  /** Inventory took back units up to `upTo` (the owed total the return was sent for). */
  async confirmReturned(id: string, upTo: number): Promise<void> {
    await this.knex('flash_sales').where({ id }).where('returned_units', '<', upTo).where('unsold_units', '>=', upTo).update({ returned_units: upTo, updated_at: this.knex.fn.now() });
  }

  /** Sales stuck in `allocating` (the creating request died or inventory never answered). */
  async staleAllocating(olderThan: Date, limit = 100): Promise<Sale[]> {
    const rows = await this.knex('flash_sales').select(SALE_COLUMNS).where({ status: 'allocating' }).where('created_at', '<', olderThan).limit(limit);
    return (rows as unknown as SaleRow[]).map(toSale);
  }

  /** Which of these users hold a purchase of the sale (to tell stale Redis holds from committed ones). */
  async buyersAmong(saleId: string, userIds: string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const rows = (await this.knex('purchases').where({ sale_id: saleId }).whereIn('user_id', userIds).pluck('user_id')) as string[];
    return new Set(rows);
  }

  /** Active sales (for the remaining-units gauge and hold reconciliation). */
  async activeSales(now: Date, limit: number): Promise<Sale[]> {
    const rows = await this.knex('flash_sales').select(SALE_COLUMNS).where({ status: 'active' }).where('ends_at', '>', new Date(now.getTime() - 60_000)).orderBy('ends_at', 'asc').limit(limit);
    return (rows as unknown as SaleRow[]).map(toSale);
  }
}
