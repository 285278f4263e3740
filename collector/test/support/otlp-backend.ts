// A loopback OTLP/HTTP backend for exporter tests: decodes what arrives (protobuf or JSON, gzip or
// not) with the codec, and answers from a script (e.g. 503 with Retry-After twice, then 200).
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { decodeLogs, decodeMetrics, decodeTraces, otlpFormat, type OtlpFormat } from '../../src/otlp/codec.js';
import type { DecodedLogRecord, DecodedMetric, DecodedSpan } from '../../src/otlp/types.js';
import { closeServer, listen, serverUrl } from '../../src/util/server.js';

export interface ScriptedResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

export interface BackendRequest {
  path: string;
  headers: IncomingHttpHeaders;
  format: OtlpFormat;
  /** What the backend answered. */
  status: number;
}

export interface OtlpBackend {
  url: string;
  port: number;
  /** Items of the requests answered 2xx, in arrival order. */
  spans: DecodedSpan[];
  logs: DecodedLogRecord[];
  metrics: DecodedMetric[];
  /** Bodies (decompressed) of the trace requests answered 2xx, as received. */
  traceBodies: Buffer[];
  /** Every request, whatever the answer. */
  requests: BackendRequest[];
  /** Answers for the next requests, consumed in order; afterwards every request gets `otherwise`. */
  script: ScriptedResponse[];
  otherwise: ScriptedResponse;
  close(): Promise<void>;
}

export async function startOtlpBackend(opts: { port?: number; script?: ScriptedResponse[] } = {}): Promise<OtlpBackend> {
  const backend: Omit<OtlpBackend, 'url' | 'port' | 'close'> = { spans: [], logs: [], metrics: [], traceBodies: [], requests: [], script: opts.script ?? [], otherwise: { status: 200 } };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url?.split('?')[0] ?? '';
      const format = otlpFormat(req.headers['content-type']) ?? 'protobuf';
      const answer = backend.script.shift() ?? backend.otherwise;
      backend.requests.push({ path, headers: req.headers, format, status: answer.status });
      if (answer.status >= 200 && answer.status < 300) {
        try {
          let body = Buffer.concat(chunks);
          if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
          if (path.endsWith('/v1/traces')) {
            backend.spans.push(...decodeTraces(body, format));
            backend.traceBodies.push(body);
          }
          else if (path.endsWith('/v1/logs')) backend.logs.push(...decodeLogs(body, format));
          else if (path.endsWith('/v1/metrics')) backend.metrics.push(...decodeMetrics(body, format));
        } catch (err) {
          res.writeHead(400, { 'content-type': 'text/plain' }).end(err instanceof Error ? err.message : 'bad request');
          return;
        }
      }
      res.writeHead(answer.status, { 'content-type': format === 'json' ? 'application/json' : 'application/x-protobuf', ...answer.headers }).end(answer.body ?? (format === 'json' ? '{}' : ''));
    });
  });
  await listen(server, '127.0.0.1', opts.port ?? 0);
  const url = serverUrl(server);
  return Object.assign(backend, { url, port: Number(new URL(url).port), close: () => closeServer(server) });
}

/** A loopback port that nothing listens on (for "the backend is down"); a backend can be started on it later. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await listen(s, '127.0.0.1', 0);
  const port = Number(new URL(serverUrl(s)).port);
  await closeServer(s);
  return port;
}
