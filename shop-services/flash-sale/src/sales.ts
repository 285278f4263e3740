import { randomUUID } from 'node:crypto';
import { AppError, NotFoundError, UpstreamError, ValidationError, type AuthUser, type Logger } from '@lantern/shop-common';
import type { Sale, SaleStore } from './db/sale-store.js';
import type { InventoryAllocations } from './inventory-client.js';
import type { SaleCounters } from './redis/sale-counters.js';
import type { SaleCache } from './sale-cache.js';

export type SaleState = 'upcoming' | 'active' | 'ended';

/** A sale as the API shows it. */
export interface SaleView {
  id: string;
  productId: string;
  sku?: string;
  priceCents: number;
  currency: string;
  stock: number;
  remaining: number;
  perUserLimit: number;
  startsAt: string;
  endsAt: string;
  state: SaleState;
  createdAt: string;
}

export interface NewSaleInput {
  productId: string;
  priceCents: number;
  currency: string;
  stock: number;
  startsAt: Date;
  endsAt: Date;
}

export interface SaleServiceDeps {
  store: SaleStore;
  counters: SaleCounters;
  sales: SaleCache;
  inventory: InventoryAllocations;
  logger: Logger;
  now?: () => number;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Creating sales (stock allocated at inventory first) and showing them with the units left. */
export class SaleService {
  private readonly now: () => number;

  constructor(private readonly deps: SaleServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  stateOf(sale: Sale): SaleState {
    const now = this.now();
    if (sale.status === 'settled' || now >= sale.endsAt.getTime()) return 'ended';
    return now < sale.startsAt.getTime() ? 'upcoming' : 'active';
  }

  /** `live`: Redis' count of free units; `sold`: units owned by live purchases in Postgres. */
  view(sale: Sale, live: number | undefined, sold: number): SaleView {
    const committed = sale.status === 'settled' ? sale.unsoldUnits : sale.stock - sold;
    return {
      id: sale.id,
      productId: sale.productId,
      ...(sale.sku ? { sku: sale.sku } : {}),
      priceCents: sale.priceCents,
      currency: sale.currency,
      stock: sale.stock,
      // Redis counts units held by purchases still being recorded too, so it is never above Postgres'
      // figure for long; when it is not loaded (or unreachable), Postgres answers; once settled, the
      // units that went unsold
      remaining: Math.max(0, Math.min(live ?? committed, committed)),
      perUserLimit: sale.perUserLimit,
      startsAt: sale.startsAt.toISOString(),
      endsAt: sale.endsAt.toISOString(),
      state: this.stateOf(sale),
      createdAt: sale.createdAt.toISOString(),
    };
  }

  /**
   * The sale row is written first (status allocating), then inventory sets the stock aside (idempotent
   * by the sale id), then the sale becomes active. If inventory refuses, the sale is cancelled; if it
   * cannot be reached, the row stays allocating and the settler gives back whatever was set aside.
   */
  async create(input: NewSaleInput, admin: AuthUser): Promise<SaleView> {
    if (input.endsAt.getTime() <= this.now()) throw new ValidationError('invalid body: body.endsAt: must be in the future', [{ path: 'body.endsAt', message: 'must be in the future' }]);
    const id = randomUUID();
    await this.deps.store.insertAllocating({ id, ...input, createdBy: admin.id });
    let sku: string | undefined;
    try {
      ({ sku } = await this.deps.inventory.allocate(id, input.productId, input.stock));
    } catch (err) {
      throw await this.allocationFailed(id, input, err);
    }
    const sale = await this.deps.store.activate(id, sku ?? null);
    if (!sale) throw new AppError(500, 'internal', `flash sale ${id} changed while being created`);
    this.deps.sales.put(sale);
    // load the counters now so the first buyers do not pay for it (a purchase rebuilds them if missing)
    await this.deps.counters
      .load(id, { stock: sale.stock, startsAt: sale.startsAt, endsAt: sale.endsAt, freeSlots: Array.from({ length: sale.stock }, (_, i) => i + 1), buyers: [] })
      .catch((err: unknown) => this.deps.logger.warn({ saleId: id, err: errorText(err) }, 'could not load new sale counters into Redis; the first purchase will'));
    this.deps.logger.info({ saleId: id, productId: sale.productId, stock: sale.stock, startsAt: sale.startsAt, endsAt: sale.endsAt }, 'flash sale created');
    return this.view(sale, sale.stock, 0);
  }

  private async allocationFailed(id: string, input: NewSaleInput, err: unknown): Promise<Error> {
    const refused = err instanceof AppError && !(err instanceof UpstreamError) && err.status < 500;
    if (!refused) {
      this.deps.logger.error({ saleId: id, err: errorText(err) }, 'inventory allocation failed; the sale stays allocating until the settler cancels it');
      return err instanceof Error ? err : new Error(String(err));
    }
    await this.deps.store.cancel(id);
    if (err.status === 404) {
      const message = `product ${input.productId} has no stock record at inventory`;
      return new AppError(400, 'unknown_product', message, { details: [{ path: 'body.productId', message }] });
    }
    if (err.status === 409) return err; // insufficient_stock, with inventory's details
    this.deps.logger.error({ saleId: id, status: err.status, code: err.code }, 'inventory refused the allocation request');
    return new UpstreamError('inventory', `inventory refused the allocation (${err.code})`, { cause: err });
  }

  async get(id: string): Promise<SaleView> {
    const sale = await this.deps.store.get(id);
    if (!sale || sale.status === 'allocating' || sale.status === 'cancelled') throw new NotFoundError(`flash sale ${id} not found`, 'sale_not_found');
    const [[remaining], sold] = await Promise.all([this.remaining([sale]), this.deps.store.soldCounts([sale.id])]);
    return this.view(sale, remaining, sold.get(sale.id) ?? 0);
  }

  async list(opts: { state?: SaleState; limit: number }): Promise<SaleView[]> {
    const sales = await this.deps.store.list({ when: opts.state, limit: opts.limit, now: new Date(this.now()) });
    const [remaining, sold] = await Promise.all([this.remaining(sales), this.deps.store.soldCounts(sales.map((s) => s.id))]);
    return sales.map((s, i) => this.view(s, remaining[i], sold.get(s.id) ?? 0));
  }

  /** Live counts from Redis for open sales; Postgres' figures for the rest or when Redis fails. */
  private async remaining(sales: readonly Sale[]): Promise<(number | undefined)[]> {
    const open = sales.filter((s) => s.status === 'active');
    if (open.length === 0) return sales.map(() => undefined);
    try {
      const live = await this.deps.counters.remaining(open.map((s) => s.id));
      const byId = new Map(open.map((s, i) => [s.id, live[i]]));
      return sales.map((s) => byId.get(s.id));
    } catch (err) {
      this.deps.logger.warn({ err: errorText(err) }, 'redis unavailable; listing remaining units from Postgres');
      return sales.map(() => undefined);
    }
  }
}
