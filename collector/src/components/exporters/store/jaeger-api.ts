// Jaeger v2.20's query API (/api/*) and the /api/v3 routes newer Jaeger UIs call, over the trace store.
// Shapes, defaults and error texts follow jaeger cmd/jaeger/internal/extension/jaegerquery (http_handler.go,
// query_parser.go) and the memory store's search semantics; see shared/notes/compat-apis.md §1–2.
import { ParamError, parseGoBool, parseGoDuration, parseGoInt, parsePathTraceId, parseTagsJson, parseTraceId } from './go-parse.js';
import { goHttpError, jsonReply, type Reply } from './http-util.js';
import { toJaegerTrace } from './jaeger-model.js';
import type { StoredTrace, TraceQuery, TraceStore } from './store.js';
import { jaegerTraceId } from './values.js';

const DEFAULT_LIMIT = 100;
const SEARCH_LOOKBACK_US = 48 * 3600 * 1e6;
const DEPENDENCY_LOOKBACK_MS = 24 * 3600 * 1000;

interface StructuredError {
  code?: number;
  msg: string;
  traceID?: string;
}

function envelope(data: unknown, total: number, errors: StructuredError[] | null, pretty: boolean): Reply {
  return jsonReply({ data, total, limit: 0, offset: 0, errors }, 200, pretty);
}

export function apiError(status: number, msg: string): Reply {
  return goHttpError(status, JSON.stringify({ data: null, total: 0, limit: 0, offset: 0, errors: [{ code: status, msg }] }));
}

const isPretty = (p: URLSearchParams) => {
  const v = p.get('prettyPrint') ?? '';
  return v !== '' && v !== 'false';
};

/** parseTime: integer `units` since the epoch; empty → the default. */
function timeParam(p: URLSearchParams, name: string, fallback: number): number {
  const v = p.get(name) ?? '';
  if (v === '') return fallback;
  try {
    return parseGoInt(v);
  } catch (err) {
    throw new ParamError(`unable to parse param '${name}': ${(err as Error).message}`);
  }
}

function durationParam(p: URLSearchParams, name: string): number {
  const v = p.get(name) ?? '';
  if (v === '') return 0;
  try {
    return parseGoDuration(v);
  } catch (err) {
    throw new ParamError(`unable to parse param '${name}': ${(err as Error).message}`);
  }
}

function tagsParams(p: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of p.getAll('tag')) {
    const parts = tag.split(':');
    if (parts.length <= 1) throw new ParamError(`malformed 'tag' parameter, expecting key:value, received: ${tag}`);
    out[parts[0]!] = parts.slice(1).join(':');
  }
  for (const json of p.getAll('tags')) {
    try {
      Object.assign(out, parseTagsJson(json));
    } catch (err) {
      throw new ParamError(`malformed 'tags' parameter, cannot unmarshal JSON: ${(err as Error).message}`);
    }
  }
  return out;
}

interface SearchParams {
  query: TraceQuery;
  traceIds: string[];
}

/** parseTraceQueryParams + validateQuery, in Jaeger's order (so the first bad parameter is the one named). */
export function parseSearch(p: URLSearchParams, nowUs: number, maxTraces: number): SearchParams {
  const service = p.get('service') ?? '';
  const operation = p.get('operation') ?? '';
  const start = timeParam(p, 'start', nowUs - SEARCH_LOOKBACK_US);
  const end = timeParam(p, 'end', nowUs);
  const tags = tagsParams(p);
  const limitText = p.get('limit') ?? '';
  const limit = limitText === '' ? DEFAULT_LIMIT : parseGoInt(limitText, 32);
  const minNs = durationParam(p, 'minDuration');
  const maxNs = durationParam(p, 'maxDuration');
  const traceIds = p.getAll('traceID').map((id) => {
    try {
      return parseTraceId(id);
    } catch (err) {
      throw new ParamError(`cannot parse traceID param: ${(err as Error).message}`);
    }
  });
  checkRawParam(p);
  if (traceIds.length === 0 && service === '') throw new ParamError("parameter 'service' is required");
  if (limit <= 0) throw new ParamError('invalid parameter: limit must be greater than 0');
  if (start > end) throw new ParamError('invalid parameter: start time must be before end time');
  if (minNs !== 0 && maxNs !== 0 && maxNs < minNs) throw new ParamError("'maxDuration' should be greater than 'minDuration'");
  return {
    traceIds,
    query: {
      service,
      operation,
      startMinUs: start,
      startMaxUs: end,
      durationMinUs: minNs / 1000,
      durationMaxUs: maxNs / 1000,
      tags,
      limit: Math.min(limit, maxTraces),
    },
  };
}

export class JaegerApi {
  constructor(
    private readonly store: TraceStore,
    private readonly maxTraces: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Answers a /api/… request, or undefined when the path is not one of ours. */
  handle(method: string, segments: string[], p: URLSearchParams): Reply | undefined {
    try {
      return this.route(method, segments, p);
    } catch (err) {
      if (err instanceof ParamError) return segments[1] === 'v3' ? v3Error(400, err.message) : apiError(400, err.message);
      throw err;
    }
  }

  private route(method: string, seg: string[], p: URLSearchParams): Reply | undefined {
    const pretty = isPretty(p);
    const [, a, b, c, ...rest] = seg;
    if (rest.length > 0) return undefined;
    if (method === 'POST' && a === 'archive' && b !== undefined && c === undefined) return this.archive(b);
    if (method !== 'GET' && method !== 'HEAD') return undefined;
    if (a === 'services' && b === undefined) return this.services(pretty);
    if (a === 'services' && b !== undefined && c === 'operations') return this.operationsLegacy(queryUnescape(b), pretty);
    if (a === 'operations' && b === undefined) return this.operations(p, pretty);
    if (a === 'traces' && b === undefined) return this.search(p, pretty);
    if (a === 'traces' && b !== undefined && c === undefined) return this.trace(b, p, pretty);
    if (a === 'dependencies' && b === undefined) return this.dependencies(p, pretty);
    if (a === 'v3' && c === undefined) {
      if (b === 'services') return jsonReply({ services: this.store.services() });
      if (b === 'operations') return this.v3Operations(p);
      if (b === 'trace-summaries') return this.v3Summaries(p);
    }
    return undefined;
  }

  private services(pretty: boolean): Reply {
    const services = this.store.services();
    return envelope(services, services.length, null, pretty);
  }

  /** Unique names; null (not []) when the service has none, as Jaeger's nil slice marshals. */
  private operationsLegacy(service: string, pretty: boolean): Reply {
    const names = [...new Set(this.store.operationsOf(service).map((o) => o.name))];
    return envelope(names.length ? names : null, names.length, null, pretty);
  }

  private operations(p: URLSearchParams, pretty: boolean): Reply {
    const service = p.get('service') ?? '';
    if (service === '') throw new ParamError("parameter 'service' is required");
    const ops = this.store.operationsOf(service, p.get('spanKind') ?? '');
    return envelope(ops, ops.length, null, pretty);
  }

  private search(p: URLSearchParams, pretty: boolean): Reply {
    const { query, traceIds } = parseSearch(p, this.now() * 1000, this.maxTraces);
    if (traceIds.length > 0) {
      const found: StoredTrace[] = [];
      const errors: StructuredError[] = [];
      for (const id of traceIds) {
        const t = this.store.get(id);
        if (t) found.push(t);
        else errors.push({ msg: 'trace not found', traceID: jaegerTraceId(id) });
      }
      return envelope(found.map(toJaegerTrace), 0, errors.length ? errors : null, pretty);
    }
    return envelope(this.store.find(query).map(toJaegerTrace), 0, null, pretty);
  }

  private trace(rawId: string, p: URLSearchParams, pretty: boolean): Reply {
    let id: string;
    try {
      id = parsePathTraceId(queryUnescape(rawId));
    } catch (err) {
      return apiError(400, (err as Error).message);
    }
    // start/end are only hints (Grafana even sends ms), but must be integers as in Jaeger
    for (const name of ['start', 'end']) if (p.get(name)) timeParam(p, name, 0);
    checkRawParam(p);
    const t = this.store.get(id);
    if (!t) return apiError(404, 'trace not found');
    return envelope([toJaegerTrace(t)], 0, null, pretty);
  }

  private archive(rawId: string): Reply {
    let id: string;
    try {
      id = parsePathTraceId(queryUnescape(rawId));
    } catch (err) {
      return apiError(400, (err as Error).message);
    }
    if (!this.store.get(id)) return apiError(404, 'trace not found');
    // the store is the archive: nothing to copy
    return envelope([], 0, [], false);
  }

  private dependencies(p: URLSearchParams, pretty: boolean): Reply {
    const endTs = timeParam(p, 'endTs', this.now());
    const lookbackText = p.get('lookback') ?? '';
    let lookback = DEPENDENCY_LOOKBACK_MS;
    if (lookbackText !== '') {
      try {
        lookback = parseGoInt(lookbackText);
      } catch (err) {
        throw new ParamError(`unable to parse param 'lookback': ${(err as Error).message}`);
      }
    }
    if (lookback < 0) throw new ParamError('end time must be greater than start time');
    const service = p.get('service') ?? '';
    const links = this.store
      .dependencies((endTs - lookback) * 1000, endTs * 1000)
      .filter((d) => service === '' || d.parent === service || d.child === service);
    return envelope(links, 0, null, pretty);
  }

  private v3Operations(p: URLSearchParams): Reply {
    const service = p.get('service') ?? '';
    const ops = this.store.operationsOf(service, p.get('spanKind') ?? '').map((o) => ({ name: o.name, spanKind: o.spanKind || 'internal' }));
    return jsonReply({ operations: ops });
  }

  private v3Summaries(p: URLSearchParams): Reply {
    const min = rfc3339Param(p, 'query.startTimeMin');
    const max = rfc3339Param(p, 'query.startTimeMax');
    if (min >= max) throw new ParamError('query.startTimeMin must be before query.startTimeMax');
    const depthText = p.get('query.searchDepth') ?? '';
    const depth = depthText === '' ? DEFAULT_LIMIT : parseGoInt(depthText, 32);
    if (depth <= 0) throw new ParamError('query.searchDepth must be greater than 0');
    const dur = (name: string) => {
      const v = p.get(name) ?? '';
      return v === '' ? 0 : parseGoDuration(v) / 1000;
    };
    const attrs = p.get('query.attributes') ?? '';
    const query: TraceQuery = {
      service: p.get('query.serviceName') ?? '',
      operation: p.get('query.operationName') ?? '',
      startMinUs: min,
      startMaxUs: max,
      durationMinUs: dur('query.durationMin'),
      durationMaxUs: dur('query.durationMax'),
      tags: attrs === '' ? {} : parseTagsJson(attrs),
      limit: Math.min(depth, this.maxTraces),
    };
    return jsonReply({ summaries: this.store.find(query).map(summaryOf) });
  }
}

function v3Error(status: number, message: string): Reply {
  return jsonReply({ error: { httpCode: status, message } }, status);
}

function rfc3339Param(p: URLSearchParams, name: string): number {
  const v = p.get(name) ?? '';
  if (v === '') throw new ParamError(`${name} is required`);
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(v);
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : Number.NaN;
  if (!m || Number.isNaN(ms)) throw new ParamError(`${name}: cannot parse ${JSON.stringify(v)} as RFC3339`);
  return ms * 1000 + Math.floor(Number((m[2] ?? '').padEnd(9, '0')) / 1000);
}

/** Go's url.QueryUnescape of a path segment; a bad escape is a 400. */
export function queryUnescape(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw new ParamError(`invalid URL escape in ${JSON.stringify(s.slice(0, 64))}`);
  }
}

function summaryOf(t: StoredTrace) {
  const ids = new Set(t.spans.map((s) => s.span.spanId));
  const root = t.spans.find((s) => !s.span.parentSpanId) ?? [...t.spans].sort((a, b) => a.startUs - b.startUs)[0]!;
  const services = new Map<string, { name: string; spanCount: number; errorSpanCount: number }>();
  for (const s of t.spans) {
    const e = services.get(s.service) ?? { name: s.service, spanCount: 0, errorSpanCount: 0 };
    e.spanCount++;
    if (s.span.status.code === 'error') e.errorSpanCount++;
    services.set(s.service, e);
  }
  return {
    traceId: t.traceId,
    rootServiceName: root.service,
    rootOperationName: root.span.name,
    minStartTimeUnixNano: String(BigInt(t.startUs) * 1000n),
    maxEndTimeUnixNano: String(BigInt(t.endUs) * 1000n),
    spanCount: t.spans.length,
    errorSpanCount: t.errorCount,
    orphanSpanCount: t.spans.filter((s) => s.span.parentSpanId && !ids.has(s.span.parentSpanId)).length,
    services: [...services.values()],
  };
}

/** `raw` (skip Jaeger's adjusters) changes nothing here, but Jaeger refuses a value that is not a Go bool. */
function checkRawParam(p: URLSearchParams): void {
  const raw = p.get('raw') ?? '';
  if (raw === '') return;
  try {
    parseGoBool(raw);
  } catch (err) {
    throw new ParamError(`unable to parse param 'raw': ${(err as Error).message}`);
  }
}
