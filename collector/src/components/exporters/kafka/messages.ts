// An export request → Kafka messages. Traces become one message per trace id (keyed by it), so the
// default partitioner puts every span of a trace in one partition; logs are keyed by trace id when they
// have one; metrics are unkeyed. Any message that would encode larger than max_message_bytes is split.
import { decodeLogs, decodeMetrics, decodeTracesLazy, encodeLogs, encodeMetrics, encodeTraces } from '../../../otlp/index.js';
import type { DecodedLogRecord, DecodedMetric, DecodedSpan } from '../../../otlp/types.js';
import { itemCount, type Signal } from '../../../pipeline/types.js';

export interface OutMessage {
  key: string | null;
  value: Buffer;
}

export interface Built {
  messages: OutMessage[];
  /** Items that alone encode larger than max_message_bytes: they can never be sent. */
  tooLarge: number;
}

export interface KeyingOptions {
  byTraceId: boolean;
  maxBytes: number;
}

type Split<T> = (items: T[]) => [T[], T[]] | undefined;

const halves = <T>(items: T[]): [T[], T[]] | undefined => {
  if (items.length < 2) return undefined;
  const mid = Math.ceil(items.length / 2);
  return [items.slice(0, mid), items.slice(mid)];
};

/** A single metric with many points splits into two metrics with half the points each. */
const splitMetrics: Split<DecodedMetric> = (items) => {
  if (items.length > 1) return halves(items);
  const m = items[0];
  if (!m || m.dataPoints.length < 2) return undefined;
  const mid = Math.ceil(m.dataPoints.length / 2);
  return [[{ ...m, dataPoints: m.dataPoints.slice(0, mid) } as DecodedMetric], [{ ...m, dataPoints: m.dataPoints.slice(mid) } as DecodedMetric]];
};

/** Encodes `items`, halving them until every part fits in maxBytes. */
function fit<T>(items: T[], encode: (items: T[]) => Uint8Array, split: Split<T>, maxBytes: number, count: (items: T[]) => number): { values: Buffer[]; tooLarge: number } {
  const bytes = encode(items);
  if (bytes.byteLength <= maxBytes) return { values: [Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)], tooLarge: 0 };
  const parts = split(items);
  if (!parts) return { values: [], tooLarge: count(items) };
  const a = fit(parts[0], encode, split, maxBytes, count);
  const b = fit(parts[1], encode, split, maxBytes, count);
  return { values: [...a.values, ...b.values], tooLarge: a.tooLarge + b.tooLarge };
}

/** Groups items by key, keeping first-seen order; items without a key share the null group. */
function groupBy<T>(items: T[], keyOf: (item: T) => string | undefined): Map<string | null, T[]> {
  const groups = new Map<string | null, T[]>();
  for (const item of items) {
    const k = keyOf(item) ?? null;
    const g = groups.get(k);
    if (g) g.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

function build<T>(groups: Map<string | null, T[]>, encode: (items: T[]) => Uint8Array, split: Split<T>, maxBytes: number, count: (items: T[]) => number): Built {
  const messages: OutMessage[] = [];
  let tooLarge = 0;
  for (const [key, items] of groups) {
    const r = fit(items, encode, split, maxBytes, count);
    for (const value of r.values) messages.push({ key, value });
    tooLarge += r.tooLarge;
  }
  return { messages, tooLarge };
}

const all = <T>(items: T[]) => new Map<string | null, T[]>([[null, items]]);

export function traceMessages(body: Uint8Array, opts: KeyingOptions): Built {
  // spans are regrouped by trace id and written back as the bytes they came in (no decode and encode of attributes)
  const spans = decodeTracesLazy(body);
  const groups = opts.byTraceId ? groupBy(spans, (s) => s.traceId) : all(spans);
  return build<DecodedSpan>(groups, encodeTraces, halves, opts.maxBytes, (x) => x.length);
}

export function logMessages(body: Uint8Array, opts: KeyingOptions): Built {
  const records = decodeLogs(body);
  const groups = opts.byTraceId ? groupBy(records, (r) => r.traceId) : all(records);
  return build<DecodedLogRecord>(groups, encodeLogs, halves, opts.maxBytes, (x) => x.length);
}

export function metricMessages(body: Uint8Array, opts: KeyingOptions): Built {
  return build<DecodedMetric>(all(decodeMetrics(body)), encodeMetrics, splitMetrics, opts.maxBytes, (x) => itemCount('metrics', x));
}

export const BUILDERS: Record<Signal, (body: Uint8Array, opts: KeyingOptions) => Built> = {
  traces: traceMessages,
  logs: logMessages,
  metrics: metricMessages,
};
