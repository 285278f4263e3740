import { start } from '@lantern/sdk';
import { runService } from '@lantern/shop-common';
import { loadProductConfig } from './config.js';
import { createProductService } from './service.js';

// started with `node --import tsx/esm --import @lantern/sdk/register src/main.ts`: telemetry is already running
const telemetry = await start(); // already started by the preload; start() returns that instance
const config = loadProductConfig();
const product = createProductService({ config, telemetry });
const started = await product.start();
telemetry.logger.info({ migrations: started.migrations, seeded: started.seeded, warmed: started.warmed }, 'product service ready to listen');
const running = await runService({
  app: product.app,
  telemetry,
  port: config.PORT,
  host: config.HOST,
  readiness: { dependencies: () => product.ping() },
  resources: { product: () => product.close() },
});
telemetry.logger.info({ url: running.url }, 'product service listening');
