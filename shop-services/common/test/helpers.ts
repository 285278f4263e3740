import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import { context, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { ServiceTelemetry } from '../src/index.js';

export const SECRET = 'test-internal-secret-0123456789-abcdef';

let contextReady = false;
/** A real context manager, so currentTraceId() and propagation see the active span as in production. */
export function enableContext(): void {
  if (contextReady) return;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  contextReady = true;
}

export const TEST_TRACE_ID = '0af7651916cd43dd8448eb211c80319c';

/**
 * Stand-in for @lantern/sdk's Telemetry (not yet committed): makes a span context active for the
 * request, like the SDK's server span, and answers unexpected errors with a safe 500.
 */
export function testTelemetry(serviceName: string): ServiceTelemetry & { servers: http.Server[]; shutdownHooks: string[] } {
  enableContext();
  const servers: http.Server[] = [];
  const shutdownHooks: string[] = [];
  const noop = () => undefined;
  return {
    serviceName,
    logger: { debug: noop, info: noop, warn: noop, error: noop },
    servers,
    shutdownHooks,
    koa(): Koa.Middleware {
      return async (ctx, next) => {
        const span = trace.wrapSpanContext({ traceId: TEST_TRACE_ID, spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED });
        await context.with(trace.setSpan(context.active(), span), async () => {
          try {
            await next();
          } catch {
            ctx.status = 500;
            ctx.body = { error: { code: 'internal', message: 'internal error' }, trace_id: TEST_TRACE_ID };
          }
        });
      };
    },
    onShutdown: (name) => void shutdownHooks.push(name),
    addServer: (s) => void servers.push(s),
    addReadinessCheck: noop,
  };
}

export function baseUrl(server: http.Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
