// Log records → a Loki push: entries grouped into streams by label set, sorted by time within each
// stream, timestamps as nanosecond strings. JSON (optionally gzip) or snappy-compressed protobuf.
import protobuf from 'protobufjs';
import snappy from 'snappyjs';
import type { DecodedLogRecord } from '../../../otlp/types.js';
import type { LokiConfig } from './config.js';
import { entryParts } from './labels.js';

export interface Entry {
  ts: string;
  line: string;
  metadata: Record<string, string>;
}

export interface Stream {
  labels: Record<string, string>;
  entries: Entry[];
}

export interface PushStats {
  linesTruncated: number;
  metadataDropped: number;
}

/** Nanosecond decimal strings (no leading zeros) compare by length, then lexically. */
const byTime = (a: Entry, b: Entry) => a.ts.length - b.ts.length || (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0);

function timestamp(rec: DecodedLogRecord): string {
  if (rec.timeUnixNano !== '0') return rec.timeUnixNano;
  if (rec.observedTimeUnixNano !== '0') return rec.observedTimeUnixNano;
  return `${Date.now()}000000`;
}

function line(rec: DecodedLogRecord, max: number, stats: PushStats): string {
  const b = rec.body;
  const text = typeof b === 'string' ? b : b === null || b === undefined ? '' : JSON.stringify(b);
  if (max === 0 || text.length * 3 <= max || Buffer.byteLength(text) <= max) return text;
  stats.linesTruncated++;
  // cut on bytes, leaving room for a replacement character where a multi-byte character was split
  return Buffer.from(text).subarray(0, Math.max(0, max - 3)).toString('utf8');
}

export function buildStreams(records: readonly DecodedLogRecord[], cfg: LokiConfig): { streams: Stream[]; stats: PushStats } {
  const stats: PushStats = { linesTruncated: 0, metadataDropped: 0 };
  const streams = new Map<string, Stream>();
  for (const rec of records) {
    const parts = entryParts(rec, cfg);
    stats.metadataDropped += parts.metadataDropped;
    parts.labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const key = JSON.stringify(parts.labels);
    let stream = streams.get(key);
    if (!stream) streams.set(key, (stream = { labels: Object.fromEntries(parts.labels), entries: [] }));
    stream.entries.push({ ts: timestamp(rec), line: line(rec, cfg.max_line_size, stats), metadata: parts.metadata });
  }
  const out = [...streams.values()];
  for (const s of out) s.entries.sort(byTime);
  return { streams: out, stats };
}

/** `{"streams":[{"stream":{…},"values":[["<ns>","line",{metadata}]]}]}` */
export function jsonPush(streams: Stream[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      streams: streams.map((s) => ({
        stream: s.labels,
        values: s.entries.map((e) => (Object.keys(e.metadata).length > 0 ? [e.ts, e.line, e.metadata] : [e.ts, e.line])),
      })),
    }),
    'utf8',
  );
}

// logproto.PushRequest (grafana/loki pkg/push/push.proto); google.protobuf.Timestamp is {int64 seconds = 1; int32 nanos = 2}
const PushRequest = protobuf.Root.fromJSON({
  nested: {
    logproto: {
      nested: {
        PushRequest: { fields: { streams: { rule: 'repeated', type: 'StreamAdapter', id: 1 } } },
        StreamAdapter: { fields: { labels: { type: 'string', id: 1 }, entries: { rule: 'repeated', type: 'EntryAdapter', id: 2 } } },
        EntryAdapter: {
          fields: { timestamp: { type: 'Timestamp', id: 1 }, line: { type: 'string', id: 2 }, structuredMetadata: { rule: 'repeated', type: 'LabelPairAdapter', id: 3 } },
        },
        LabelPairAdapter: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
      },
    },
  },
}).lookupType('logproto.PushRequest');

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Loki's label string, e.g. `{level="info", service_name="shop"}`. */
export function labelString(labels: Record<string, string>): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(', ')}}`;
}

/** Snappy (block format) compressed logproto.PushRequest. */
export function protobufPush(streams: Stream[]): Uint8Array {
  const msg = {
    streams: streams.map((s) => ({
      labels: labelString(s.labels),
      entries: s.entries.map((e) => {
        const ns = BigInt(e.ts);
        return {
          timestamp: { seconds: (ns / 1_000_000_000n).toString(), nanos: Number(ns % 1_000_000_000n) },
          line: e.line,
          structuredMetadata: Object.entries(e.metadata).map(([name, value]) => ({ name, value })),
        };
      }),
    })),
  };
  return snappy.compress(PushRequest.encode(msg).finish());
}

export { PushRequest as pushRequestType };
