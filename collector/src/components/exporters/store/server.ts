// The query server (node:http): Jaeger's API, the logs API and the trace pages on one port. Only GET/HEAD (and
// Jaeger's POST archive); optional basic auth compared in constant time; every failure is a 4xx, never a crash.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ParamError, parseTraceId } from './go-parse.js';
import { goHttpError, type Reply } from './http-util.js';
import { apiError, JaegerApi } from './jaeger-api.js';
import type { LogStore } from './log-store.js';
import { handleLogs } from './logs-api.js';
import { indexPage } from './pages/index-page.js';
import { esc, notFoundPage, page } from './pages/html.js';
import { tracePage } from './pages/trace-page.js';
import type { TraceStore } from './store.js';

const MAX_URL = 16 * 1024;

export interface QueryServerOptions {
  traces: TraceStore;
  logs: LogStore;
  maxTraces: number;
  auth?: { username: string; password: string } | undefined;
  /** Path prefix of query.base_url, for links in pages ('' at the root). */
  linkBase: () => string;
  logger: Logger;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Basic auth check whose time does not depend on where the given credentials differ. */
export function basicAuthOk(header: string | undefined, expected: { username: string; password: string }): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
  const i = decoded.indexOf(':');
  const user = i >= 0 ? decoded.slice(0, i) : '';
  const pass = i >= 0 ? decoded.slice(i + 1) : '';
  const userOk = timingSafeEqual(digest(user), digest(expected.username));
  const passOk = timingSafeEqual(digest(pass), digest(expected.password));
  return m !== null && i >= 0 && userOk && passOk;
}

export function createQueryServer(o: QueryServerOptions): Server {
  const jaeger = new JaegerApi(o.traces, o.maxTraces);
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    // a request body is never needed: discard it so the connection stays usable
    req.resume();
    let reply: Reply;
    try {
      reply = route(req, o, jaeger);
    } catch (err) {
      o.logger.error({ err, url: req.url?.slice(0, 200) }, 'store query server: request failed');
      reply = goHttpError(500, 'internal error');
    }
    send(req, res, reply);
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  return server;
}

function send(req: IncomingMessage, res: ServerResponse, r: Reply): void {
  res.writeHead(r.status, { ...r.headers, 'content-length': Buffer.byteLength(r.body) });
  res.end(req.method === 'HEAD' ? undefined : r.body);
}

function route(req: IncomingMessage, o: QueryServerOptions, jaeger: JaegerApi): Reply {
  const url = req.url ?? '/';
  if (url.length > MAX_URL) return goHttpError(414, 'request URI too long');
  if (o.auth && !basicAuthOk(req.headers.authorization, o.auth)) {
    const r = goHttpError(401, 'unauthorized');
    return { ...r, headers: { ...r.headers, 'www-authenticate': 'Basic realm="Lantern", charset="UTF-8"' } };
  }
  const q = url.indexOf('?');
  const path = q >= 0 ? url.slice(0, q) : url;
  const params = new URLSearchParams(q >= 0 ? url.slice(q + 1) : '');
  const segments = path.split('/').slice(1);
  const method = req.method ?? 'GET';
  if (segments[0] === 'api') {
    if (segments[1] === 'logs' && segments.length === 2) return method === 'GET' || method === 'HEAD' ? handleLogs(o.logs, params) : methodNotAllowed();
    return jaeger.handle(method, segments, params) ?? goHttpError(404, '404 page not found');
  }
  if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed();
  if (path === '/') return indexPage(o.traces, params, o.linkBase());
  if (segments[0] === 'trace' && segments.length === 2) return traceRoute(segments[1]!, o);
  if (path === '/favicon.ico') return { status: 204, headers: {}, body: '' };
  return notFoundPage('No such page.');
}

function traceRoute(raw: string, o: QueryServerOptions): Reply {
  let id: string;
  try {
    id = parseTraceId(decodeURIComponent(raw));
  } catch (err) {
    const r = page('Bad trace id', `<h1>Bad trace id</h1><p>${esc(err instanceof ParamError ? err.message : 'invalid URL escape')}</p>`);
    return { ...r, status: 400 };
  }
  const t = o.traces.get(id);
  if (!t) return notFoundPage(`Trace ${id} is not in the store (never received, or evicted).`);
  return tracePage(t, o.logs.ofTrace(id));
}

function methodNotAllowed(): Reply {
  const r = apiError(405, 'method not allowed');
  return { ...r, headers: { ...r.headers, allow: 'GET, HEAD' } };
}
