import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { errorMiddleware } from './error-middleware.js';
import { jsonBody } from './json-body.js';
import { requestGuard, type RequestGuardOptions } from './request-guard.js';
import { createRouter, type AnyRoute } from './routes.js';
import { requireServiceAuth } from '../auth/internal-token.js';
import type { ServiceTelemetry } from '../telemetry.js';

export interface ServiceAppOptions {
  telemetry: ServiceTelemetry;
  routes: readonly AnyRoute[];
  /** Max JSON body, e.g. '64kb' (default). Larger bodies get 413. */
  bodyLimit?: string;
  /** Deepest nesting of objects and arrays in a JSON body; deeper gets 400 body_too_deep. Default 64. */
  bodyMaxDepth?: number;
  /** Limits of the path and query guard (query length and parameter count). */
  requestLimits?: RequestGuardOptions;
  /**
   * Internal-token check for every route (audience = this service's name). `false` only for the
   * gateway, which authenticates end users itself and then sets ctx.state.user.
   */
  serviceAuth: { secret: string; audience?: string } | false;
  /** Extra middleware run after auth and before the router (e.g. the gateway's JWT check). */
  middleware?: Koa.Middleware[];
}

/**
 * Koa app in the shop's standard order: telemetry → typed errors → path/query guard → JSON body →
 * auth → routes → 404. The guard and the body parser refuse hostile input (malformed or non-UTF-8
 * escapes, NUL, deep nesting, prototype keys, huge numbers) with a 4xx before any route sees it.
 */
export function createServiceApp(opts: ServiceAppOptions): Koa {
  const app = new Koa({ proxy: false });
  const router = createRouter(opts.routes);
  app.use(opts.telemetry.koa());
  app.use(errorMiddleware({ notFoundAndMethod: true }));
  app.use(requestGuard(opts.requestLimits));
  app.use(jsonBody({ limit: opts.bodyLimit, maxDepth: opts.bodyMaxDepth }));
  if (opts.serviceAuth) app.use(requireServiceAuth({ secret: opts.serviceAuth.secret, audience: opts.serviceAuth.audience ?? opts.telemetry.serviceName }));
  for (const mw of opts.middleware ?? []) app.use(mw);
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
