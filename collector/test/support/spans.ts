// Builders for decoded spans and log records, for processor and exporter tests.
import { randomBytes } from 'node:crypto';
import type { DecodedLogRecord, DecodedSpan, ResourceInfo, SpanKindName, StatusCodeName } from '../../src/otlp/types.js';

export const newTraceId = () => randomBytes(16).toString('hex');
export const newSpanId = () => randomBytes(8).toString('hex');

const resources = new Map<string, ResourceInfo>();
/** One shared resource object per service, as the codec produces. */
export function resourceOf(service: string): ResourceInfo {
  let r = resources.get(service);
  if (!r) {
    r = { attributes: { 'service.name': service } };
    resources.set(service, r);
  }
  return r;
}

export interface SpanSpec {
  service?: string;
  name?: string;
  kind?: SpanKindName;
  status?: StatusCodeName;
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  /** Start, ms since the epoch (default: now). */
  startMs?: number;
  durationMs?: number;
  attributes?: DecodedSpan['attributes'];
}

const ms2ns = (ms: number) => (BigInt(Math.round(ms * 1000)) * 1000n).toString();

export function span(spec: SpanSpec = {}): DecodedSpan {
  const start = spec.startMs ?? Date.now();
  const s: DecodedSpan = {
    traceId: spec.traceId ?? newTraceId(),
    spanId: spec.spanId ?? newSpanId(),
    flags: 1,
    name: spec.name ?? 'GET /',
    kind: spec.kind ?? 'server',
    startTimeUnixNano: ms2ns(start),
    endTimeUnixNano: ms2ns(start + (spec.durationMs ?? 10)),
    attributes: spec.attributes ?? {},
    droppedAttributesCount: 0,
    events: [],
    links: [],
    status: { code: spec.status ?? 'unset' },
    resource: resourceOf(spec.service ?? 'svc'),
    scope: { name: 'test', attributes: {} },
  };
  if (spec.parentSpanId) s.parentSpanId = spec.parentSpanId;
  return s;
}

export function logRecord(spec: { service?: string; body?: string; severity?: number; traceId?: string; attributes?: DecodedLogRecord['attributes']; timeMs?: number } = {}): DecodedLogRecord {
  const t = ms2ns(spec.timeMs ?? Date.now());
  const rec: DecodedLogRecord = {
    timeUnixNano: t,
    observedTimeUnixNano: t,
    severityNumber: spec.severity ?? 9,
    severityText: 'INFO',
    body: spec.body ?? 'hello',
    attributes: spec.attributes ?? {},
    flags: 0,
    resource: resourceOf(spec.service ?? 'svc'),
    scope: { name: 'test', attributes: {} },
  };
  if (spec.traceId) rec.traceId = spec.traceId;
  return rec;
}
