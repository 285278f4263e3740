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
  slot: number;
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
  slot: number;
  status: PurchaseStatus;
  failure_reason: string | null;
  created_at: Date;
}

const SALE_COLUMNS = ['id', 'product_id', 'sku', 'price_cents', 'currency', 'stock', 'per_user_limit', 'starts_at', 'ends_at', 'status', 'unsold_units', 'returned_units', 'created_at'];
const PURCHASE_COLUMNS = ['id', 'sale_id', 'user_id', 'slot', 'status', 'failure_reason', 'created_at'];

function toSale(r: SaleRow): Sale {
  return {
    id: r.id,
    productId: r.product_id,
    sku: r.sku,
    priceCents: r.price_cents,
    currency: r.currency,
    stock: r.stock,
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
  return { id: r.id, saleId: r.sale_id, userId: r.user_id, slot: r.slot, status: r.status, failureReason: r.failure_reason, createdAt: r.created_at };
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

/** Why Postgres refused a purchase that Redis had accepted (Redis was rebuilt or lost keys meanwhile). */
export type PurchaseRefusal = 'slot_taken' | 'not_active' | 'already_purchased';

export type RecordPurchaseResult = { ok: true; purchase: Purchase } | { ok: false; reason: PurchaseRefusal };

/** What Redis needs to rebuild a sale's counters after they were lost. */
export interface SaleCounters {
  stock: number;
  startsAt: Date;
  endsAt: Date;
  status: SaleStatus;
  /** Slots owned by live (not failed) purchases. */
  takenSlots: number[];
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
   * The durable half of a purchase, in one transaction: the sale row is key-share locked (purchases do
   * not block each other; settlement's FOR UPDATE waits for them and then blocks new ones) and must be
   * active; the purchase takes its slot (unique per sale among live purchases: the guard against
   * overselling even when Redis was wrong) and the user's one purchase; then `onRecorded` (the outbox
   * write) runs inside the same transaction.
   */
  async recordPurchase(p: { id: string; saleId: string; userId: string; slot: number }, onRecorded: (trx: Knex.Transaction, purchase: Purchase) => Promise<void>): Promise<RecordPurchaseResult> {
    try {
      return await this.knex.transaction(async (trx) => {
        // one statement (one round trip): lock, check and insert; after waiting for a settlement the
        // lock re-reads the row, so a sale settled meanwhile inserts nothing
        const { rows } = (await trx.raw(
          `WITH sale AS (SELECT id, stock FROM flash_sales WHERE id = ? AND status = 'active' FOR KEY SHARE)
           INSERT INTO purchases (id, sale_id, user_id, slot, status)
           SELECT ?, sale.id, ?, ?, 'queued' FROM sale WHERE ? <= sale.stock
           RETURNING ${PURCHASE_COLUMNS.join(', ')}`,
          [p.saleId, p.id, p.userId, p.slot, p.slot],
        )) as { rows: PurchaseRow[] };
        if (!rows[0]) return { ok: false, reason: 'not_active' } as const;
        const purchase = toPurchase(rows[0]);
        await onRecorded(trx, purchase);
        return { ok: true, purchase } as const;
      });
    } catch (err) {
      if (isUniqueViolation(err, 'purchases_one_per_user')) return { ok: false, reason: 'already_purchased' };
      if (isUniqueViolation(err, 'purchases_one_per_slot')) return { ok: false, reason: 'slot_taken' };
      throw err;
    }
  }

  /** Units owned by live purchases, per sale. */
  async soldCounts(saleIds: readonly string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>(saleIds.map((id) => [id, 0]));
    if (saleIds.length === 0) return counts;
    const rows = (await this.knex('purchases').whereIn('sale_id', saleIds).whereNot({ status: 'failed' }).groupBy('sale_id').select('sale_id').count({ n: '*' })) as { sale_id: string; n: string }[];
    for (const r of rows) counts.set(r.sale_id, Number(r.n));
    return counts;
  }

  async purchaseOf(saleId: string, userId: string): Promise<Purchase | undefined> {
    const row = await this.knex('purchases').select(PURCHASE_COLUMNS).where({ sale_id: saleId, user_id: userId }).first();
    return row ? toPurchase(row as unknown as PurchaseRow) : undefined;
  }

  async purchase(id: string, trx: Knex | Knex.Transaction = this.knex): Promise<Purchase | undefined> {
    const row = await trx('purchases').select(PURCHASE_COLUMNS).where({ id }).first();
    return row ? toPurchase(row as unknown as PurchaseRow) : undefined;
  }

  /** What a Redis rebuild needs: the window, the slots taken and every buyer. Bounded by the stock plus failed purchases. */
  async counters(saleId: string): Promise<SaleCounters | undefined> {
    // one snapshot for both reads, so the slots and the buyer list agree
    return this.knex.transaction(
      async (trx) => {
        const sale = (await trx('flash_sales').select('stock', 'starts_at', 'ends_at', 'status').where({ id: saleId }).first()) as SaleRow | undefined;
        if (!sale) return undefined;
        const rows = (await trx('purchases').where({ sale_id: saleId }).select('user_id', 'slot', 'status')) as { user_id: string; slot: number; status: PurchaseStatus }[];
        return {
          stock: sale.stock,
          startsAt: sale.starts_at,
          endsAt: sale.ends_at,
          status: sale.status,
          takenSlots: rows.filter((r) => r.status !== 'failed').map((r) => r.slot),
          buyers: rows.map((r) => r.user_id),
        };
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
   * queued → failed, giving the unit back: its slot is free again while the sale is active, or the unit
   * is owed to inventory once it is settled. The sale row is locked first (FOR NO KEY UPDATE: it waits
   * for a settlement in progress, never for purchases), so a unit is owed exactly when settlement
   * counted it as sold.
   */
  async markFailed(trx: Knex.Transaction, purchaseId: string, reason: string): Promise<{ saleId: string; userId: string; slot: number; settled: boolean } | undefined> {
    const purchase = (await trx('purchases').select('sale_id').where({ id: purchaseId, status: 'queued' }).first()) as { sale_id: string } | undefined;
    if (!purchase) return undefined;
    const sale = (await trx('flash_sales').select('status').where({ id: purchase.sale_id }).forNoKeyUpdate().first()) as { status: SaleStatus };
    const [row] = (await trx('purchases')
      .where({ id: purchaseId, status: 'queued' })
      .update({ status: 'failed', failure_reason: reason.slice(0, 500), updated_at: trx.fn.now() })
      .returning(['user_id', 'slot'])) as { user_id: string; slot: number }[];
    if (!row) return undefined;
    const settled = sale.status === 'settled';
    if (settled) await trx('flash_sales').where({ id: purchase.sale_id }).update({ unsold_units: trx.raw('unsold_units + 1'), updated_at: trx.fn.now() });
    return { saleId: purchase.sale_id, userId: row.user_id, slot: row.slot, settled };
  }

  /** Active sales whose end (plus `graceMs`) has passed: the settler's to end (at most 100 per run). */
  async endedSaleIds(now: Date, graceMs: number): Promise<string[]> {
    return (await this.knex('flash_sales')
      .where({ status: 'active' })
      .where('ends_at', '<=', new Date(now.getTime() - graceMs))
      .limit(100)
      .pluck('id')) as string[];
  }

  /**
   * Ends one sale, in one transaction: FOR UPDATE waits for purchases in flight (they hold key-share
   * locks) and keeps new ones out, then the live purchases are counted (a fresh snapshot) and the
   * rest is owed back to inventory. Undefined if it is no longer active (another instance settled it).
   */
  async settle(id: string): Promise<Sale | undefined> {
    return this.knex.transaction(async (trx) => {
      const locked = (await trx('flash_sales').select('status').where({ id }).forUpdate().first()) as { status: SaleStatus } | undefined;
      if (locked?.status !== 'active') return undefined;
      const [{ n }] = (await trx('purchases').where({ sale_id: id }).whereNot({ status: 'failed' }).count({ n: '*' })) as [{ n: string }];
      const [row] = await trx('flash_sales')
        .where({ id })
        .update({ status: 'settled', unsold_units: trx.raw('stock - ?', [Number(n)]), settled_at: trx.fn.now(), updated_at: trx.fn.now() })
        .returning(SALE_COLUMNS);
      return toSale(row as unknown as SaleRow);
    });
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

  /** The slot of each of these users' purchase in the sale, if any (to tell stale Redis holds from committed ones). */
  async purchaseSlots(saleId: string, userIds: string[]): Promise<Map<string, number>> {
    if (userIds.length === 0) return new Map();
    const rows = (await this.knex('purchases').where({ sale_id: saleId }).whereIn('user_id', userIds).select('user_id', 'slot')) as { user_id: string; slot: number }[];
    return new Map(rows.map((r) => [r.user_id, r.slot]));
  }

  /** Active sales (for the remaining-units gauge and hold reconciliation). */
  async activeSales(now: Date, limit: number): Promise<Sale[]> {
    const rows = await this.knex('flash_sales').select(SALE_COLUMNS).where({ status: 'active' }).where('ends_at', '>', new Date(now.getTime() - 60_000)).orderBy('ends_at', 'asc').limit(limit);
    return (rows as unknown as SaleRow[]).map(toSale);
  }
}
