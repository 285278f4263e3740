// Public API of @lantern/collector.
export * from './otlp/index.js';
