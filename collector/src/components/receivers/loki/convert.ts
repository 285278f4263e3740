// Loki entries → DecodedLogRecord: labels become resource attributes (one ResourceInfo per stream),
// structured metadata becomes attributes, trace context and severity are lifted out of them.
import type { Attributes, DecodedLogRecord, ResourceInfo, Scope } from '../../../otlp/types.js';
import type { LabelPairs } from './stream.js';
import type { ValidStream } from './validate.js';

/** Labels that name the service, in order of preference. */
const SERVICE_LABELS = ['service_name', 'service', 'job'];
const LEVEL_KEYS = ['level', 'detected_level', 'severity'];
const TRACE_KEYS = ['trace_id', 'traceID', 'traceId'];
const SPAN_KEYS = ['span_id', 'spanID', 'spanId'];

/** OpenTelemetry severity numbers (logs data model) and their short names. */
const SEVERITY: Record<string, [number, string]> = {
  trace: [1, 'TRACE'],
  debug: [5, 'DEBUG'],
  dbg: [5, 'DEBUG'],
  info: [9, 'INFO'],
  information: [9, 'INFO'],
  informational: [9, 'INFO'],
  notice: [10, 'INFO2'],
  warn: [13, 'WARN'],
  warning: [13, 'WARN'],
  error: [17, 'ERROR'],
  err: [17, 'ERROR'],
  critical: [21, 'FATAL'],
  crit: [21, 'FATAL'],
  fatal: [21, 'FATAL'],
  panic: [21, 'FATAL'],
  alert: [22, 'FATAL2'],
  emerg: [23, 'FATAL3'],
  emergency: [23, 'FATAL3'],
};

/** The one scope every record of this receiver shares. */
const SCOPE: Scope = { name: 'loki', attributes: {} };

function setAttr(out: Attributes, key: string, value: string): void {
  // "__proto__" would change the prototype instead of adding a key
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

export function resourceOf(labels: LabelPairs, tenant: string | undefined): ResourceInfo {
  const attributes: Attributes = {};
  for (const [k, v] of labels) setAttr(attributes, k, v);
  for (const key of SERVICE_LABELS) {
    const v = labels.find(([k]) => k === key)?.[1];
    if (v) {
      attributes['service.name'] = v;
      break;
    }
  }
  if (tenant) attributes['loki.tenant'] = tenant;
  return { attributes };
}

/** Hex trace id: 32 hex chars, or 16 (64-bit, Jaeger-style) padded to 32. Anything else → undefined. */
function traceIdOf(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const hex = v.toLowerCase();
  const id = /^[0-9a-f]{32}$/.test(hex) ? hex : /^[0-9a-f]{16}$/.test(hex) ? hex.padStart(32, '0') : undefined;
  return id && !/^0+$/.test(id) ? id : undefined;
}

function spanIdOf(v: string | undefined): string | undefined {
  const hex = v?.toLowerCase();
  return hex && /^[0-9a-f]{16}$/.test(hex) && !/^0+$/.test(hex) ? hex : undefined;
}

const first = (pairs: LabelPairs, keys: readonly string[]): [string, string] | undefined => {
  for (const key of keys) {
    const hit = pairs.find(([k]) => k === key);
    if (hit) return hit;
  }
  return undefined;
};

function severityOf(metadata: LabelPairs, labels: LabelPairs): { severityNumber: number; severityText?: string } {
  const level = (first(metadata, LEVEL_KEYS) ?? first(labels, LEVEL_KEYS))?.[1];
  if (!level) return { severityNumber: 0 };
  const known = SEVERITY[level.trim().toLowerCase()];
  return known ? { severityNumber: known[0], severityText: known[1] } : { severityNumber: 0, severityText: level };
}

function recordOf(entry: ValidStream['entries'][number], labels: LabelPairs, resource: ResourceInfo, observed: string): DecodedLogRecord {
  const md = entry.structuredMetadata;
  const traceHit = first(md, TRACE_KEYS);
  const spanHit = first(md, SPAN_KEYS);
  const traceId = traceIdOf(traceHit?.[1]);
  const spanId = spanIdOf(spanHit?.[1]);
  const attributes: Attributes = {};
  for (const [k, v] of md) {
    // ids that became the record's trace context are not repeated as attributes
    if ((traceId && k === traceHit?.[0]) || (spanId && k === spanHit?.[0])) continue;
    setAttr(attributes, k, v);
  }
  const rec: DecodedLogRecord = {
    timeUnixNano: entry.timeUnixNano,
    observedTimeUnixNano: observed,
    ...severityOf(md, labels),
    body: entry.line,
    attributes,
    flags: 0,
    resource,
    scope: SCOPE,
  };
  if (traceId) rec.traceId = traceId;
  if (spanId) rec.spanId = spanId;
  return rec;
}

export function toLogRecords(streams: ValidStream[], tenant: string | undefined, nowNs: bigint): DecodedLogRecord[] {
  const observed = nowNs.toString();
  const out: DecodedLogRecord[] = [];
  for (const { stream, entries } of streams) {
    const resource = resourceOf(stream.labels, tenant);
    for (const e of entries) out.push(recordOf(e, stream.labels, resource, observed));
  }
  return out;
}
