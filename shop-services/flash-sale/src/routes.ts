import { defineRoute, docsOnly, NotFoundError, type AnyRoute } from '@lantern/shop-common';
import type { SaleStore } from './db/sale-store.js';
import type { PurchaseService } from './purchase.js';
import type { SaleService } from './sales.js';
import { createSaleBody, listSalesQuery, purchaseAccepted, purchaseView, saleIdParams, saleList, saleView } from './schemas.js';

export interface RouteDeps {
  sales: SaleService;
  purchases: PurchaseService;
  store: SaleStore;
}

/**
 * Service paths (the gateway maps /api/flash-sales/* here). Every route needs an internal token;
 * `auth` is the end-user requirement on top: listings are public, buying needs a user, creating an admin.
 */
export function flashSaleRoutes({ sales, purchases, store }: RouteDeps): AnyRoute[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/flash-sales',
      summary: 'Create a flash sale; its stock is allocated at inventory first',
      tags: ['flash-sales'],
      auth: 'admin',
      body: createSaleBody,
      response: saleView,
      status: 201,
      handler: ({ body, user }) =>
        sales.create(
          { productId: body.productId, priceCents: body.priceCents, currency: body.currency, stock: body.stock, startsAt: new Date(body.startsAt), endsAt: new Date(body.endsAt) },
          user,
        ),
    }),
    defineRoute({
      method: 'GET',
      path: '/flash-sales',
      summary: 'List flash sales with the units left',
      tags: ['flash-sales'],
      auth: 'none',
      query: listSalesQuery,
      response: saleList,
      handler: async ({ query }) => ({ items: await sales.list({ state: query.state, limit: query.limit }) }),
    }),
    defineRoute({
      method: 'GET',
      path: '/flash-sales/:id',
      summary: 'A flash sale with the units left',
      tags: ['flash-sales'],
      auth: 'none',
      params: saleIdParams,
      response: saleView,
      handler: ({ params }) => sales.get(params.id),
    }),
    defineRoute({
      method: 'POST',
      path: '/flash-sales/:id/purchase',
      summary: 'Buy one unit: 202 queued (the order is created asynchronously); 409 sold_out, already_purchased or sale_not_active; 429 rate_limited',
      tags: ['flash-sales'],
      auth: 'user',
      params: saleIdParams,
      response: purchaseAccepted,
      status: 202,
      handler: ({ params, user }) => purchases.purchase(params.id, user),
    }),
    defineRoute({
      method: 'GET',
      path: '/flash-sales/:id/purchase',
      summary: "The caller's purchase in this sale: queued, ordered (with the order id) or failed",
      tags: ['flash-sales'],
      auth: 'user',
      params: saleIdParams,
      response: purchaseView,
      handler: async ({ params, user }) => {
        const p = await store.purchaseOf(params.id, user.id);
        if (!p) throw new NotFoundError(`you have no purchase in flash sale ${params.id}`, 'purchase_not_found');
        return {
          purchaseId: p.id,
          saleId: p.saleId,
          status: p.status,
          ...(p.status === 'ordered' ? { orderId: p.id } : {}),
          ...(p.status === 'failed' && p.failureReason ? { failureReason: p.failureReason } : {}),
          createdAt: p.createdAt.toISOString(),
        };
      },
    }),
  ];
}

/** The routes for documentation only (the gateway's /api/docs): their handlers cannot run. */
export const flashSaleRouteDocs: readonly AnyRoute[] = flashSaleRoutes(docsOnly<RouteDeps>('flash-sale'));
