import { AppError, ConflictError, NotFoundError, UpstreamError, isAppError, type ErrorDetail } from '@lantern/shop-common';
import type { OrderRecord } from './db/orders-repo.js';
import type { RequestedLine } from './pricing.js';

export const orderNotFound = (id: string): NotFoundError => new NotFoundError(`order ${id} not found`, 'order_not_found');

/** 402: the payment was declined; the order is `payment_failed` and its stock released. */
export class PaymentFailedError extends AppError {
  constructor(order: OrderRecord) {
    const reason = order.statusReason ?? 'payment failed';
    super(402, 'payment_failed', `payment for order ${order.id} failed: ${reason}; the order is ${order.status} and its stock was released`, {
      details: [{ message: reason, orderId: order.id, status: order.status, ...(order.paymentId ? { paymentId: order.paymentId } : {}) }],
    });
  }
}

export const idempotencyKeyReused = (): ConflictError =>
  new ConflictError('this Idempotency-Key was already used with a different request body', 'idempotency_key_reused');

export const idempotencyInProgress = (): ConflictError =>
  new ConflictError('a request with this Idempotency-Key is still being processed; retry shortly', 'idempotency_request_in_progress');

/**
 * A definitive "no" from another service: a 4xx it answered (not a timeout, 5xx, refused connection
 * or open breaker, which leave the outcome unknown).
 */
export function isDefinitiveRefusal(err: unknown): err is AppError {
  return isAppError(err) && !(err instanceof UpstreamError) && err.status >= 400 && err.status < 500;
}

/** Inventory's refusal, with its per-product details pointed at the request's lines (`body.items.N.quantity`). */
export function reservationRefused(err: AppError, lines: RequestedLine[]): AppError {
  const indexOf = new Map(lines.map((l) => [l.productId, l.index]));
  const details: ErrorDetail[] = (err.details ?? []).map((d) => {
    const productId = typeof d.productId === 'string' ? d.productId : undefined;
    const index = productId === undefined ? undefined : indexOf.get(productId);
    return { ...d, ...(index === undefined ? {} : { path: `body.items.${index}.quantity` }) };
  });
  if (err.code === 'insufficient_stock') return new AppError(409, 'insufficient_stock', err.message || 'not enough stock', { details });
  return new AppError(409, 'reservation_refused', `inventory refused the reservation (${err.code}): ${err.message}`, { details });
}

export const inventoryUnavailable = (cause: unknown): UpstreamError =>
  new UpstreamError('inventory', 'inventory did not confirm the reservation; the order was not placed', { status: 503, code: 'inventory_unavailable', cause });
