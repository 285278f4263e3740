// Stream labels and structured metadata for one log record. Labels are few and bounded (Loki indexes
// them: every distinct set is a stream); everything else, trace and span ids first, goes to structured
// metadata, which Loki stores per entry without indexing.
import type { DecodedLogRecord, OtlpValue } from '../../../otlp/types.js';
import type { LokiConfig } from './config.js';

/** Loki's structured-metadata limits (per entry). */
export const MAX_METADATA_ENTRIES = 128;
export const MAX_METADATA_BYTES = 64 * 1024;
/** Loki's label value limit; longer values go to structured metadata instead. */
const MAX_LABEL_VALUE = 2048;

/** Any string → a valid Loki/Prometheus label name. */
export function sanitizeLabelName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return s === '' ? '_' : /^[0-9]/.test(s) ? `_${s}` : s;
}

export function valueText(v: OtlpValue): string {
  if (typeof v === 'string') return v;
  if (v === null) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

const LEVEL_BY_NUMBER = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
const LEVEL_BY_TEXT: Record<string, string> = {
  trace: 'trace', debug: 'debug', info: 'info', information: 'info', notice: 'info', warn: 'warn', warning: 'warn',
  error: 'error', err: 'error', fatal: 'fatal', critical: 'fatal', crit: 'fatal', panic: 'fatal', emergency: 'fatal', alert: 'fatal',
};

/** OTel severity number ranges (1-4 trace … 21-24 fatal); without one, a known severity text; else unknown. A bounded set. */
export function levelOf(rec: DecodedLogRecord): string {
  if (rec.severityNumber >= 1 && rec.severityNumber <= 24) return LEVEL_BY_NUMBER[Math.floor((rec.severityNumber - 1) / 4)]!;
  return LEVEL_BY_TEXT[rec.severityText?.toLowerCase() ?? ''] ?? 'unknown';
}

export interface EntryParts {
  labels: [string, string][];
  metadata: Record<string, string>;
  /** Metadata entries left out to stay within Loki's limits. */
  metadataDropped: number;
}

/** Labels (deduplicated, at most max_labels, in config order: resource, level, attributes) and the entry's metadata. */
export function entryParts(rec: DecodedLogRecord, cfg: LokiConfig): EntryParts {
  const labels: [string, string][] = [];
  const names = new Set<string>();
  const overflow: [string, string][] = [];
  const usedAttrs = new Set<string>();
  const add = (name: string, value: string) => {
    if (value === '' || names.has(name)) return;
    if (labels.length >= cfg.max_labels || value.length > MAX_LABEL_VALUE) overflow.push([name, value]);
    else {
      labels.push([name, value]);
      names.add(name);
    }
  };
  for (const [attr, label] of Object.entries(cfg.labels.resource)) {
    const v = rec.resource.attributes[attr];
    if (v !== undefined) add(sanitizeLabelName(label), valueText(v));
  }
  if (cfg.labels.level) add('level', levelOf(rec));
  for (const [attr, label] of Object.entries(cfg.labels.attributes)) {
    const v = rec.attributes[attr];
    if (v === undefined) continue;
    usedAttrs.add(attr);
    add(sanitizeLabelName(label), valueText(v));
  }

  const metadata: Record<string, string> = {};
  let count = 0;
  let bytes = 0;
  let metadataDropped = 0;
  const meta = (name: string, value: string) => {
    if (name in metadata) return;
    const size = Buffer.byteLength(name) + Buffer.byteLength(value);
    if (count >= MAX_METADATA_ENTRIES || bytes + size > MAX_METADATA_BYTES) {
      metadataDropped++;
      return;
    }
    metadata[name] = value;
    count++;
    bytes += size;
  };
  if (rec.traceId) meta('trace_id', rec.traceId);
  if (rec.spanId) meta('span_id', rec.spanId);
  for (const [name, value] of overflow) meta(name, value);
  for (const [attr, v] of Object.entries(rec.attributes)) {
    if (!usedAttrs.has(attr) && v !== null) meta(sanitizeLabelName(attr), valueText(v));
  }
  return { labels, metadata, metadataDropped };
}
