import type http from 'node:http';
import type Koa from 'koa';

type LogFn = (obj: unknown, msg?: string) => void;

/** The slice of a pino logger the shop layer uses. */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

/**
 * The slice of @lantern/sdk's Telemetry the shop layer needs. Structural, so the SDK's object
 * fits as-is and tests can hand in a minimal one.
 */
export interface ServiceTelemetry {
  serviceName: string;
  logger: Logger;
  /** Server span, access log, RED metrics, x-trace-id, safe 500 body, /healthz /readyz /metrics. */
  koa(): Koa.Middleware;
  onShutdown(name: string, fn: () => Promise<void> | void): void;
  addServer(server: http.Server): void;
  addReadinessCheck(name: string, fn: () => Promise<unknown> | unknown): void;
}
