import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bearerToken, verifyInternalToken } from '@lantern/shop-common';

export interface AllocationCall {
  allocationId: string;
  productId: string;
  quantity: number;
  idempotencyKey: string | undefined;
  caller: string;
}

export interface ReturnCall {
  allocationId: string;
  quantity: number;
  idempotencyKey: string | undefined;
}

/**
 * The inventory service's allocation endpoints on loopback, as the contract in shop2.md describes
 * them: checks the internal token (audience `inventory`), keeps what it was asked, and answers like
 * inventory (201, 409 insufficient_stock, 404 unknown product). Idempotency keys are honoured.
 */
export interface FakeInventory {
  url: string;
  allocations: AllocationCall[];
  returns: ReturnCall[];
  /** Units on hand per product (unknown products → 404). */
  stock: Map<string, number>;
  /** Answer every request with this status (e.g. 503) while set. */
  failWith: number | undefined;
  close(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export async function startFakeInventory(secret: string): Promise<FakeInventory> {
  const state: FakeInventory = {
    url: '',
    allocations: [],
    returns: [],
    stock: new Map(),
    failWith: undefined,
    close: async () => undefined,
  };
  const seenKeys = new Map<string, { status: number; body: unknown }>();
  const server = createServer((req, res) => {
    void (async () => {
      try {
        if (state.failWith) return send(res, state.failWith, { error: { code: 'unavailable', message: 'inventory is down' } });
        const token = bearerToken(req.headers.authorization);
        const verified = token ? await verifyInternalToken(token, { secret, audience: 'inventory' }).catch(() => undefined) : undefined;
        if (!verified) return send(res, 401, { error: { code: 'service_token_invalid', message: 'bad token' } });
        const key = typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : undefined;
        if (key && seenKeys.has(key)) {
          const prior = seenKeys.get(key)!;
          return send(res, prior.status, prior.body);
        }
        const body = await readJson(req);
        const path = req.url ?? '';
        let answer: { status: number; body: unknown };
        if (req.method === 'POST' && path === '/inventory/allocations') {
          const productId = String(body.productId);
          const quantity = Number(body.quantity);
          const onHand = state.stock.get(productId);
          if (onHand === undefined) answer = { status: 404, body: { error: { code: 'not_found', message: `no stock for ${productId}` } } };
          else if (onHand < quantity) answer = { status: 409, body: { error: { code: 'insufficient_stock', message: 'not enough stock', details: [{ path: productId, message: `available ${onHand}` }] } } };
          else {
            state.stock.set(productId, onHand - quantity);
            state.allocations.push({ allocationId: String(body.allocationId), productId, quantity, idempotencyKey: key, caller: verified.caller.service });
            answer = { status: 201, body: { allocationId: body.allocationId, productId, quantity, consumed: 0, returned: 0, status: 'active' } };
          }
        } else if (req.method === 'GET' && path.startsWith('/inventory/')) {
          const productId = decodeURIComponent(path.slice('/inventory/'.length));
          answer = state.stock.has(productId) ? { status: 200, body: { productId, sku: `SKU-${productId.slice(0, 8)}`, onHand: state.stock.get(productId), reserved: 0, available: state.stock.get(productId) } } : { status: 404, body: { error: { code: 'not_found', message: 'unknown' } } };
        } else {
          const m = /^\/inventory\/allocations\/([^/]+)\/return$/.exec(path);
          if (req.method === 'POST' && m) {
            const allocationId = decodeURIComponent(m[1]!);
            const alloc = state.allocations.find((a) => a.allocationId === allocationId);
            if (!alloc) answer = { status: 404, body: { error: { code: 'allocation_not_found', message: 'unknown allocation' } } };
            else {
              state.returns.push({ allocationId, quantity: Number(body.quantity), idempotencyKey: key });
              state.stock.set(alloc.productId, (state.stock.get(alloc.productId) ?? 0) + Number(body.quantity));
              answer = { status: 200, body: { allocationId, returned: Number(body.quantity) } };
            }
          } else answer = { status: 404, body: { error: { code: 'route_not_found', message: path } } };
        }
        if (key && answer.status < 500) seenKeys.set(key, answer);
        send(res, answer.status, answer.body);
      } catch (err) {
        send(res, 500, { error: { code: 'internal', message: String(err) } });
      }
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return state;
}
