import { performance } from 'node:perf_hooks';
import { SpanStatusCode, TraceFlags, isSpanContextValid, trace } from '@opentelemetry/api';
import type { Span, SpanContext } from '@opentelemetry/api';
import type { Context, Middleware, Next } from 'koa';
import pino, { type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { enableHttpClientMetrics } from '../metrics/http-client.js';
import { HttpServerMetrics, UNMATCHED_ROUTE } from '../metrics/http-server.js';
import { exemplarLabelsOf } from '../metrics/exemplars.js';
import { renderMetrics } from '../metrics/exposition.js';
import { traceMixin } from '../logs/logger.js';
import { defaultRegistry } from '../metrics/registry.js';
import { collectRuntimeMetrics } from '../metrics/runtime.js';
import { toSafeError } from './errors.js';
import { LanternKoaError } from './koa-errors.js';
import { ReadinessChecks } from './readiness.js';
import type { ReadinessCheck } from './readiness.js';

export const LIVENESS_PATH = '/healthz';
export const READINESS_PATH = '/readyz';

export interface KoaObservabilityOptions {
  logger: Logger;
  serviceName: string;
  /** Dependency checks for /readyz. A ReadinessChecks instance may be filled in later. */
  readiness?: ReadinessChecks | Map<string, ReadinessCheck> | Record<string, ReadinessCheck>;
  /** Per-check timeout for /readyz; default 2000 ms. */
  readinessTimeoutMs?: number;
  /** Where Prometheus scrapes; default '/metrics'; false to serve metrics elsewhere (see renderMetrics). */
  metricsPath?: string | false;
  /** Registry served on metricsPath and recorded into; default prom-client's global registry. */
  registry?: Registry;
  /** Distinct {method, route, status_code} label sets before folding into __overflow__; default 1000. */
  routeLabelSetLimit?: number;
  /**
   * Route label for requests @koa/router did not match (its `_matchedRoute`), e.g. for a static
   * file middleware; return undefined for "unmatched". Must return a template, never a raw path.
   */
  routeOf?: (ctx: Context) => string | undefined;
  /** Also set up runtime and outbound HTTP metrics (idempotent); default true. */
  processMetrics?: boolean;
}

export class ObservabilityConfigError extends LanternKoaError {
  readonly key: string;
  constructor(key: string, message: string) {
    super('LANTERN_CONFIG_INVALID', `koaObservability option ${key}: ${message}`);
    this.key = key;
  }
}

const OptionsSchema = z.object({
  serviceName: z.string().min(1),
  readinessTimeoutMs: z.number().int().positive().max(60_000).optional(),
  metricsPath: z.union([z.string().regex(/^\/[^?#\s]*$/, 'must be a path starting with /'), z.literal(false)]).optional(),
  routeLabelSetLimit: z.number().int().positive().optional(),
});

function validate(opts: KoaObservabilityOptions): void {
  const parsed = OptionsSchema.safeParse(opts);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ObservabilityConfigError(issue?.path.join('.') || 'options', issue?.message ?? 'invalid');
  }
  if (typeof opts.logger?.info !== 'function') throw new ObservabilityConfigError('logger', 'must be a pino logger');
}

interface MatchedRouteContext {
  _matchedRoute?: string | RegExp;
}

/**
 * Per-request observability for a Koa service. Put it first, right inside the tracing middleware
 * (Telemetry.koa() does both), so it sees every request and the active span is the server span.
 *
 * - `GET|HEAD /healthz` (always 200), `/readyz` (dependency checks; 200 or 503 naming the failed
 *   ones) and `/metrics` (OpenMetrics with exemplars when Accept asks for it, text 0.0.4
 *   otherwise) are answered here. They are not recorded in the RED histogram and are logged at
 *   debug only: probes and scrapes every few seconds would otherwise drown real traffic.
 * - Every other request: one `http_server_request_duration_seconds{method, route, status_code}`
 *   observation (route template from @koa/router, "unmatched" otherwise) with the trace as
 *   exemplar, and one access-log line (error for 5xx, warn for 4xx, info otherwise).
 * - `x-trace-id` and W3C `traceresponse` response headers when a span is active.
 * - Anything thrown downstream becomes a JSON body `{ error: { code, message }, trace_id }`
 *   (see toSafeError); the exception is recorded on the span, which is marked ERROR for 5xx
 *   (4xx are the client's errors, per OTel semantic conventions for server spans).
 *
 * Duration is measured until the handler chain returns, not until the body is flushed.
 */
export function koaObservability(opts: KoaObservabilityOptions): Middleware {
  const core = createObservability(opts);
  return async function observability(ctx: Context, next: Next): Promise<void> {
    if (core.ownRoute(ctx)) return core.serveOwnRoute(ctx);
    // the active span is read once per request: each lookup walks AsyncLocalStorage
    return core.observe(ctx, next, trace.getActiveSpan());
  };
}

/** What koaObservability does, in parts, so the SDK's server middleware can run it without a frame of its own. */
export interface ObservabilityCore {
  /** True for GET/HEAD of /healthz, /readyz and the metrics path: answered by serveOwnRoute, not recorded. */
  ownRoute(ctx: Context): boolean;
  serveOwnRoute(ctx: Context): Promise<void>;
  /** Runs `next` and records the request (RED histogram, access log, trace headers, safe errors) against `span`. */
  observe(ctx: Context, next: Next, span: Span | undefined): Promise<void>;
}

export function createObservability(opts: KoaObservabilityOptions): ObservabilityCore {
  validate(opts);
  const { logger, serviceName } = opts;
  const registry = opts.registry ?? defaultRegistry();
  const metricsPath = opts.metricsPath === undefined ? '/metrics' : opts.metricsPath;
  const readinessTimeoutMs = opts.readinessTimeoutMs ?? 2000;
  const readiness = opts.readiness instanceof ReadinessChecks ? opts.readiness : new ReadinessChecks(opts.readiness);
  const serverMetrics = new HttpServerMetrics({ registry, labelSetLimit: opts.routeLabelSetLimit });
  const routeOf = opts.routeOf;
  if (opts.processMetrics !== false) {
    collectRuntimeMetrics(registry);
    enableHttpClientMetrics(registry);
  }
  const readinessLog = readinessLogger(logger);
  const accessLogger = accessLoggerOf(logger);

  async function serveOwnRoute(ctx: Context): Promise<void> {
    const path = ctx.path;
    if (path === LIVENESS_PATH) {
      ctx.status = 200;
      ctx.body = { status: 'ok', service: serviceName };
    } else if (path === READINESS_PATH) {
      const report = await readiness.run(readinessTimeoutMs, readinessLog.failed);
      readinessLog.result(report.ready, report.failed);
      ctx.status = report.ready ? 200 : 503;
      ctx.body = { status: report.ready ? 'ready' : 'not_ready', service: serviceName, failed: report.failed, checks: report.checks };
    } else {
      const { contentType, body } = await renderMetrics(ctx.get('accept'), registry);
      ctx.status = 200;
      ctx.type = contentType;
      ctx.body = body;
    }
    ctx.set('cache-control', 'no-store');
    logger.debug({ method: ctx.method, path, status: ctx.status }, 'probe served');
  }

  function ownRoute(ctx: Context): boolean {
    const method = ctx.method;
    if (method !== 'GET' && method !== 'HEAD') return false;
    const path = ctx.path;
    return path === LIVENESS_PATH || path === READINESS_PATH || (metricsPath !== false && path === metricsPath);
  }

  async function observe(ctx: Context, next: Next, span: Span | undefined): Promise<void> {
    const method = ctx.method;
    const start = performance.now();
    const sc = span?.spanContext();
    const traced = sc !== undefined && isSpanContextValid(sc) ? sc : undefined;
    if (traced !== undefined) setTraceHeaders(ctx, traced);

    let failure: unknown;
    try {
      await next();
    } catch (err) {
      failure = err;
      respondWithError(ctx, err, span, traced);
    }

    const durationMs = performance.now() - start;
    const status = ctx.status;
    const matched = (ctx as MatchedRouteContext)._matchedRoute;
    const route = matched !== undefined ? String(matched) : (routeOf?.(ctx) ?? UNMATCHED_ROUTE);
    // null, not undefined: the span was read above; no second AsyncLocalStorage lookup
    serverMetrics.record(method, route, status, durationMs / 1000, exemplarLabelsOf(traced) ?? null);
    // middleware that answers an error itself (no throw) can explain it in ctx.state.error
    failure ??= (ctx.state as { error?: unknown }).error;
    accessLog(status >= 500 ? logger : accessLogger, ctx, { method, route, status, durationMs, failure, traced });
  }

  return { ownRoute, serveOwnRoute, observe };
}

function setTraceHeaders(ctx: Context, sc: SpanContext): void {
  // straight to node's response: koa's ctx.set adds array and type handling these values never need
  ctx.res.setHeader('x-trace-id', sc.traceId);
  // W3C Trace Context Level 2 response header: version-traceid-spanid-flags
  ctx.res.setHeader('traceresponse', `00-${sc.traceId}-${sc.spanId}-${sc.traceFlags & TraceFlags.SAMPLED ? '01' : '00'}`);
}

function respondWithError(ctx: Context, err: unknown, span: Span | undefined, sc: SpanContext | undefined): void {
  const safe = toSafeError(err);
  if (span !== undefined) {
    span.recordException(err instanceof Error ? err : String(err));
    if (safe.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  }
  if (ctx.headerSent || !ctx.writable) {
    // Part of the response is on the wire: the status cannot change. Cut the connection so the
    // client sees a truncated response rather than a complete-looking one.
    ctx.res.destroy();
    return;
  }
  // Like koa's own error handler: headers set by the failed handler must not leak into the error response.
  for (const name of ctx.res.getHeaderNames()) ctx.res.removeHeader(name);
  for (const [name, value] of Object.entries(safe.headers)) ctx.set(name, value);
  if (sc !== undefined) setTraceHeaders(ctx, sc);
  ctx.status = safe.status;
  ctx.body = { error: { code: safe.code, message: safe.message }, trace_id: sc?.traceId ?? null };
}

interface RequestOutcome {
  method: string;
  route: string;
  status: number;
  durationMs: number;
  failure: unknown;
  traced: SpanContext | undefined;
}

function accessLog(logger: Logger, ctx: Context, o: RequestOutcome): void {
  const contentLength = ctx.res.getHeader('content-length');
  const fields: Record<string, unknown> = {
    method: o.method,
    route: o.route,
    // path without the query string: query strings carry tokens and personal data
    path: ctx.path,
    status: o.status,
    duration_ms: Math.round(o.durationMs * 1000) / 1000,
    // known for string, buffer and error bodies; JSON bodies are sized by koa after this point
    bytes: contentLength === undefined ? undefined : Number(contentLength),
    user_agent: ctx.req.headers['user-agent'],
  };
  if (o.status >= 500) {
    // the service's own logger: redaction (the error may carry anything) and the trace mixin
    if (o.failure !== undefined) fields.err = o.failure;
    logger.error(fields, 'request failed');
    return;
  }
  if (o.traced !== undefined) {
    fields.trace_id = o.traced.traceId;
    fields.span_id = o.traced.spanId;
    fields.trace_flags = o.traced.traceFlags;
  }
  if (o.status >= 400) {
    if (o.failure !== undefined) fields.error_message = o.failure instanceof Error ? o.failure.message : String(o.failure);
    logger.warn(fields, 'request completed');
  } else {
    logger.info(fields, 'request completed');
  }
}

/**
 * Logger for 2xx-4xx access lines. They hold only fields built in accessLog (no error objects, no
 * headers but the user agent, the path without its query) and carry the trace ids themselves, so
 * they skip redaction (several times the cost of the rest of the request with wildcard paths) and
 * the trace mixin (a second AsyncLocalStorage lookup): they are the one line every request writes.
 */
function accessLoggerOf(logger: Logger): Logger {
  const access = logger.child({}, { redact: [] });
  // pino has no child option for the mixin; its exported symbol is the supported way to reach it.
  // Only the SDK's own trace mixin is dropped: a logger with a mixin of its own keeps it.
  const slots = access as unknown as Record<symbol, unknown>;
  if (slots[pino.symbols.mixinSym] === traceMixin) slots[pino.symbols.mixinSym] = undefined;
  return access;
}

/** Logs readiness failures on change only: probes run every few seconds during an outage. */
function readinessLogger(logger: Logger) {
  let lastFailed = '';
  return {
    failed(name: string, err: unknown) {
      if (!lastFailed.split(',').includes(name)) logger.warn({ check: name, err }, 'readiness check failed');
    },
    result(ready: boolean, failed: string[]) {
      const now = failed.join(',');
      if (now !== lastFailed && ready) logger.info('ready: all readiness checks pass');
      lastFailed = now;
    },
  };
}
