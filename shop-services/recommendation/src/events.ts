import { z } from 'zod';
import { categorySlug, entityId } from './ids.js';

/** Event types this service consumes. The order service (a later issue) publishes `order.placed` on topic `orders`. */
export const ORDER_PLACED = 'order.placed';
export const PRODUCT_VIEWED = 'product.viewed';

/** Upper bound on distinct lines per order: co-occurrence work is quadratic in it. */
export const MAX_ORDER_ITEMS = 100;

export const orderItemSchema = z.object({
  productId: entityId,
  quantity: z.number().int().positive().max(10_000),
  category: categorySlug.optional(),
});

/** `data` of an `order.placed` envelope. */
export const orderPlacedSchema = z.object({
  orderId: entityId,
  userId: entityId,
  items: z.array(orderItemSchema).min(1, 'an order has at least one item').max(MAX_ORDER_ITEMS),
});
export type OrderPlaced = z.infer<typeof orderPlacedSchema>;
export type OrderItem = z.infer<typeof orderItemSchema>;

/** `data` of a `product.viewed` envelope, and the body of POST /views. */
export const productViewedSchema = z.object({
  userId: entityId,
  productId: entityId,
  category: categorySlug.optional(),
});
export type ProductViewed = z.infer<typeof productViewedSchema>;
