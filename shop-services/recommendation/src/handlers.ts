import { typedHandler, type EventHandler, type Logger } from '@lantern/shop-common';
import { ORDER_PLACED, PRODUCT_VIEWED, orderPlacedSchema, productViewedSchema } from './events.js';
import type { Experiments } from './experiments.js';
import { ordersConsumedTotal } from './metrics.js';
import type { RecoStore } from './store.js';

export interface HandlerDeps {
  store: RecoStore;
  experiments: Experiments;
  logger: Logger;
  /** Count a conversion in every experiment for the ordering user (only on first delivery). */
  convertOnOrder: boolean;
}

/**
 * Event handlers by type, for createEventConsumer. Invalid data is dead-lettered by typedHandler;
 * a Redis failure throws, so the consumer retries and finally dead-letters the event.
 */
export function eventHandlers(deps: HandlerDeps): Record<string, EventHandler> {
  return {
    [ORDER_PLACED]: typedHandler(orderPlacedSchema, async (event) => {
      const order = event.data;
      const counted = await deps.store.recordOrder(order);
      ordersConsumedTotal.inc({ outcome: counted ? 'counted' : 'duplicate' });
      if (!counted) {
        deps.logger.info({ orderId: order.orderId, eventId: event.id }, 'order already counted; duplicate delivery ignored');
        return;
      }
      if (deps.convertOnOrder) for (const exp of deps.experiments.list()) deps.experiments.convert(exp.id, order.userId);
      deps.logger.debug({ orderId: order.orderId, items: order.items.length }, 'order counted');
    }),
    [PRODUCT_VIEWED]: typedHandler(productViewedSchema, async (event) => {
      await deps.store.recordView(event.data);
    }),
  };
}
