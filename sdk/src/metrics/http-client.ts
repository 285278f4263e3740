import diagnosticsChannel from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Histogram, Registry } from 'prom-client';
import { LATENCY_BUCKETS_SECONDS } from './buckets.js';
import { cardinalityGuard } from './cardinality.js';
import type { CardinalityGuard } from './cardinality.js';
import { activeExemplarLabels, observeWithExemplar } from './exemplars.js';
import type { ExemplarLabels } from './exemplars.js';
import { normalizeMethod, statusLabel } from './http-server.js';
import { defaultRegistry, getOrCreateHistogram } from './registry.js';

export const HTTP_CLIENT_DURATION = 'http_client_request_duration_seconds';
/** status_code value for requests that got no response (connection refused, reset, timeout). */
export const CLIENT_ERROR_STATUS = 'error';

type ClientLabel = 'method' | 'host' | 'status_code';

interface Pending {
  start: number;
  method: string;
  host: string;
  exemplar: ExemplarLabels | null;
}

interface UndiciRequest {
  origin?: string | URL;
  method?: string;
}

/** Channels are process-global, so is the subscription: a second copy of the SDK must not double count. */
const SUBSCRIBED = Symbol.for('lantern.sdk.httpClientMetrics');

/**
 * Records `http_client_request_duration_seconds{method, host, status_code}` for every outbound
 * request made with node:http/https (also what most HTTP libraries use) and with fetch/undici,
 * from Node's diagnostics channels. It needs no tracing, so it counts all requests whatever the
 * sampling decision. Duration is until the response headers arrive: the body may be streamed for
 * any length of time or never read. `host` is the URL's host (name and port), never the path.
 * Idempotent; only the first call's registry is used.
 */
export function enableHttpClientMetrics(registry: Registry = defaultRegistry()): void {
  const g = globalThis as unknown as Record<symbol, boolean | undefined>;
  if (g[SUBSCRIBED]) return;
  g[SUBSCRIBED] = true;

  const histogram = getOrCreateHistogram<ClientLabel>(
    {
      name: HTTP_CLIENT_DURATION,
      help: 'Duration of outbound HTTP requests until response headers (status_code error: no response)',
      labelNames: ['method', 'host', 'status_code'],
      buckets: LATENCY_BUCKETS_SECONDS,
      enableExemplars: true,
    },
    registry,
  );
  const guard = cardinalityGuard<ClientLabel>(HTTP_CLIENT_DURATION, ['method', 'host', 'status_code'], undefined, registry);
  const pending = new WeakMap<object, Pending>();

  // The start events run synchronously in the caller, so the active span is the caller's.
  const begin = (request: object, method: string | undefined, host: string) => {
    pending.set(request, { start: performance.now(), method: normalizeMethod(method ?? 'GET'), host, exemplar: activeExemplarLabels() ?? null });
  };
  const end = (request: object, status: string) => {
    const p = pending.get(request);
    if (p === undefined) return; // already recorded (error after headers) or started before we subscribed
    pending.delete(request);
    record(histogram, guard, p, status);
  };

  diagnosticsChannel.subscribe('undici:request:create', (msg) => {
    const { request } = msg as { request: UndiciRequest };
    begin(request, request.method, hostOfOrigin(request.origin));
  });
  diagnosticsChannel.subscribe('undici:request:headers', (msg) => {
    const { request, response } = msg as { request: object; response: { statusCode: number } };
    end(request, statusLabel(response.statusCode));
  });
  diagnosticsChannel.subscribe('undici:request:error', (msg) => end((msg as { request: object }).request, CLIENT_ERROR_STATUS));

  diagnosticsChannel.subscribe('http.client.request.start', (msg) => {
    const { request } = msg as { request: ClientRequest };
    const hostHeader = request.getHeader('host');
    begin(request, request.method, typeof hostHeader === 'string' ? hostHeader : request.host);
  });
  diagnosticsChannel.subscribe('http.client.response.finish', (msg) => {
    const { request, response } = msg as { request: ClientRequest; response: IncomingMessage };
    end(request, statusLabel(response.statusCode ?? 0));
  });
  diagnosticsChannel.subscribe('http.client.request.error', (msg) => end((msg as { request: object }).request, CLIENT_ERROR_STATUS));
}

function record(histogram: Histogram<ClientLabel>, guard: CardinalityGuard<ClientLabel>, p: Pending, status: string): void {
  const labels = guard.resolveKey(`${p.method} ${status} ${p.host}`, () => ({ method: p.method, host: p.host, status_code: status }));
  observeWithExemplar(histogram, labels, (performance.now() - p.start) / 1000, p.exemplar);
}

function hostOfOrigin(origin: string | URL | undefined): string {
  if (origin === undefined) return 'unknown';
  if (typeof origin !== 'string') return origin.host;
  const i = origin.indexOf('//');
  const rest = i === -1 ? origin : origin.slice(i + 2);
  const slash = rest.indexOf('/');
  return slash === -1 ? rest : rest.slice(0, slash);
}
