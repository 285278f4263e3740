// A loopback stand-in for Loki's push API that checks the contract a real Loki enforces (string
// nanosecond timestamps, valid and bounded labels, flat string structured metadata) and answers from a
// script (e.g. 429 then 204). JSON (gzip or not) and snappy protobuf.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import snappy from 'snappyjs';
import { pushRequestType } from '../../src/components/exporters/loki/push.js';
import { closeServer, listen, serverUrl } from '../../src/util/server.js';
import type { ScriptedResponse } from './otlp-backend.js';

export interface ReceivedEntry {
  labels: Record<string, string>;
  ts: string;
  line: string;
  metadata: Record<string, string>;
}

export interface LokiBackend {
  url: string;
  entries: ReceivedEntry[];
  /** Streams per accepted push, as received (to check ordering within a stream). */
  pushes: { labels: Record<string, string>; ts: string[] }[][];
  requests: { headers: IncomingHttpHeaders; status: number }[];
  /** Contract violations seen (a real Loki would have answered 400). */
  violations: string[];
  script: ScriptedResponse[];
  close(): Promise<void>;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseLabelString(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of s.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) out[m[1]!] = m[2]!.replace(/\\(.)/g, (_x, c: string) => (c === 'n' ? '\n' : c));
  return out;
}

type Stream = { labels: Record<string, string>; values: unknown[][] };

function streamsOf(body: Buffer, headers: IncomingHttpHeaders): Stream[] {
  if (String(headers['content-type']).startsWith('application/json')) {
    const raw = headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
    const parsed = JSON.parse(raw.toString('utf8')) as { streams: { stream: Record<string, string>; values: unknown[][] }[] };
    return parsed.streams.map((s) => ({ labels: s.stream, values: s.values }));
  }
  const msg = pushRequestType.toObject(pushRequestType.decode(snappy.uncompress(body)), { longs: String }) as {
    streams: { labels: string; entries: { timestamp: { seconds: string; nanos?: number }; line?: string; structuredMetadata?: { name: string; value: string }[] }[] }[];
  };
  return msg.streams.map((s) => ({
    labels: parseLabelString(s.labels),
    values: s.entries.map((e) => [
      (BigInt(e.timestamp.seconds) * 1_000_000_000n + BigInt(e.timestamp.nanos ?? 0)).toString(),
      e.line ?? '',
      Object.fromEntries((e.structuredMetadata ?? []).map((m) => [m.name, m.value])),
    ]),
  }));
}

function check(streams: Stream[], maxLabels: number): string[] {
  const bad: string[] = [];
  for (const s of streams) {
    const names = Object.keys(s.labels);
    if (names.length > maxLabels) bad.push(`${names.length} labels`);
    for (const n of names) if (!LABEL_NAME.test(n)) bad.push(`label name ${n}`);
    if ('trace_id' in s.labels || 'span_id' in s.labels) bad.push('trace/span id used as a label');
    for (const v of s.values) {
      if (typeof v[0] !== 'string' || !/^\d+$/.test(v[0])) bad.push(`timestamp ${JSON.stringify(v[0])} is not a ns string`);
      if (typeof v[1] !== 'string') bad.push('line is not a string');
      const meta = v[2];
      if (meta !== undefined && (typeof meta !== 'object' || Object.values(meta as object).some((x) => typeof x !== 'string'))) bad.push('metadata is not flat string→string');
      if (meta && Object.keys(meta).length > 128) bad.push('more than 128 metadata entries');
    }
  }
  return bad;
}

export async function startLokiBackend(opts: { script?: ScriptedResponse[]; maxLabels?: number } = {}): Promise<LokiBackend> {
  const state = { entries: [] as ReceivedEntry[], pushes: [] as LokiBackend['pushes'], requests: [] as LokiBackend['requests'], violations: [] as string[], script: opts.script ?? [] };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = state.script.shift() ?? { status: 204 };
      state.requests.push({ headers: req.headers, status: answer.status });
      if (answer.status === 204) {
        let streams: Stream[];
        try {
          streams = streamsOf(Buffer.concat(chunks), req.headers);
        } catch (err) {
          state.violations.push(`undecodable push: ${String(err)}`);
          res.writeHead(400, { 'content-type': 'text/plain' }).end('bad push');
          return;
        }
        const bad = check(streams, opts.maxLabels ?? 15);
        if (bad.length > 0) {
          state.violations.push(...bad);
          res.writeHead(400, { 'content-type': 'text/plain' }).end(bad.join('; '));
          return;
        }
        state.pushes.push(streams.map((s) => ({ labels: s.labels, ts: s.values.map((v) => v[0] as string) })));
        for (const s of streams) for (const v of s.values) state.entries.push({ labels: s.labels, ts: v[0] as string, line: v[1] as string, metadata: (v[2] ?? {}) as Record<string, string> });
      }
      res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers }).end(answer.body ?? '');
    });
  });
  await listen(server, '127.0.0.1', 0);
  return Object.assign(state, { url: `${serverUrl(server)}/loki/api/v1/push`, close: () => closeServer(server) });
}
