import { trace, type Tracer } from '@opentelemetry/api';
import type { Server } from 'node:http';
import { register } from 'node:module';
import type { Middleware } from 'koa';
import { resolveConfig, type Config, type StartOptions } from './config.js';
import { StartError } from './errors.js';
import { koaTracing } from './koa/tracing.js';
import { closeLogger, createLogger, type Logger } from './logs/logger.js';
import { Shutdown, type ShutdownHook, type ShutdownResult } from './shutdown.js';
import { startTracing } from './tracing/provider.js';

export type { StartOptions, SamplerName, OtlpProtocol, LogLevel } from './config.js';
export type { ShutdownHook, ShutdownResult } from './shutdown.js';
export { ConfigError, LanternError, StartError } from './errors.js';
export { koaTracing } from './koa/tracing.js';

export type ReadinessCheck = () => Promise<unknown> | unknown;

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, { ok: boolean; error?: string }>;
}

/** The running SDK: what start() and getTelemetry() return. */
export interface Telemetry {
  readonly serviceName: string;
  /** pino logger: JSON to stdout (+ Loki when LOKI_URL is set), trace ids on every line inside a span. */
  readonly logger: Logger;
  /** Tracer named after the service, for manual spans. */
  readonly tracer: Tracer;
  /** Koa middleware to app.use() first, before the router: SERVER span per request named by route template. */
  koa(): Middleware;
  /** Runs at shutdown after servers are closed, in registration order (drain consumers, close pools). */
  onShutdown(name: string, fn: ShutdownHook): void;
  /** Closed first at shutdown: stops accepting and waits for in-flight requests. */
  addServer(server: Server): void;
  /** A dependency check; readiness() fails while any check throws or rejects. */
  addReadinessCheck(name: string, fn: ReadinessCheck): void;
  /** Runs every check (2 s each); not ready once shutdown has begun. */
  readiness(): Promise<ReadinessReport>;
  /** The graceful sequence without exiting the process (signals do the same, then exit). */
  shutdown(): Promise<ShutdownResult>;
}

const HOOK_FLAG = Symbol.for('lantern.sdk.esmHookRegistered');
const CHECK_TIMEOUT_MS = 2_000;

let current: Promise<Telemetry> | undefined;
let started: Telemetry | undefined;

/**
 * ESM modules are only patched if import-in-the-middle's loader hook is registered before they are
 * first imported. register.mjs does it before loading the SDK; this covers programmatic start().
 */
function ensureEsmHook(): void {
  const g = globalThis as Record<symbol, unknown>;
  if (g[HOOK_FLAG]) return;
  g[HOOK_FLAG] = true;
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
}

async function runCheck(fn: ReadinessCheck): Promise<{ ok: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(fn),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

function create(config: Config): Telemetry {
  ensureEsmHook();
  const tracing = startTracing(config);
  const logger = createLogger({
    service: config.serviceName,
    env: config.environment,
    version: config.serviceVersion,
    level: config.logLevel,
    redact: config.redact,
    lokiUrl: config.lokiUrl,
  });
  const shutdown = new Shutdown({
    timeoutMs: config.shutdownTimeoutMs,
    logger,
    flush: async () => {
      await tracing.shutdown();
      await closeLogger(logger);
    },
  });
  if (config.handleSignals) shutdown.installSignalHandlers();
  const checks = new Map<string, ReadinessCheck>();

  return {
    serviceName: config.serviceName,
    logger,
    tracer: trace.getTracer(config.serviceName, config.serviceVersion),
    koa() {
      // httpServerSpans 'instrumentation': instrumentation-http/-koa already make the server span
      // TODO(lead): compose with koaObservability() from ./koa/index.js (RED metrics, access log, /readyz
      // fed by readiness()) once it is exported; tracing must stay the outermost middleware.
      return config.httpServerSpans === 'koa' ? koaTracing() : (_ctx, next) => next();
    },
    onShutdown: (name, fn) => shutdown.onShutdown(name, fn),
    addServer: (server) => shutdown.addServer(server),
    addReadinessCheck(name, fn) {
      checks.set(name, fn);
    },
    async readiness() {
      const entries = await Promise.all([...checks].map(async ([name, fn]) => [name, await runCheck(fn)] as const));
      const report: ReadinessReport = { ready: true, checks: Object.fromEntries(entries) };
      if (shutdown.started) report.checks.shutdown = { ok: false, error: 'shutting down' };
      report.ready = Object.values(report.checks).every((c) => c.ok);
      return report;
    },
    shutdown: () => shutdown.run('shutdown()'),
  };
}

/**
 * Starts tracing, logging and graceful shutdown, once per process; later calls return the same
 * instance (their options are ignored). Options default from the environment (see StartOptions).
 * Throws ConfigError naming the variable when a value is invalid.
 *
 * Prefer the preload (`node --import tsx --import @lantern/sdk/register src/main.ts`): modules
 * imported before start() are not instrumented, so with a programmatic start() import the app
 * dynamically afterwards.
 */
export function start(options: StartOptions = {}): Promise<Telemetry> {
  current ??= (async () => {
    const telemetry = create(resolveConfig(options));
    started = telemetry;
    return telemetry;
  })().catch((err: unknown) => {
    current = undefined;
    throw err;
  });
  return current;
}

/** The instance started by start() or the preload. Throws StartError if the SDK was not started. */
export function getTelemetry(): Telemetry {
  if (!started) {
    throw new StartError('@lantern/sdk is not started: run with --import @lantern/sdk/register or await start() first');
  }
  return started;
}
