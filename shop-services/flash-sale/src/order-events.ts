import type { Knex } from 'knex';
import { z } from 'zod';
import { claimEvent, orderPlacedSchema, orderStatusChangedSchema, typedHandler, type EventHandler, type Logger } from '@lantern/shop-common';
import type { SaleStore } from './db/sale-store.js';
import type { SaleCounters } from './redis/sale-counters.js';
import type { SoldOutFlags } from './sold-out-flags.js';
import { purchaseTransitionsTotal, unitsReleasedTotal } from './metrics.js';

const uuid = z.uuid();
const isUuid = (id: string) => uuid.safeParse(id).success;

export interface OrderEventDeps {
  knex: Knex;
  store: SaleStore;
  counters: SaleCounters;
  soldOut: SoldOutFlags;
  /** Consumer group, also the processed-event claim's namespace. */
  groupId: string;
  logger: Logger;
}

/**
 * What the order service tells us about our purchases (topic `orders`, key = order id = purchase id):
 * - `order.placed` with `flashSaleId`: the order exists → the purchase is `ordered`;
 * - `order.cancelled` for a purchase still `queued`: the order service could not create the order
 *   → the purchase is `failed` and its unit goes back to the sale (or is owed to inventory once the
 *   sale is settled). A cancellation after the order was placed is the order's business, not ours.
 * Each event is applied once per group (claimEvent in the same transaction as the change).
 */
export function orderEventHandlers(deps: OrderEventDeps): Record<string, EventHandler> {
  const { knex, store, counters, soldOut, groupId, logger } = deps;
  return {
    'order.placed': typedHandler(orderPlacedSchema, async (event) => {
      const { orderId, flashSaleId } = event.data;
      if (!flashSaleId || !isUuid(orderId)) return; // an ordinary order
      const changed = await knex.transaction(async (trx) => {
        if (!(await claimEvent(trx, groupId, event.id))) return false;
        return store.markOrdered(trx, orderId);
      });
      if (changed) {
        purchaseTransitionsTotal.inc({ status: 'ordered' });
        logger.info({ purchaseId: orderId, saleId: flashSaleId }, 'flash-sale purchase ordered');
      }
    }),
    'order.cancelled': typedHandler(orderStatusChangedSchema, async (event) => {
      const { orderId, reason } = event.data;
      if (!isUuid(orderId)) return; // purchase ids are UUIDs: not one of ours
      const failed = await knex.transaction(async (trx) => {
        if (!(await claimEvent(trx, groupId, event.id))) return undefined;
        const f = await store.markFailed(trx, orderId, reason ?? 'order not created');
        // Redis before the commit: if the commit then fails, Redis counts one unit too many for a
        // while, which Postgres' guard refuses; the other order would leave a unit unsellable
        if (f && !f.settled) {
          const remaining = await counters.release(f.saleId, { userId: f.userId, slot: f.slot }, 'unit');
          if (remaining !== undefined) unitsReleasedTotal.inc({ reason: 'purchase_failed' });
        }
        return f;
      });
      if (!failed) return;
      soldOut.clear(failed.saleId);
      purchaseTransitionsTotal.inc({ status: 'failed' });
      logger.warn({ purchaseId: orderId, saleId: failed.saleId, reason }, 'flash-sale purchase failed: its order was not created');
    }),
  };
}
