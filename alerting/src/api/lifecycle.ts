// /-/healthy, /-/ready, /-/reload and /metrics, as Prometheus and Alertmanager serve them.
import type Router from '@koa/router';
import { ConfigError } from '../model/errors.js';
import type { ApiDeps } from './deps.js';
import { HttpError } from './http-error.js';

export function lifecycleRoutes(router: Router, deps: ApiDeps): void {
  router.get('/-/healthy', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = 'OK';
  });
  router.get('/-/ready', (ctx) => {
    const ready = deps.ready?.() ?? true;
    ctx.status = ready ? 200 : 503;
    ctx.type = 'text/plain';
    ctx.body = ready ? 'OK' : 'Service Unavailable';
  });
  router.post('/-/reload', async (ctx) => {
    try {
      await deps.reload();
    } catch (err) {
      // an invalid file is the caller's to fix: name the file and key; the previous config stays active
      if (err instanceof ConfigError) throw new HttpError(400, `failed to reload config: ${err.message}`);
      throw err;
    }
    deps.logger.info('configuration reloaded');
    ctx.type = 'application/json';
    ctx.body = JSON.stringify('configuration reloaded');
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = deps.registry.contentType;
    ctx.body = await deps.registry.metrics();
  });
}
