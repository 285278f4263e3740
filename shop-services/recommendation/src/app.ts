import type Koa from 'koa';
import type { Redis } from 'ioredis';
import { createServiceApp, type EventHandler, type ServiceTelemetry } from '@lantern/shop-common';
import type { RecommendationConfig } from './config.js';
import { Experiments } from './experiments.js';
import { eventHandlers } from './handlers.js';
import { conversionsTotal, exposuresTotal } from './metrics.js';
import { Recommender } from './recommender.js';
import { recommendationRoutes } from './routes.js';
import { RecoStore } from './store.js';

/** Token audience callers sign for (createServiceClient's service name) and the Kafka client id. */
export const SERVICE_NAME = 'recommendation';

export interface RecommendationServiceDeps {
  telemetry: ServiceTelemetry;
  redis: Redis;
  config: RecommendationConfig;
}

export interface RecommendationService {
  app: Koa;
  store: RecoStore;
  recommender: Recommender;
  experiments: Experiments;
  /** Handlers for createEventConsumer: `order.placed` and `product.viewed`. */
  handlers: Record<string, EventHandler>;
}

/** Wires the model, the experiments and the HTTP routes; no listening, no Kafka (see main.ts). */
export function createRecommendationService({ telemetry, redis, config }: RecommendationServiceDeps): RecommendationService {
  const logger = telemetry.logger;
  const store = new RecoStore(redis, {
    prefix: config.REDIS_PREFIX,
    orderMarkerTtlSeconds: config.RECO_ORDER_MARKER_TTL_SECONDS,
    recentViewsMax: config.RECO_RECENT_VIEWS_MAX,
    recentViewsTtlSeconds: config.RECO_VIEWS_TTL_SECONDS,
    boughtTogetherMax: config.RECO_BOUGHT_TOGETHER_MAX,
    orderWeight: config.RECO_ORDER_WEIGHT,
  });
  const experiments = new Experiments(config.RECO_EXPERIMENTS, { exposures: exposuresTotal, conversions: conversionsTotal });
  const recommender = new Recommender({ store, staticProducts: config.RECO_STATIC_PRODUCTS, logger });
  const routes = recommendationRoutes({ store, recommender, experiments, logger, defaultLimit: config.RECO_DEFAULT_LIMIT, maxLimit: config.RECO_MAX_LIMIT });
  const app = createServiceApp({ telemetry, routes, bodyLimit: config.BODY_LIMIT, serviceAuth: { secret: config.INTERNAL_AUTH_SECRET, audience: SERVICE_NAME } });
  const handlers = eventHandlers({ store, experiments, logger, convertOnOrder: config.RECO_CONVERT_ON_ORDER });
  return { app, store, recommender, experiments, handlers };
}
