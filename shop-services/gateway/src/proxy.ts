import type Koa from 'koa';
import { AppError, BadRequestError, type AuthUser, type ClientMethod } from '@lantern/shop-common';
import { hasDotSegment, proxyRouteTemplate, proxyTarget } from './routing.js';
import type { Upstreams } from './upstreams.js';

const METHODS = new Set<string>(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);
const WITH_BODY = new Set<string>(['POST', 'PUT', 'PATCH']);
/** Upstream response headers worth passing to the client; hop-by-hop and internal ones stay behind. */
const PASS_HEADERS = ['location', 'etag', 'last-modified', 'cache-control', 'retry-after', 'content-language', 'allow', 'idempotent-replayed'];
const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,128}$/;

/** Payment provider callbacks carry their HMAC signature in this header; the payment service checks it. */
const CALLBACK_PATH = /^\/api\/payments\/callbacks\/[^/]+$/;
const SIGNATURE_HEADER = 'x-lantern-signature';

function providerSignature(ctx: Koa.Context): Record<string, string> {
  const sig = ctx.get(SIGNATURE_HEADER);
  return sig && ctx.method === 'POST' && CALLBACK_PATH.test(ctx.path) ? { [SIGNATURE_HEADER]: sig } : {};
}

/**
 * Names proxied requests by route template (as @koa/router does for its own routes), first in the
 * chain so that rejected requests (401, 429) are labelled too. Routes the router serves set their own.
 */
export function routeTemplate(): Koa.Middleware {
  // plain functions returning next(): no promise of their own per request
  return function nameRoute(ctx, next) {
    const template = proxyRouteTemplate(ctx.path);
    if (template !== undefined) (ctx as Koa.Context & { _matchedRoute?: string })._matchedRoute = template;
    return next();
  };
}

/** Refuses paths whose meaning would change on the way upstream (dot segments). */
export function pathGuard(): Koa.Middleware {
  return function guardPath(ctx, next) {
    if (hasDotSegment(ctx.path)) throw new BadRequestError(`path ${ctx.path} contains "." or ".." segments`, 'bad_path');
    return next();
  };
}

/**
 * Forwards /api/* requests to the owning service with the shop's service client (keep-alive pool,
 * timeout, retries for idempotent calls, breaker per upstream, trace context, internal token with
 * the verified end user). Paths the gateway answers itself (`owned`) go on to the router.
 * Upstream 2xx-4xx answers reach the client as the service sent them (body bytes, content type and
 * the headers in PASS_HEADERS); 5xx and unreachable upstreams become the gateway's own 502/503/504.
 */
export function proxy(upstreams: Upstreams, owned: readonly RegExp[]): Koa.Middleware {
  return async function forward(ctx, next) {
    if (owned.some((p) => p.test(ctx.path))) return next();
    const target = proxyTarget(ctx.path);
    if (!target) return next();
    if (!METHODS.has(ctx.method)) {
      throw new AppError(405, 'method_not_allowed', `${ctx.method} not allowed on ${ctx.path}`, { headers: { allow: [...METHODS].join(', ') } });
    }
    const client = upstreams.get(target.upstream);
    if (!client) throw new AppError(503, 'service_unavailable', `${target.upstream} service is not configured`);

    const idempotencyKey = ctx.get('idempotency-key') || undefined;
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new BadRequestError('Idempotency-Key must be 1-128 characters of A-Z a-z 0-9 . _ : -', 'bad_idempotency_key');
    }
    const user = ctx.state.user as AuthUser | undefined;
    // forward(): the service's answer goes on as bytes, error bodies included, never decoded and re-encoded
    const res = await client.forward(ctx.method as ClientMethod, ctx.querystring ? `${target.path}?${ctx.querystring}` : target.path, {
      // the text as received (already checked by shop-common's body reader): signatures over it still verify
      ...(WITH_BODY.has(ctx.method) && ctx.request.rawBody !== '' ? { rawJson: ctx.request.rawBody } : {}),
      ...(user ? { user } : {}),
      ...(idempotencyKey ? { idempotencyKey } : {}),
      // the client address as the gateway saw it; services (login throttling) trust only this entry
      headers: { 'x-forwarded-for': ctx.ip, ...providerSignature(ctx) },
    });
    for (const h of PASS_HEADERS) {
      const v = res.headers[h];
      if (typeof v === 'string') ctx.set(h, v);
    }
    ctx.status = res.status;
    if (res.status !== 204 && res.status !== 304 && res.body !== undefined) {
      ctx.body = res.body;
      const type = res.headers['content-type'];
      ctx.type = typeof type === 'string' ? type : 'application/octet-stream';
    }
  };
}
