import type { Knex } from 'knex';
import { enqueueEvent, type OrderPlaced, type OrderStatus, type OrderStatusChanged, type ShopEventType } from '@lantern/shop-common';
import type { OrderRecord } from './db/orders-repo.js';

/** Topic names (configurable so tests use fresh ones). */
export interface OrderTopics {
  orders: string;
}

/** The event each status is announced with (`reserved` is when the order is placed: stock held). */
const EVENT_OF: Partial<Record<OrderStatus, ShopEventType>> = {
  reserved: 'order.placed',
  paid: 'order.paid',
  payment_failed: 'order.payment_failed',
  cancelled: 'order.cancelled',
  expired: 'order.expired',
  shipped: 'order.shipped',
  completed: 'order.completed',
};

export function orderPlacedData(order: OrderRecord): OrderPlaced {
  return {
    orderId: order.id,
    userId: order.userId,
    ...(order.email ? { email: order.email } : {}),
    items: order.items.map((l) => ({
      productId: l.productId,
      sku: l.sku,
      name: l.name,
      ...(l.category ? { category: l.category } : {}),
      quantity: l.quantity,
      unitPriceCents: l.unitPriceCents,
    })),
    totalCents: order.totalCents,
    currency: order.currency,
    ...(order.flashSaleId ? { flashSaleId: order.flashSaleId } : {}),
    ...(order.expiresAt ? { expiresAt: order.expiresAt } : {}),
    at: order.updatedAt,
  };
}

export function statusChangedData(order: OrderRecord, previous: OrderStatus, reason?: string): OrderStatusChanged {
  return {
    orderId: order.id,
    userId: order.userId,
    ...(order.email ? { email: order.email } : {}),
    status: order.status,
    previousStatus: previous,
    ...(reason ? { reason: reason.slice(0, 500) } : {}),
    totalCents: order.totalCents,
    currency: order.currency,
    ...(order.paymentId ? { paymentId: order.paymentId } : {}),
    at: order.updatedAt,
  };
}

/**
 * Writes the event announcing the order's new status to the outbox, in the transaction of the
 * transition itself (key = order id, so one order's events stay in order on one partition).
 */
export async function enqueueOrderEvent(trx: Knex.Transaction, topics: OrderTopics, order: OrderRecord, previous: OrderStatus | null, reason?: string): Promise<void> {
  const type = EVENT_OF[order.status];
  if (!type) return; // pending is internal: nothing to announce until the stock is held
  if (type === 'order.placed') {
    await enqueueEvent(trx, { topic: topics.orders, type, key: order.id, data: orderPlacedData(order) });
    return;
  }
  await enqueueEvent(trx, { topic: topics.orders, type, key: order.id, data: statusChangedData(order, previous ?? order.status, reason) });
}
