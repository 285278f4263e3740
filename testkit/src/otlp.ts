import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeTraces, otlpFormat, OtlpDecodeError, type DecodedSpan, type OtlpFormat } from '@lantern/collector';
import { waitFor, type WaitOptions } from './wait.js';

export interface OtlpReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT (spans are POSTed to `${url}/v1/traces`). */
  url: string;
  /** Every span received so far, in arrival order. */
  spans(): DecodedSpan[];
  /** The encoding of each export request received, in arrival order. */
  formats(): OtlpFormat[];
  /** Resolves with all spans once `pred(spans)` holds (polls; generous default timeout). */
  waitForSpans(pred: (spans: DecodedSpan[]) => boolean, opts?: WaitOptions): Promise<DecodedSpan[]>;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** An OTLP/HTTP traces endpoint on 127.0.0.1 (protobuf or JSON) that keeps what it receives, for tests. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const received: DecodedSpan[] = [];
  const formats: OtlpFormat[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const format = otlpFormat(req.headers['content-type']);
      if (req.method !== 'POST' || req.url?.split('?')[0] !== '/v1/traces') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('only POST /v1/traces');
        return;
      }
      if (!format) {
        res.writeHead(415, { 'content-type': 'text/plain' }).end('content-type must be application/x-protobuf or application/json');
        return;
      }
      try {
        received.push(...decodeTraces(await readBody(req), format));
        formats.push(format);
        // an empty ExportTraceServiceResponse is a valid answer in both encodings
        res.writeHead(200, { 'content-type': format === 'json' ? 'application/json' : 'application/x-protobuf' }).end(format === 'json' ? '{}' : '');
      } catch (err) {
        res.writeHead(err instanceof OtlpDecodeError ? 400 : 500, { 'content-type': 'text/plain' }).end(err instanceof Error ? err.message : 'error');
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => [...received],
    formats: () => [...formats],
    waitForSpans: (pred, opts) => waitFor(() => (pred(received) ? [...received] : undefined), { what: 'spans at the OTLP receiver', ...opts }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
