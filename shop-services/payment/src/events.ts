import type { Knex } from 'knex';
import type { ShopEventData } from '@lantern/shop-common';

/** The events the payment service publishes, on the payments topic, keyed by order id. */
export type PaymentEventType = 'payment.succeeded' | 'payment.failed' | 'payment.refunded' | 'payment.reconciliation_mismatch';

/**
 * Where payment events go: written in the caller's transaction, next to the state change they
 * describe, so an event exists exactly when its change committed (transactional outbox).
 */
export interface PaymentEventSink {
  enqueue<T extends PaymentEventType>(trx: Knex.Transaction, type: T, key: string, data: ShopEventData<T>): Promise<void>;
}
