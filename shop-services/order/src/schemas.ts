import { z } from 'zod';
import { orderStatusSchema, paymentChannelSchema } from '@lantern/shop-common';

/** Request and response schemas of the order service (exported for the gateway's OpenAPI document). */

export const MAX_ORDER_LINES = 50;
export const MAX_LINE_QUANTITY = 1_000;
export const MAX_PAGE_SIZE = 100;

export const orderId = z.uuid({ message: 'must be a UUID' });
export const orderIdParams = z.strictObject({ id: orderId });

/** Same alphabet and length as the gateway accepts, so a key valid there is valid here. */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const idempotencyKeySchema = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(IDEMPOTENCY_KEY_PATTERN, 'may only contain letters, digits and . _ : -');

export const orderItemInput = z.strictObject({
  productId: z.uuid({ message: 'must be a product id (UUID)' }),
  quantity: z
    .number({ message: 'must be a number' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(MAX_LINE_QUANTITY, `must be at most ${MAX_LINE_QUANTITY}`),
});

export const createOrderBody = z.strictObject({
  items: z
    .array(orderItemInput, { message: 'must be an array of { productId, quantity }' })
    .min(1, 'must contain at least one item')
    .max(MAX_ORDER_LINES, `must contain at most ${MAX_ORDER_LINES} items`),
});
export type CreateOrderInput = z.output<typeof createOrderBody>;

export const payOrderBody = z.strictObject({ method: paymentChannelSchema.optional() });
export const cancelOrderBody = z.strictObject({ reason: z.string().trim().min(1).max(200, 'must be at most 200 characters').optional() });

export const listOrdersQuery = z.strictObject({
  limit: z.coerce.number({ message: 'must be a number' }).int('must be an integer').min(1).max(MAX_PAGE_SIZE).default(20),
  offset: z.coerce.number({ message: 'must be a number' }).int('must be an integer').min(0).max(10_000).default(0),
  status: orderStatusSchema.optional(),
  /** Admins only (a customer may pass their own id). */
  userId: z
    .string()
    .min(1)
    .max(128, 'must be at most 128 characters')
    .regex(/^[A-Za-z0-9._:@-]+$/, 'may only contain letters, digits and . _ : @ -')
    .optional(),
});
export type ListOrdersQuery = z.output<typeof listOrdersQuery>;

export const orderLineSchema = z.object({
  productId: z.string(),
  sku: z.string(),
  name: z.string(),
  quantity: z.number().int(),
  unitPriceCents: z.number().int(),
});

export const orderSchema = z.object({
  id: z.string(),
  userId: z.string(),
  status: orderStatusSchema,
  statusReason: z.string().optional(),
  items: z.array(orderLineSchema),
  totalCents: z.number().int(),
  currency: z.string(),
  paymentId: z.string().optional(),
  expiresAt: z.string().optional(),
  flashSaleId: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Order = z.output<typeof orderSchema>;
export type OrderLine = z.output<typeof orderLineSchema>;

export const orderPageSchema = z.object({
  items: z.array(orderSchema),
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
});

export const historyEntrySchema = z.object({
  from: orderStatusSchema.nullable(),
  to: orderStatusSchema,
  reason: z.string().nullable(),
  actor: z.string(),
  at: z.string(),
});
export type HistoryEntry = z.output<typeof historyEntrySchema>;
export const orderHistorySchema = z.object({ orderId: z.string(), items: z.array(historyEntrySchema) });
