import { z } from 'zod';
import { defineRoute, docsOnly, NotFoundError, UpstreamError, ValidationError, type AnyRoute, type AuthUser, type Logger } from '@lantern/shop-common';
import { recommendationConfigSchema } from './config.js';
import { categorySlug, entityId } from './ids.js';
import { productViewedSchema } from './events.js';
import { RECO_ALGO_EXPERIMENT, bucketOf, type Experiments } from './experiments.js';
import { algorithmFor, type Recommender } from './recommender.js';
import type { RecoStore } from './store.js';

export interface RouteDeps {
  store: RecoStore;
  recommender: Recommender;
  experiments: Experiments;
  logger: Logger;
  defaultLimit: number;
  maxLimit: number;
}

const levelSchema = z.enum(['personalised', 'popular', 'static']);

const recommendationResponse = z.object({
  source: levelSchema,
  degraded: z.boolean(),
  items: z.array(z.object({ productId: z.string(), score: z.number(), source: levelSchema })),
  experiment: z.object({ id: z.string(), variant: z.string() }).optional(),
});

const assignmentResponse = z.object({ experiment: z.string(), userId: z.string(), variant: z.string(), bucket: z.number() });

/** The caller's end user, when the internal token carries one: lets the gateway omit userId. */
function tokenUserId(user: AuthUser | undefined): string | undefined {
  return user?.id;
}

/** A user id from the input or the token, or a 400 naming the field. */
function requireUserId(given: string | undefined, user: AuthUser | undefined, path: string): string {
  const id = given ?? tokenUserId(user);
  if (id === undefined) {
    const message = 'is required (or call on behalf of an end user)';
    throw new ValidationError(`invalid ${path.split('.')[0]}: ${path}: ${message}`, [{ path, message }]);
  }
  return id;
}

/** Redis write/read paths other than the recommendation chain cannot degrade: 503, not 500. */
async function modelCall<T>(logger: Logger, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    logger.warn({ err }, `recommendation model unavailable: ${what}`);
    throw new UpstreamError('redis', `recommendation model unavailable (${what})`, { status: 503, code: 'model_unavailable', cause: err });
  }
}

const experimentParams = z.object({ id: z.string().min(1).max(64) });

function knownExperiment(experiments: Experiments, id: string): string {
  if (!experiments.get(id)) throw new NotFoundError(`experiment "${id}" is not configured`, 'experiment_not_found');
  return id;
}

export function recommendationRoutes(deps: RouteDeps): AnyRoute[] {
  const { store, recommender, experiments, logger } = deps;
  const limit = z.coerce.number().int().min(1).max(deps.maxLimit).default(deps.defaultLimit);

  return [
    defineRoute({
      method: 'GET',
      path: '/recommendations',
      summary: 'Recommended product ids: personalised, else popular, else the static list',
      tags: ['recommendations'],
      auth: 'none',
      query: z.object({ userId: entityId.optional(), productId: entityId.optional(), category: categorySlug.optional(), limit }),
      response: recommendationResponse,
      async handler({ query, user }) {
        const userId = query.userId ?? tokenUserId(user);
        // Anonymous requests are not part of the experiment: no stable id to bucket on.
        const assignment = userId ? experiments.expose(RECO_ALGO_EXPERIMENT, userId) : undefined;
        const result = await recommender.recommend({
          ...(userId ? { userId } : {}),
          ...(query.productId ? { productId: query.productId } : {}),
          ...(query.category ? { category: query.category } : {}),
          limit: query.limit,
          algorithm: algorithmFor(assignment?.variant),
        });
        return { ...result, ...(assignment ? { experiment: { id: assignment.experiment, variant: assignment.variant } } : {}) };
      },
    }),

    defineRoute({
      method: 'GET',
      path: '/recommendations/bought-together/:productId',
      summary: 'Products most often bought together with a product, with co-occurrence counts',
      tags: ['recommendations'],
      auth: 'none',
      params: z.object({ productId: entityId }),
      query: z.object({ limit }),
      response: z.object({ productId: z.string(), items: z.array(z.object({ productId: z.string(), count: z.number() })) }),
      async handler({ params, query }) {
        const list = await modelCall(logger, 'bought-together', () => store.boughtTogether(params.productId, query.limit));
        return { productId: params.productId, items: list.map(({ productId, score }) => ({ productId, count: score })) };
      },
    }),

    defineRoute({
      method: 'POST',
      path: '/views',
      summary: "Record that a user viewed a product (recent views, popularity)",
      tags: ['recommendations'],
      auth: 'none',
      body: productViewedSchema,
      status: 204,
      async handler({ body }) {
        await modelCall(logger, 'record view', () => store.recordView(body));
      },
    }),

    defineRoute({
      method: 'GET',
      path: '/experiments/:id/assignment',
      summary: "A user's variant; counts an exposure unless expose=false",
      tags: ['experiments'],
      auth: 'none',
      params: experimentParams,
      query: z.object({
        userId: entityId.optional(),
        expose: z.enum(['true', 'false'], { message: 'must be "true" or "false"' }).default('true'),
      }),
      response: assignmentResponse,
      async handler({ params, query, user }) {
        const id = knownExperiment(experiments, params.id);
        const userId = requireUserId(query.userId, user, 'query.userId');
        const a = query.expose === 'true' ? experiments.expose(id, userId) : experiments.assign(id, userId);
        return { experiment: id, userId, variant: a?.variant ?? '', bucket: bucketOf(id, userId) };
      },
    }),

    defineRoute({
      method: 'POST',
      path: '/experiments/:id/conversions',
      summary: "Count a conversion for the user's variant",
      tags: ['experiments'],
      auth: 'none',
      params: experimentParams,
      body: z.object({ userId: entityId.optional() }),
      response: z.object({ experiment: z.string(), userId: z.string(), variant: z.string() }),
      status: 202,
      async handler({ params, body, user }) {
        const id = knownExperiment(experiments, params.id);
        const userId = requireUserId(body.userId, user, 'body.userId');
        const a = experiments.convert(id, userId);
        return { experiment: id, userId, variant: a?.variant ?? '' };
      },
    }),
  ];
}


/**
 * The routes, for documentation only (the gateway's /api/docs), with the default limits of the
 * service's configuration shaping the query schema: their handlers cannot run.
 */
export const recommendationRouteDocs: readonly AnyRoute[] = recommendationRoutes(
  docsOnly<RouteDeps>('recommendation', {
    defaultLimit: recommendationConfigSchema.shape.RECO_DEFAULT_LIMIT.parse(undefined),
    maxLimit: recommendationConfigSchema.shape.RECO_MAX_LIMIT.parse(undefined),
  }),
);
