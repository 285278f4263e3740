// The HTTP server under a receiver: bounded timeouts, keep-alive, and every failure answered (never a crash).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { closeServer, listen, serverUrl } from '../../../util/server.js';
import type { HttpServerSettings } from './config.js';

export type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;
/** Answers an error the handler threw; called only while no response has been sent. */
export type ErrorResponder = (req: IncomingMessage, res: ServerResponse, err: unknown) => void;

export class ReceiverServer {
  private server: Server | undefined;

  constructor(
    private readonly settings: HttpServerSettings,
    private readonly handler: Handler,
    private readonly onError: ErrorResponder,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const s = this.settings;
    const server = createServer(
      {
        requestTimeout: s.read_timeout,
        // Node requires the header timeout not to exceed the request timeout
        headersTimeout: s.read_timeout > 0 ? Math.min(s.read_header_timeout, s.read_timeout) : s.read_header_timeout,
        keepAliveTimeout: s.idle_timeout,
      },
      (req, res) => this.dispatch(req, res),
    );
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      // malformed HTTP, header timeouts: answer 400/408 when the socket still can, never throw
      if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy();
      const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    });
    await listen(server, s.endpoint.host, s.endpoint.port);
    this.server = server;
  }

  url(): string {
    if (!this.server) throw new Error('server not started');
    return serverUrl(this.server);
  }

  /** Stops accepting, lets requests in flight finish, then closes every connection. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    // closeServer drops the connections idle right now; a connection still finishing a request (or the
    // tail of a body we answered early) becomes idle later and would otherwise linger until idle_timeout
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    const force = setTimeout(() => server.closeAllConnections(), STOP_GRACE_MS);
    try {
      await closeServer(server);
    } finally {
      clearInterval(sweep);
      clearTimeout(force);
    }
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    this.handler(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        this.logger.warn({ err }, 'receiver request failed after the response started');
        res.destroy();
        return;
      }
      try {
        if (!req.complete) lingerThenClose(req, res);
        this.onError(req, res, err);
      } catch (inner) {
        this.logger.error({ err: inner }, 'receiver could not answer an error');
        res.destroy();
      }
    });
  }
}

/**
 * How long the rest of a body we answered early (413, 415, 401 …) may keep arriving. Closing at once
 * could reset the connection before the client read the answer; waiting forever lets a client that
 * stopped sending pin the connection (and delay shutdown) until read_timeout.
 */
const LINGER_MS = 2000;
/** Longest a stop waits for requests in flight before closing their connections. */
const STOP_GRACE_MS = 30_000;

function lingerThenClose(req: IncomingMessage, res: ServerResponse): void {
  res.once('finish', () => {
    if (req.complete) return;
    const timer = setTimeout(() => req.socket.destroy(), LINGER_MS);
    timer.unref();
    const clear = () => clearTimeout(timer);
    req.once('end', clear);
    req.socket.once('close', clear);
  });
}

/** The path of a request URL, without query string. */
export function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
