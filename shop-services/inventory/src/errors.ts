import { AppError, ConflictError, NotFoundError } from '@lantern/shop-common';
import type { ReservationStatus, Shortage } from './db/stock-store.js';

/**
 * 409 `insufficient_stock`, one detail per line that cannot be served, naming the request field
 * (`body.items.<i>.quantity`) and the product, the units asked for and the units available.
 */
export function insufficientStock(shortages: readonly Shortage[], pathOf: (index: number) => string): AppError {
  const details = shortages.map((s) => ({
    path: pathOf(s.index),
    productId: s.productId,
    requested: s.requested,
    available: Math.max(0, s.available ?? 0),
    message: s.available === undefined ? 'no stock is kept for this product' : `requested ${s.requested}, available ${Math.max(0, s.available)}`,
  }));
  const summary = details.map((d) => `${d.productId}: ${d.message}`).join('; ');
  return new AppError(409, 'insufficient_stock', `not enough stock: ${summary}`, { details });
}

export const idempotencyConflict = (what: string, id: string): AppError =>
  new ConflictError(`${what} ${id} already exists with a different request; use a new id for a new request`, 'idempotency_conflict');

export const reservationNotFound = (orderId: string): AppError => new NotFoundError(`no reservation for order ${orderId}`, 'reservation_not_found');

export const stockNotFound = (productId: string): AppError => new NotFoundError(`no stock is kept for product ${productId}`, 'stock_not_found');

export const allocationNotFound = (allocationId: string): AppError => new NotFoundError(`no allocation ${allocationId}`, 'allocation_not_found');

/** A reservation that is no longer held cannot be confirmed (or, once confirmed, released). */
export function reservationState(orderId: string, status: ReservationStatus, action: 'confirm' | 'release'): AppError {
  return new ConflictError(`cannot ${action} the reservation of order ${orderId}: it is ${status}`, `reservation_${status}`);
}
