// Metrics of @lantern/sdk: one prom-client registry (the global one by default) shared by every module.
export { defaultRegistry, getOrCreateCounter, getOrCreateGauge, getOrCreateHistogram } from './registry.js';
export { CardinalityGuard, cardinalityGuard, CARDINALITY_OVERFLOW_METRIC, DEFAULT_LABEL_SET_LIMIT, OVERFLOW_LABEL_VALUE, type LabelValues } from './cardinality.js';
export { activeExemplarLabels, observeWithExemplar, type ExemplarLabels } from './exemplars.js';
export { collectRuntimeMetrics } from './runtime.js';
export { renderMetrics, prefersOpenMetrics, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_TEXT_CONTENT_TYPE, type RenderedMetrics } from './exposition.js';
export { LATENCY_BUCKETS_SECONDS } from './buckets.js';
export { HttpServerMetrics, HTTP_SERVER_DURATION, UNMATCHED_ROUTE, OTHER_METHOD, type HttpServerMetricsOptions } from './http-server.js';
export { enableHttpClientMetrics, HTTP_CLIENT_DURATION, CLIENT_ERROR_STATUS } from './http-client.js';
export { instrumentKafka, instrumentProducer, instrumentConsumer, KAFKA_PRODUCED, KAFKA_CONSUMED, KAFKA_HANDLER_DURATION, type KafkaOutcome } from './kafka.js';
export { dbMetrics, timeDb, DB_DURATION, type DbOutcome } from './db.js';
export { cacheMetrics, CACHE_REQUESTS, type CacheResult } from './cache.js';
