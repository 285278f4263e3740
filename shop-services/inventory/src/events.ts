import type { Knex } from 'knex';
import { enqueueEvent, type InventoryLowStock, type InventoryRestocked } from '@lantern/shop-common';
import { lowStockEventsTotal } from './metrics.js';

/**
 * Where the store writes its events, inside the transaction of the stock change they describe (the
 * transactional outbox): a rolled-back change never announces itself, a committed one always does.
 */
export interface StockEvents {
  lowStock(trx: Knex.Transaction, data: InventoryLowStock): Promise<void>;
  restocked(trx: Knex.Transaction, data: InventoryRestocked): Promise<void>;
}

/** Events dropped on purpose: for tools that change stock without a relay (never in the service). */
export const noStockEvents: StockEvents = {
  lowStock: async () => undefined,
  restocked: async () => undefined,
};

/** Events through the transactional outbox of @lantern/shop-common, keyed by product id. */
export function outboxStockEvents(topic: string): StockEvents {
  return {
    async lowStock(trx, data) {
      await enqueueEvent(trx, { topic, type: 'inventory.low_stock', key: data.productId, data });
      lowStockEventsTotal.inc();
    },
    async restocked(trx, data) {
      await enqueueEvent(trx, { topic, type: 'inventory.restocked', key: data.productId, data });
    },
  };
}
