import { z } from 'zod';

/**
 * Request and response schemas of the inventory service. Exported so callers (order, flash-sale, the
 * gateway's docs) validate against the same definitions.
 */

export const MAX_ITEMS = 100;
export const MAX_LINE_QUANTITY = 10_000;
export const MAX_RESTOCK_QUANTITY = 1_000_000;
export const MAX_ALLOCATION_QUANTITY = 1_000_000;
export const MAX_IDS_PER_QUERY = 100;

const uuid = z.uuid({ message: 'must be a UUID' });
export const productIdSchema = uuid;

const quantity = (max: number) =>
  z
    .number({ message: 'must be a number' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(max, `must be at most ${max}`);

export const skuSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'may only contain letters, digits and . _ -');

export const productParams = z.strictObject({ productId: productIdSchema });
export const orderParams = z.strictObject({ orderId: uuid });
export const allocationParams = z.strictObject({ allocationId: uuid });

/** `?productIds=a,b` (or the key repeated), 1 to 100 UUIDs. */
export const stockListQuery = z.strictObject({
  productIds: z
    .union([z.string().max(MAX_IDS_PER_QUERY * 40, 'is too long'), z.array(z.string().max(100)).max(MAX_IDS_PER_QUERY)], { message: 'must be a comma-separated list of UUIDs' })
    .transform((v) => (Array.isArray(v) ? v.join(',') : v).split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(uuid).min(1, 'must name at least one product').max(MAX_IDS_PER_QUERY, `at most ${MAX_IDS_PER_QUERY} ids`)),
});

export const lineSchema = z.strictObject({ productId: uuid, quantity: quantity(MAX_LINE_QUANTITY) });

/** Reservation body; `maxTtlSeconds` comes from the configuration. */
export function reserveBody(maxTtlSeconds: number) {
  return z
    .strictObject({
      orderId: uuid,
      items: z.array(lineSchema).min(1, 'must contain at least one item').max(MAX_ITEMS, `at most ${MAX_ITEMS} items`),
      ttlSeconds: z.number({ message: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').max(maxTtlSeconds, `must be at most ${maxTtlSeconds}`).optional(),
    })
    .superRefine((b, ctx) => {
      const seen = new Set<string>();
      b.items.forEach((item, i) => {
        if (seen.has(item.productId)) ctx.addIssue({ code: 'custom', path: ['items', i, 'productId'], message: 'appears twice; put the whole quantity in one item' });
        seen.add(item.productId);
      });
    });
}

export const restockBody = z.strictObject({
  quantity: quantity(MAX_RESTOCK_QUANTITY),
  /** Only needed for a product that has no stock row yet (created after seeding). */
  sku: skuSchema.optional(),
});

export const allocateBody = z.strictObject({ allocationId: uuid, productId: uuid, quantity: quantity(MAX_ALLOCATION_QUANTITY) });

export function consumeBody(maxTtlSeconds: number) {
  return z.strictObject({
    orderId: uuid,
    quantity: quantity(MAX_LINE_QUANTITY),
    ttlSeconds: z.number({ message: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').max(maxTtlSeconds, `must be at most ${maxTtlSeconds}`).optional(),
  });
}

/** Empty body (or none): return every unsold unit and close the allocation. */
export const returnBody = z.strictObject({ quantity: quantity(MAX_ALLOCATION_QUANTITY).optional() });

export const stockSchema = z.object({
  productId: z.string(),
  sku: z.string(),
  onHand: z.number().int(),
  reserved: z.number().int(),
  /** Units set aside for flash sales. */
  allocated: z.number().int(),
  /** onHand − reserved − allocated. */
  available: z.number().int(),
});
export type StockView = z.output<typeof stockSchema>;

export const stockListSchema = z.object({ items: z.array(stockSchema) });

export const reservationStatusSchema = z.enum(['reserved', 'confirmed', 'released', 'expired']);

export const reservationSchema = z.object({
  orderId: z.string(),
  status: reservationStatusSchema,
  items: z.array(z.object({ productId: z.string(), quantity: z.number().int() })),
  expiresAt: z.string(),
  /** The flash-sale allocation the units came from. */
  allocationId: z.string().optional(),
  /** Once released: by a request, or by the expiry sweeper. */
  releasedBy: z.enum(['request', 'expiry']).optional(),
});
export type ReservationView = z.output<typeof reservationSchema>;

/** The release route's answer: `released` also when the reservation had already expired (releasedBy: expiry). */
export const releaseResponseSchema = reservationSchema.extend({ status: z.literal('released') });

export const allocationSchema = z.object({
  allocationId: z.string(),
  productId: z.string(),
  sku: z.string(),
  quantity: z.number().int(),
  consumed: z.number().int(),
  returned: z.number().int(),
  remaining: z.number().int(),
  status: z.enum(['active', 'closed']),
});

export const reconcileReportSchema = z.object({
  scope: z.enum(['full', 'targeted']),
  checked: z.number().int(),
  repairedMissing: z.number().int(),
  repairedMismatch: z.number().int(),
  driftUnits: z.number().int(),
  deferred: z.number().int(),
  durationMs: z.number().int(),
});
