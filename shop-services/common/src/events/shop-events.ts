import { z } from 'zod';

/**
 * The shop's event contract: topics, event types and the `data` schema of each (version 1).
 * Producers build `data` with these schemas and consumers validate with them (typedHandler), so a
 * change here is a change of the contract: add a field as optional, or publish a version 2 type.
 * Amounts are integer minor units (cents) with an ISO 4217 currency, as the product service uses.
 */
export const SHOP_TOPICS = {
  /** Order lifecycle; key = order id. */
  orders: 'orders',
  /** Payment outcomes; key = order id, so an order's payment events stay in order with its own. */
  payments: 'payments',
  /** Stock signals; key = product id. */
  inventory: 'inventory',
  /** Flash-sale purchase requests (peak shaving); key = sale id. */
  flashSales: 'flash-sales',
} as const;
export type ShopTopic = (typeof SHOP_TOPICS)[keyof typeof SHOP_TOPICS];

const id = z.string().min(1).max(128);
const cents = z.number().int().min(0);
const currency = z.string().regex(/^[A-Z]{3}$/);
const at = z.iso.datetime({ offset: true });

export const orderLineSchema = z.object({
  productId: id,
  sku: z.string().max(64).optional(),
  name: z.string().max(200).optional(),
  category: z.string().max(64).optional(),
  quantity: z.number().int().positive().max(10_000),
  unitPriceCents: cents,
});
export type OrderLine = z.infer<typeof orderLineSchema>;

export const orderStatusSchema = z.enum(['pending', 'reserved', 'paid', 'shipped', 'completed', 'cancelled', 'payment_failed', 'expired']);
export type OrderStatus = z.infer<typeof orderStatusSchema>;

/** `order.placed`: the order exists and its stock is reserved. */
export const orderPlacedSchema = z.object({
  orderId: id,
  userId: id,
  /** The customer's address for notifications, when the access token carried one. */
  email: z.email().optional(),
  items: z.array(orderLineSchema).min(1).max(100),
  totalCents: cents,
  currency,
  /** Set when the order came from a flash-sale purchase (the order id is then the purchase id). */
  flashSaleId: id.optional(),
  /** When an unpaid order expires. */
  expiresAt: at.optional(),
  at,
});
export type OrderPlaced = z.infer<typeof orderPlacedSchema>;

/** Every later order event (`order.paid`, `order.payment_failed`, `order.cancelled`, `order.expired`, `order.shipped`, `order.completed`). */
export const orderStatusChangedSchema = z.object({
  orderId: id,
  userId: id,
  email: z.email().optional(),
  status: orderStatusSchema,
  previousStatus: orderStatusSchema,
  /** Why, for cancelled / payment_failed / expired (e.g. "card declined", "payment timeout"). */
  reason: z.string().max(500).optional(),
  totalCents: cents,
  currency,
  paymentId: id.optional(),
  at,
});
export type OrderStatusChanged = z.infer<typeof orderStatusChangedSchema>;

export const paymentChannelSchema = z.enum(['card', 'wallet', 'bank']);
export type PaymentChannel = z.infer<typeof paymentChannelSchema>;

/** `payment.succeeded` and `payment.failed`. */
export const paymentResultSchema = z.object({
  paymentId: id,
  orderId: id,
  userId: id,
  email: z.email().optional(),
  amountCents: cents,
  currency,
  channel: paymentChannelSchema.optional(),
  /** For payment.failed: what the channel or router said. */
  reason: z.string().max(500).optional(),
  at,
});
export type PaymentResult = z.infer<typeof paymentResultSchema>;

/** `payment.refunded`. */
export const paymentRefundedSchema = z.object({
  paymentId: id,
  refundId: id,
  orderId: id,
  userId: id,
  email: z.email().optional(),
  amountCents: cents,
  /** All refunds of this payment so far, this one included; never above the amount paid. */
  refundedTotalCents: cents,
  currency,
  at,
});
export type PaymentRefunded = z.infer<typeof paymentRefundedSchema>;

/** `payment.reconciliation_mismatch`: the ledger and a channel's records disagree. */
export const paymentMismatchSchema = z.object({
  channel: paymentChannelSchema,
  kind: z.enum(['missing_in_channel', 'missing_in_ledger', 'amount_differs', 'status_differs']),
  paymentId: id.optional(),
  channelRef: z.string().max(200).optional(),
  detail: z.string().max(1000),
  at,
});
export type PaymentMismatch = z.infer<typeof paymentMismatchSchema>;

/** `inventory.low_stock`: available stock fell to or below the threshold. */
export const inventoryLowStockSchema = z.object({
  productId: id,
  sku: z.string().max(64),
  available: z.number().int(),
  threshold: z.number().int(),
  at,
});
export type InventoryLowStock = z.infer<typeof inventoryLowStockSchema>;

/** `inventory.restocked`. */
export const inventoryRestockedSchema = z.object({
  productId: id,
  sku: z.string().max(64),
  quantity: z.number().int().positive(),
  onHand: z.number().int().min(0),
  at,
});
export type InventoryRestocked = z.infer<typeof inventoryRestockedSchema>;

/** `flash_sale.purchase_requested`: a unit is held for the buyer; the order service creates order `purchaseId`. */
export const flashSalePurchaseRequestedSchema = z.object({
  purchaseId: z.uuid(),
  saleId: id,
  userId: id,
  email: z.email().optional(),
  productId: id,
  sku: z.string().max(64).optional(),
  name: z.string().max(200).optional(),
  unitPriceCents: cents,
  currency,
  quantity: z.literal(1),
  at,
});
export type FlashSalePurchaseRequested = z.infer<typeof flashSalePurchaseRequestedSchema>;

/** Event type → data schema, every type at version 1. */
export const SHOP_EVENTS = {
  'order.placed': orderPlacedSchema,
  'order.paid': orderStatusChangedSchema,
  'order.payment_failed': orderStatusChangedSchema,
  'order.cancelled': orderStatusChangedSchema,
  'order.expired': orderStatusChangedSchema,
  'order.shipped': orderStatusChangedSchema,
  'order.completed': orderStatusChangedSchema,
  'payment.succeeded': paymentResultSchema,
  'payment.failed': paymentResultSchema,
  'payment.refunded': paymentRefundedSchema,
  'payment.reconciliation_mismatch': paymentMismatchSchema,
  'inventory.low_stock': inventoryLowStockSchema,
  'inventory.restocked': inventoryRestockedSchema,
  'flash_sale.purchase_requested': flashSalePurchaseRequestedSchema,
} as const;
export type ShopEventType = keyof typeof SHOP_EVENTS;
export type ShopEventData<T extends ShopEventType> = z.infer<(typeof SHOP_EVENTS)[T]>;
