// Public API of @lantern/sdk. Everything not exported here is internal.
export * from './start.js';
export * from './logs/index.js';
export * from './metrics/index.js';
export * from './koa/index.js';
export * from './resilience/index.js';
