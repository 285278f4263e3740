// Small real HTTP servers on loopback implementing the inventory and payment contracts of shop2.md
// (used while those packages are not usable; see README "Tests"). They verify the internal token
// like the real services and record every request, so tests can count calls.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { verifyInternalToken } from '@lantern/shop-common';

export interface Recorded {
  method: string;
  path: string;
  body: Record<string, unknown>;
  idempotencyKey: string | undefined;
  caller: string;
  userId: string | undefined;
}

interface Route {
  (req: Recorded): Promise<{ status: number; body?: unknown } | 'hang'> | { status: number; body?: unknown } | 'hang';
}

export interface StandIn {
  url: string;
  port: number;
  requests: Recorded[];
  /** While set, every request is answered with this status (e.g. 503), or left hanging. */
  failWith: number | 'hang' | undefined;
  /** Stops listening (connections refused) and answers hanging requests with 503. */
  close(): Promise<void>;
  /** Listens again on the same port. */
  reopen(): Promise<void>;
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

function startServer(audience: string, secret: string, route: Route, port = 0): Promise<StandIn> {
  const hanging = new Set<http.ServerResponse>();
  const requests: Recorded[] = [];
  let server: http.Server;
  const send = (res: http.ServerResponse, status: number, body?: unknown) => {
    if (res.writableEnded) return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body === undefined ? '' : JSON.stringify(body));
  };
  const handler = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    try {
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      let verified;
      try {
        verified = await verifyInternalToken(token, { secret, audience });
      } catch {
        return send(res, 401, { error: { code: 'service_token_invalid', message: 'service token invalid' } });
      }
      const rec: Recorded = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        body: await readJson(req),
        idempotencyKey: req.headers['idempotency-key'] as string | undefined,
        caller: verified.caller.service,
        userId: verified.user?.id,
      };
      requests.push(rec);
      if (self.failWith === 'hang') {
        hanging.add(res);
        return;
      }
      if (typeof self.failWith === 'number') return send(res, self.failWith, { error: { code: 'stand_in_failure', message: 'failing on purpose' } });
      const out = await route(rec);
      if (out === 'hang') {
        hanging.add(res);
        return;
      }
      send(res, out.status, out.body);
    } catch (err) {
      send(res, 500, { error: { code: 'stand_in_bug', message: String(err) } });
    }
  };
  const listen = (p: number) =>
    new Promise<number>((resolve, reject) => {
      server = http.createServer((req, res) => void handler(req, res));
      server.once('error', reject);
      server.listen(p, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  const self: StandIn = {
    url: '',
    port: 0,
    requests,
    failWith: undefined,
    async close() {
      for (const res of hanging) send(res, 503, { error: { code: 'stand_in_closed', message: 'closed' } });
      hanging.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    async reopen() {
      await listen(self.port);
    },
  };
  return listen(port).then((p) => {
    self.port = p;
    self.url = `http://127.0.0.1:${p}`;
    return self;
  });
}

// ------------------------------------------------------------------ inventory

interface Reservation {
  orderId: string;
  items: { productId: string; quantity: number }[];
  status: 'reserved' | 'confirmed' | 'released';
  hash: string;
}

export interface InventoryStandIn extends StandIn {
  setStock(productId: string, onHand: number): void;
  available(productId: string): number;
  reservation(orderId: string): Reservation | undefined;
  /** Allocations for flash sales: allocationId → units left. */
  allocate(allocationId: string, productId: string, units: number): void;
}

export async function startInventoryStandIn(secret: string): Promise<InventoryStandIn> {
  const stock = new Map<string, { onHand: number; reserved: number }>();
  const reservations = new Map<string, Reservation>();
  const allocations = new Map<string, { productId: string; left: number }>();
  const view = (r: Reservation) => ({ orderId: r.orderId, status: r.status, items: r.items, expiresAt: new Date(Date.now() + 3600_000).toISOString() });
  const notFound = (what: string) => ({ status: 404, body: { error: { code: 'reservation_not_found', message: `no reservation for order ${what}` } } });

  const route: Route = (req) => {
    const m = req.path.match(/^\/inventory\/reservations\/([^/]+)\/(confirm|release)$/);
    if (req.method === 'POST' && req.path === '/inventory/reservations') {
      const orderId = String(req.body.orderId);
      const items = req.body.items as { productId: string; quantity: number }[];
      const hash = JSON.stringify(items);
      const existing = reservations.get(orderId);
      if (existing) return existing.hash === hash ? { status: 201, body: view(existing) } : { status: 409, body: { error: { code: 'idempotency_conflict', message: 'other body' } } };
      const shortages = items
        .map((it, index) => ({ it, index, s: stock.get(it.productId) }))
        .filter(({ it, s }) => !s || s.onHand - s.reserved < it.quantity)
        .map(({ it, index, s }) => ({ path: `body.items.${index}.quantity`, productId: it.productId, requested: it.quantity, available: s ? s.onHand - s.reserved : 0, message: 'not enough' }));
      if (shortages.length) return { status: 409, body: { error: { code: 'insufficient_stock', message: 'not enough stock', details: shortages } } };
      for (const it of items) (stock.get(it.productId) as { reserved: number }).reserved += it.quantity;
      const r: Reservation = { orderId, items, status: 'reserved', hash };
      reservations.set(orderId, r);
      return { status: 201, body: view(r) };
    }
    if (req.method === 'POST' && m) {
      const r = reservations.get(decodeURIComponent(m[1] as string));
      if (!r) return notFound(m[1] as string);
      const action = m[2];
      if (action === 'confirm') {
        if (r.status === 'released') return { status: 409, body: { error: { code: 'reservation_released', message: 'released' } } };
        if (r.status === 'reserved') {
          for (const it of r.items) {
            const s = stock.get(it.productId) as { onHand: number; reserved: number };
            s.reserved -= it.quantity;
            s.onHand -= it.quantity;
          }
          r.status = 'confirmed';
        }
        return { status: 200, body: view(r) };
      }
      if (r.status === 'confirmed') return { status: 409, body: { error: { code: 'reservation_confirmed', message: 'confirmed' } } };
      if (r.status === 'reserved') {
        for (const it of r.items) (stock.get(it.productId) as { reserved: number }).reserved -= it.quantity;
        r.status = 'released';
      }
      return { status: 200, body: { ...view(r), status: 'released' } };
    }
    const c = req.path.match(/^\/inventory\/allocations\/([^/]+)\/consume$/);
    if (req.method === 'POST' && c) {
      const orderId = String(req.body.orderId);
      const quantity = Number(req.body.quantity);
      const existing = reservations.get(orderId);
      if (existing) return { status: 201, body: view(existing) };
      const a = allocations.get(decodeURIComponent(c[1] as string));
      if (!a) return { status: 404, body: { error: { code: 'allocation_not_found', message: 'no allocation' } } };
      if (a.left < quantity) return { status: 409, body: { error: { code: 'insufficient_stock', message: 'allocation exhausted' } } };
      a.left -= quantity;
      const s = stock.get(a.productId) as { reserved: number };
      s.reserved += quantity;
      const r: Reservation = { orderId, items: [{ productId: a.productId, quantity }], status: 'reserved', hash: '' };
      reservations.set(orderId, r);
      return { status: 201, body: view(r) };
    }
    return { status: 404, body: { error: { code: 'route_not_found', message: req.path } } };
  };
  const base = await startServer('inventory', secret, route);
  return Object.assign(base, {
    setStock(productId: string, onHand: number) {
      stock.set(productId, { onHand, reserved: stock.get(productId)?.reserved ?? 0 });
    },
    available(productId: string) {
      const s = stock.get(productId);
      return s ? s.onHand - s.reserved : 0;
    },
    reservation: (orderId: string) => reservations.get(orderId),
    allocate(allocationId: string, productId: string, units: number) {
      allocations.set(allocationId, { productId, left: units });
      const s = stock.get(productId);
      if (s) s.onHand += 0; // allocated units are part of on-hand; reserved on consume
    },
  });
}

// ------------------------------------------------------------------ payment

export type PaymentVerdict = 'succeeded' | 'failed' | 'pending' | 'hang' | 503;

export interface PaymentStandIn extends StandIn {
  /** Decides the outcome of each new payment (default: succeeded). */
  decide: (body: Record<string, unknown>) => PaymentVerdict;
  payments: Map<string, Record<string, unknown>>;
  /** Sets a stored payment's status (as a provider callback would). */
  settle(orderId: string, status: 'succeeded' | 'failed'): Record<string, unknown>;
}

export async function startPaymentStandIn(secret: string): Promise<PaymentStandIn> {
  const payments = new Map<string, Record<string, unknown>>(); // by order id (= Idempotency-Key)
  const route: Route = (req) => {
    if (req.method === 'POST' && req.path === '/payments') {
      const orderId = String(req.body.orderId);
      const existing = payments.get(orderId);
      if (existing) return { status: 201, body: existing };
      const verdict = self.decide(req.body);
      if (verdict === 'hang') return 'hang';
      if (verdict === 503) return { status: 503, body: { error: { code: 'channels_unavailable', message: 'no channel' } } };
      const p = {
        id: randomUUID(),
        orderId,
        userId: req.body.userId,
        status: verdict,
        channel: 'card',
        amountCents: req.body.amountCents,
        currency: req.body.currency,
        refundedCents: 0,
        ...(verdict === 'failed' ? { failureReason: 'card declined' } : {}),
      };
      payments.set(orderId, p);
      return { status: 201, body: p };
    }
    const q = req.path.match(/^\/payments\?orderId=([^&]+)$/);
    if (req.method === 'GET' && q) {
      const p = payments.get(decodeURIComponent(q[1] as string));
      return { status: 200, body: { items: p ? [p] : [] } };
    }
    return { status: 404, body: { error: { code: 'route_not_found', message: req.path } } };
  };
  const base = await startServer('payment', secret, route);
  const self: PaymentStandIn = Object.assign(base, {
    decide: (): PaymentVerdict => 'succeeded',
    payments,
    settle(orderId: string, status: 'succeeded' | 'failed') {
      const p = payments.get(orderId);
      if (!p) throw new Error(`no payment for ${orderId}`);
      p.status = status;
      return p;
    },
  });
  return self;
}
