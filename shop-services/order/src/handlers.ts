import type { Knex } from 'knex';
import {
  RetryableEventError,
  claimEvent,
  flashSalePurchaseRequestedSchema,
  paymentResultSchema,
  typedHandler,
  type EventHandler,
  type FlashSalePurchaseRequested,
  type Logger,
} from '@lantern/shop-common';
import type { Upstreams } from './clients.js';
import type { NewOrder, OrdersRepo } from './db/orders-repo.js';
import type { SagaSteps } from './db/saga-steps.js';
import { isDefinitiveRefusal } from './errors.js';
import { ordersTotal, sagaStepsTotal } from './metrics.js';
import { JOB, type OrderService } from './order-service.js';
import { usableEmail } from './pricing.js';
import type { Scheduler } from './scheduler.js';
import type { OrderStatus } from './state-machine.js';

export interface HandlerDeps {
  knex: Knex;
  service: OrderService;
  repo: OrdersRepo;
  steps: SagaSteps;
  scheduler: Scheduler;
  upstreams: Upstreams;
  logger: Logger;
  paymentTimeoutMs: number;
  reservationGraceSeconds: number;
  groups: { payments: string; flashSales: string };
}

const PAYMENTS_ACTOR = 'system:payment-event';
const FLASH_SALE_ACTOR = 'system:flash-sale';

/**
 * `payment.succeeded` / `payment.failed` (topic payments, group order-payments): late answers and
 * provider callbacks. Claimed per event id in the transaction of the transition, so a redelivery
 * changes nothing.
 */
export function paymentHandlers(d: HandlerDeps): Record<string, EventHandler> {
  const apply = (status: 'succeeded' | 'failed'): EventHandler =>
    typedHandler(paymentResultSchema, async (event) => {
      const p = event.data;
      // Usually the pay call applied this verdict already and the event changes nothing: one read
      // instead of a claim transaction. Statuses never go back to `reserved`, so the read cannot be stale
      // in a way that matters; a late success on a given-up order still goes on (it is refunded).
      if (nothingToApply(status, await d.repo.statusOf(p.orderId))) return;
      await d.service.applyPayment(p.orderId, { paymentId: p.paymentId, status, ...(p.reason ? { reason: p.reason } : {}) }, PAYMENTS_ACTOR, (trx) =>
        claimEvent(trx, d.groups.payments, event.id),
      );
    });
  return { 'payment.succeeded': apply('succeeded'), 'payment.failed': apply('failed') };
}

const PAID: ReadonlySet<OrderStatus> = new Set(['paid', 'shipped', 'completed']);

/** A success for a paid order, a failure for any order no longer awaiting payment: nothing to do. */
function nothingToApply(verdict: 'succeeded' | 'failed', status: OrderStatus | undefined): boolean {
  if (status === undefined) return false; // let applyPayment decide (and claim) as before
  return verdict === 'succeeded' ? PAID.has(status) : status !== 'reserved';
}

/** `flash_sale.purchase_requested` (topic flash-sales, group order-flash-sales). */
export function flashSaleHandlers(d: HandlerDeps): Record<string, EventHandler> {
  return {
    'flash_sale.purchase_requested': typedHandler(flashSalePurchaseRequestedSchema, (event) => createFlashSaleOrder(d, event.data, event.id)),
  };
}

/**
 * The order of a flash-sale purchase: id = purchase id, price from the event, stock from the sale's
 * allocation at inventory (consume is idempotent by order id), born `reserved` with a payment
 * timeout like any order. If inventory refuses the allocation, the order is recorded `cancelled`
 * (and announced), so the flash-sale service learns the purchase failed. Redeliveries change nothing.
 */
export async function createFlashSaleOrder(d: HandlerDeps, p: FlashSalePurchaseRequested, eventId: string): Promise<void> {
  if (await d.repo.statusOf(p.purchaseId)) return; // already created by an earlier delivery
  let sku = p.sku;
  let name = p.name;
  let category: string | undefined;
  if (!sku || !name) {
    try {
      const product = await d.upstreams.getProduct(p.productId);
      sku ??= product.sku;
      name ??= product.name;
      category = product.category;
    } catch (err) {
      if (!isDefinitiveRefusal(err)) throw new RetryableEventError('product service unavailable', { cause: err });
      sku ??= p.productId.slice(0, 64);
      name ??= 'flash-sale item';
    }
  }
  let refusal: string | undefined;
  try {
    await d.upstreams.consumeAllocation(p.saleId, p.purchaseId, p.quantity, Math.ceil(d.paymentTimeoutMs / 1000) + d.reservationGraceSeconds);
    sagaStepsTotal.inc({ step: 'flash_sale_consume', outcome: 'succeeded' });
  } catch (err) {
    if (!isDefinitiveRefusal(err)) {
      sagaStepsTotal.inc({ step: 'flash_sale_consume', outcome: 'unknown' });
      throw new RetryableEventError('inventory did not answer the allocation consume', { cause: err });
    }
    sagaStepsTotal.inc({ step: 'flash_sale_consume', outcome: 'failed' });
    refusal = `flash-sale allocation refused (${err.code})`;
  }
  const email = usableEmail(p.email);
  const expiresAt = new Date(Date.now() + d.paymentTimeoutMs);
  const order: NewOrder = {
    id: p.purchaseId,
    userId: p.userId,
    ...(email ? { email } : {}),
    status: 'pending',
    items: [{ productId: p.productId, sku, name, ...(category ? { category } : {}), quantity: p.quantity, unitPriceCents: p.unitPriceCents }],
    totalCents: p.unitPriceCents * p.quantity,
    currency: p.currency,
    flashSaleId: p.saleId,
  };
  const created = await d.knex.transaction(async (trx) => {
    if (!(await claimEvent(trx, d.groups.flashSales, eventId))) return undefined;
    if (!(await d.repo.insert(trx, order, { actor: FLASH_SALE_ACTOR, reason: 'flash-sale purchase' }))) return undefined;
    if (refusal) return d.service.transitionIn(trx, order.id, 'pending', 'cancelled', { actor: FLASH_SALE_ACTOR, reason: refusal });
    const placed = await d.service.transitionIn(trx, order.id, 'pending', 'reserved', { actor: FLASH_SALE_ACTOR, reason: 'stock from the flash-sale allocation', patch: { expiresAt } });
    await d.steps.set(trx, order.id, 'reserve', 'succeeded', `allocation ${p.saleId}`);
    await d.scheduler.schedule(trx, { kind: JOB.paymentTimeout, key: order.id, runAt: expiresAt });
    return placed;
  });
  if (!created) return;
  ordersTotal.inc({ status: 'pending' });
  d.service.counted(created);
  d.logger.info({ orderId: created.id, saleId: p.saleId, status: created.status }, 'flash-sale order created');
}
