import { context, trace } from '@opentelemetry/api';
import type { Middleware } from 'koa';
import { createObservability, type KoaObservabilityOptions } from './observability.js';
import { KOA_TRACING_SCOPE, endServerSpan, startServerSpan } from './tracing.js';

/**
 * koaTracing() and koaObservability() as one middleware, what Telemetry.koa() installs: the span is
 * handed to the observability part directly (no AsyncLocalStorage lookup, no second async frame or
 * closure per request), and probes and scrapes (/healthz, /readyz, /metrics) are answered before
 * any span is made: they are not traffic, and at one scrape a second they were most of an idle
 * service's spans.
 */
export function koaServer(opts: KoaObservabilityOptions): Middleware {
  const core = createObservability(opts);
  const tracer = trace.getTracer(KOA_TRACING_SCOPE);
  return async function lanternKoa(ctx, next) {
    if (core.ownRoute(ctx)) return core.serveOwnRoute(ctx);
    const s = startServerSpan(tracer, ctx);
    try {
      await context.with(trace.setSpan(s.parent, s.span), core.observe, undefined, ctx, next, s.span);
    } catch (err) {
      endServerSpan(s, ctx, err, true);
      throw err;
    }
    endServerSpan(s, ctx, undefined, false);
  };
}
