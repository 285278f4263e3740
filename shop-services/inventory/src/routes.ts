import type Koa from 'koa';
import { defineRoute, docsOnly, ForbiddenError, ValidationError, type AnyRoute, type ShopState } from '@lantern/shop-common';
import { inventoryConfigSchema } from './config.js';
import type { Allocation, Reservation, StockRow } from './db/stock-store.js';
import type { Inventory } from './inventory.js';
import type { Reconciler } from './reconcile.js';
import {
  allocateBody,
  allocationParams,
  allocationSchema,
  consumeBody,
  orderParams,
  productParams,
  reconcileReportSchema,
  releaseResponseSchema,
  reservationSchema,
  reserveBody,
  restockBody,
  returnBody,
  stockListQuery,
  stockListSchema,
  stockSchema,
} from './schemas.js';

export interface InventoryRouteDeps {
  inventory: Inventory;
  reconciler: Reconciler;
  /** Internal-token issuers allowed to take and give back stock (order, flash-sale); admins always are. */
  callers: readonly string[];
  maxTtlSeconds: number;
}

const view = (s: StockRow) => ({ productId: s.productId, sku: s.sku, onHand: s.onHand, reserved: s.reserved, allocated: s.allocated, available: s.available });

function reservationView(r: Reservation) {
  return {
    orderId: r.orderId,
    status: r.status,
    items: r.items,
    expiresAt: r.expiresAt.toISOString(),
    ...(r.allocationId ? { allocationId: r.allocationId } : {}),
    ...(r.releasedBy === 'request' || r.releasedBy === 'expiry' ? { releasedBy: r.releasedBy } : {}),
  };
}

const allocationView = ({ requestHash: _h, ...a }: Allocation) => a;

/**
 * Stock-changing routes are for the services that own the flows (order, flash-sale) and admins: a
 * customer's request forwarded by the gateway must not reserve, release or allocate stock.
 */
function requireCaller(ctx: Koa.Context, callers: readonly string[], action: string): void {
  const state = ctx.state as ShopState;
  if (state.caller && callers.includes(state.caller.service)) return;
  if (state.user?.role === 'admin') return;
  throw new ForbiddenError(`only the ${callers.join(' or ')} service or an admin may ${action}`, 'caller_not_allowed');
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

/** The optional `Idempotency-Key` header (printable ASCII, at most 200 characters), or a 400 naming it. */
function idempotencyKey(ctx: Koa.Context): string | undefined {
  const key = ctx.get('idempotency-key');
  if (key === '') return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) {
    const message = 'must be 1-200 printable ASCII characters without spaces';
    throw new ValidationError(`invalid headers: headers.idempotency-key: ${message}`, [{ path: 'headers.idempotency-key', message }]);
  }
  return key;
}

/** The service's routes (service paths; the gateway serves them under /api). */
export function inventoryRoutes(deps: InventoryRouteDeps): AnyRoute[] {
  const { inventory, reconciler, callers } = deps;
  return [
    defineRoute({
      method: 'GET',
      path: '/inventory',
      summary: 'Stock of several products (?productIds=a,b, at most 100); unknown ids are left out',
      tags: ['inventory'],
      auth: 'none',
      query: stockListQuery,
      response: stockListSchema,
      handler: async ({ query }) => ({ items: (await inventory.stocks(query.productIds)).map(view) }),
    }),
    defineRoute({
      method: 'POST',
      path: '/inventory/reservations',
      summary: 'Reserve stock for an order, all items or none; idempotent by orderId',
      tags: ['reservations'],
      auth: 'none',
      body: reserveBody(deps.maxTtlSeconds),
      response: reservationSchema,
      status: 201,
      handler: async ({ body, ctx }) => {
        requireCaller(ctx, callers, 'reserve stock');
        return reservationView(await inventory.reserve(body));
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/inventory/reservations/:orderId',
      summary: "An order's reservation",
      tags: ['reservations'],
      auth: 'none',
      params: orderParams,
      response: reservationSchema,
      handler: async ({ params, ctx }) => {
        requireCaller(ctx, callers, 'read reservations');
        return reservationView(await inventory.reservation(params.orderId));
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/inventory/reservations/:orderId/confirm',
      summary: 'Confirm a reservation: the units leave on-hand (idempotent; after release or expiry: 409)',
      tags: ['reservations'],
      auth: 'none',
      params: orderParams,
      response: reservationSchema,
      handler: async ({ params, ctx }) => {
        requireCaller(ctx, callers, 'confirm reservations');
        return reservationView(await inventory.confirm(params.orderId));
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/inventory/reservations/:orderId/release',
      summary: 'Release a reservation: the units become available again (idempotent; after confirm: 409)',
      tags: ['reservations'],
      auth: 'none',
      params: orderParams,
      response: releaseResponseSchema,
      handler: async ({ params, ctx }) => {
        requireCaller(ctx, callers, 'release reservations');
        const r = await inventory.release(params.orderId);
        return { ...reservationView(r), status: 'released' as const };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/inventory/allocations',
      summary: 'Set units aside for a flash sale (no expiry); idempotent by allocationId',
      tags: ['allocations'],
      auth: 'none',
      body: allocateBody,
      response: allocationSchema,
      status: 201,
      handler: async ({ body, ctx }) => {
        requireCaller(ctx, callers, 'allocate stock');
        return allocationView(await inventory.allocate(body));
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/inventory/allocations/:allocationId',
      summary: 'An allocation with its consumed, returned and remaining units',
      tags: ['allocations'],
      auth: 'none',
      params: allocationParams,
      response: allocationSchema,
      handler: async ({ params, ctx }) => {
        requireCaller(ctx, callers, 'read allocations');
        return allocationView(await inventory.allocation(params.allocationId));
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/inventory/allocations/:allocationId/consume',
      summary: "Turn allocated units into an order's reservation (then confirm or release it); idempotent by orderId",
      tags: ['allocations'],
      auth: 'none',
      params: allocationParams,
      body: consumeBody(deps.maxTtlSeconds),
      response: reservationSchema,
      status: 201,
      handler: async ({ params, body, ctx }) => {
        requireCaller(ctx, callers, 'consume allocations');
        return reservationView(await inventory.consume({ allocationId: params.allocationId, ...body }));
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/inventory/allocations/:allocationId/return',
      summary: 'Give unsold units back (body { quantity } or nothing = all that remain, closing it); Idempotency-Key makes a retry count once',
      tags: ['allocations'],
      auth: 'none',
      params: allocationParams,
      body: returnBody,
      response: allocationSchema,
      handler: async ({ params, body, ctx }) => {
        requireCaller(ctx, callers, 'return allocated stock');
        const returnKey = idempotencyKey(ctx);
        return allocationView(
          await inventory.returnUnits({ allocationId: params.allocationId, ...(body.quantity !== undefined ? { quantity: body.quantity } : {}), ...(returnKey ? { returnKey } : {}) }),
        );
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/inventory/reconcile',
      summary: 'Rebuild Redis stock from Postgres now and report the drift repaired (admin)',
      tags: ['admin'],
      auth: 'admin',
      response: reconcileReportSchema,
      handler: async () => reconciler.reconcileAll(),
    }),
    defineRoute({
      method: 'GET',
      path: '/inventory/:productId',
      summary: "A product's stock: on hand, reserved, allocated, available",
      tags: ['inventory'],
      auth: 'none',
      params: productParams,
      response: stockSchema,
      handler: async ({ params }) => view(await inventory.stock(params.productId)),
    }),
    defineRoute({
      method: 'POST',
      path: '/inventory/:productId/restock',
      summary: 'Add units on hand (admin); sku creates the row of a product that has none',
      tags: ['admin'],
      auth: 'admin',
      params: productParams,
      body: restockBody,
      response: stockSchema,
      handler: async ({ params, body }) => view(await inventory.restock(params.productId, body.quantity, body.sku)),
    }),
  ];
}

/** The routes for documentation only (the gateway's /api/docs): their handlers cannot run. */
export const inventoryRouteDocs: readonly AnyRoute[] = inventoryRoutes(
  docsOnly<InventoryRouteDeps>('inventory', {
    callers: inventoryConfigSchema.shape.INVENTORY_CALLERS.parse(undefined),
    maxTtlSeconds: inventoryConfigSchema.shape.RESERVATION_MAX_TTL_SECONDS.parse(undefined),
  }),
);
