// The Loki push API: POST /loki/api/v1/push (JSON, optionally gzip; or snappy-compressed protobuf),
// answering as Loki does: 204, 400 with a plain-text reason naming the stream/entry, 429 to retry.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PermanentError, RefusedError } from '../../../pipeline/errors.js';
import type { Consumer, Host, Receiver } from '../../../pipeline/types.js';
import { authorized, challenge } from '../http/auth.js';
import { drain, readBody } from '../http/body.js';
import { handleCors } from '../http/cors.js';
import { HttpError } from '../http/errors.js';
import { pathOf, ReceiverServer } from '../http/server.js';
import type { LokiReceiverConfig } from './config.js';
import { toLogRecords } from './convert.js';
import { decodeJsonPush } from './json.js';
import { decodeProtoPush } from './proto.js';
import { PushDecodeError, type PushStream } from './stream.js';
import { errorText, validate } from './validate.js';

const PUSH_PATH = '/loki/api/v1/push';
const READY_PATH = '/ready';

const nowNs = () => BigInt(Date.now()) * 1_000_000n;

export class LokiReceiver implements Receiver {
  private readonly server: ReceiverServer;
  private readonly counters;

  constructor(
    private readonly id: string,
    private readonly config: LokiReceiverConfig,
    private readonly logs: Consumer<'logs'>,
    private readonly host: Host,
  ) {
    this.counters = host.telemetry.receiver(id, 'http');
    this.server = new ReceiverServer(config, (req, res) => this.handle(req, res), (req, res, err) => this.answerError(req, res, err), host.logger.child({ receiver: id }));
  }

  async start(): Promise<void> {
    await this.server.start();
    this.host.logger.info({ receiver: this.id, url: this.server.url() }, 'loki receiver listening');
  }

  async shutdown(): Promise<void> {
    await this.server.stop();
  }

  endpoints(): Record<string, string> {
    return { '': this.server.url() };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = pathOf(req);
    if (path === READY_PATH) {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'use GET', { allow: 'GET, HEAD' });
      return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ready\n');
    }
    if (path !== PUSH_PATH) throw new HttpError(404, `404 page not found (the push API is POST ${PUSH_PATH})`);
    if (handleCors(req, res, this.config.cors, 'POST, OPTIONS')) return;
    if (req.method !== 'POST') throw new HttpError(405, `method ${req.method} is not allowed: use POST`, { allow: 'POST' });
    const auth = this.config.auth;
    if (auth && !authorized(req, { bearerToken: auth.bearer_token, allowBasic: true })) {
      throw new HttpError(401, 'missing or wrong credentials (Authorization: Bearer <token>, or basic auth with the token as password)', challenge({ bearerToken: auth.bearer_token, allowBasic: true }));
    }
    const streams = await this.readStreams(req);
    await this.push(req, streams, res);
  }

  /** Decodes the body by Content-Type: JSON, or (absent / application/x-protobuf) snappy protobuf, as Loki does. */
  private async readStreams(req: IncomingMessage): Promise<PushStream[]> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const json = type === 'application/json';
    if (!json && type !== '' && type !== 'application/x-protobuf') {
      throw new HttpError(415, `Content-Type ${JSON.stringify(type)} is not supported: use application/json or application/x-protobuf (snappy-compressed)`);
    }
    // "snappy" as a Content-Encoding is what some clients send with protobuf: the protobuf path decodes snappy itself
    const body = await readBody(req, { limit: this.config.max_request_body_size, passThrough: ['snappy'] });
    if (json) return decodeJsonPush(body);
    return decodeProtoPush(body, this.config.max_request_body_size);
  }

  private async push(req: IncomingMessage, streams: PushStream[], res: ServerResponse): Promise<void> {
    if (streams.length === 0) throw new HttpError(422, 'error at least one valid stream is required for ingestion');
    const now = nowNs();
    const checked = validate(streams, this.config, now);
    if (checked.rejected > 0) this.counters.refused('logs', checked.rejected);
    const records = toLogRecords(checked.streams, this.tenantOf(req), now);
    if (records.length > 0) {
      try {
        await this.logs.consume(records);
      } catch (err) {
        this.counters.refused('logs', records.length);
        throw err;
      }
      this.counters.accepted('logs', records.length);
    }
    // Loki keeps the valid entries and answers 400 listing the invalid ones (clients do not retry a 400)
    if (checked.errors.length > 0) throw new HttpError(400, errorText(checked.errors));
    res.writeHead(204).end();
  }

  private tenantOf(req: IncomingMessage): string | undefined {
    const name = this.config.tenant_header;
    if (!name) return undefined;
    const v = req.headers[name.toLowerCase()];
    const tenant = Array.isArray(v) ? v[0] : v;
    return tenant?.trim() ? tenant.trim().slice(0, 256) : undefined;
  }

  private answerError(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    drain(req);
    const { status, message, headers } = this.describe(err);
    const body = `${message}\n`;
    res.writeHead(status, { ...headers, 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  }

  private describe(err: unknown): { status: number; message: string; headers: Record<string, string> } {
    if (err instanceof HttpError) return { status: err.status, message: err.message, headers: err.headers };
    if (err instanceof PushDecodeError || err instanceof PermanentError) return { status: 400, message: err.message, headers: {} };
    // Loki's clients (promtail, Alloy, pino-loki with retries) retry 429 with back-off
    if (err instanceof RefusedError) return { status: 429, message: `data refused, retry later: ${err.message}`, headers: { 'retry-after': String(Math.max(1, Math.ceil(err.retryAfterSeconds))) } };
    this.host.logger.error({ err, receiver: this.id }, 'loki receiver: pipeline failed');
    return { status: 503, message: 'the collector could not accept the data, retry later', headers: { 'retry-after': '1' } };
  }
}
