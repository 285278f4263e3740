import { z } from 'zod';
import { AppError, UpstreamError, defineRoute, isAppError, type AnyRoute, type AuthUser, type Logger, type ServiceClient } from '@lantern/shop-common';
import { productIdParams, productSchema, reviewPageSchema } from '@lantern/shop-product';
import { degradedResponses, type DegradedPart } from './metrics.js';
import type { Upstreams } from './upstreams.js';

/** What the inventory service answers for GET /inventory/:productId (the fields the page needs). */
export const stockSchema = z.object({
  productId: z.string(),
  available: z.number().int(),
});

export const detailsRecommendationsSchema = z.object({
  source: z.string(),
  items: z.array(z.object({ productId: z.string(), score: z.number() })),
});

export const productDetailsSchema = z.object({
  product: productSchema,
  /** null: inventory unavailable (see degraded_parts) or it has no record of the product. */
  stock: stockSchema.nullable(),
  /** The newest reviews (first page). */
  reviews: reviewPageSchema.nullable(),
  recommendations: detailsRecommendationsSchema.nullable(),
  /** True when an optional part is missing because its service failed; the product is always there. */
  degraded: z.boolean(),
  degraded_parts: z.array(z.enum(['stock', 'reviews', 'recommendations'])),
});
export type ProductDetails = z.output<typeof productDetailsSchema>;

const REVIEWS_SHOWN = 5;
const RECOMMENDATIONS_SHOWN = 6;

class PartTimeoutError extends Error {
  constructor(part: string, ms: number) {
    super(`${part} did not answer within ${ms} ms`);
  }
}

/** Settles within `ms`: the part's own deadline, whatever retries the client would still make. */
function deadline<T>(part: string, ms: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work(),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PartTimeoutError(part, ms)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

interface DetailsDeps {
  upstreams: Upstreams;
  partTimeoutMs: number;
  logger: Logger;
}

function optionalPart<T>(deps: DetailsDeps, client: ServiceClient | undefined, part: DegradedPart, call: (c: ServiceClient) => Promise<T>): Promise<T> {
  if (!client) return Promise.reject(new AppError(503, 'service_unavailable', `${part} source is not configured`));
  return deadline(part, deps.partTimeoutMs, () => call(client));
}

/**
 * GET /api/products/:id/details: the product (required) with stock, reviews and recommendations
 * fetched in parallel, each optional and bounded by its own deadline. A failed optional part is
 * null and listed in degraded_parts; the answer is still 200.
 */
export function productDetailsRoute(deps: DetailsDeps): AnyRoute {
  const degraded = degradedResponses();
  return defineRoute({
    method: 'GET',
    path: '/api/products/:id/details',
    summary: 'Product page: product, stock, latest reviews and recommendations; optional parts degrade instead of failing',
    tags: ['products'],
    auth: 'none',
    params: productIdParams,
    response: productDetailsSchema,
    handler: async ({ params, user }) => {
      const { upstreams } = deps;
      const product = upstreams.get('product');
      if (!product) throw new AppError(503, 'service_unavailable', 'product service is not configured');
      const as: { user?: AuthUser } = user ? { user } : {};
      const id = params.id;
      const timeoutMs = deps.partTimeoutMs;
      const [main, stock, reviews, recommendations] = await Promise.allSettled([
        product.get(`/products/${id}`, { ...as, schema: productSchema }),
        optionalPart(deps, upstreams.get('inventory'), 'stock', async (c) => {
          try {
            return await c.get(`/inventory/${id}`, { ...as, schema: stockSchema, timeoutMs });
          } catch (err) {
            if (isAppError(err) && err.status === 404) return null; // no inventory record: not a failure
            throw err;
          }
        }),
        optionalPart(deps, product, 'reviews', (c) => c.get(`/products/${id}/reviews`, { ...as, query: { limit: REVIEWS_SHOWN }, schema: reviewPageSchema, timeoutMs })),
        optionalPart(deps, upstreams.get('recommendation'), 'recommendations', (c) =>
          c.get('/recommendations', { ...as, query: { productId: id, limit: RECOMMENDATIONS_SHOWN }, schema: detailsRecommendationsSchema, timeoutMs }),
        ),
      ]);
      if (main.status === 'rejected') {
        const err: unknown = main.reason;
        if (err instanceof UpstreamError) throw new AppError(503, 'service_unavailable', `product service unavailable: ${err.message}`, { cause: err });
        throw err; // 404 product_not_found and other client errors pass through
      }
      const parts: [DegradedPart, PromiseSettledResult<unknown>][] = [
        ['stock', stock],
        ['reviews', reviews],
        ['recommendations', recommendations],
      ];
      const missing: DegradedPart[] = [];
      for (const [part, result] of parts) {
        if (result.status === 'fulfilled') continue;
        missing.push(part);
        degraded.inc({ part });
        // an open breaker or an undeployed service would log on every request: those are visible in metrics
        const code = isAppError(result.reason) ? result.reason.code : undefined;
        const quiet = code === 'service_unavailable' || code === 'upstream_unavailable';
        deps.logger[quiet ? 'debug' : 'warn']({ part, productId: id, err: (result.reason as Error)?.message }, 'product details served without a part');
      }
      const value = <T>(r: PromiseSettledResult<T>): T | null => (r.status === 'fulfilled' ? r.value : null);
      return {
        product: main.value,
        stock: value(stock),
        reviews: value(reviews),
        recommendations: value(recommendations),
        degraded: missing.length > 0,
        degraded_parts: missing,
      };
    },
  });
}
