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

/** An order row with its lines as a JSON array (LINES_OF_O), so one statement reads both. */
type OrderRowWithLines = OrderRow & { lines: LineRow[] };

/** Select-list item: the lines of the order aliased `o`, in line order. */
const LINES_OF_O = `(SELECT coalesce(json_agg(i ORDER BY i.line_no), '[]'::json) FROM order_items i WHERE i.order_id = o.id) AS lines`;

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

function patchColumns(patch: OrderPatch): Record<string, string | Date | null> {
  const cols: Record<string, string | Date | null> = {};
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
    // One statement: the order, its lines and its first history row go in together, or (conflict) none.
    const lines = order.items.map((l, i) => ({
      line_no: i + 1,
      product_id: l.productId,
      sku: l.sku,
      name: l.name,
      category: l.category ?? null,
      quantity: l.quantity,
      unit_price_cents: l.unitPriceCents,
    }));
    const { rows } = (await trx.raw(
      `WITH o AS (
         INSERT INTO orders (id, user_id, email, status, total_cents, currency, flash_sale_id, expires_at, idempotency_key, request_hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id
       ), lines AS (
         INSERT INTO order_items (order_id, line_no, product_id, sku, name, category, quantity, unit_price_cents)
         SELECT o.id, l.line_no, l.product_id, l.sku, l.name, l.category, l.quantity, l.unit_price_cents
           FROM o, jsonb_to_recordset(?::jsonb) AS l(line_no int, product_id text, sku text, name text, category text, quantity int, unit_price_cents bigint)
       ), h AS (
         INSERT INTO order_status_history (order_id, from_status, to_status, reason, actor) SELECT o.id, NULL, ?, ?, ? FROM o
       )
       SELECT id FROM o`,
      [
        order.id,
        order.userId,
        order.email ?? null,
        order.status,
        order.totalCents,
        order.currency,
        order.flashSaleId ?? null,
        order.expiresAt ?? null,
        order.idempotencyKey ?? null,
        order.requestHash ?? null,
        JSON.stringify(lines),
        order.status,
        history.reason?.slice(0, 500) ?? null,
        history.actor,
      ],
    )) as { rows: { id: string }[] };
    return rows.length > 0;
  }

  async findById(id: string, db: Runner = this.knex): Promise<OrderRecord | undefined> {
    const { rows } = (await db.raw(`SELECT o.*, ${LINES_OF_O} FROM orders o WHERE o.id = ?`, [id])) as { rows: OrderRowWithLines[] };
    return rows[0] ? toRecord(rows[0], rows[0].lines) : undefined;
  }

  /** The current status only (cheap; for polling and for explaining a failed conditional update). */
  async statusOf(id: string, db: Runner = this.knex): Promise<OrderStatus | undefined> {
    const row = (await db('orders').where({ id }).first('status')) as { status: OrderStatus } | undefined;
    return row?.status;
  }

  async findByIdempotencyKey(userId: string, key: string, db: Runner = this.knex): Promise<OrderRecord | undefined> {
    const { rows } = (await db.raw(`SELECT o.*, ${LINES_OF_O} FROM orders o WHERE o.user_id = ? AND o.idempotency_key = ?`, [userId, key])) as { rows: OrderRowWithLines[] };
    return rows[0] ? toRecord(rows[0], rows[0].lines) : undefined;
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
   * The race-safe transition: `UPDATE … WHERE id = ? AND status = from`, with its history row and the
   * order's lines read back, in one statement. Returns the updated order, or undefined when the order
   * was not in `from` any more (someone else moved it first; then no history row is written either).
   */
  async transition(trx: Knex.Transaction, t: HistoryInput & { from: OrderStatus; patch?: OrderPatch }): Promise<OrderRecord | undefined> {
    const cols = Object.entries(patchColumns(t.patch ?? {}));
    // column names come from patchColumns' fixed list, and go in as identifiers (??), values as bindings
    const sets = cols.map(() => ', ?? = ?').join('');
    const { rows } = (await trx.raw(
      `WITH o AS (
         UPDATE orders SET status = ?, updated_at = now()${sets} WHERE id = ? AND status = ? RETURNING *
       ), h AS (
         INSERT INTO order_status_history (order_id, from_status, to_status, reason, actor) SELECT o.id, ?, ?, ?, ? FROM o
       )
       SELECT o.*, ${LINES_OF_O} FROM o`,
      [t.to, ...cols.flat(), t.orderId, t.from, t.from, t.to, t.reason?.slice(0, 500) ?? null, t.actor],
    )) as { rows: OrderRowWithLines[] };
    return rows[0] ? toRecord(rows[0], rows[0].lines) : undefined;
  }

  /** Column updates that are not a status change (e.g. the payment id of a pending payment). */
  async patch(id: string, patch: OrderPatch, db: Runner = this.knex): Promise<void> {
    const cols = patchColumns(patch);
    if (Object.keys(cols).length) await db('orders').where({ id }).update({ ...cols, updated_at: db.fn.now() });
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
