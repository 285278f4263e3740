import type { Registry } from 'prom-client';
import { LATENCY_BUCKETS_SECONDS } from './buckets.js';
import { cardinalityGuard, DEFAULT_LABEL_SET_LIMIT } from './cardinality.js';
import type { CardinalityGuard } from './cardinality.js';
import { observeWithExemplar, type ExemplarLabels } from './exemplars.js';
import { defaultRegistry, getOrCreateHistogram } from './registry.js';

export const HTTP_SERVER_DURATION = 'http_server_request_duration_seconds';
/** Route label for requests no route matched (404s from scanners, typos): never the raw path. */
export const UNMATCHED_ROUTE = 'unmatched';
/** Method label for anything outside the standard set, as in OTel semantic conventions. */
export const OTHER_METHOD = '_OTHER';

type ServerLabel = 'method' | 'route' | 'status_code';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE']);
const STATUS_STRINGS: string[] = Array.from({ length: 600 }, (_, i) => String(i));

export function normalizeMethod(method: string): string {
  return KNOWN_METHODS.has(method) ? method : OTHER_METHOD;
}

export function statusLabel(status: number): string {
  return STATUS_STRINGS[status] ?? String(status);
}

export interface HttpServerMetricsOptions {
  registry?: Registry;
  /** Distinct {method, route, status_code} sets before folding; default 1000. */
  labelSetLimit?: number;
}

/** Records server request durations: one histogram observation per request, the only per-request metric work. */
export class HttpServerMetrics {
  private readonly histogram;
  private readonly guard: CardinalityGuard<ServerLabel>;

  constructor(opts: HttpServerMetricsOptions = {}) {
    const registry = opts.registry ?? defaultRegistry();
    this.histogram = getOrCreateHistogram<ServerLabel>(
      {
        name: HTTP_SERVER_DURATION,
        help: 'Duration of inbound HTTP requests until the handler chain completed, by route template',
        labelNames: ['method', 'route', 'status_code'],
        buckets: LATENCY_BUCKETS_SECONDS,
        enableExemplars: true,
      },
      registry,
    );
    this.guard = cardinalityGuard<ServerLabel>(HTTP_SERVER_DURATION, ['method', 'route', 'status_code'], opts.labelSetLimit ?? DEFAULT_LABEL_SET_LIMIT, registry);
  }

  /**
   * `route` is the template (`/items/:id`) or {@link UNMATCHED_ROUTE}; never a raw path.
   * `exemplar`: undefined = the active span's, null = none (see observeWithExemplar).
   */
  record(method: string, route: string, status: number, seconds: number, exemplar?: ExemplarLabels | null): void {
    const m = normalizeMethod(method);
    const s = statusLabel(status);
    const labels = this.guard.resolveKey(`${m} ${s} ${route}`, () => ({ method: m, route, status_code: s }));
    observeWithExemplar(this.histogram, labels, seconds, exemplar);
  }
}
