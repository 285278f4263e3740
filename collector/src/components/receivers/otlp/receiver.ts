// OTLP/HTTP receiver: POST /v1/{traces,logs,metrics}, protobuf or JSON, optionally gzip/deflate,
// answering with the status codes of the OTLP/HTTP specification and the OpenTelemetry Collector.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeLogs, decodeMetrics, decodeTracesLazy, OtlpDecodeError, otlpFormat, type OtlpFormat } from '../../../otlp/codec.js';
import { PermanentError, RefusedError } from '../../../pipeline/errors.js';
import { itemCount, type Consumer, type Host, type Receiver, type Signal, type SignalData } from '../../../pipeline/types.js';
import { authorized, challenge } from '../http/auth.js';
import { drain, readBody } from '../http/body.js';
import { handleCors } from '../http/cors.js';
import { HttpError } from '../http/errors.js';
import { pathOf, ReceiverServer } from '../http/server.js';
import type { OtlpHttpConfig } from './config.js';
import { CONTENT_TYPE, exportResponseBody, rpcCodeFor, sendEmptySuccess, statusBody } from './responses.js';
import { checkItems } from './validate.js';

const DECODERS: { [S in Signal]: (body: Uint8Array, format: OtlpFormat) => SignalData[S] } = {
  traces: decodeTracesLazy,
  logs: decodeLogs,
  metrics: decodeMetrics,
};

export class OtlpHttpReceiver implements Receiver {
  private readonly server: ReceiverServer;
  private readonly routes: Map<string, Signal>;
  private readonly counters;

  constructor(
    private readonly id: string,
    private readonly config: OtlpHttpConfig,
    private readonly consumers: { [S in Signal]?: Consumer<S> },
    private readonly host: Host,
  ) {
    this.routes = new Map<string, Signal>([
      [config.traces_url_path, 'traces'],
      [config.logs_url_path, 'logs'],
      [config.metrics_url_path, 'metrics'],
    ]);
    this.counters = host.telemetry.receiver(id, 'http');
    const logger = host.logger.child({ receiver: id });
    this.server = new ReceiverServer(config, (req, res) => this.handle(req, res), (req, res, err) => this.answerError(req, res, err), logger);
  }

  async start(): Promise<void> {
    await this.server.start();
    this.host.logger.info({ receiver: this.id, url: this.server.url() }, 'otlp receiver listening');
  }

  async shutdown(): Promise<void> {
    await this.server.stop();
  }

  endpoints(): Record<string, string> {
    return { '': this.server.url() };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const signal = this.routes.get(pathOf(req));
    if (!signal) throw new HttpError(404, `no OTLP endpoint at ${pathOf(req).slice(0, 100)} (try ${[...this.routes.keys()].join(', ')})`);
    if (handleCors(req, res, this.config.cors, 'POST, OPTIONS')) return;
    if (!this.consumers[signal]) throw new HttpError(404, `receiver ${this.id} is not in any ${signal} pipeline`);
    if (req.method !== 'POST') throw new HttpError(405, `method ${req.method} is not allowed: use POST`, { allow: 'POST' });
    const auth = this.config.auth;
    if (auth && !authorized(req, { bearerToken: auth.bearer_token })) {
      throw new HttpError(401, 'missing or wrong bearer token (Authorization: Bearer <token>)', challenge({ bearerToken: auth.bearer_token }));
    }
    const format = otlpFormat(req.headers['content-type']);
    if (!format) {
      throw new HttpError(415, `Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')} is not supported: use application/x-protobuf or application/json`);
    }
    const body = await readBody(req, { limit: this.config.max_request_body_size });
    await this.export(signal, body, format, res);
  }

  private async export<S extends Signal>(signal: S, body: Buffer, format: OtlpFormat, res: ServerResponse): Promise<void> {
    const decoded = (DECODERS[signal] as (b: Uint8Array, f: OtlpFormat) => SignalData[S])(body, format);
    const { accepted, rejected, message } = checkItems(signal, decoded);
    if (rejected > 0) this.counters.refused(signal, rejected);
    const n = itemCount(signal, accepted);
    if (accepted.length > 0) {
      try {
        await this.consumers[signal]!.consume(accepted);
      } catch (err) {
        this.counters.refused(signal, n);
        throw err;
      }
    }
    this.counters.accepted(signal, n);
    if (rejected === 0) return sendEmptySuccess(res, format);
    this.send(res, 200, format, exportResponseBody(signal, format, rejected, message));
  }

  private answerError(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    drain(req);
    // in the request's encoding (read again from its header: no per-request WeakMap entry for the GC to trace);
    // errors before the content type was known are answered in JSON, the readable fallback
    const format = otlpFormat(req.headers['content-type']) ?? 'json';
    const { status, message, headers } = this.describe(err);
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    this.send(res, status, format, statusBody(format, rpcCodeFor(status), message));
  }

  /** Maps what went wrong to an HTTP answer. Input problems are 4xx; only the pipeline's own failures are 5xx. */
  private describe(err: unknown): { status: number; message: string; headers: Record<string, string> } {
    if (err instanceof HttpError) return { status: err.status, message: err.message, headers: err.headers };
    if (err instanceof OtlpDecodeError) return { status: 400, message: err.message, headers: {} };
    if (err instanceof PermanentError) return { status: 400, message: err.message, headers: {} };
    if (err instanceof RefusedError) {
      return { status: err.resourceExhausted ? 429 : 503, message: `data refused, retry later: ${err.message}`, headers: { 'retry-after': String(Math.max(1, Math.ceil(err.retryAfterSeconds))) } };
    }
    // an unexpected failure downstream: retryable, as the OpenTelemetry Collector answers non-permanent errors
    this.host.logger.error({ err, receiver: this.id }, 'otlp receiver: pipeline failed');
    return { status: 503, message: 'the collector could not accept the data, retry later', headers: { 'retry-after': '1' } };
  }

  private send(res: ServerResponse, status: number, format: OtlpFormat, body: Buffer): void {
    res.writeHead(status, { 'content-type': CONTENT_TYPE[format], 'content-length': String(body.length) });
    res.end(body);
  }
}
