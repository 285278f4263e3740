export { MultiLevelCache, type MultiLevelCacheOptions, type CacheStats, type LevelStats } from './multi-level-cache.js';
export { InvalidationBus, type InvalidationBusOptions, type InvalidationHandler } from './invalidation.js';
export { SingleFlight } from './single-flight.js';
export { HotKeys, type HotKeysOptions } from './hot-keys.js';
export { jitteredTtl } from './jitter.js';
export type { CacheLevel, CacheResult } from './metrics.js';
export type { CacheLogger } from './logger.js';
