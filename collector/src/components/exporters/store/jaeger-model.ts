// A stored trace in Jaeger's "UI model" JSON (jaeger internal/uimodel), converted from OTLP the way
// opentelemetry-collector-contrib's translator/jaeger does and after Jaeger's query adjusters (attributes sorted).
import type { Attributes, DecodedSpan, OtlpValue } from '../../../otlp/types.js';
import type { StoredSpan, StoredTrace } from './store.js';
import { isBigInt64String, jaegerTraceId, nsToUs } from './values.js';

export interface KeyValue {
  key: string;
  type: 'string' | 'bool' | 'int64' | 'float64' | 'binary';
  value: string | number | boolean;
}

export interface JaegerReference {
  refType: 'CHILD_OF' | 'FOLLOWS_FROM';
  traceID: string;
  spanID: string;
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  flags?: number;
  operationName: string;
  references: JaegerReference[];
  startTime: number;
  duration: number;
  tags: KeyValue[];
  logs: { timestamp: number; fields: KeyValue[] }[];
  processID: string;
  warnings: string[] | null;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: KeyValue[] }>;
  warnings: null;
}

const NO_SERVICE_NAME = 'OTLPResourceNoServiceName';
const WARNINGS_ATTR = '@jaeger@warnings';

/** One attribute as a Jaeger tag (contrib attributeToJaegerProtoTag). */
export function toKeyValue(key: string, v: OtlpValue): KeyValue {
  if (typeof v === 'boolean') return { key, type: 'bool', value: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { key, type: 'int64', value: v } : { key, type: 'float64', value: v };
  // int64 beyond ±(2^53−1): type int64, value as a decimal string (JSON numbers would lose precision)
  if (typeof v === 'string') return isBigInt64String(v) ? { key, type: 'int64', value: v } : { key, type: 'string', value: v };
  if (v === null) return { key, type: 'string', value: '' };
  return { key, type: 'string', value: JSON.stringify(v) };
}

const byKey = ([a]: [string, OtlpValue], [b]: [string, OtlpValue]) => (a < b ? -1 : a > b ? 1 : 0);

function sortedTags(attrs: Attributes, skip: (k: string) => boolean): KeyValue[] {
  return Object.entries(attrs)
    .filter(([k]) => !skip(k))
    .sort(byKey)
    .map(([k, v]) => toKeyValue(k, v));
}

/** Span tags in the translator's order: scope, attributes, span.kind, status, error, status message, tracestate. */
export function spanTags(s: DecodedSpan): KeyValue[] {
  const tags: KeyValue[] = [];
  if (s.scope.name) tags.push({ key: 'otel.scope.name', type: 'string', value: s.scope.name });
  if (s.scope.version) tags.push({ key: 'otel.scope.version', type: 'string', value: s.scope.version });
  tags.push(...sortedTags(s.attributes, (k) => k === WARNINGS_ATTR));
  if (s.kind !== 'unspecified') tags.push({ key: 'span.kind', type: 'string', value: s.kind });
  if (s.status.code === 'error') {
    tags.push({ key: 'otel.status_code', type: 'string', value: 'ERROR' });
    tags.push({ key: 'error', type: 'bool', value: true });
  } else if (s.status.code === 'ok') tags.push({ key: 'otel.status_code', type: 'string', value: 'OK' });
  if (s.status.message) tags.push({ key: 'otel.status_description', type: 'string', value: s.status.message });
  if (s.traceState) tags.push({ key: 'w3c.tracestate', type: 'string', value: s.traceState });
  return tags;
}

function spanWarnings(s: DecodedSpan): string[] | null {
  const w = s.attributes[WARNINGS_ATTR];
  if (w === undefined) return null;
  const list = Array.isArray(w) ? w.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) : [typeof w === 'string' ? w : JSON.stringify(w)];
  return list.length ? list : null;
}

/** Parent first (CHILD_OF), then links (FOLLOWS_FROM unless opentracing.ref_type=child_of); a link to the parent sets its type. */
export function references(s: DecodedSpan): JaegerReference[] {
  const refs: JaegerReference[] = [];
  if (s.parentSpanId) refs.push({ refType: 'CHILD_OF', traceID: jaegerTraceId(s.traceId), spanID: s.parentSpanId });
  for (const l of s.links) {
    const refType = l.attributes['opentracing.ref_type'] === 'child_of' ? 'CHILD_OF' : 'FOLLOWS_FROM';
    if (s.parentSpanId && l.traceId === s.traceId && l.spanId === s.parentSpanId) {
      refs[0]!.refType = refType;
      continue;
    }
    refs.push({ refType, traceID: jaegerTraceId(l.traceId), spanID: l.spanId });
  }
  return refs;
}

/** Events → logs, in time order; `event` = the name first unless an `event` attribute exists. */
export function spanLogs(s: DecodedSpan): JaegerSpan['logs'] {
  return [...s.events]
    .sort((a, b) => nsToUs(a.timeUnixNano) - nsToUs(b.timeUnixNano))
    .map((e) => {
      const fields: KeyValue[] = [];
      if (e.name && !Object.hasOwn(e.attributes, 'event')) fields.push({ key: 'event', type: 'string', value: e.name });
      fields.push(...sortedTags(e.attributes, () => false));
      return { timestamp: nsToUs(e.timeUnixNano), fields };
    });
}

/** The process of a span's resource (contrib resourceToJaegerProtoProcess). */
export function processOf(s: DecodedSpan): { serviceName: string; tags: KeyValue[] } {
  const attrs = s.resource.attributes;
  if (Object.keys(attrs).length === 0) return { serviceName: NO_SERVICE_NAME, tags: [] };
  const name = attrs['service.name'];
  return { serviceName: typeof name === 'string' ? name : '', tags: sortedTags(attrs, (k) => k === 'service.name') };
}

export function toJaegerSpan(st: StoredSpan, processID: string): JaegerSpan {
  const s = st.span;
  return {
    traceID: jaegerTraceId(s.traceId),
    spanID: s.spanId,
    // flags is omitempty in the UI model; the OTLP sampled bit maps to 1
    ...(s.flags & 1 ? { flags: 1 } : {}),
    operationName: s.name,
    references: references(s),
    startTime: st.startUs,
    duration: st.durationUs,
    tags: spanTags(s),
    logs: spanLogs(s),
    processID,
    warnings: spanWarnings(s),
  };
}

/** The whole trace; processes p1, p2, … in order of first appearance, emitted in Go's sorted-key order. */
export function toJaegerTrace(t: StoredTrace): JaegerTrace {
  const ids = new Map<string, string>();
  const processes: [string, { serviceName: string; tags: KeyValue[] }][] = [];
  const spans = t.spans.map((st) => {
    const p = processOf(st.span);
    const key = JSON.stringify(p);
    let id = ids.get(key);
    if (!id) {
      id = `p${ids.size + 1}`;
      ids.set(key, id);
      processes.push([id, p]);
    }
    return toJaegerSpan(st, id);
  });
  processes.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { traceID: jaegerTraceId(t.traceId), spans, processes: Object.fromEntries(processes), warnings: null };
}
