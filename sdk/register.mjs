// Preload for ESM services: node --import tsx/esm --import @lantern/sdk/register src/main.ts
// Order matters: the import-in-the-middle hook must be registered BEFORE the SDK (and so the
// instrumentations) load, and before the app imports koa/pg/ioredis/kafkajs. `--import hook.mjs`
// alone is a silent no-op, hence module.register here.
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

// worker threads (e.g. pino transports) inherit --import: telemetry runs in the main thread only
if (isMainThread) {
  const flag = Symbol.for('lantern.sdk.esmHookRegistered');
  if (!globalThis[flag]) {
    globalThis[flag] = true;
    register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  }
  // the SDK is TypeScript source: tsx must be loaded first (--import tsx/esm)
  const { start } = await import('./src/start.ts');
  try {
    await start();
  } catch (err) {
    // a bad configuration must stop the service, with a message naming the variable
    console.error(`[@lantern/sdk] start-up failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
