import { z } from 'zod';
import { ConflictError, defineRoute, NotFoundError, ValidationError, type AnyRoute } from '@lantern/shop-common';
import type { HotKeys, MultiLevelCache } from './cache/index.js';
import type { ProductStore } from './db/product-store.js';
import { ProductStoreError } from './errors.js';
import {
  categoryListSchema,
  createProductBody,
  createReviewBody,
  listProductsQuery,
  paginationQuery,
  productIdParams,
  productPageSchema,
  productSchema,
  reviewPageSchema,
  reviewSchema,
  searchProductsQuery,
  updateProductBody,
  type Product,
} from './schemas.js';

export interface ProductRouteDeps {
  store: ProductStore;
  cache: MultiLevelCache<Product>;
  hotKeys: HotKeys;
}

/** Domain errors → HTTP errors that name the field or resource. */
function httpError(err: unknown, body?: { sku?: string; category?: string }): unknown {
  if (!(err instanceof ProductStoreError)) return err;
  switch (err.code) {
    case 'sku_taken':
      return new ConflictError(`a product with sku "${body?.sku ?? ''}" already exists`, 'sku_taken');
    case 'unknown_category': {
      const message = `no category "${body?.category ?? ''}"; see GET /categories`;
      return new ValidationError(`invalid body: body.category: ${message}`, [{ path: 'body.category', message }]);
    }
    case 'duplicate_review':
      return new ConflictError('you have already reviewed this product', 'duplicate_review');
  }
}

const notFound = (id: string) => new NotFoundError(`product ${id} not found`, 'product_not_found');

/**
 * The service's routes. Without deps they only describe the API (the gateway builds OpenAPI from
 * them); their handlers then refuse to run.
 */
export function createProductRoutes(deps?: ProductRouteDeps): AnyRoute[] {
  const need = (): ProductRouteDeps => {
    if (!deps) throw new Error('product routes were created without dependencies (documentation only)');
    return deps;
  };
  return [
    defineRoute({
      method: 'GET',
      path: '/products',
      summary: 'List products with filters, sorting and pagination',
      tags: ['products'],
      auth: 'none',
      query: listProductsQuery,
      response: productPageSchema,
      handler: async ({ query }) => ({ ...(await need().store.list(query)), limit: query.limit, offset: query.offset }),
    }),
    // before /products/:id, or "search" would be taken for an id
    defineRoute({
      method: 'GET',
      path: '/products/search',
      summary: 'Full-text search (web search syntax: "quoted phrase", -exclude, or)',
      tags: ['products'],
      auth: 'none',
      query: searchProductsQuery,
      response: productPageSchema,
      handler: async ({ query }) => ({ ...(await need().store.search(query)), limit: query.limit, offset: query.offset }),
    }),
    defineRoute({
      method: 'GET',
      path: '/products/:id',
      summary: 'One product (cached)',
      tags: ['products'],
      auth: 'none',
      params: productIdParams,
      response: productSchema,
      // L1 hands out the same (never mutated) object on every hit: its response bytes are made once
      reuseResponse: true,
      handler: async ({ params }) => {
        const { cache, hotKeys } = need();
        const product = await cache.get(params.id);
        if (!product) throw notFound(params.id);
        hotKeys.record(params.id);
        return product;
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/products',
      summary: 'Create a product (admin)',
      tags: ['products'],
      auth: 'admin',
      body: createProductBody,
      response: productSchema,
      status: 201,
      handler: async ({ body }) => {
        const { store, cache } = need();
        const product = await store.create(body).catch((err: unknown) => {
          throw httpError(err, body);
        });
        await cache.invalidate(product.id); // drops any negative entry for the id
        return product;
      },
    }),
    defineRoute({
      method: 'PUT',
      path: '/products/:id',
      summary: 'Update the given fields of a product (admin)',
      tags: ['products'],
      auth: 'admin',
      params: productIdParams,
      body: updateProductBody,
      response: productSchema,
      handler: async ({ params, body }) => {
        const { store, cache } = need();
        const product = await store.update(params.id, body).catch((err: unknown) => {
          throw httpError(err, body);
        });
        if (!product) throw notFound(params.id);
        await cache.invalidate(params.id);
        return product;
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/products/:id',
      summary: 'Delete a product and its reviews (admin)',
      tags: ['products'],
      auth: 'admin',
      params: productIdParams,
      status: 204,
      handler: async ({ params }) => {
        const { store, cache, hotKeys } = need();
        if (!(await store.delete(params.id))) throw notFound(params.id);
        await cache.invalidate(params.id);
        await hotKeys.remove(params.id).catch(() => undefined); // only affects warming
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/products/:id/reviews',
      summary: "A product's reviews, newest first",
      tags: ['reviews'],
      auth: 'none',
      params: productIdParams,
      query: paginationQuery,
      response: reviewPageSchema,
      handler: async ({ params, query }) => {
        const page = await need().store.listReviews(params.id, query);
        if (!page) throw notFound(params.id);
        return { ...page, limit: query.limit, offset: query.offset };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/products/:id/reviews',
      summary: 'Review a product (one review per user)',
      tags: ['reviews'],
      auth: 'user',
      params: productIdParams,
      body: createReviewBody,
      response: reviewSchema,
      status: 201,
      handler: async ({ params, body, user }) => {
        const { store, cache } = need();
        const review = await store.createReview(params.id, user.id, body).catch((err: unknown) => {
          throw httpError(err);
        });
        if (!review) throw notFound(params.id);
        await cache.invalidate(params.id); // the product's rating changed
        return review;
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/categories',
      summary: 'Categories with their number of active products',
      tags: ['categories'],
      auth: 'none',
      query: z.strictObject({}),
      response: categoryListSchema,
      handler: async () => ({ items: await need().store.listCategories() }),
    }),
  ];
}

/** Route definitions for documentation (OpenAPI at the gateway). */
export const productRouteDocs: readonly AnyRoute[] = createProductRoutes();
