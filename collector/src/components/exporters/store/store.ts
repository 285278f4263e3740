// The bounded trace store: traces in first-seen order (the oldest is evicted first), with indexes for search by
// service, operation and tag, so a query touches only the traces that can match instead of every span's attributes.
import type { DecodedSpan, OtlpValue } from '../../../otlp/types.js';
import { durationUs, nsToUs, serviceOf, valueAsString } from './values.js';

export interface StoredSpan {
  span: DecodedSpan;
  /** resource service.name ('' when absent). */
  service: string;
  startUs: number;
  durationUs: number;
}

export interface StoredTrace {
  traceId: string;
  /** Insertion order: higher is newer. */
  seq: number;
  spans: StoredSpan[];
  spanIds: Set<string>;
  startUs: number;
  endUs: number;
  errorCount: number;
  /** Span count per service. */
  services: Map<string, number>;
  /** Tag-index keys this trace is listed under (to unlist it on eviction). */
  indexKeys: Set<string>;
}

export interface TraceQuery {
  service?: string;
  operation?: string;
  /** Span start bounds, µs; undefined = open. */
  startMinUs?: number;
  startMaxUs?: number;
  /** Span duration bounds, µs; 0/undefined = none. */
  durationMinUs?: number;
  durationMaxUs?: number;
  tags: Record<string, string>;
  limit: number;
}

export interface DependencyLink {
  parent: string;
  child: string;
  callCount: number;
}

export interface AddResult {
  accepted: number;
  droppedSpans: number;
  evictedTraces: number;
  duplicateSpans: number;
}

/** Values longer than this are not put in the tag index (a query for one falls back to checking spans). */
const MAX_INDEXED_VALUE = 256;
const SEP = '\u0000';
const SPECIAL = new Set(['error', 'span.status', 'span.kind', 'scope.name', 'scope.version']);
const KINDS = new Set(['CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER', 'INTERNAL']);

/** The span tag values a search key may match, as Jaeger's memory store reads them (tenant.go validSpan). */
export function spanTagValues(s: DecodedSpan, key: string): string[] {
  switch (key) {
    case 'error':
      return s.status.code === 'error' ? ['true'] : s.status.code === 'ok' ? ['false'] : [];
    case 'span.status':
      return [s.status.code.toUpperCase()];
    case 'span.kind':
      return [s.kind.toUpperCase()];
    case 'scope.name':
      return [s.scope.name];
    case 'scope.version':
      return [s.scope.version ?? ''];
  }
  if (key.startsWith('resource.')) return present(s.resource.attributes[key.slice('resource.'.length)], key.slice('resource.'.length), s.resource.attributes);
  const out: string[] = [];
  for (const attrs of [s.attributes, s.scope.attributes, s.resource.attributes, ...s.events.map((e) => e.attributes), ...s.links.map((l) => l.attributes)]) {
    out.push(...present(attrs[key], key, attrs));
  }
  return out;
}

function present(v: OtlpValue | undefined, key: string, attrs: Record<string, OtlpValue>): string[] {
  return Object.hasOwn(attrs, key) ? [valueAsString(v ?? null)] : [];
}

/** A query value in the form spanTagValues produces (strconv.ParseBool for error, upper case for kind/status). */
export function normalizeQueryValue(key: string, value: string): string | undefined {
  if (key === 'error') {
    if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return 'true';
    if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return 'false';
    return undefined; // Jaeger: an unparsable error value matches nothing
  }
  if (key === 'span.status') {
    const u = value.toUpperCase();
    return u === 'OK' || u === 'ERROR' ? u : 'UNSET';
  }
  if (key === 'span.kind') {
    const u = value.toUpperCase();
    return KINDS.has(u) ? u : 'UNSPECIFIED';
  }
  return value;
}

/** Every index key of one span: special keys, resource.* keys and plain attribute keys. */
function spanIndexKeys(s: DecodedSpan): string[] {
  const keys: string[] = [];
  const add = (k: string, v: string) => {
    if (v.length <= MAX_INDEXED_VALUE) keys.push(k + SEP + v);
  };
  for (const k of SPECIAL) for (const v of spanTagValues(s, k)) add(k, v);
  for (const [k, v] of Object.entries(s.resource.attributes)) add(`resource.${k}`, valueAsString(v));
  for (const attrs of [s.attributes, s.scope.attributes, s.resource.attributes, ...s.events.map((e) => e.attributes), ...s.links.map((l) => l.attributes)]) {
    for (const [k, v] of Object.entries(attrs)) if (!SPECIAL.has(k)) add(k, valueAsString(v));
  }
  return keys;
}

export class TraceStore {
  private readonly traces = new Map<string, StoredTrace>();
  private readonly byService = new Map<string, Set<string>>();
  /** service → `${kind}\0${name}` → span count (so eviction can retire operations no longer present). */
  private readonly operations = new Map<string, Map<string, number>>();
  private readonly tagIndex = new Map<string, Set<string>>();
  private seq = 0;
  private spanCount = 0;

  constructor(
    private readonly maxTraces: number,
    private readonly maxSpansPerTrace: number,
    /** Called for each trace evicted (persistence uses it to retire old segments). */
    private readonly onEvict: (t: StoredTrace) => void = () => undefined,
  ) {}

  get size(): number {
    return this.traces.size;
  }

  get spans(): number {
    return this.spanCount;
  }

  add(spans: readonly DecodedSpan[]): AddResult {
    const r: AddResult = { accepted: 0, droppedSpans: 0, evictedTraces: 0, duplicateSpans: 0 };
    for (const span of spans) {
      let t = this.traces.get(span.traceId);
      if (!t) {
        r.evictedTraces += this.makeRoom();
        t = this.newTrace(span.traceId);
      }
      if (t.spanIds.has(span.spanId)) {
        r.duplicateSpans++; // a retried export: the span is already stored
        continue;
      }
      if (t.spans.length >= this.maxSpansPerTrace) {
        r.droppedSpans++;
        continue;
      }
      this.addSpan(t, span);
      r.accepted++;
    }
    return r;
  }

  get(traceId: string): StoredTrace | undefined {
    return this.traces.get(traceId);
  }

  /** Oldest (first seen) first. */
  inOrder(): StoredTrace[] {
    return [...this.traces.values()];
  }

  /** Newest first. */
  all(): StoredTrace[] {
    return [...this.traces.values()].reverse();
  }

  services(): string[] {
    return [...this.byService.keys()].filter((s) => s !== '').sort();
  }

  /** `{name, spanKind}` of one service; spanKind '' = every kind. */
  operationsOf(service: string, spanKind = ''): { name: string; spanKind: string }[] {
    const ops = this.operations.get(service);
    if (!ops) return [];
    const out: { name: string; spanKind: string }[] = [];
    for (const key of ops.keys()) {
      const i = key.indexOf(SEP);
      const kind = key.slice(0, i);
      if (spanKind === '' || kind === spanKind) out.push({ name: key.slice(i + 1), spanKind: kind });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.spanKind < b.spanKind ? -1 : 1));
  }

  /** Traces with at least one span matching every filter, newest first, at most `limit`. */
  find(q: TraceQuery): StoredTrace[] {
    const tags = Object.entries(q.tags).map(([k, v]) => [k, normalizeQueryValue(k, v)] as const);
    if (tags.some(([, v]) => v === undefined)) return [];
    const normalized = tags as (readonly [string, string])[];
    const out: StoredTrace[] = [];
    for (const t of this.candidates(q.service, normalized)) {
      if (out.length >= q.limit) break;
      if (t.spans.some((s) => spanMatches(s, q, normalized))) out.push(t);
    }
    return out;
  }

  /** Parent service → child service call counts over traces inside [startUs, endUs] (Jaeger memory store). */
  dependencies(startUs: number, endUs: number): DependencyLink[] {
    const deps = new Map<string, DependencyLink>();
    for (const t of this.traces.values()) {
      if (t.startUs < startUs || t.endUs > endUs) continue;
      const serviceOfSpan = new Map(t.spans.map((s) => [s.span.spanId, s.service]));
      for (const s of t.spans) {
        if (!s.span.parentSpanId) continue;
        const parent = serviceOfSpan.get(s.span.parentSpanId);
        if (parent === undefined) continue;
        const key = parent + SEP + s.service;
        const d = deps.get(key);
        if (d) d.callCount++;
        else deps.set(key, { parent, child: s.service, callCount: 1 });
      }
    }
    return [...deps.values()];
  }

  /** Candidate traces, newest first: the service's list, narrowed by the tag index where it can answer. */
  private candidates(service: string | undefined, tags: (readonly [string, string])[]): StoredTrace[] {
    let ids: Set<string> | undefined = service !== undefined && service !== '' ? (this.byService.get(service) ?? new Set()) : undefined;
    for (const [k, v] of tags) {
      if (v.length > MAX_INDEXED_VALUE) continue;
      const listed = this.tagIndex.get(k + SEP + v) ?? new Set<string>();
      ids = ids === undefined ? listed : intersect(ids, listed);
    }
    const list = ids === undefined ? [...this.traces.values()] : [...ids].map((id) => this.traces.get(id)!);
    return list.sort((a, b) => b.seq - a.seq);
  }

  private makeRoom(): number {
    let evicted = 0;
    while (this.traces.size >= this.maxTraces) {
      const oldest = this.traces.values().next().value as StoredTrace;
      this.remove(oldest);
      evicted++;
    }
    return evicted;
  }

  private newTrace(traceId: string): StoredTrace {
    const t: StoredTrace = {
      traceId,
      seq: ++this.seq,
      spans: [],
      spanIds: new Set(),
      startUs: Number.POSITIVE_INFINITY,
      endUs: 0,
      errorCount: 0,
      services: new Map(),
      indexKeys: new Set(),
    };
    this.traces.set(traceId, t);
    return t;
  }

  private addSpan(t: StoredTrace, span: DecodedSpan): void {
    const startUs = nsToUs(span.startTimeUnixNano);
    const s: StoredSpan = { span, service: serviceOf(span.resource), startUs, durationUs: durationUs(span.startTimeUnixNano, span.endTimeUnixNano) };
    t.spans.push(s);
    t.spanIds.add(span.spanId);
    t.startUs = Math.min(t.startUs, startUs);
    t.endUs = Math.max(t.endUs, startUs + s.durationUs);
    if (span.status.code === 'error') t.errorCount++;
    t.services.set(s.service, (t.services.get(s.service) ?? 0) + 1);
    this.spanCount++;
    getOrSet(this.byService, s.service, () => new Set()).add(t.traceId);
    const ops = getOrSet(this.operations, s.service, () => new Map());
    const opKey = (span.kind === 'unspecified' ? '' : span.kind) + SEP + span.name;
    ops.set(opKey, (ops.get(opKey) ?? 0) + 1);
    for (const key of spanIndexKeys(span)) {
      if (t.indexKeys.has(key)) continue;
      t.indexKeys.add(key);
      getOrSet(this.tagIndex, key, () => new Set()).add(t.traceId);
    }
  }

  private remove(t: StoredTrace): void {
    this.traces.delete(t.traceId);
    this.spanCount -= t.spans.length;
    for (const service of t.services.keys()) deleteFromSetMap(this.byService, service, t.traceId);
    for (const s of t.spans) {
      const ops = this.operations.get(s.service);
      if (!ops) continue;
      const opKey = (s.span.kind === 'unspecified' ? '' : s.span.kind) + SEP + s.span.name;
      const n = (ops.get(opKey) ?? 1) - 1;
      if (n > 0) ops.set(opKey, n);
      else ops.delete(opKey);
      if (ops.size === 0) this.operations.delete(s.service);
    }
    for (const key of t.indexKeys) deleteFromSetMap(this.tagIndex, key, t.traceId);
    this.onEvict(t);
  }
}

function spanMatches(s: StoredSpan, q: TraceQuery, tags: (readonly [string, string])[]): boolean {
  if (q.service && s.service !== q.service) return false;
  if (q.operation && s.span.name !== q.operation) return false;
  if (q.startMinUs !== undefined && s.startUs < q.startMinUs) return false;
  if (q.startMaxUs !== undefined && s.startUs > q.startMaxUs) return false;
  if (q.durationMinUs && s.durationUs < q.durationMinUs) return false;
  if (q.durationMaxUs && s.durationUs > q.durationMaxUs) return false;
  return tags.every(([k, v]) => spanTagValues(s.span, k).includes(v));
}

function intersect(a: Set<string>, b: Set<string>): Set<string> {
  const [small, big] = a.size <= b.size ? [a, b] : [b, a];
  const out = new Set<string>();
  for (const x of small) if (big.has(x)) out.add(x);
  return out;
}

function getOrSet<K, V>(m: Map<K, V>, k: K, make: () => V): V {
  let v = m.get(k);
  if (v === undefined) {
    v = make();
    m.set(k, v);
  }
  return v;
}

function deleteFromSetMap(m: Map<string, Set<string>>, key: string, value: string): void {
  const set = m.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) m.delete(key);
}
