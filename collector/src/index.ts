// Public API of @lantern/collector.
export * from './otlp/index.js';
export { Collector, type CollectorOptions } from './collector.js';
export { CollectorError, ConfigError, RefusedError, PermanentError } from './pipeline/errors.js';
export { registerFactory } from './pipeline/registry.js';
export type * from './pipeline/types.js';
