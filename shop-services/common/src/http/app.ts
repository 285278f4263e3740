import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { bodyParser } from '@koa/bodyparser';
import { errorMiddleware } from './error-middleware.js';
import { createRouter, type AnyRoute } from './routes.js';
import { requireServiceAuth } from '../auth/internal-token.js';
import { NotFoundError, AppError } from '../errors.js';
import type { ServiceTelemetry } from '../telemetry.js';

export interface ServiceAppOptions {
  telemetry: ServiceTelemetry;
  routes: readonly AnyRoute[];
  /** Max JSON body, e.g. '64kb' (default). Larger bodies get 413. */
  bodyLimit?: string;
  /**
   * Internal-token check for every route (audience = this service's name). `false` only for the
   * gateway, which authenticates end users itself and then sets ctx.state.user.
   */
  serviceAuth: { secret: string; audience?: string } | false;
  /** Extra middleware run after auth and before the router (e.g. the gateway's JWT check). */
  middleware?: Koa.Middleware[];
}

/** Koa app in the shop's standard order: telemetry → typed errors → body → auth → routes → 404. */
export function createServiceApp(opts: ServiceAppOptions): Koa {
  const app = new Koa({ proxy: false });
  const router = createRouter(opts.routes);
  app.use(opts.telemetry.koa());
  app.use(errorMiddleware());
  app.use(bodyParser({ enableTypes: ['json'], jsonLimit: opts.bodyLimit ?? '64kb', jsonStrict: true }));
  if (opts.serviceAuth) app.use(requireServiceAuth({ secret: opts.serviceAuth.secret, audience: opts.serviceAuth.audience ?? opts.telemetry.serviceName }));
  for (const mw of opts.middleware ?? []) app.use(mw);
  // outside the router, so it sees allowedMethods' 405 and the router's unmatched 404
  app.use(async (ctx, next) => {
    await next();
    if (ctx.status === 405) throw new AppError(405, 'method_not_allowed', `${ctx.method} not allowed on ${ctx.path}; allowed: ${ctx.response.get('allow')}`, { headers: { allow: ctx.response.get('allow') } });
    if (ctx.status === 404 && ctx.body == null) throw new NotFoundError(`no route for ${ctx.method} ${ctx.path}`, 'route_not_found');
  });
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: false }));
  return app;
}

export interface RunServiceOptions {
  app: Koa;
  telemetry: ServiceTelemetry;
  port: number;
  host?: string;
  /** Readiness checks (throw or reject = not ready), e.g. { postgres: db.ping }. */
  readiness?: Record<string, () => Promise<unknown>>;
  /** Closed on shutdown after the server stops taking requests, in order (e.g. db, redis). */
  resources?: Record<string, () => Promise<unknown> | unknown>;
}

export interface RunningService {
  server: http.Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Listens, hands the server to telemetry for graceful shutdown, registers readiness checks and resources. */
export async function runService(opts: RunServiceOptions): Promise<RunningService> {
  const server = http.createServer(opts.app.callback());
  // longer than the callers' keep-alive (undici: 4 s) so we never close a socket a client is about to reuse
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  opts.telemetry.addServer(server);
  for (const [name, check] of Object.entries(opts.readiness ?? {})) opts.telemetry.addReadinessCheck(name, async () => {
    await check();
    return true;
  });
  for (const [name, close] of Object.entries(opts.resources ?? {})) opts.telemetry.onShutdown(name, async () => {
    await close();
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host && opts.host !== '0.0.0.0' ? opts.host : '127.0.0.1';
  return {
    server,
    port,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
