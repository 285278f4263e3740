import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import pino, { type DestinationStream, type Logger, type StreamEntry } from 'pino';
import { DEFAULT_REDACT_PATHS, REDACTED } from './redact.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** Goes into every line as `service` and is a Loki label. */
  service: string;
  /** Deployment environment: every line's `env`, and a Loki label. */
  env?: string;
  version?: string;
  /** Default 'info'. */
  level?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Extra pino redact paths (e.g. 'user.ssn', '*.iban'), on top of DEFAULT_REDACT_PATHS. */
  redact?: string[];
  /** When set, lines also go to Loki (pino-loki in a worker thread), besides stdout. */
  lokiUrl?: string;
  /** Seconds between Loki pushes (default 2). */
  lokiBatchIntervalSeconds?: number;
  /** Lines kept between pushes at most; the oldest are dropped beyond it (default 10000). */
  lokiMaxBufferSize?: number;
  /** Where JSON lines go instead of stdout (tests). */
  destination?: DestinationStream;
}

/** Adds the active span's ids to each line: cheaper and sturdier than instrumentation-pino's patching. */
export function traceMixin(): object {
  // a fresh object each time: pino's default merge strategy assigns the call's fields into it
  const span = trace.getSpan(context.active());
  if (span === undefined) return {};
  const sc = span.spanContext();
  if (!isSpanContextValid(sc)) return {};
  return { trace_id: sc.traceId, span_id: sc.spanId, trace_flags: sc.traceFlags };
}

// pino-loki maps levels through levelMap; our lines carry level labels, not numbers
const LOKI_LEVELS = { trace: 'debug', debug: 'debug', info: 'info', warn: 'warning', error: 'error', fatal: 'critical' };

const closers = new WeakMap<Logger, () => Promise<void>>();

/** Credentials in LOKI_URL (http://user:token@host:3100) become basic auth, so the URL sent and logged has none. */
export function lokiEndpoint(lokiUrl: string): { host: string; basicAuth?: { username: string; password: string } } {
  const url = new URL(lokiUrl);
  if (!url.username && !url.password) return { host: lokiUrl };
  const basicAuth = { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  url.username = '';
  url.password = '';
  return { host: url.toString().replace(/\/$/, ''), basicAuth };
}

function lokiStream(opts: LoggerOptions, lokiUrl: string): DestinationStream & NodeJS.EventEmitter {
  return pino.transport({
    target: fileURLToPath(new URL('./loki-target.mjs', import.meta.url)),
    options: {
      ...lokiEndpoint(lokiUrl),
      // only bounded labels: never put ids or user data here (each value is a new Loki stream)
      labels: { service: opts.service, env: opts.env ?? 'development' },
      levelMap: LOKI_LEVELS,
      structuredMetaKey: 'meta',
      batching: { interval: opts.lokiBatchIntervalSeconds ?? 2, maxBufferSize: opts.lokiMaxBufferSize ?? 10_000 },
      // below thread-stream's 10 s limit on end(), so a dead Loki costs one logged error, not a crash
      timeout: 5_000,
    },
  }) as DestinationStream & NodeJS.EventEmitter;
}

const STDOUT_BUFFER_BYTES = 4096;
const STDOUT_FLUSH_MS = 500;

function bufferedStdout(): DestinationStream {
  const dest = pino.destination({ dest: 1, sync: false, minLength: STDOUT_BUFFER_BYTES });
  // a quiet service must still show its lines promptly; unref: the timer alone keeps no process alive
  const timer = setInterval(() => {
    try {
      dest.flush();
    } catch {
      clearInterval(timer); // destroyed (closed at shutdown): nothing left to flush
    }
  }, STDOUT_FLUSH_MS);
  timer.unref();
  dest.on('close', () => clearInterval(timer));
  return dest;
}

/**
 * JSON logger: one line per call to stdout (always), and to Loki when `lokiUrl` is set.
 * Every line inside a span carries trace_id/span_id; secrets are redacted to "[REDACTED]".
 */
export function createLogger(opts: LoggerOptions): Logger {
  // Buffered asynchronous stdout: lines collect until STDOUT_BUFFER_BYTES (or STDOUT_FLUSH_MS passes)
  // and go out in one write(2). The access log is one line per request, and a write per line was a
  // measurable share of the SDK's cost per request (sdk-overhead bench). pino flushes synchronously on
  // process exit (a crash included), closeLogger() flushes at shutdown; only a SIGKILL can lose the
  // last few kB.
  const stdout = opts.destination ?? bufferedStdout();
  const loki = opts.lokiUrl ? lokiStream(opts, opts.lokiUrl) : undefined;
  const streams: StreamEntry[] = [{ stream: stdout, level: 'trace' }];
  if (loki) streams.push({ stream: loki, level: 'trace' });
  const logger = pino(
    {
      level: opts.level ?? 'info',
      base: { service: opts.service, env: opts.env ?? 'development', version: opts.version ?? '0.0.0' },
      formatters: { level: (label) => ({ level: label }) },
      mixin: traceMixin,
      redact: { paths: [...DEFAULT_REDACT_PATHS, ...(opts.redact ?? [])], censor: REDACTED },
    },
    loki ? pino.multistream(streams) : stdout,
  );
  closers.set(logger, async () => {
    if (!opts.destination) (stdout as unknown as { flushSync?: () => void }).flushSync?.();
    if (!loki) return;
    const closed = once(loki, 'close');
    // ending the transport makes pino-loki push what it still buffers before the worker exits.
    // NB thread-stream's end() blocks this thread until the worker is done (at most ~5 s here).
    (loki as unknown as NodeJS.WritableStream).end();
    await closed;
  });
  return logger;
}

/** Flushes a logger made by createLogger(): pending Loki batches are pushed. Call once, at shutdown. */
export async function closeLogger(logger: Logger): Promise<void> {
  const close = closers.get(logger);
  closers.delete(logger);
  logger.flush();
  await close?.();
}
