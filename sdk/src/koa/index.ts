// Koa integration of @lantern/sdk.
export { koaServer } from './server.js';
export { koaObservability, createObservability, type ObservabilityCore, LIVENESS_PATH, READINESS_PATH, ObservabilityConfigError, type KoaObservabilityOptions } from './observability.js';
export { ReadinessChecks, DependencyDownError, type ReadinessCheck, type ReadinessReport, type CheckResult } from './readiness.js';
export { pgCheck, redisCheck, kafkaCheck, type SqlClient, type RedisLike } from './checks.js';
export { toSafeError, codeForStatus, type SafeError } from './errors.js';
export { LanternKoaError } from './koa-errors.js';
