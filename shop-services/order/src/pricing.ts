import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AppError, isAppError, ValidationError, type AuthUser, type ErrorDetail } from '@lantern/shop-common';
import type { Product } from '@lantern/shop-product';
import type { Upstreams } from './clients.js';
import type { StoredLine } from './db/orders-repo.js';
import type { CreateOrderInput } from './schemas.js';

export interface RequestedLine {
  productId: string;
  quantity: number;
  /** Index of the line's first occurrence in the request body, for error paths. */
  index: number;
}

/** Lines for the same product are merged (quantities added), keeping the order of first appearance. */
export function mergeLines(items: CreateOrderInput['items']): RequestedLine[] {
  const merged = new Map<string, RequestedLine>();
  items.forEach((item, index) => {
    const prev = merged.get(item.productId);
    if (prev) prev.quantity += item.quantity;
    else merged.set(item.productId, { productId: item.productId, quantity: item.quantity, index });
  });
  return [...merged.values()];
}

/**
 * Hash of what the request asks for (merged lines, sorted), so "the same body" means the same
 * products and quantities whatever the line order or JSON spacing.
 */
export function requestHash(lines: RequestedLine[]): string {
  const canonical = [...lines].sort((a, b) => a.productId.localeCompare(b.productId)).map((l) => `${l.productId}:${l.quantity}`);
  return createHash('sha256').update(canonical.join(',')).digest('hex');
}

const productEmail = z.email();

/** The end user's email as stored on the order, only when it is one (event schemas require a valid address). */
export function usableEmail(email: string | undefined): string | undefined {
  return email !== undefined && email.length <= 254 && productEmail.safeParse(email).success ? email : undefined;
}

export interface PricedOrder {
  lines: StoredLine[];
  totalCents: number;
  currency: string;
}

/** At most this many product lookups at once for one order. */
const LOOKUP_CONCURRENCY = 8;

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await fn(items[i] as T) };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Snapshots each line's price from the product service (the price the customer pays is the one
 * read now, whatever the catalogue says later). Unknown products → 400 naming the line, products
 * off sale → 409, mixed currencies → 400; an unreachable product service → its 502/503/504.
 */
export async function priceLines(upstreams: Upstreams, lines: RequestedLine[], user: AuthUser): Promise<PricedOrder> {
  const results = await mapLimited(lines, LOOKUP_CONCURRENCY, (l) => upstreams.getProduct(l.productId, user));
  const unknown: ErrorDetail[] = [];
  const unavailable: ErrorDetail[] = [];
  const products: Product[] = [];
  results.forEach((r, i) => {
    const line = lines[i] as RequestedLine;
    const path = `body.items.${line.index}.productId`;
    if (r.status === 'rejected') {
      if (isAppError(r.reason) && r.reason.status === 404) unknown.push({ path, message: `no product ${line.productId}` });
      else throw r.reason; // upstream failure: not the customer's fault
      return;
    }
    if (r.value.status !== 'active') unavailable.push({ path, message: `product ${line.productId} is not for sale`, productId: line.productId });
    products.push(r.value);
  });
  if (unknown.length) throw new ValidationError(`invalid body: ${unknown.map((d) => `${d.path}: ${d.message}`).join('; ')}`, unknown);
  if (unavailable.length) throw new AppError(409, 'product_unavailable', unavailable.map((d) => d.message).join('; '), { details: unavailable });

  const currency = (products[0] as Product).currency;
  const mixed: ErrorDetail[] = [];
  products.forEach((p, i) => {
    if (p.currency !== currency) mixed.push({ path: `body.items.${(lines[i] as RequestedLine).index}.productId`, message: `priced in ${p.currency}, the order is in ${currency}` });
  });
  if (mixed.length) throw new ValidationError(`invalid body: ${mixed.map((d) => `${d.path}: ${d.message}`).join('; ')}`, mixed);

  const priced = products.map((p, i) => ({
    productId: p.id,
    sku: p.sku,
    name: p.name,
    category: p.category,
    quantity: (lines[i] as RequestedLine).quantity,
    unitPriceCents: p.priceCents,
  }));
  return { lines: priced, totalCents: priced.reduce((sum, l) => sum + l.unitPriceCents * l.quantity, 0), currency };
}
