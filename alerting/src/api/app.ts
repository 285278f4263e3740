// createApi: the engine's HTTP surface in one Koa app — Alertmanager's v2 API (amtool, Prometheus, Grafana),
// Prometheus' rule endpoints, lifecycle endpoints, signed ack links and the page at `/`.
// /alertmanager/api/v2/* is deliberately not served: Grafana's data-source test takes a 200 there for Mimir.
import Router from '@koa/router';
import Koa from 'koa';
import { webRoutes } from '../web/routes.js';
import { ackRoutes } from './ack.js';
import { basicAuth } from './auth.js';
import type { ApiDeps } from './deps.js';
import { jsonErrors } from './http-error.js';
import { lifecycleRoutes } from './lifecycle.js';
import { defaultLimits, type ApiLimits } from './limits.js';
import { apiMetrics, rejectionReason, type ApiMetrics } from './metrics.js';
import { prometheusRoutes } from './prometheus.js';
import { alertRoutes } from './v2/alerts.js';
import { silenceRoutes } from './v2/silences.js';
import { statusRoutes } from './v2/status.js';

/** Paths served without basic auth: liveness, and ack links (their signature is the authorisation). */
export const isPublicPath = (path: string): boolean => path === '/-/healthy' || path.startsWith('/ack/');

function instrument(metrics: ApiMetrics) {
  return async (ctx: Koa.Context, next: Koa.Next): Promise<void> => {
    const end = metrics.requests.startTimer();
    try {
      await next();
    } finally {
      // the route pattern, not the path: ids and group keys must not become label values
      const handler = typeof ctx._matchedRoute === 'string' ? ctx._matchedRoute : 'unmatched';
      end({ handler, method: ctx.method, code: String(ctx.status) });
      const reason = rejectionReason(ctx.status);
      if (reason) metrics.rejected.inc({ reason });
    }
  };
}

/** Unmatched routes and 405s answered as the API answers errors: a JSON string. */
async function jsonFallbacks(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  await next();
  if (ctx.status >= 400 && (ctx.body === undefined || ctx.body === null || typeof ctx.body === 'string') && !ctx.response.is('json') && !ctx.response.is('html')) {
    const msg = ctx.status === 404 ? `not found: ${ctx.method} ${ctx.path}` : ctx.status === 405 ? `method ${ctx.method} not allowed on ${ctx.path}` : ctx.message;
    const allow = ctx.response.get('allow');
    const status = ctx.status;
    ctx.type = 'application/json';
    ctx.body = JSON.stringify(msg);
    ctx.status = status; // Koa turns an implicit 404 into 200 when a body is set
    if (allow) ctx.set('Allow', allow);
  }
}

export function createApi(deps: ApiDeps): Koa {
  const limits: ApiLimits = { ...defaultLimits, ...deps.limits };
  const metrics = apiMetrics(deps.registry);
  const startedAt = deps.clock.now();
  const app = new Koa({ proxy: false });
  app.silent = true; // errors are answered and logged by jsonErrors, not printed by Koa
  const router = new Router();

  statusRoutes(router, deps, startedAt);
  alertRoutes(router, deps, limits, metrics);
  silenceRoutes(router, deps, limits);
  prometheusRoutes(router, deps);
  lifecycleRoutes(router, deps);
  ackRoutes(router, deps, limits, metrics);
  webRoutes(router, deps, limits);

  app.use(instrument(metrics));
  app.use(jsonFallbacks);
  app.use(jsonErrors(deps.logger));
  app.use(async (ctx, next) => {
    if (ctx.path.startsWith('/api/')) ctx.set('Cache-Control', 'no-store');
    await next();
  });
  if (deps.basicAuth) app.use(basicAuth(deps.basicAuth, isPublicPath));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
