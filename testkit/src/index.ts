export { infra } from './env.js';
export { uniqueName } from './names.js';
export { waitFor, type WaitOptions } from './wait.js';
export { registerScrapeTarget, promQuery, promExemplars, promTargets, type PromSample, type ExemplarSeries } from './prometheus.js';
export { createTopics, freshTopic } from './kafka.js';
export { freshSchema, type FreshSchema } from './postgres.js';
export { startOtlpReceiver, type OtlpReceiver } from './otlp.js';
export { fetchJson, type JsonRequest, type JsonResponse } from './http.js';
export { startPrivateKafka, type PrivateKafka, type PrivateKafkaOptions } from './kafka-private.js';
