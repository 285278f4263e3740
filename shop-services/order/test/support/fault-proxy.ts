// A fault-injecting HTTP proxy on loopback in front of a real service (the idea of toxiproxy): it
// forwards requests as they are, records them (so a test can count calls at the wire), and on demand
// answers 503, holds a request without answering, forwards but loses the answer, or stops listening.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Seen {
  method: string;
  path: string;
  idempotencyKey: string | undefined;
  body: Record<string, unknown>;
}

/**
 * undefined: forward; 503: answer 503 without forwarding; 'hang': never answer (until close());
 * 'lose-answer': forward, then answer 503 (the upstream acted, the caller does not know);
 * 'forward-hang': forward, then never answer (the upstream acted; the caller waits, e.g. until it dies).
 */
export type Fault = undefined | 503 | 'hang' | 'lose-answer' | 'forward-hang';

export interface FaultProxy {
  url: string;
  requests: Seen[];
  /** Decides the fault for each request (default: none). */
  fault: (req: Seen, nth: number) => Fault;
  /** Stops listening (connections refused) and answers held requests with 503. */
  close(): Promise<void>;
  /** Listens again on the same port. */
  reopen(): Promise<void>;
}

const FORWARDED = ['authorization', 'content-type', 'idempotency-key', 'traceparent', 'tracestate', 'accept'];

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const held = new Set<http.ServerResponse>();
  let server: http.Server | undefined;
  let port = 0;
  const answer = (res: http.ServerResponse, status: number, body: string, type = 'application/json') => {
    if (res.writableEnded) return;
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  };
  const failure = JSON.stringify({ error: { code: 'injected_fault', message: 'fault injected by the test proxy' } });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    let body: Record<string, unknown> = {};
    try {
      body = raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
    } catch {
      // not JSON: recorded as empty
    }
    const seen: Seen = { method: req.method ?? 'GET', path: req.url ?? '/', idempotencyKey: req.headers['idempotency-key'] as string | undefined, body };
    proxy.requests.push(seen);
    const fault = proxy.fault(seen, proxy.requests.length);
    if (fault === 503) return answer(res, 503, failure);
    if (fault === 'hang') {
      held.add(res);
      return;
    }
    const headers: Record<string, string> = {};
    for (const h of FORWARDED) if (typeof req.headers[h] === 'string') headers[h] = req.headers[h] as string;
    try {
      const upstream = await fetch(`${target}${seen.path}`, { method: seen.method, headers, ...(raw.length ? { body: raw } : {}) });
      const text = await upstream.text();
      if (fault === 'lose-answer') return answer(res, 503, failure);
      if (fault === 'forward-hang') {
        held.add(res);
        return;
      }
      answer(res, upstream.status, text, upstream.headers.get('content-type') ?? 'application/json');
    } catch (err) {
      answer(res, 502, JSON.stringify({ error: { code: 'proxy_upstream_failed', message: String(err) } }));
    }
  }

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = http.createServer((req, res) => void handle(req, res));
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as AddressInfo).port;
        server = s;
        resolve();
      });
    });

  const proxy: FaultProxy = {
    url: '',
    requests: [],
    fault: () => undefined,
    async close() {
      for (const res of held) answer(res, 503, failure);
      held.clear();
      const s = server;
      server = undefined;
      if (!s) return;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    },
    reopen: listen,
  };
  await listen();
  proxy.url = `http://127.0.0.1:${port}`;
  return proxy;
}
