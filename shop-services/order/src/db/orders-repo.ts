import type { Knex } from 'knex';
import type { OrderStatus } from '../state-machine.js';
import type { HistoryEntry, Order, OrderLine } from '../schemas.js';

/** A query runner: the pool or an open transaction. */
export type Runner = Knex | Knex.Transaction;

interface OrderRow {
  id: string;
  user_id: string;
  email: string | null;
  status: OrderStatus;
  status_reason: string | null;
  total_cents: string | number;
  currency: string;
  payment_id: string | null;
  flash_sale_id: string | null;
  expires_at: Date | null;
  idempotency_key: string | null;
  request_hash: string | null;
  created_at: Date;
  updated_at: Date;
}

interface LineRow {
  order_id: string;
  line_no: number;
  product_id: string;
  sku: string;
  name: string;
  category: string | null;
  quantity: number;
  unit_price_cents: string | number;
}

/** A line as stored: the response's fields plus the category (carried in `order.placed` for recommendations). */
export interface StoredLine extends OrderLine {
  category?: string;
}

/** An order as the service works with it: the API shape plus the fields only the service sees. */
export interface OrderRecord extends Omit<Order, 'items'> {
  items: StoredLine[];
  email?: string;
  idempotencyKey?: string;
  requestHash?: string;
}

export interface NewOrder {
  id: string;
  userId: string;
  email?: string;
  status: OrderStatus;
  items: StoredLine[];
  totalCents: number;
  currency: string;
  flashSaleId?: string;
  expiresAt?: Date;
  idempotencyKey?: string;
  requestHash?: string;
}

/** Column updates a transition may carry along with the status. */
export interface OrderPatch {
  statusReason?: string | null;
  paymentId?: string;
  expiresAt?: Date | null;
}

export interface HistoryInput {
  orderId: string;
  from: OrderStatus | null;
  to: OrderStatus;
  reason?: string | undefined;
  actor: string;
}

function toRecord(row: OrderRow, lines: LineRow[]): OrderRecord {
  return {
    id: row.id,
    userId: row.user_id,
    status: row.status,
    ...(row.status_reason ? { statusReason: row.status_reason } : {}),
    items: lines
      .sort((a, b) => a.line_no - b.line_no)
      .map((l) => ({
        productId: l.product_id,
        sku: l.sku,
        name: l.name,
        quantity: l.quantity,
        unitPriceCents: Number(l.unit_price_cents),
        ...(l.category ? { category: l.category } : {}),
      })),
    totalCents: Number(row.total_cents),
    currency: row.currency,
    ...(row.payment_id ? { paymentId: row.payment_id } : {}),
    ...(row.expires_at ? { expiresAt: row.expires_at.toISOString() } : {}),
    ...(row.flash_sale_id ? { flashSaleId: row.flash_sale_id } : {}),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    ...(row.email ? { email: row.email } : {}),
    ...(row.idempotency_key ? { idempotencyKey: row.idempotency_key } : {}),
    ...(row.request_hash ? { requestHash: row.request_hash } : {}),
  };
}

function patchColumns(patch: OrderPatch): Record<string, unknown> {
  const cols: Record<string, unknown> = {};
  if (patch.statusReason !== undefined) cols.status_reason = patch.statusReason;
  if (patch.paymentId !== undefined) cols.payment_id = patch.paymentId;
  if (patch.expiresAt !== undefined) cols.expires_at = patch.expiresAt;
  return cols;
}

/** Every SQL statement on orders, their lines and their history (bindings only, never string-built SQL). */
export class OrdersRepo {
  constructor(private readonly knex: Knex) {}

  /**
   * Inserts the order with its lines and first history entry, unless an order with the same id or
   * the same (user, Idempotency-Key) exists: then nothing is written and false comes back. The
   * unique index is the idempotency claim: of concurrent identical requests exactly one inserts.
   */
  async insert(trx: Knex.Transaction, order: NewOrder, history: Omit<HistoryInput, 'orderId' | 'to' | 'from'>): Promise<boolean> {
    const inserted = await trx('orders')
      .insert({
        id: order.id,
        user_id: order.userId,
        email: order.email ?? null,
        status: order.status,
        total_cents: order.totalCents,
        currency: order.currency,
        flash_sale_id: order.flashSaleId ?? null,
        expires_at: order.expiresAt ?? null,
        idempotency_key: order.idempotencyKey ?? null,
        request_hash: order.requestHash ?? null,
      })
      .onConflict()
      .ignore()
      .returning('id');
    if (inserted.length === 0) return false;
    await trx('order_items').insert(
      order.items.map((l, i) => ({
        order_id: order.id,
        line_no: i + 1,
        product_id: l.productId,
        sku: l.sku,
        name: l.name,
        category: l.category ?? null,
        quantity: l.quantity,
        unit_price_cents: l.unitPriceCents,
      })),
    );
    await this.addHistory(trx, { orderId: order.id, from: null, to: order.status, reason: history.reason, actor: history.actor });
    return true;
  }

  async findById(id: string, db: Runner = this.knex): Promise<OrderRecord | undefined> {
    const row = (await db('orders').where({ id }).first()) as OrderRow | undefined;
    if (!row) return undefined;
    const lines = (await db('order_items').where({ order_id: id })) as LineRow[];
    return toRecord(row, lines);
  }

  /** The current status only (cheap; for polling and for explaining a failed conditional update). */
  async statusOf(id: string, db: Runner = this.knex): Promise<OrderStatus | undefined> {
    const row = (await db('orders').where({ id }).first('status')) as { status: OrderStatus } | undefined;
    return row?.status;
  }

  async findByIdempotencyKey(userId: string, key: string, db: Runner = this.knex): Promise<OrderRecord | undefined> {
    const row = (await db('orders').where({ user_id: userId, idempotency_key: key }).first()) as OrderRow | undefined;
    if (!row) return undefined;
    return toRecord(row, (await db('order_items').where({ order_id: row.id })) as LineRow[]);
  }

  async list(filter: { userId?: string; status?: OrderStatus; limit: number; offset: number }): Promise<{ items: OrderRecord[]; total: number }> {
    const base = this.knex('orders').modify((q) => {
      if (filter.userId !== undefined) q.where('user_id', filter.userId);
      if (filter.status !== undefined) q.where('status', filter.status);
    });
    const [countRow] = (await base.clone().count<{ count: string }[]>({ count: '*' })) as { count: string }[];
    const rows = (await base.clone().orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(filter.limit).offset(filter.offset)) as OrderRow[];
    const ids = rows.map((r) => r.id);
    const lines = ids.length ? ((await this.knex('order_items').whereIn('order_id', ids)) as LineRow[]) : [];
    const byOrder = new Map<string, LineRow[]>();
    for (const l of lines) byOrder.set(l.order_id, [...(byOrder.get(l.order_id) ?? []), l]);
    return { items: rows.map((r) => toRecord(r, byOrder.get(r.id) ?? [])), total: Number(countRow?.count ?? 0) };
  }

  /**
   * The race-safe transition: `UPDATE … WHERE id = ? AND status = from`. Returns the updated order,
   * or undefined when the order was not in `from` any more (someone else moved it first).
   */
  async transition(trx: Knex.Transaction, t: HistoryInput & { from: OrderStatus; patch?: OrderPatch }): Promise<OrderRecord | undefined> {
    const rows = (await trx('orders')
      .where({ id: t.orderId, status: t.from })
      .update({ status: t.to, updated_at: trx.fn.now(), ...patchColumns(t.patch ?? {}) })
      .returning('*')) as OrderRow[];
    const row = rows[0];
    if (!row) return undefined;
    await this.addHistory(trx, t);
    return toRecord(row, (await trx('order_items').where({ order_id: t.orderId })) as LineRow[]);
  }

  /** Column updates that are not a status change (e.g. the payment id of a pending payment). */
  async patch(id: string, patch: OrderPatch, db: Runner = this.knex): Promise<void> {
    const cols = patchColumns(patch);
    if (Object.keys(cols).length) await db('orders').where({ id }).update({ ...cols, updated_at: db.fn.now() });
  }

  async addHistory(trx: Knex.Transaction, h: HistoryInput): Promise<void> {
    await trx('order_status_history').insert({ order_id: h.orderId, from_status: h.from, to_status: h.to, reason: h.reason?.slice(0, 500) ?? null, actor: h.actor });
  }

  async history(orderId: string): Promise<HistoryEntry[]> {
    const rows = (await this.knex('order_status_history').where({ order_id: orderId }).orderBy('id')) as {
      from_status: OrderStatus | null;
      to_status: OrderStatus;
      reason: string | null;
      actor: string;
      at: Date;
    }[];
    return rows.map((r) => ({ from: r.from_status, to: r.to_status, reason: r.reason, actor: r.actor, at: r.at.toISOString() }));
  }

  /** Removes an order that never got its stock (lines, history and saga steps go with it). */
  async delete(trx: Knex.Transaction, id: string, status: OrderStatus): Promise<boolean> {
    return (await trx('orders').where({ id, status }).delete()) > 0;
  }

  async countByStatus(): Promise<Map<OrderStatus, number>> {
    const rows = (await this.knex('orders').select('status').count<{ status: OrderStatus; count: string }[]>({ count: '*' }).groupBy('status')) as {
      status: OrderStatus;
      count: string;
    }[];
    return new Map(rows.map((r) => [r.status, Number(r.count)]));
  }
}
