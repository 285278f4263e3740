import { diag, DiagLogLevel, trace, type Tracer } from '@opentelemetry/api';
import type { Server } from 'node:http';
import { register } from 'node:module';
import type { Middleware } from 'koa';
import { resolveConfig, type Config, type StartOptions } from './config.js';
import { StartError } from './errors.js';
import type * as KoaIndex from './koa/index.js';
import type { ReadinessChecks } from './koa/readiness.js';
import { closeLogger, createLogger, type Logger } from './logs/logger.js';
import { Shutdown, type ShutdownHook, type ShutdownResult } from './shutdown.js';
import { startTracing } from './tracing/provider.js';

export type { StartOptions, SamplerName, OtlpProtocol, LogLevel } from './config.js';
export type { ShutdownHook, ShutdownResult } from './shutdown.js';
export { ConfigError, LanternError, StartError } from './errors.js';
export { koaTracing } from './koa/tracing.js';

/** The running SDK: what start() and getTelemetry() return. */
export interface Telemetry {
  readonly serviceName: string;
  /** pino logger: JSON to stdout (+ Loki when LOKI_URL is set), trace ids on every line inside a span. */
  readonly logger: Logger;
  /** Tracer named after the service, for manual spans. */
  readonly tracer: Tracer;
  /**
   * Koa middleware to app.use() first, before the router: koaServer, i.e. a SERVER span per request
   * named by route template and koaObservability's RED metrics, access log and safe errors in one
   * middleware; /healthz /readyz /metrics are answered before any span is made.
   */
  koa(): Middleware;
  /** Runs at shutdown after servers are closed, in registration order (drain consumers, close pools). */
  onShutdown(name: string, fn: ShutdownHook): void;
  /** Closed first at shutdown: stops accepting and waits for in-flight requests. */
  addServer(server: Server): void;
  /** A dependency check for /readyz: not ready while it throws or rejects (and once shutdown began). */
  addReadinessCheck(name: string, fn: () => Promise<unknown> | unknown): void;
  /** The graceful sequence without exiting the process (signals do the same, then exit). */
  shutdown(): Promise<ShutdownResult>;
}

const HOOK_FLAG = Symbol.for('lantern.sdk.esmHookRegistered');

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

type KoaModule = typeof KoaIndex;

/**
 * OpenTelemetry reports dropped spans (a full batch queue) and failed exports only through its
 * diagnostic logger, which is silent by default. Route warnings and errors into the service's log,
 * so a span that is lost is at least a log line someone can alert on.
 */
function routeOtelDiagnostics(logger: Telemetry['logger']): void {
  const log = (level: 'warn' | 'error') => (message: string, ...args: unknown[]) =>
    logger[level]({ component: 'opentelemetry', details: args.map((a) => (a instanceof Error ? a.message : a)) }, message);
  diag.setLogger(
    { error: log('error'), warn: log('warn'), info: () => undefined, debug: () => undefined, verbose: () => undefined },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
}

/** Synchronous part of start-up: after it, getTelemetry() works (the CJS preload cannot await). */
function create(config: Config): { telemetry: Telemetry; ready: Promise<void> } {
  ensureEsmHook();
  const tracing = startTracing(config);
  // loaded after the instrumentations are registered: it pulls in node:http and prom-client
  let koaModule: KoaModule | undefined;
  const ready = import('./koa/index.js').then((m) => {
    koaModule = m;
  });
  const logger = createLogger({
    service: config.serviceName,
    env: config.environment,
    version: config.serviceVersion,
    level: config.logLevel,
    redact: config.redact,
    lokiUrl: config.lokiUrl,
  });
  routeOtelDiagnostics(logger);
  const shutdown = new Shutdown({
    timeoutMs: config.shutdownTimeoutMs,
    logger,
    // logs last, so failures of the earlier steps still reach Loki
    flush: [
      { name: 'flush spans', fn: () => tracing.shutdown() },
      { name: 'flush logs', fn: () => closeLogger(logger) },
    ],
  });
  if (config.handleSignals) shutdown.installSignalHandlers();
  let checks: ReadinessChecks | undefined;
  const pendingChecks: [string, () => Promise<unknown>][] = [];
  void ready.then(() => {
    if (!koaModule) return;
    const { ReadinessChecks: Checks, DependencyDownError } = koaModule;
    checks = new Checks(pendingChecks);
    checks.add('shutdown', async () => {
      if (shutdown.started) throw new DependencyDownError('shutting down');
    });
  }, () => {
    // the same failure rejects start()'s promise; nothing to add here
  });
  let middleware: Middleware | undefined;

  const telemetry: Telemetry = {
    serviceName: config.serviceName,
    logger,
    tracer: trace.getTracer(config.serviceName, config.serviceVersion),
    koa() {
      if (!koaModule || !checks) throw new StartError('telemetry.koa() called before start() finished: await start() first');
      const { koaObservability, koaServer } = koaModule;
      const options = { logger, serviceName: config.serviceName, readiness: checks };
      // built once: the observability middleware registers metrics and runtime collectors.
      // httpServerSpans 'instrumentation': instrumentation-http/-koa already make the server span
      middleware ??= config.httpServerSpans === 'koa' ? koaServer(options) : koaObservability(options);
      return middleware;
    },
    onShutdown: (name, fn) => shutdown.onShutdown(name, fn),
    addServer: (server) => shutdown.addServer(server),
    addReadinessCheck(name, fn) {
      const check = async () => fn();
      if (checks) checks.add(name, check);
      else pendingChecks.push([name, check]);
    },
    shutdown: () => shutdown.run('shutdown()'),
  };
  return { telemetry, ready };
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
  if (current) return current;
  let created: ReturnType<typeof create>;
  try {
    created = create(resolveConfig(options));
  } catch (err) {
    return Promise.reject(err);
  }
  started = created.telemetry;
  current = created.ready.then(() => created.telemetry);
  return current;
}

/** The instance started by start() or the preload. Throws StartError if the SDK was not started. */
export function getTelemetry(): Telemetry {
  if (!started) {
    throw new StartError('@lantern/sdk is not started: run with --import @lantern/sdk/register or await start() first');
  }
  return started;
}
