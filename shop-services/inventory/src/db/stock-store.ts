import type { Knex } from 'knex';
import type { StockEvents } from '../events.js';

/** One product's stock as Postgres has it. */
export interface StockRow {
  productId: string;
  sku: string;
  onHand: number;
  reserved: number;
  allocated: number;
  available: number;
}

export interface Line {
  productId: string;
  quantity: number;
}

export type ReservationStatus = 'reserved' | 'confirmed' | 'released' | 'expired';

export interface Reservation {
  orderId: string;
  status: ReservationStatus;
  /** In request order. */
  items: Line[];
  expiresAt: Date;
  allocationId: string | null;
  /** Once released: by a request, or by the expiry sweeper. */
  releasedBy: 'request' | 'expiry' | null;
  requestHash: string;
}

export interface Allocation {
  allocationId: string;
  productId: string;
  sku: string;
  quantity: number;
  consumed: number;
  returned: number;
  remaining: number;
  status: 'active' | 'closed';
  requestHash: string;
}

/** A line the store could not serve: unknown product, or fewer units available than asked for. */
export interface Shortage {
  index: number;
  productId: string;
  requested: number;
  /** undefined: no stock row for the product. */
  available: number | undefined;
}

export type ReserveTx =
  | { kind: 'reserved'; reservation: Reservation; rows: StockRow[] }
  | { kind: 'short'; shortages: Shortage[] }
  /** Another request created this order's reservation first. */
  | { kind: 'exists' };

export type ConfirmTx =
  | { kind: 'confirmed'; reservation: Reservation }
  | { kind: 'unchanged'; reservation: Reservation }
  | { kind: 'due'; reservation: Reservation }
  | { kind: 'not_found' };

export type AllocateTx =
  | { kind: 'allocated'; allocation: Allocation; row: StockRow }
  | { kind: 'short'; shortage: Shortage }
  | { kind: 'exists' };

export type ConsumeTx =
  | { kind: 'consumed'; reservation: Reservation }
  | { kind: 'replay'; reservation: Reservation }
  | { kind: 'order_taken'; reservation: Reservation }
  | { kind: 'allocation_not_found' }
  | { kind: 'allocation_closed'; allocation: Allocation }
  | { kind: 'exhausted'; allocation: Allocation };

export type ReturnTx =
  | { kind: 'returned'; allocation: Allocation; returned: number; row: StockRow }
  /** This return key was used before with the same request: nothing changed. */
  | { kind: 'replay'; allocation: Allocation; returned: number }
  | { kind: 'key_reused'; allocation: Allocation }
  | { kind: 'not_found' }
  | { kind: 'too_many'; allocation: Allocation };

export interface ReleaseTx {
  released: Reservation[];
  /** Units given back to available, per product. */
  deltas: Map<string, number>;
  rows: StockRow[];
}

interface StockDbRow {
  product_id: string;
  sku: string;
  on_hand: number;
  reserved: number;
  allocated: number;
  low_stock: boolean;
}

interface ReservationDbRow {
  order_id: string;
  status: ReservationStatus;
  request_hash: string;
  allocation_id: string | null;
  expires_at: Date;
  released_by: 'request' | 'expiry' | null;
  due?: boolean;
}

interface AllocationDbRow {
  allocation_id: string;
  product_id: string;
  sku: string;
  quantity: number;
  consumed: number;
  returned: number;
  status: 'active' | 'closed';
  request_hash: string;
}

const STOCK_COLUMNS = ['product_id', 'sku', 'on_hand', 'reserved', 'allocated', 'low_stock'];

function toStock(r: StockDbRow): StockRow {
  return { productId: r.product_id, sku: r.sku, onHand: r.on_hand, reserved: r.reserved, allocated: r.allocated, available: r.on_hand - r.reserved - r.allocated };
}

/** Rows whose available fell to the threshold with this change: each owes one `inventory.low_stock` event. */
function crossings(changed: readonly ChangedStockRow[]): StockDbRow[] {
  return changed.filter((r) => r.low_stock && !r.was_low);
}

function toAllocation(r: AllocationDbRow): Allocation {
  return {
    allocationId: r.allocation_id,
    productId: r.product_id,
    sku: r.sku,
    quantity: r.quantity,
    consumed: r.consumed,
    returned: r.returned,
    remaining: r.quantity - r.consumed - r.returned,
    status: r.status,
    requestHash: r.request_hash,
  };
}

/** The pool or an open transaction. */
type Runner = Knex | Knex.Transaction;

/** A reservation row with its lines as a JSON array (ITEMS_OF_R), so one statement reads both. */
type ReservationWithItems = ReservationDbRow & { items: Line[] | null };

/** A stock row a statement changed, with its low-stock flag from before the change (read under the row lock). */
type ChangedStockRow = StockDbRow & { was_low: boolean };

/**
 * CTE body `k` of the one-statement changes: the stock rows of the products in CTE `d`, locked in
 * product order (so no two statements deadlock) and read as committed now (a row lock waits for a
 * concurrent change, then returns its result). Their UPDATE writes every counter from `k` (on_hand,
 * reserved, allocated), not from stock's own columns: those come from the statement's snapshot,
 * which may predate the locked version, and Postgres checks the CHECK constraints on that tuple
 * before it moves to the newer one (a stale tuple would fail, or a stale filter skip the row).
 */
const LOCKED_STOCK = `SELECT product_id, on_hand, reserved, allocated, low_stock, on_hand - reserved - allocated AS available
           FROM stock WHERE product_id IN (SELECT product_id FROM d) ORDER BY product_id FOR UPDATE`;

/** Select-list item: the lines of the reservation aliased `r`, in request order. */
const ITEMS_OF_R = `(SELECT json_agg(json_build_object('productId', i.product_id, 'quantity', i.quantity) ORDER BY i.position)
   FROM reservation_items i WHERE i.order_id = r.order_id) AS items`;

function toReservation(row: ReservationWithItems): Reservation {
  return {
    orderId: row.order_id,
    status: row.status,
    items: row.items ?? [],
    expiresAt: row.expires_at,
    allocationId: row.allocation_id,
    releasedBy: row.released_by,
    requestHash: row.request_hash,
  };
}

/**
 * A stock change made by one statement, which needs a transaction only to write low-stock events.
 * `needsEvents`: run alone, the statement found it would make a product cross the threshold and
 * wrote nothing; `crossed`: the rows that did cross (events to write in the same transaction).
 */
interface OneStatement<T> {
  result: T;
  needsEvents: boolean;
  crossed: StockDbRow[];
}

/** An allocation with its product's SKU; `lock` takes the allocation row FOR UPDATE (not the stock row). */
async function readAllocation(trx: Knex | Knex.Transaction, allocationId: string, lock = false): Promise<AllocationDbRow | undefined> {
  const q = trx('allocations as a')
    .join('stock as s', 's.product_id', 'a.product_id')
    .select('a.*', 's.sku')
    .where('a.allocation_id', allocationId)
    .first();
  if (lock) q.forUpdate('a');
  return (await q) as AllocationDbRow | undefined;
}

/** Thrown inside a transaction to roll it back and hand a result out. */
class Rollback<T> extends Error {
  constructor(readonly result: T) {
    super('rollback');
  }
}

async function rollbackable<T>(knex: Knex, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  try {
    return await knex.transaction(fn);
  } catch (err) {
    if (err instanceof Rollback) return err.result as T;
    throw err;
  }
}

/** Lines sorted by product id: every transaction locks stock rows in this order, so none deadlock. */
function byProduct<T extends { productId: string }>(lines: readonly T[]): T[] {
  return [...lines].sort((a, b) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0));
}

export interface StockStoreOptions {
  lowStockThreshold: number;
  events: StockEvents;
}

/**
 * Postgres, the source of truth. Every change of available units is a conditional UPDATE inside a
 * transaction that also writes the reservation (or allocation) row and, for operations the Redis
 * gate tracks, the operation id (stock_ops); the table's CHECK constraints refuse negative stock.
 */
export class StockStore {
  constructor(
    readonly knex: Knex,
    private readonly opts: StockStoreOptions,
  ) {}

  // ---- reads ---------------------------------------------------------------------------------

  async getStock(productId: string): Promise<StockRow | undefined> {
    const row = (await this.knex('stock').select(STOCK_COLUMNS).where({ product_id: productId }).first()) as StockDbRow | undefined;
    return row ? toStock(row) : undefined;
  }

  async getStocks(productIds: readonly string[]): Promise<StockRow[]> {
    if (productIds.length === 0) return [];
    const rows = (await this.knex('stock').select(STOCK_COLUMNS).whereIn('product_id', [...productIds])) as StockDbRow[];
    return rows.map(toStock);
  }

  /** The reservation with its lines, in one statement. */
  async getReservation(orderId: string, trx: Runner = this.knex): Promise<Reservation | undefined> {
    const { rows } = (await trx.raw(`SELECT r.*, ${ITEMS_OF_R} FROM reservations r WHERE r.order_id = ?`, [orderId])) as { rows: ReservationWithItems[] };
    return rows[0] ? toReservation(rows[0]) : undefined;
  }

  async getAllocation(allocationId: string): Promise<Allocation | undefined> {
    const row = await readAllocation(this.knex, allocationId);
    return row ? toAllocation(row) : undefined;
  }

  /** Lines that cannot be served from what Postgres shows now (a plain read, no locks). */
  async shortages(lines: readonly Line[], trx: Knex | Knex.Transaction = this.knex): Promise<{ shortages: Shortage[]; available: Map<string, number> }> {
    const rows = (await trx('stock').select(STOCK_COLUMNS).whereIn('product_id', lines.map((l) => l.productId))) as StockDbRow[];
    const available = new Map(rows.map((r) => [r.product_id, r.on_hand - r.reserved - r.allocated]));
    const shortages: Shortage[] = [];
    lines.forEach((l, index) => {
      const a = available.get(l.productId);
      if (a === undefined || a < l.quantity) shortages.push({ index, productId: l.productId, requested: l.quantity, available: a });
    });
    return { shortages, available };
  }

  /** Reservations still held past their deadline, oldest first, with their lines (one statement). */
  async dueReservations(limit: number): Promise<Reservation[]> {
    const { rows } = (await this.knex.raw(
      `SELECT r.*, ${ITEMS_OF_R} FROM reservations r WHERE r.status = 'reserved' AND r.expires_at <= now() ORDER BY r.expires_at LIMIT ?`,
      [limit],
    )) as { rows: ReservationWithItems[] };
    return rows.map(toReservation);
  }

  /** Product ids after `after` (keyset pagination over the whole table). */
  async productIds(after: string | undefined, limit: number): Promise<string[]> {
    const q = this.knex('stock').select('product_id').orderBy('product_id').limit(limit);
    if (after) q.where('product_id', '>', after);
    return (await q).map((r: { product_id: string }) => r.product_id);
  }

  /**
   * One consistent view for the reconciler: available units of `productIds` and which of `opIds`
   * Postgres has committed, both from the same REPEATABLE READ snapshot.
   */
  async snapshot(productIds: readonly string[], opIds: readonly string[]): Promise<{ rows: StockRow[]; committed: Set<string> }> {
    return this.knex.transaction(
      async (trx) => {
        const rows = (await trx('stock').select(STOCK_COLUMNS).whereIn('product_id', [...productIds])) as StockDbRow[];
        const ops = opIds.length ? await trx('stock_ops').select('op_id').whereIn('op_id', [...opIds]) : [];
        return { rows: rows.map(toStock), committed: new Set(ops.map((o: { op_id: string }) => o.op_id)) };
      },
      { isolationLevel: 'repeatable read', readOnly: true },
    );
  }

  // ---- writes --------------------------------------------------------------------------------

  /** Creates stock rows for products that have none; returns how many were created. */
  async seed(products: readonly { productId: string; sku: string }[], onHand: number): Promise<number> {
    let created = 0;
    for (let i = 0; i < products.length; i += 500) {
      const chunk = products.slice(i, i + 500).map((p) => ({ product_id: p.productId, sku: p.sku, on_hand: onHand }));
      const rows = await this.knex('stock').insert(chunk).onConflict('product_id').ignore().returning('product_id');
      created += rows.length;
    }
    return created;
  }

  /** Deletes operation ids older than the reconciler can still ask about. */
  async pruneOps(olderThanMs: number): Promise<number> {
    return this.knex('stock_ops').where('created_at', '<', this.knex.raw("now() - make_interval(secs => ?)", [olderThanMs / 1000])).delete();
  }

  /**
   * The reservation, all or nothing, in one statement (a single statement is atomic): the stock
   * rows are locked in product order (no deadlocks) and read as they are now; only if every line
   * has its units does it insert the reservation (ON CONFLICT DO NOTHING: a concurrent copy of the
   * request waits, then finds it), take the units, and write the items and the operation id.
   * A refused request writes nothing. A low-stock crossing runs it in a transaction (oneStatement).
   */
  async reserve(input: { opId: string; orderId: string; requestHash: string; ttlSeconds: number; lines: readonly Line[] }): Promise<ReserveTx> {
    return this.oneStatement((db, allowEvents) => this.reserveStatement(db, input, allowEvents));
  }

  private async reserveStatement(
    db: Runner,
    input: { opId: string; orderId: string; requestHash: string; ttlSeconds: number; lines: readonly Line[] },
    allowEvents: boolean,
  ): Promise<OneStatement<ReserveTx>> {
    const threshold = this.opts.lowStockThreshold;
    const lines = input.lines.map((l, position) => ({ position, product_id: l.productId, quantity: l.quantity }));
    // `k` (LOCKED_STOCK) locks the rows and reads them as committed now: the verdict and every
    // number written come from it. `lacking` are the lines it cannot serve (or has no row for);
    // `crossing`: the change would bring a product to the low-stock threshold (see oneStatement).
    const { rows } = (await db.raw(
      `WITH l AS (
         SELECT * FROM jsonb_to_recordset(?::jsonb) AS l(position int, product_id uuid, quantity int)
       ), d AS (
         SELECT product_id, sum(quantity)::int AS quantity FROM l GROUP BY product_id
       ), k AS (
         ${LOCKED_STOCK}
       ), lacking AS (
         SELECT l.position, l.product_id, l.quantity, k.available
           FROM l JOIN d USING (product_id) LEFT JOIN k USING (product_id)
          WHERE k.available IS NULL OR k.available < d.quantity
       ), verdict AS (
         SELECT NOT EXISTS (SELECT 1 FROM lacking) AS enough,
                EXISTS (SELECT 1 FROM d JOIN k USING (product_id) WHERE NOT k.low_stock AND k.available - d.quantity <= ?) AS crossing
       ), r AS (
         INSERT INTO reservations (order_id, status, request_hash, expires_at)
         SELECT ?, 'reserved', ?, now() + make_interval(secs => ?) FROM verdict WHERE verdict.enough AND (? OR NOT verdict.crossing)
         ON CONFLICT (order_id) DO NOTHING
         RETURNING order_id, status, request_hash, allocation_id, expires_at, released_by
       ), s AS (
         UPDATE stock
            SET on_hand = k.on_hand, reserved = k.reserved + d.quantity, allocated = k.allocated,
                low_stock = k.available - d.quantity <= ?, updated_at = now()
           FROM d JOIN k USING (product_id)
          WHERE stock.product_id = d.product_id AND k.available >= d.quantity AND EXISTS (SELECT 1 FROM r)
         RETURNING stock.product_id, stock.sku, stock.on_hand, stock.reserved, stock.allocated, stock.low_stock, k.low_stock AS was_low
       ), i AS (
         INSERT INTO reservation_items (order_id, position, product_id, quantity) SELECT r.order_id, l.position, l.product_id, l.quantity FROM r, l
       ), o AS (
         INSERT INTO stock_ops (op_id) SELECT ? FROM r
       )
       SELECT verdict.crossing,
              (SELECT json_agg(lacking ORDER BY lacking.position) FROM lacking) AS lacking,
              (SELECT json_agg(s ORDER BY s.product_id) FROM s) AS changed,
              r.*
         FROM verdict LEFT JOIN r ON true`,
      [JSON.stringify(lines), threshold, input.orderId, input.requestHash, input.ttlSeconds, allowEvents, threshold, input.opId],
    )) as { rows: (Partial<ReservationDbRow> & { crossing: boolean; lacking: (typeof lines[number] & { available: number | null })[] | null; changed: ChangedStockRow[] | null })[] };
    const row = rows[0];
    if (!row) throw new Error('the reservation statement returned no row');
    if (row.order_id) {
      const changed = row.changed ?? [];
      const reservation = toReservation({ ...(row as ReservationDbRow), items: input.lines.map((l) => ({ productId: l.productId, quantity: l.quantity })) });
      return { result: { kind: 'reserved', reservation, rows: changed.map(toStock) }, needsEvents: false, crossed: crossings(changed) };
    }
    if (row.lacking) {
      const shortages = row.lacking.map((x) => ({ index: x.position, productId: x.product_id, requested: x.quantity, available: x.available ?? undefined }));
      return { result: { kind: 'short', shortages }, needsEvents: false, crossed: [] };
    }
    return { result: { kind: 'exists' }, needsEvents: row.crossing && !allowEvents, crossed: [] };
  }

  /**
   * Runs a stock change that is one statement. It needs a transaction only when it makes a product's
   * available fall to the low-stock threshold: the event goes to the outbox in the same transaction.
   * Run alone, the statement refuses that change (it writes nothing and says `needsEvents`); it then
   * runs again inside a transaction, followed by the events. Crossings are rare (once per product
   * until it is restocked), so most changes cost one round trip instead of a transaction.
   */
  private async oneStatement<T>(run: (db: Runner, allowEvents: boolean) => Promise<OneStatement<T>>): Promise<T> {
    const alone = await run(this.knex, false);
    if (!alone.needsEvents) return alone.result;
    return this.knex.transaction(async (trx) => {
      const { result, crossed } = await run(trx, true);
      for (const r of crossed) await this.lowStockEvent(trx, r);
      return result;
    });
  }

  private async lowStockEvent(trx: Knex.Transaction, r: StockDbRow): Promise<void> {
    const available = r.on_hand - r.reserved - r.allocated;
    await this.opts.events.lowStock(trx, { productId: r.product_id, sku: r.sku, available, threshold: this.opts.lowStockThreshold, at: new Date().toISOString() });
  }

  /**
   * `UPDATE … SET <column> = <column> + q WHERE on_hand - reserved - allocated >= q` for each line,
   * in product order; undefined as soon as one product cannot give the units (caller rolls back).
   */
  private async takeUnits(trx: Knex.Transaction, lines: readonly Line[], column: 'reserved' | 'allocated'): Promise<StockDbRow[] | undefined> {
    const rows: StockDbRow[] = [];
    for (const l of byProduct(lines)) {
      const [row] = (await trx('stock')
        .update({ [column]: trx.raw('?? + ?', [column, l.quantity]), updated_at: trx.fn.now() })
        .where('product_id', l.productId)
        .andWhereRaw('on_hand - reserved - allocated >= ?', [l.quantity])
        .returning(STOCK_COLUMNS)) as StockDbRow[];
      if (!row) return undefined;
      rows.push(row);
    }
    return rows;
  }

  /**
   * Low-stock bookkeeping after a change: a product whose available fell to the threshold gets its
   * flag and one `inventory.low_stock` event (in this transaction); one that rose above loses the
   * flag, so the next fall announces itself again.
   */
  private async afterChange(trx: Knex.Transaction, rows: readonly StockDbRow[]): Promise<StockRow[]> {
    const threshold = this.opts.lowStockThreshold;
    for (const r of rows) {
      const available = r.on_hand - r.reserved - r.allocated;
      if (available <= threshold && !r.low_stock) {
        await trx('stock').update({ low_stock: true }).where('product_id', r.product_id);
        await this.opts.events.lowStock(trx, { productId: r.product_id, sku: r.sku, available, threshold, at: new Date().toISOString() });
        r.low_stock = true;
      } else if (available > threshold && r.low_stock) {
        await trx('stock').update({ low_stock: false }).where('product_id', r.product_id);
        r.low_stock = false;
      }
    }
    return rows.map(toStock);
  }

  /**
   * Confirms a live reservation: its units leave the shelf (on hand and reserved both drop;
   * available does not change, so Redis has nothing to learn, and low stock cannot change). A
   * reservation past its deadline is not confirmed ('due'): the caller expires it. One statement:
   * the reservation is locked and read as it is now; only a live one moves its units (stock rows
   * locked in product order, numbers from the locked rows: see reserve) and changes status.
   */
  async confirm(orderId: string): Promise<ConfirmTx> {
    const { rows } = (await this.knex.raw(
      `WITH held AS (
         SELECT r.*, r.expires_at <= now() AS due FROM reservations r WHERE r.order_id = ? FOR UPDATE
       ), go AS (
         SELECT order_id FROM held WHERE status = 'reserved' AND NOT due
       ), d AS (
         SELECT product_id, sum(quantity)::int AS quantity FROM reservation_items WHERE order_id IN (SELECT order_id FROM go) GROUP BY product_id
       ), k AS (
         ${LOCKED_STOCK}
       ), s AS (
         UPDATE stock SET on_hand = k.on_hand - d.quantity, reserved = k.reserved - d.quantity, allocated = k.allocated, updated_at = now()
           FROM d JOIN k USING (product_id) WHERE stock.product_id = d.product_id
       ), c AS (
         UPDATE reservations SET status = 'confirmed', updated_at = now() WHERE order_id = ? AND EXISTS (SELECT 1 FROM go) RETURNING order_id
       )
       SELECT r.*, ${ITEMS_OF_R}, EXISTS (SELECT 1 FROM c) AS confirmed FROM held r`,
      [orderId, orderId],
    )) as { rows: (ReservationWithItems & { confirmed: boolean })[] };
    const row = rows[0];
    if (!row) return { kind: 'not_found' };
    const reservation = toReservation(row);
    if (row.confirmed) return { kind: 'confirmed', reservation: { ...reservation, status: 'confirmed' } };
    if (row.status !== 'reserved') return { kind: 'unchanged', reservation };
    if (row.due) return { kind: 'due', reservation };
    throw new Error(`reservation ${orderId} is live but was not confirmed`);
  }

  /**
   * Releases the given reservations that are still held (and, for expiry, past their deadline):
   * their units go back to available. `skipLocked`: the sweeper leaves rows another transaction holds.
   * One statement (see reserve): reservations locked in id order, then their stock rows in product
   * order; status, units, low-stock flags and the operation id change together.
   */
  async release(input: { opId: string; orderIds: readonly string[]; status: 'released' | 'expired'; onlyDue: boolean; skipLocked: boolean }): Promise<ReleaseTx> {
    return this.oneStatement((db, allowEvents) => this.releaseStatement(db, input, allowEvents));
  }

  private async releaseStatement(
    db: Runner,
    input: { opId: string; orderIds: readonly string[]; status: 'released' | 'expired'; onlyDue: boolean; skipLocked: boolean },
    allowEvents: boolean,
  ): Promise<OneStatement<ReleaseTx>> {
    const threshold = this.opts.lowStockThreshold;
    const by: 'expiry' | 'request' = input.status === 'expired' ? 'expiry' : 'request';
    const { rows } = (await db.raw(
      `WITH held AS (
         SELECT order_id FROM reservations
          WHERE order_id IN (SELECT value::uuid FROM jsonb_array_elements_text(?::jsonb)) AND status = 'reserved' AND (NOT ? OR expires_at <= now())
          ORDER BY order_id ${input.skipLocked ? 'FOR UPDATE SKIP LOCKED' : 'FOR UPDATE'}
       ), d AS (
         SELECT product_id, sum(quantity)::int AS quantity FROM reservation_items WHERE order_id IN (SELECT order_id FROM held) GROUP BY product_id
       ), k AS (
         ${LOCKED_STOCK}
       ), verdict AS (
         SELECT EXISTS (SELECT 1 FROM d JOIN k USING (product_id) WHERE NOT k.low_stock AND k.available + d.quantity <= ?) AS crossing
       ), u AS (
         UPDATE reservations SET status = ?, released_by = ?, updated_at = now()
          WHERE order_id IN (SELECT order_id FROM held) AND (SELECT ? OR NOT crossing FROM verdict)
         RETURNING *
       ), s AS (
         UPDATE stock
            SET on_hand = k.on_hand, reserved = k.reserved - d.quantity, allocated = k.allocated,
                low_stock = k.available + d.quantity <= ?, updated_at = now()
           FROM d JOIN k USING (product_id)
          WHERE stock.product_id = d.product_id AND EXISTS (SELECT 1 FROM u)
         RETURNING stock.product_id, stock.sku, stock.on_hand, stock.reserved, stock.allocated, stock.low_stock, k.low_stock AS was_low
       ), o AS (
         INSERT INTO stock_ops (op_id) SELECT ? WHERE EXISTS (SELECT 1 FROM u)
       )
       SELECT verdict.crossing, (SELECT json_agg(s ORDER BY s.product_id) FROM s) AS changed, r.*, ${ITEMS_OF_R}
         FROM verdict LEFT JOIN u r ON true ORDER BY r.order_id`,
      [JSON.stringify(input.orderIds), input.onlyDue, threshold, input.status, by, allowEvents, threshold, input.opId],
    )) as { rows: (Partial<ReservationWithItems> & { crossing: boolean; changed: ChangedStockRow[] | null })[] };
    const first = rows[0];
    if (!first) throw new Error('the release statement returned no row');
    // one row per released reservation, or a single row of nulls (LEFT JOIN) when none was
    const released = rows.filter((r) => typeof r.order_id === 'string').map((r) => toReservation(r as ReservationWithItems));
    const deltas = new Map<string, number>();
    for (const r of released) for (const l of r.items) deltas.set(l.productId, (deltas.get(l.productId) ?? 0) + l.quantity);
    const changed = first.changed ?? [];
    return {
      result: { released, deltas, rows: changed.map(toStock) },
      needsEvents: first.crossing && !allowEvents,
      crossed: crossings(changed),
    };
  }

  /** Adds units on hand; creates the row when `sku` is given for a product without one. */
  async restock(input: { opId: string; productId: string; quantity: number; sku?: string }): Promise<StockRow | undefined> {
    return this.knex.transaction(async (trx) => {
      let [row] = (await trx('stock')
        .update({ on_hand: trx.raw('on_hand + ?', [input.quantity]), updated_at: trx.fn.now() })
        .where('product_id', input.productId)
        .returning(STOCK_COLUMNS)) as StockDbRow[];
      if (!row && input.sku !== undefined) {
        [row] = (await trx('stock')
          .insert({ product_id: input.productId, sku: input.sku, on_hand: input.quantity })
          .onConflict('product_id')
          .merge({ on_hand: trx.raw('stock.on_hand + ?', [input.quantity]), updated_at: trx.fn.now() })
          .returning(STOCK_COLUMNS)) as StockDbRow[];
      }
      if (!row) return undefined;
      await trx('stock_ops').insert({ op_id: input.opId });
      const [after] = await this.afterChange(trx, [row]);
      if (!after) throw new Error('restocked row vanished');
      await this.opts.events.restocked(trx, { productId: after.productId, sku: after.sku, quantity: input.quantity, onHand: after.onHand, at: new Date().toISOString() });
      return after;
    });
  }

  /** Sets units aside for a flash sale: they leave available and do not expire. */
  async allocate(input: { opId: string; allocationId: string; productId: string; quantity: number; requestHash: string }): Promise<AllocateTx> {
    return rollbackable<AllocateTx>(this.knex, async (trx) => {
      const line = { productId: input.productId, quantity: input.quantity };
      // the stock row first: an unknown product must not reach the allocation's foreign key
      const rows = await this.takeUnits(trx, [line], 'allocated');
      if (!rows) {
        const [shortage] = (await this.shortages([line], trx)).shortages;
        throw new Rollback<AllocateTx>({ kind: 'short', shortage: shortage ?? { index: 0, ...line, requested: input.quantity, available: undefined } });
      }
      const inserted = await trx('allocations')
        .insert({ allocation_id: input.allocationId, product_id: input.productId, quantity: input.quantity, request_hash: input.requestHash })
        .onConflict('allocation_id')
        .ignore()
        .returning('allocation_id');
      if (inserted.length === 0) throw new Rollback<AllocateTx>({ kind: 'exists' });
      await trx('stock_ops').insert({ op_id: input.opId });
      const [row] = await this.afterChange(trx, rows);
      const allocation = await readAllocation(trx, input.allocationId);
      if (!row || !allocation) throw new Error('allocation vanished inside its own transaction');
      return { kind: 'allocated', allocation: toAllocation(allocation), row };
    });
  }

  /**
   * Turns allocated units into an order's reservation (allocated → reserved: available does not
   * change). Idempotent by order id.
   */
  async consume(input: { allocationId: string; orderId: string; quantity: number; requestHash: string; ttlSeconds: number }): Promise<ConsumeTx> {
    return rollbackable<ConsumeTx>(this.knex, async (trx) => {
      const a = await readAllocation(trx, input.allocationId, true);
      if (!a) return { kind: 'allocation_not_found' };
      const existing = await this.getReservation(input.orderId, trx);
      if (existing) return existing.requestHash === input.requestHash ? { kind: 'replay', reservation: existing } : { kind: 'order_taken', reservation: existing };
      const allocation = toAllocation(a);
      if (allocation.status === 'closed') return { kind: 'allocation_closed', allocation };
      if (allocation.remaining < input.quantity) return { kind: 'exhausted', allocation };
      await trx('allocations').update({ consumed: trx.raw('consumed + ?', [input.quantity]), updated_at: trx.fn.now() }).where({ allocation_id: input.allocationId });
      await trx('stock')
        .update({ allocated: trx.raw('allocated - ?', [input.quantity]), reserved: trx.raw('reserved + ?', [input.quantity]), updated_at: trx.fn.now() })
        .where('product_id', a.product_id);
      await trx('reservations').insert({
        order_id: input.orderId,
        status: 'reserved',
        request_hash: input.requestHash,
        allocation_id: input.allocationId,
        expires_at: trx.raw('now() + make_interval(secs => ?)', [input.ttlSeconds]),
      });
      await trx('reservation_items').insert({ order_id: input.orderId, position: 0, product_id: a.product_id, quantity: input.quantity });
      const reservation = await this.getReservation(input.orderId, trx);
      if (!reservation) throw new Error('reservation vanished inside its own transaction');
      return { kind: 'consumed', reservation };
    });
  }

  /**
   * Gives unsold allocated units back to available; `quantity` undefined = all that remain, and
   * closes the allocation. With `returnKey`, a retry of the same return changes nothing and answers
   * the same; the same key with another quantity is 'key_reused'.
   */
  async returnUnits(input: { opId: string; allocationId: string; quantity: number | undefined; returnKey?: string }): Promise<ReturnTx> {
    return rollbackable<ReturnTx>(this.knex, async (trx) => {
      const a = await readAllocation(trx, input.allocationId, true);
      if (!a) return { kind: 'not_found' };
      const allocation = toAllocation(a);
      if (input.returnKey !== undefined) {
        const done = (await trx('allocation_returns').where({ allocation_id: input.allocationId, return_key: input.returnKey }).first()) as
          | { requested: number | null; returned: number }
          | undefined;
        if (done) return done.requested === (input.quantity ?? null) ? { kind: 'replay', allocation, returned: done.returned } : { kind: 'key_reused', allocation };
      }
      const q = input.quantity ?? allocation.remaining;
      if (q > allocation.remaining) return { kind: 'too_many', allocation };
      const close = input.quantity === undefined || allocation.remaining - q === 0;
      await trx('allocations')
        .update({ returned: trx.raw('returned + ?', [q]), status: close ? 'closed' : a.status, updated_at: trx.fn.now() })
        .where({ allocation_id: input.allocationId });
      const [row] = (await trx('stock')
        .update({ allocated: trx.raw('allocated - ?', [q]), updated_at: trx.fn.now() })
        .where('product_id', a.product_id)
        .returning(STOCK_COLUMNS)) as StockDbRow[];
      if (!row) throw new Error('stock row vanished inside its own transaction');
      if (input.returnKey !== undefined) {
        await trx('allocation_returns').insert({ allocation_id: input.allocationId, return_key: input.returnKey, requested: input.quantity ?? null, returned: q });
      }
      await trx('stock_ops').insert({ op_id: input.opId });
      const [after] = await this.afterChange(trx, [row]);
      const updated = await readAllocation(trx, input.allocationId);
      if (!after || !updated) throw new Error('allocation or stock row vanished inside its own transaction');
      return { kind: 'returned', allocation: toAllocation(updated), returned: q, row: after };
    });
  }
}
