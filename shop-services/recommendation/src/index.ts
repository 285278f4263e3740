// Public API of @lantern/shop-recommendation.
export { createRecommendationService, SERVICE_NAME, type RecommendationService, type RecommendationServiceDeps } from './app.js';
export { recommendationRouteDocs } from './routes.js';
export { recommendationConfigSchema, loadRecommendationConfig, type RecommendationConfig } from './config.js';
// Events this service consumes: producers (the order service) validate against the same schemas.
export {
  ORDER_PLACED,
  PRODUCT_VIEWED,
  MAX_ORDER_ITEMS,
  orderPlacedSchema,
  orderItemSchema,
  productViewedSchema,
  type OrderPlaced,
  type OrderItem,
  type ProductViewed,
} from './events.js';
export {
  RECO_ALGO_EXPERIMENT,
  DEFAULT_EXPERIMENTS,
  experimentSchema,
  experimentsSchema,
  assignVariant,
  bucketOf,
  Experiments,
  type ExperimentConfig,
  type Assignment,
} from './experiments.js';
export { Recommender, algorithmFor, type Algorithm, type Recommendation, type RecommendedItem, type RecommendInput } from './recommender.js';
export { RecoStore, type StoreOptions, type ScoredId } from './store.js';
export { recoKeys, type RecoKeys } from './keys.js';
export { createRedisClient, waitForRedis } from './redis.js';
export { eventHandlers } from './handlers.js';
export type { ServedLevel } from './metrics.js';
