// @lantern/shop-common/testing: a stand-in for the SDK's telemetry, for the shop services' own tests.
// Kept out of the main entry point so production code cannot pick it up by accident.
import type http from 'node:http';
import type Koa from 'koa';
import { context, trace, TraceFlags } from '@opentelemetry/api';
import type { ServiceTelemetry } from './telemetry.js';

export interface TestTelemetry extends ServiceTelemetry {
  /** Unexpected errors the app let through (each answered with a safe 500). */
  errors: unknown[];
  /** Messages logged at warn level. */
  warnings: string[];
  servers: http.Server[];
  shutdownHooks: string[];
}

export interface TestTelemetryOptions {
  /** Makes a span with this trace id active for every request, as the SDK's server span would be. */
  traceId?: string;
}

/**
 * No exporters and no global OpenTelemetry state: the app's unexpected errors become a bare 500 (as the
 * SDK answers them) and are kept for the test to look at.
 */
export function createTestTelemetry(serviceName: string, opts: TestTelemetryOptions = {}): TestTelemetry {
  const noop = () => undefined;
  const errors: unknown[] = [];
  const warnings: string[] = [];
  const servers: http.Server[] = [];
  const shutdownHooks: string[] = [];
  const traceId = opts.traceId;
  const safe500 = async (ctx: Koa.Context, next: Koa.Next) => {
    try {
      await next();
    } catch (err) {
      errors.push(err);
      ctx.status = 500;
      ctx.body = { error: { code: 'internal', message: 'internal error' }, ...(traceId ? { trace_id: traceId } : {}) };
    }
  };
  return {
    serviceName,
    logger: { debug: noop, info: noop, warn: (_obj: unknown, msg?: string) => void warnings.push(msg ?? ''), error: noop },
    errors,
    warnings,
    servers,
    shutdownHooks,
    koa(): Koa.Middleware {
      if (!traceId) return safe500;
      return (ctx, next) => {
        const span = trace.wrapSpanContext({ traceId, spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED });
        return context.with(trace.setSpan(context.active(), span), () => safe500(ctx, next));
      };
    },
    onShutdown: (name) => void shutdownHooks.push(name),
    addServer: (server) => void servers.push(server),
    addReadinessCheck: noop,
  };
}
