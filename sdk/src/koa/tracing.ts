import { context, propagation, SpanKind, SpanStatusCode, trace, type Span, type TextMapGetter, type Tracer } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import type { IncomingHttpHeaders } from 'node:http';
import type { Context, Middleware } from 'koa';
import { inputFault } from './input-faults.js';

/** Instrumentation scope of the spans this middleware creates. */
export const KOA_TRACING_SCOPE = '@lantern/sdk/koa';

// Node lower-cases incoming header names, which is what propagators ask for.
const headerGetter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

/** @koa/router sets `_matchedRoute` to the route template (with prefixes), e.g. "/users/:id". */
function matchedRoute(ctx: Context): string | undefined {
  const route = (ctx as Context & { _matchedRoute?: string | RegExp })._matchedRoute;
  return route === undefined ? undefined : String(route);
}

/** Status a thrown error will produce once the observability middleware turns it into a response. */
function statusOfError(err: unknown): number {
  const fault = inputFault(err);
  if (fault !== undefined) return fault.status;
  const status = (err as { status?: unknown; statusCode?: unknown } | null)?.status ?? (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

/**
 * ctx.hostname without koa's general path (comma splitting, URL parsing for IPv6) when the app does not
 * trust proxies: the Host header minus its port. Behind trusted proxies koa's getter (X-Forwarded-Host).
 */
function hostnameOf(ctx: Context): string {
  if (ctx.app.proxy) return ctx.hostname;
  const host = ctx.req.headers.host;
  if (!host) return '';
  if (host.startsWith('[')) return ctx.hostname; // IPv6 literal
  const colon = host.indexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

function startAttributes(span: Span, ctx: Context, method: string): void {
  span.setAttribute(ATTR_HTTP_REQUEST_METHOD, method);
  span.setAttribute(ATTR_URL_PATH, ctx.path);
  span.setAttribute(ATTR_URL_SCHEME, ctx.protocol);
  const host = hostnameOf(ctx);
  if (host) span.setAttribute(ATTR_SERVER_ADDRESS, host);
  const port = ctx.req.socket?.localPort;
  if (port) span.setAttribute(ATTR_SERVER_PORT, port);
  const ua = ctx.req.headers['user-agent'];
  if (ua) span.setAttribute(ATTR_USER_AGENT_ORIGINAL, ua);
}

function finish(span: Span, ctx: Context, method: string, thrown: unknown, didThrow: boolean): void {
  const route = matchedRoute(ctx);
  // the route template, never the raw path: raw paths carry ids and explode span-name cardinality
  span.updateName(route === undefined ? `${method} unmatched` : `${method} ${route}`);
  if (span.isRecording()) {
    const status = didThrow ? statusOfError(thrown) : ctx.status;
    if (route !== undefined) span.setAttribute(ATTR_HTTP_ROUTE, route);
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    if (didThrow) {
      span.recordException(thrown instanceof Error ? thrown : String(thrown));
      span.setAttribute(ATTR_ERROR_TYPE, thrown instanceof Error ? thrown.name : 'unknown');
    }
    // 4xx is the client's fault (semconv for SERVER spans): a thrown error is an ERROR unless it carries a 4xx
    // status (ctx.throw(404)); errors without a status become 500s in Koa and so are ERRORs here
    if (status >= 500) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: thrown instanceof Error ? thrown.message : undefined });
      if (!didThrow) span.setAttribute(ATTR_ERROR_TYPE, String(status));
    }
  }
  span.end();
}

/** The SERVER span of a request, started in the context carried by its headers (not yet active). */
export interface ServerSpan {
  span: Span;
  method: string;
  /** The caller's context (from traceparent), parent of the span. */
  parent: ReturnType<typeof context.active>;
}

export function startServerSpan(tracer: Tracer, ctx: Context): ServerSpan {
  const method = KNOWN_METHODS.has(ctx.method) ? ctx.method : '_OTHER';
  const parent = propagation.extract(context.active(), ctx.req.headers, headerGetter);
  const span = tracer.startSpan(method, { kind: SpanKind.SERVER }, parent);
  if (span.isRecording()) startAttributes(span, ctx, method);
  return { span, method, parent };
}

/** Names the span by route template, sets status and error attributes, ends it. */
export function endServerSpan(s: ServerSpan, ctx: Context, thrown: unknown, didThrow: boolean): void {
  finish(s.span, ctx, s.method, thrown, didThrow);
}

/**
 * Lean SERVER span per request, instead of instrumentation-http + instrumentation-koa (about half of bare
 * Koa throughput). Put it first, before the router. Continues the caller's trace from the request headers
 * (global propagator), runs the rest of the chain inside the span's context, names the span by route template
 * and marks 5xx/thrown errors. No per-middleware spans; attributes are only computed when the span records.
 */
export function koaTracing(): Middleware {
  const tracer = trace.getTracer(KOA_TRACING_SCOPE);
  return async function lanternKoaTracing(ctx, next) {
    const s = startServerSpan(tracer, ctx);
    try {
      await context.with(trace.setSpan(s.parent, s.span), next);
    } catch (err) {
      endServerSpan(s, ctx, err, true);
      throw err;
    }
    endServerSpan(s, ctx, undefined, false);
  };
}
