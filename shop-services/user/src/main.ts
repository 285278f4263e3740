// Entry point: node --import tsx/esm --import @lantern/sdk/register src/main.ts
// The preload starts telemetry before koa/pg/ioredis load, so they are instrumented.
import { getTelemetry } from '@lantern/sdk';
import { loadConfig, ConfigError } from '@lantern/shop-common';
import { userConfigSchema } from './config.js';
import { createUserService } from './service.js';

const telemetry = getTelemetry();
try {
  const config = loadConfig(userConfigSchema);
  const service = await createUserService({ config, telemetry });
  const running = await service.listen();
  telemetry.logger.info({ port: running.port }, 'user service listening');
} catch (err) {
  if (err instanceof ConfigError) telemetry.logger.error({ issues: err.issues }, err.message);
  else telemetry.logger.error({ err }, 'user service failed to start');
  await telemetry.shutdown();
  process.exit(1);
}
