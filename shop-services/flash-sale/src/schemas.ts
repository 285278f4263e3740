import { z } from 'zod';

/** Longest sale window accepted: a flash sale is short; this also bounds Redis key lifetimes. */
export const MAX_SALE_DURATION_MS = 30 * 24 * 3600 * 1000;
export const MAX_STOCK = 100_000;
export const MAX_PRICE_CENTS = 100_000_000;

const isoInstant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-12-01T10:00:00Z' });

export const saleIdParams = z.strictObject({ id: z.uuid({ message: 'must be a sale id (UUID)' }) });

export const createSaleBody = z
  .strictObject({
    productId: z.uuid({ message: 'must be a product id (UUID)' }),
    priceCents: z.number().int().min(0).max(MAX_PRICE_CENTS),
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code like USD'),
    stock: z.number().int().min(1).max(MAX_STOCK),
    startsAt: isoInstant,
    endsAt: isoInstant,
    /** Only one unit per user is supported; accepted for the contract's sake. */
    perUserLimit: z.literal(1).optional(),
  })
  .superRefine((b, ctx) => {
    const starts = Date.parse(b.startsAt);
    const ends = Date.parse(b.endsAt);
    if (ends <= starts) ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'must be after startsAt' });
    else if (ends - starts > MAX_SALE_DURATION_MS) ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'a sale lasts at most 30 days' });
  });
export type CreateSaleBody = z.output<typeof createSaleBody>;

export const listSalesQuery = z.strictObject({
  state: z.enum(['upcoming', 'active', 'ended']).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

export const saleView = z.object({
  id: z.string(),
  productId: z.string(),
  sku: z.string().optional(),
  priceCents: z.number().int(),
  currency: z.string(),
  stock: z.number().int(),
  remaining: z.number().int(),
  perUserLimit: z.number().int(),
  startsAt: z.string(),
  endsAt: z.string(),
  state: z.enum(['upcoming', 'active', 'ended']),
  createdAt: z.string(),
});

export const saleList = z.object({ items: z.array(saleView) });

export const purchaseAccepted = z.object({ purchaseId: z.string(), status: z.literal('queued') });

export const purchaseView = z.object({
  purchaseId: z.string(),
  saleId: z.string(),
  status: z.enum(['queued', 'ordered', 'failed']),
  /** Present once ordered: the order id (equal to the purchase id). */
  orderId: z.string().optional(),
  failureReason: z.string().optional(),
  createdAt: z.string(),
});
