import type Koa from 'koa';
import { defineRoute, docsOnly, parse, type AnyRoute } from '@lantern/shop-common';
import type { OrderRecord } from './db/orders-repo.js';
import type { OrderService } from './order-service.js';
import {
  cancelOrderBody,
  createOrderBody,
  idempotencyKeySchema,
  listOrdersQuery,
  orderHistorySchema,
  orderIdParams,
  orderPageSchema,
  orderSchema,
  payOrderBody,
  type Order,
} from './schemas.js';
import { z } from 'zod';

export interface OrderRouteDeps {
  service: OrderService;
}

/** The API shape: the stored fields only the service uses (email, idempotency key, hash, category) stay inside. */
export function toApi(order: OrderRecord): Order {
  const { email: _e, idempotencyKey: _k, requestHash: _h, items, ...rest } = order;
  return { ...rest, items: items.map(({ category: _c, ...line }) => line) };
}

const headerSchema = z.object({ 'idempotency-key': idempotencyKeySchema.optional() });

/** The Idempotency-Key header, validated like any input (400 naming `headers.idempotency-key`). */
function idempotencyKey(ctx: Koa.Context): string | undefined {
  const raw = ctx.headers['idempotency-key'];
  return parse(headerSchema, { 'idempotency-key': raw }, 'headers')['idempotency-key'];
}

export function orderRoutes(deps: OrderRouteDeps): AnyRoute[] {
  const { service } = deps;
  return [
    defineRoute({
      method: 'POST',
      path: '/orders',
      summary: 'Place an order (prices snapshotted, stock reserved); Idempotency-Key makes it safe to retry',
      tags: ['orders'],
      auth: 'user',
      body: createOrderBody,
      response: orderSchema,
      status: 201,
      async handler({ body, user, ctx }) {
        const key = idempotencyKey(ctx);
        const { order, replayed } = await service.place(user, body, key);
        if (replayed) ctx.set('idempotent-replayed', 'true');
        return toApi(order);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/orders',
      summary: "Orders, newest first: the caller's own; admins all (or one user's with ?userId=)",
      tags: ['orders'],
      auth: 'user',
      query: listOrdersQuery,
      response: orderPageSchema,
      async handler({ query, user }) {
        const page = await service.list(user, query);
        return { items: page.items.map(toApi), total: page.total, limit: query.limit, offset: query.offset };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/orders/:id',
      summary: 'One order (owner or admin; anyone else gets 404)',
      tags: ['orders'],
      auth: 'user',
      params: orderIdParams,
      response: orderSchema,
      handler: async ({ params, user }) => toApi(await service.get(user, params.id)),
    }),
    defineRoute({
      method: 'GET',
      path: '/orders/:id/history',
      summary: 'Every status change of an order: from, to, reason, actor, time',
      tags: ['orders'],
      auth: 'user',
      params: orderIdParams,
      response: orderHistorySchema,
      handler: async ({ params, user }) => ({ orderId: params.id, items: await service.history(user, params.id) }),
    }),
    defineRoute({
      method: 'POST',
      path: '/orders/:id/pay',
      summary: 'Pay a reserved order: paid, 402 payment_failed (stock released), or still reserved while the payment is pending',
      tags: ['orders'],
      auth: 'user',
      params: orderIdParams,
      body: payOrderBody,
      response: orderSchema,
      handler: async ({ params, body, user }) => toApi(await service.pay(user, params.id, body.method)),
    }),
    defineRoute({
      method: 'POST',
      path: '/orders/:id/cancel',
      summary: 'Cancel an order before payment (owner or admin); its stock is released',
      tags: ['orders'],
      auth: 'user',
      params: orderIdParams,
      body: cancelOrderBody,
      response: orderSchema,
      handler: async ({ params, body, user }) => toApi(await service.cancel(user, params.id, body.reason)),
    }),
    defineRoute({
      method: 'POST',
      path: '/orders/:id/ship',
      summary: 'Mark a paid order shipped (admin)',
      tags: ['orders'],
      auth: 'admin',
      params: orderIdParams,
      response: orderSchema,
      handler: async ({ params, user }) => toApi(await service.ship(user, params.id)),
    }),
    defineRoute({
      method: 'POST',
      path: '/orders/:id/complete',
      summary: 'Mark a shipped order completed (admin)',
      tags: ['orders'],
      auth: 'admin',
      params: orderIdParams,
      response: orderSchema,
      handler: async ({ params, user }) => toApi(await service.complete(user, params.id)),
    }),
  ];
}

/** The routes for documentation only (the gateway's /api/docs): their handlers cannot run. */
export const orderRouteDocs: readonly AnyRoute[] = orderRoutes(docsOnly<OrderRouteDeps>('order', {}));
