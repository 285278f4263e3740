import type Koa from 'koa';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import {
  buildOpenApi,
  createAccessTokenVerifier,
  createInternalTokenSigner,
  createServiceApp,
  defineRoute,
  type AccessTokenVerifier,
  type AnyRoute,
  type DocumentedRoute,
  type InternalTokenSigner,
  type ServiceTelemetry,
} from '@lantern/shop-common';
import { flashSaleRouteDocs } from '@lantern/shop-flash-sale';
import { inventoryRouteDocs } from '@lantern/shop-inventory';
import { notificationRouteDocs } from '@lantern/shop-notification';
import { orderRouteDocs } from '@lantern/shop-order';
import { createPaymentRoutes } from '@lantern/shop-payment';
import { productRouteDocs } from '@lantern/shop-product';
import { recommendationRouteDocs } from '@lantern/shop-recommendation';
import { userRouteDocs } from '@lantern/shop-user';
import { authenticate } from './auth.js';
import type { GatewayConfig } from './config.js';
import { productDetailsRoute } from './details.js';
import { pathGuard, proxy, routeTemplate } from './proxy.js';
import { rateLimit } from './rate-limit.js';
import { MOUNTS, isPublic, pathPattern, proxyTarget } from './routing.js';
import { cachingSigner, cachingVerifier } from './token-cache.js';
import { Upstreams, type UpstreamName } from './upstreams.js';

/** Issuer of the internal tokens the gateway signs. */
export const GATEWAY_SERVICE_NAME = 'gateway';

export interface GatewayDeps {
  config: GatewayConfig;
  telemetry: ServiceTelemetry;
  /** Rate-limit store; owned by the caller (closed by it). Prefer enableOfflineQueue: false so an outage fails fast. */
  redis: Redis;
}

export interface Gateway {
  app: Koa;
  upstreams: Upstreams;
  /** The gateway's own routes (details, docs); everything else under /api is proxied. */
  routes: AnyRoute[];
  openApi(): Record<string, unknown>;
  /** Closes the upstream connection pools. */
  close(): Promise<void>;
}

/** Example of a Koa path with its parameters filled in, to ask isPublic about a documented route. */
const samplePath = (koaPath: string) => koaPath.replace(/:[A-Za-z0-9_]+/g, 'x');

/** The user service's /auth/* and /users/* are both exposed under /api/users (see routing.ts). */
const gatewayPathOfUserRoute = (path: string) => path.replace(/^\/(auth|users)(?=\/|$)/, '/api/users');

function documented(route: AnyRoute, path: string): DocumentedRoute {
  return { route, path, public: isPublic(route.method, samplePath(path)) };
}

/**
 * A service's routes at their gateway paths, keeping only those the gateway really forwards there:
 * a route the mounts do not reach (the recommendation service's internal /views, say) is not part
 * of the public API and must not be documented as if it were.
 */
function proxied(upstream: UpstreamName, serviceRoutes: readonly AnyRoute[], gatewayPath: (path: string) => string): DocumentedRoute[] {
  return serviceRoutes
    .map((route) => ({ route, path: gatewayPath(route.path) }))
    .filter(({ route, path }) => {
      const target = proxyTarget(samplePath(path));
      return target?.upstream === upstream && target.path === samplePath(route.path);
    })
    .map(({ route, path }) => documented(route, path));
}

export function createGateway(deps: GatewayDeps): Gateway {
  const { config, telemetry, redis } = deps;
  const verifier: AccessTokenVerifier = cachingVerifier(createAccessTokenVerifier(config.JWT_SECRET), { max: config.TOKEN_CACHE_MAX });
  const signer: InternalTokenSigner = cachingSigner(createInternalTokenSigner({ service: GATEWAY_SERVICE_NAME, secret: config.INTERNAL_AUTH_SECRET }), {
    max: config.TOKEN_CACHE_MAX,
  });
  const upstreams = new Upstreams(config, signer);

  let doc: Record<string, unknown> | undefined;
  const openApi = () =>
    (doc ??= buildOpenApi(
      [
        ...routes.map((r) => documented(r, r.path)),
        // every proxied service's routes, from their own zod schemas, at their gateway paths
        ...proxied('product', productRouteDocs, (path) => `/api${path}`),
        ...proxied('user', userRouteDocs, gatewayPathOfUserRoute),
        ...proxied('recommendation', recommendationRouteDocs, (path) => `/api${path}`),
        ...proxied('order', orderRouteDocs, (path) => `/api${path}`),
        ...proxied('inventory', inventoryRouteDocs, (path) => `/api${path}`),
        // payment routes without dependencies only describe themselves
        ...proxied('payment', createPaymentRoutes(), (path) => `/api${path}`),
        ...proxied('notification', notificationRouteDocs, (path) => `/api${path}`),
        ...proxied('flash-sale', flashSaleRouteDocs, (path) => `/api${path}`),
      ],
      {
        title: 'Lantern shop API',
        version: '1.0.0',
        description: `Single entry point of the shop. Proxied prefixes: ${MOUNTS.map((m) => `${m.prefix} → ${m.upstream}`).join(', ')}.`,
        openapi: '3.1.0',
        unauthorized: 'Missing, expired or invalid access token',
        commonResponses: { '429': 'Rate limit exceeded; see Retry-After' },
      },
    ));

  const routes: AnyRoute[] = [
    productDetailsRoute({ upstreams, partTimeoutMs: config.DETAILS_PART_TIMEOUT_MS, logger: telemetry.logger }),
    defineRoute({
      method: 'GET',
      path: '/api/docs',
      summary: 'This OpenAPI 3.1 document',
      tags: ['docs'],
      auth: 'none',
      response: z.record(z.string(), z.unknown()),
      handler: async () => openApi(),
    }),
  ];
  const owned = routes.map((r) => pathPattern(r.path));

  const known = (path: string) => owned.some((p) => p.test(path)) || proxyTarget(path) !== undefined;
  const middleware: Koa.Middleware[] = [routeTemplate(), pathGuard(), authenticate(verifier, known)];
  if (config.RATE_LIMIT_ENABLED) middleware.push(rateLimit(redis, config, telemetry.logger));
  middleware.push(proxy(upstreams, owned));

  const app = createServiceApp({ telemetry, routes, bodyLimit: config.BODY_LIMIT, serviceAuth: false, middleware });
  if (config.TRUST_PROXY_HOPS > 0) {
    app.proxy = true;
    app.maxIpsCount = config.TRUST_PROXY_HOPS;
  }
  return { app, upstreams, routes, openApi, close: () => upstreams.close() };
}
