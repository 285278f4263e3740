// Entry point: node --import tsx/esm --import @lantern/sdk/register src/main.ts
import { Redis } from 'ioredis';
import { getTelemetry } from '@lantern/sdk';
import { runService } from '@lantern/shop-common';
import { loadGatewayConfig } from './config.js';
import { createGateway } from './gateway.js';

const telemetry = getTelemetry();
const config = loadGatewayConfig();
// Only the rate limiter uses Redis: no offline queue and a short timeout, so an outage fails open fast.
// Auto-pipelining sends the decisions of concurrent requests in one write: one Redis call per request
// is the gateway's largest fixed cost after the upstream call itself.
const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, commandTimeout: 250, enableOfflineQueue: false, enableAutoPipelining: true });
redis.on('error', (err: Error) => telemetry.logger.warn({ err: err.message }, 'redis connection error'));
const gateway = createGateway({ config, telemetry, redis });
const running = await runService({
  app: gateway.app,
  telemetry,
  port: config.PORT,
  host: config.HOST,
  // ready without Redis on purpose: the limiter fails open (see rate-limit.ts)
  readiness: {},
  resources: { upstreams: () => gateway.close(), redis: () => redis.quit() },
});
telemetry.logger.info(
  { url: running.url, upstreams: gateway.upstreams.configured(), rateLimit: config.RATE_LIMIT_ENABLED ? config.RATE_LIMIT_FAIL_MODE : 'off' },
  'gateway listening',
);
