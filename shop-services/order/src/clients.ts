import { z } from 'zod';
import { createServiceClient, type AuthUser, type InternalTokenSigner, type PaymentChannel, type ServiceClient } from '@lantern/shop-common';
import { productSchema, type Product } from '@lantern/shop-product';
import type { OrderConfig } from './config.js';

/** Inventory's answer to a reservation (POST /inventory/reservations). */
export const reservationSchema = z.object({
  orderId: z.string(),
  status: z.string(),
  expiresAt: z.string().optional(),
});

export const reservationStateSchema = z.object({ orderId: z.string().optional(), status: z.string() });

/** Payment's answer to POST /payments and GET /payments/:id. */
export const paymentSchema = z.object({
  id: z.string(),
  orderId: z.string(),
  status: z.enum(['succeeded', 'failed', 'pending']),
  channel: z.string().optional(),
  amountCents: z.number().int(),
  currency: z.string(),
  failureReason: z.string().optional(),
});
export type Payment = z.output<typeof paymentSchema>;
export const paymentListSchema = z.object({ items: z.array(paymentSchema) });
/** The refund part of a refund's answer (the payment's other statuses are not modelled here). */
const refundAnswerSchema = z.object({
  refund: z.object({ id: z.string(), status: z.enum(['processing', 'succeeded', 'failed']), failureReason: z.string().optional() }),
});
export type RefundAnswer = z.output<typeof refundAnswerSchema>['refund'];

/**
 * Refunds are an admin action at the payment service; the order service issues the refunds of late
 * payments as this system identity, in its own signed service token (never a person's).
 */
export const REFUND_ACTOR: AuthUser = { id: 'system:order-late-payment', role: 'admin' };

export interface LineRequest {
  productId: string;
  quantity: number;
}

/** The other services the order saga talks to, each behind shop-common's client (timeouts, retries, breaker). */
export interface Upstreams {
  product: ServiceClient;
  inventory: ServiceClient;
  payment: ServiceClient;
  getProduct(productId: string, user?: AuthUser): Promise<Product>;
  reserve(orderId: string, items: LineRequest[], ttlSeconds: number, user?: AuthUser): Promise<z.output<typeof reservationSchema>>;
  confirm(orderId: string, user?: AuthUser): Promise<void>;
  release(orderId: string, user?: AuthUser): Promise<void>;
  consumeAllocation(allocationId: string, orderId: string, quantity: number, ttlSeconds: number): Promise<void>;
  requestPayment(req: { orderId: string; userId: string; amountCents: number; currency: string; method?: PaymentChannel }, user?: AuthUser): Promise<Payment>;
  paymentsOfOrder(orderId: string, user?: AuthUser): Promise<Payment[]>;
  /**
   * Refunds the whole remaining amount of a payment (idempotent by `key`: a retry answers the same
   * refund). The refund's status matters: `processing` is not decided yet, `failed` refunded nothing.
   */
  refundPayment(paymentId: string, reason: string, key: string): Promise<RefundAnswer>;
  close(): Promise<void>;
}

export function createUpstreams(config: OrderConfig, signer: InternalTokenSigner): Upstreams {
  const breaker = { failureThreshold: config.UPSTREAM_BREAKER_FAILURES, halfOpenAfterMs: config.UPSTREAM_BREAKER_RESET_MS };
  const common = { signer, timeoutMs: config.UPSTREAM_TIMEOUT_MS, retries: 2, breaker };
  const product = createServiceClient({ name: 'product', baseUrl: config.PRODUCT_SERVICE_URL, ...common });
  const inventory = createServiceClient({ name: 'inventory', baseUrl: config.INVENTORY_SERVICE_URL, ...common });
  // One attempt per call (the saga and the re-drive job retry with the same Idempotency-Key), a longer timeout.
  const payment = createServiceClient({ name: 'payment', baseUrl: config.PAYMENT_SERVICE_URL, signer, timeoutMs: config.PAYMENT_TIMEOUT_CALL_MS, retries: 0, breaker });
  const asUser = (user: AuthUser | undefined) => (user ? { user } : {});

  return {
    product,
    inventory,
    payment,
    getProduct: (productId, user) => product.get(`/products/${encodeURIComponent(productId)}`, { schema: productSchema, ...asUser(user) }),
    // idempotent by order id at inventory: the key makes the client retry a POST on a transient failure
    reserve: (orderId, items, ttlSeconds, user) =>
      inventory.post('/inventory/reservations', { orderId, items, ttlSeconds }, { schema: reservationSchema, idempotencyKey: orderId, ...asUser(user) }),
    async confirm(orderId, user) {
      await inventory.post(`/inventory/reservations/${encodeURIComponent(orderId)}/confirm`, {}, { schema: reservationStateSchema, idempotencyKey: `confirm:${orderId}`, ...asUser(user) });
    },
    async release(orderId, user) {
      await inventory.post(`/inventory/reservations/${encodeURIComponent(orderId)}/release`, {}, { schema: reservationStateSchema, idempotencyKey: `release:${orderId}`, ...asUser(user) });
    },
    // turns allocated units into a reservation for the order (confirmed or released like any other)
    async consumeAllocation(allocationId, orderId, quantity, ttlSeconds) {
      await inventory.post(`/inventory/allocations/${encodeURIComponent(allocationId)}/consume`, { orderId, quantity, ttlSeconds }, { idempotencyKey: `consume:${orderId}` });
    },
    requestPayment: (req, user) =>
      payment.post('/payments', { orderId: req.orderId, userId: req.userId, amountCents: req.amountCents, currency: req.currency, ...(req.method ? { method: req.method } : {}) }, {
        schema: paymentSchema,
        idempotencyKey: req.orderId,
        ...asUser(user),
      }),
    async paymentsOfOrder(orderId, user) {
      return (await payment.get('/payments', { query: { orderId }, schema: paymentListSchema, ...asUser(user) })).items;
    },
    async refundPayment(paymentId, reason, key) {
      const r = await payment.post(`/payments/${encodeURIComponent(paymentId)}/refunds`, { reason }, { schema: refundAnswerSchema, idempotencyKey: key, user: REFUND_ACTOR });
      return r.refund;
    },
    async close() {
      await Promise.all([product.close(), inventory.close(), payment.close()]);
    },
  };
}
