// The shop end to end, as real processes (user, product, inventory, payment, order, notification,
// gateway), through the gateway only, on real Postgres, Redis and Kafka, with email read back from an
// SMTP server and spans from an OTLP receiver, both on loopback. The processes start once for the
// file; the tests run one after another against them, each with its own customers.
import { createHmac, randomUUID } from 'node:crypto';
import test from 'ava';
import { waitFor, type OtlpReceiver } from '@lantern/testkit';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  api,
  forgedToken,
  login,
  orderReaches,
  registerCustomer,
  startShop,
  stockOf,
  type Customer,
  type Shop,
} from './support/shop.js';

/** Short enough for the expiry test to finish while the others run; far longer than any pay call here. */
const PAYMENT_TIMEOUT_MS = 8_000;

let shop: Shop;
let adminToken: string;
let productIds: string[] = [];
/** An order nobody pays, placed in before(): its timeout runs while the other tests do. */
let unpaid: { customer: Customer; orderId: string; productId: string; quantity: number; availableBefore: number };

/** The i-th product of the catalogue page read at start: each test buys its own, so stock figures do not mix. */
const product = (i: number): string => {
  const id = productIds[i];
  if (!id) throw new Error(`no product #${i}`);
  return id;
};

async function placeOrder(customer: Customer, productId: string, quantity: number, key: string = randomUUID()) {
  return api(shop, 'POST', '/api/orders', { token: customer.token, headers: { 'idempotency-key': key }, body: { items: [{ productId, quantity }] } });
}

type DecodedSpan = ReturnType<OtlpReceiver['spans']>[number];

const serviceOf = (s: DecodedSpan): string => String(s.resource.attributes['service.name'] ?? '');

test.before(async (t) => {
  // seven processes start at once: on a busy machine that can outlast ava's default inactivity timeout
  t.timeout(180_000);
  shop = await startShop({ paymentTimeoutMs: PAYMENT_TIMEOUT_MS });
  adminToken = await login(shop, ADMIN_EMAIL, ADMIN_PASSWORD);
  const page = await api(shop, 'GET', '/api/products?limit=20&sort=price');
  if (page.status !== 200) throw new Error(`product list: ${page.status} ${JSON.stringify(page.body)}`);
  productIds = (page.body.items as { id: string }[]).map((p) => p.id);
  const customer = await registerCustomer(shop, 'frank');
  const productId = product(10);
  const availableBefore = (await stockOf(shop, customer.token, productId)).available;
  const placed = await placeOrder(customer, productId, 4);
  if (placed.status !== 201) throw new Error(`unpaid order: ${placed.status} ${JSON.stringify(placed.body)}`);
  unpaid = { customer, orderId: placed.body.id as string, productId, quantity: 4, availableBefore };
});

test.after.always(async () => {
  await shop?.stop();
});

test.serial('a purchase through the gateway: register, login, browse, order, pay → paid, stock taken, receipt email, in-app notice, one trace', async (t) => {
  const alice = await registerCustomer(shop, 'alice');
  const token = await login(shop, alice.email, alice.password);

  const list = await api(shop, 'GET', '/api/products?limit=5');
  t.is(list.status, 200);
  t.true(list.body.items.length > 0);
  const productId = product(0);
  const page = await api(shop, 'GET', `/api/products/${productId}/details`, { token });
  t.is(page.status, 200);
  t.is(page.body.product.id, productId);
  t.is(page.body.stock?.productId, productId, `product page without stock: ${JSON.stringify(page.body.degraded_parts)}`);
  const before = await stockOf(shop, token, productId);
  t.is(page.body.stock.available, before.available);

  const placed = await api(shop, 'POST', '/api/orders', { token, headers: { 'idempotency-key': `alice-${randomUUID()}` }, body: { items: [{ productId, quantity: 2 }] } });
  t.is(placed.status, 201, JSON.stringify(placed.body));
  const order = placed.body;
  t.is(order.status, 'reserved');
  t.is(order.userId, alice.id);
  t.is(order.items[0].productId, productId);
  t.is(order.totalCents, 2 * page.body.product.priceCents);
  t.is((await stockOf(shop, token, productId)).available, before.available - 2);

  const paid = await api(shop, 'POST', `/api/orders/${order.id}/pay`, { token, body: { method: 'card' } });
  t.is(paid.status, 200, JSON.stringify(paid.body));
  t.is(paid.body.status, 'paid');
  t.truthy(paid.body.paymentId);
  t.is((await api(shop, 'GET', `/api/orders/${order.id}`, { token })).body.status, 'paid');
  const payment = await api(shop, 'GET', `/api/payments/${paid.body.paymentId}`, { token });
  t.is(payment.status, 200);
  t.like(payment.body, { orderId: order.id, status: 'succeeded', amountCents: order.totalCents, currency: order.currency });

  // confirmed at inventory: the two units left on-hand, none stay reserved for this order
  const after = await waitFor(
    async () => {
      const s = await stockOf(shop, token, productId);
      return s.onHand === before.onHand - 2 ? s : undefined;
    },
    { what: 'stock confirmed' },
  );
  t.is(after.available, before.available - 2);
  t.is(after.reserved, before.reserved);

  // confirmation and receipt, over SMTP to the address she registered with
  const confirmation = await shop.mailbox.waitFor(alice.email, (m) => m.text.includes(order.id) && /confirmed/.test(m.subject), 'order confirmation email');
  const receipt = await shop.mailbox.waitFor(alice.email, (m) => m.text.includes(order.id) && /receipt/.test(m.subject), 'receipt email');
  t.regex(receipt.text, new RegExp(paid.body.paymentId));
  t.not(confirmation.messageId, receipt.messageId);

  const inbox = await waitFor(
    async () => {
      const res = await api(shop, 'GET', '/api/notifications', { token });
      const items = (res.body?.items ?? []) as { type: string; orderId: string; userId: string }[];
      return items.some((n) => n.type === 'order.paid' && n.orderId === order.id) ? items : undefined;
    },
    { what: 'in-app receipt' },
  );
  t.true(inbox.every((n) => n.userId === alice.id));

  // The pay request's trace: the gateway's server span, and below it the order, payment and inventory
  // services' spans (the stock confirm runs inside the request), all with the trace id the gateway returned.
  const traceId = paid.headers.get('x-trace-id');
  t.truthy(traceId, 'the gateway names the trace of each answer');
  const spans = await shop.otlp.waitForSpans(
    (all) => {
      const services = new Set(all.filter((s) => s.traceId === traceId).map(serviceOf));
      return ['gateway', 'order', 'payment', 'inventory'].every((s) => services.has(s));
    },
    { timeoutMs: 20_000, what: `spans of gateway, order, payment and inventory in trace ${traceId}` },
  ).catch(() => shop.otlp.spans());
  const inTrace = spans.filter((s) => s.traceId === traceId);
  const services = new Set(inTrace.map(serviceOf));
  t.deepEqual(
    ['gateway', 'order', 'payment', 'inventory'].filter((s) => !services.has(s)),
    [],
    `services in trace ${traceId}: ${[...services].join(', ')}`,
  );
  const root = inTrace.find((s) => serviceOf(s) === 'gateway' && s.kind === 'server' && !s.parentSpanId);
  t.truthy(root, 'the gateway request is the root of the trace');
  const byId = new Map(inTrace.map((s) => [s.spanId, s]));
  for (const s of inTrace.filter((x) => x.kind === 'server' && serviceOf(x) !== 'gateway')) {
    // every service's server span hangs (through client spans) under the gateway's root
    let cur: DecodedSpan | undefined = s;
    while (cur?.parentSpanId) cur = byId.get(cur.parentSpanId);
    t.is(cur?.spanId, root?.spanId, `${serviceOf(s)} ${s.name} is linked to the gateway request`);
  }
});

test.serial('a declined payment compensates: 402, order payment_failed, stock back, the email says it was cancelled', async (t) => {
  const carol = await registerCustomer(shop, 'carol');
  const productId = product(1);
  const before = await stockOf(shop, carol.token, productId);
  const placed = await placeOrder(carol, productId, 3);
  t.is(placed.status, 201, JSON.stringify(placed.body));
  t.is((await stockOf(shop, carol.token, productId)).available, before.available - 3);

  // the issuer declines every card payment (fault injection on the payment service, admin only)
  const declineAll = await api(shop, 'PUT', '/api/payments/channels/card/simulation', { token: adminToken, body: { declineRate: 1 } });
  t.is(declineAll.status, 200, JSON.stringify(declineAll.body));
  let failed;
  try {
    failed = await api(shop, 'POST', `/api/orders/${placed.body.id}/pay`, { token: carol.token, body: { method: 'card' } });
  } finally {
    await api(shop, 'PUT', '/api/payments/channels/card/simulation', { token: adminToken, body: { declineRate: 0 } });
  }
  t.is(failed.status, 402, JSON.stringify(failed.body));
  t.is(failed.body.error.code, 'payment_failed');

  const order = await orderReaches(shop, carol.token, placed.body.id, 'payment_failed');
  t.truthy(order.paymentId);
  const payments = await api(shop, 'GET', `/api/payments?orderId=${placed.body.id}`, { token: carol.token });
  t.is(payments.status, 200);
  t.is(payments.body.items.length, 1);
  t.is(payments.body.items[0].status, 'failed');
  t.is(payments.body.items[0].refundedCents, 0);

  const released = await waitFor(
    async () => {
      const s = await stockOf(shop, carol.token, productId);
      return s.available === before.available ? s : undefined;
    },
    { what: 'stock released' },
  );
  t.is(released.onHand, before.onHand);
  t.is(released.reserved, before.reserved);

  const mail = await shop.mailbox.waitFor(carol.email, (m) => m.text.includes(placed.body.id) && /payment failed/.test(m.subject), 'payment-failed email');
  t.regex(mail.subject, /cancelled/);
  t.regex(mail.text, /cancelled and nothing was charged/);
  t.false(
    shop.mailbox.to(carol.email).some((m) => /receipt/.test(m.subject)),
    'no receipt for a failed payment',
  );
});

test.serial('the same Idempotency-Key sent 20 times at once through the gateway → one order, one charge', async (t) => {
  const dave = await registerCustomer(shop, 'dave');
  const productId = product(2);
  const before = await stockOf(shop, dave.token, productId);
  const key = `dave-${randomUUID()}`;
  const answers = await Promise.all(Array.from({ length: 20 }, () => placeOrder(dave, productId, 2, key)));
  t.deepEqual(
    answers.filter((a) => a.status !== 201 && a.status !== 200).map((a) => `${a.status} ${JSON.stringify(a.body)}`),
    [],
  );
  const ids = new Set(answers.map((a) => a.body.id as string));
  t.is(ids.size, 1, 'every answer is the same order');
  t.is(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true').length, 19, 'all but the first are marked as replays');
  const orderId = [...ids][0]!;

  const mine = await api(shop, 'GET', '/api/orders', { token: dave.token });
  t.deepEqual(
    (mine.body.items as { id: string }[]).map((o) => o.id),
    [orderId],
  );
  t.is((await stockOf(shop, dave.token, productId)).available, before.available - 2, 'reserved once');
  const otherBody = await placeOrder(dave, productId, 3, key);
  t.is(otherBody.status, 409, 'same key, another body');

  // and 20 concurrent pays of that order: one payment
  const pays = await Promise.all(Array.from({ length: 20 }, () => api(shop, 'POST', `/api/orders/${orderId}/pay`, { token: dave.token, body: { method: 'card' } })));
  t.deepEqual(
    pays.map((p) => `${p.status} ${p.body?.status}`),
    Array.from({ length: 20 }, () => '200 paid'),
  );
  t.is(new Set(pays.map((p) => p.body.paymentId as string)).size, 1);
  const payments = await api(shop, 'GET', `/api/payments?orderId=${orderId}`, { token: adminToken });
  t.is(payments.status, 200);
  t.is(payments.body.items.length, 1, 'one charge');
  t.is(payments.body.items[0].status, 'succeeded');
  const receipts = await waitFor(
    async () => {
      const r = shop.mailbox.to(dave.email).filter((m) => m.text.includes(orderId) && /receipt/.test(m.subject));
      return r.length > 0 ? r : undefined;
    },
    { what: 'receipt email' },
  );
  t.is(receipts.length, 1);
  t.is((await stockOf(shop, dave.token, productId)).onHand, before.onHand - 2);
});

test.serial("a customer cannot read or change another customer's order, payment or notification; forged tokens get 401", async (t) => {
  const owner = await registerCustomer(shop, 'olga');
  const other = await registerCustomer(shop, 'mallory');
  const placed = await placeOrder(owner, product(3), 1);
  t.is(placed.status, 201);
  const orderId = placed.body.id as string;
  const paid = await api(shop, 'POST', `/api/orders/${orderId}/pay`, { token: owner.token, body: { method: 'card' } });
  t.is(paid.body.status, 'paid');
  const paymentId = paid.body.paymentId as string;
  const notice = await waitFor(
    async () => {
      const items = ((await api(shop, 'GET', '/api/notifications', { token: owner.token })).body?.items ?? []) as { id: string; orderId: string }[];
      return items.find((n) => n.orderId === orderId);
    },
    { what: "the owner's notification" },
  );
  // a second order of the owner's, still unpaid: the other customer must not be able to pay or cancel it
  const open = await placeOrder(owner, product(3), 1);
  t.is(open.status, 201);

  const as = (token: string, method: string, path: string, body?: unknown) => api(shop, method, path, { token, ...(body !== undefined ? { body } : {}) });
  const m = other.token;
  t.is((await as(m, 'GET', `/api/orders/${orderId}`)).status, 404);
  t.is((await as(m, 'GET', `/api/orders/${orderId}/history`)).status, 404);
  t.is((await as(m, 'POST', `/api/orders/${open.body.id}/pay`, { method: 'card' })).status, 404);
  t.is((await as(m, 'POST', `/api/orders/${open.body.id}/cancel`, {})).status, 404);
  t.is((await as(m, 'POST', `/api/orders/${orderId}/ship`)).status, 403);
  t.deepEqual((await as(m, 'GET', '/api/orders')).body.items, []);
  t.is((await as(m, 'GET', `/api/orders?userId=${owner.id}`)).status, 403);
  t.is((await as(m, 'GET', `/api/payments/${paymentId}`)).status, 404);
  t.is((await as(m, 'GET', `/api/payments/${paymentId}/refunds`)).status, 404);
  t.is((await as(m, 'POST', `/api/payments/${paymentId}/refunds`, { reason: 'mine now' })).status, 403);
  const theirPayments = await as(m, 'GET', `/api/payments?orderId=${orderId}`);
  t.true(theirPayments.status === 403 || (theirPayments.status === 200 && theirPayments.body.items.length === 0), JSON.stringify(theirPayments.body));
  const byUser = await as(m, 'GET', `/api/payments?userId=${owner.id}`);
  t.true(byUser.status === 403 || (byUser.status === 200 && byUser.body.items.length === 0), JSON.stringify(byUser.body));
  t.is((await as(m, 'POST', `/api/notifications/${notice.id}/read`)).status, 404);
  t.is((await as(m, 'GET', `/api/notifications?userId=${owner.id}`)).status, 403);
  t.false(((await as(m, 'GET', '/api/notifications')).body.items as { orderId: string }[]).some((n) => n.orderId === orderId));
  t.is((await as(m, 'POST', `/api/inventory/${product(3)}/restock`, { quantity: 1000 })).status, 403);
  // nothing changed for the owner
  t.is((await as(owner.token, 'GET', `/api/orders/${open.body.id}`)).body.status, 'reserved');
  t.is((await as(owner.token, 'GET', '/api/notifications')).body.items.find((n: { id: string }) => n.id === notice.id).readAt ?? null, null);
  t.is((await as(owner.token, 'GET', `/api/payments/${paymentId}`)).body.refundedCents, 0);

  // forged, tampered, unsigned and missing tokens stop at the gateway
  const forged = await forgedToken({ id: owner.id, role: 'admin', email: owner.email });
  const [header, , signature] = owner.token.split('.');
  const claims = JSON.parse(Buffer.from(owner.token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url')}.${signature}`;
  const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
  for (const [what, token] of [
    ['forged', forged],
    ['tampered', tampered],
    ['alg none', unsigned],
    ['garbage', 'not.a.token'],
  ] as const) {
    t.is((await as(token, 'GET', `/api/orders/${orderId}`)).status, 401, what);
    t.is((await as(token, 'GET', `/api/payments/${paymentId}`)).status, 401, what);
    t.is((await as(token, 'GET', '/api/notifications')).status, 401, what);
    t.is((await as(token, 'POST', '/api/orders', { items: [{ productId: product(3), quantity: 1 }] })).status, 401, what);
  }
  t.is((await api(shop, 'GET', '/api/orders')).status, 401, 'no token');
});

test.serial('a bank payment settles through the signed provider callback via the gateway; the order becomes paid from payment.succeeded', async (t) => {
  const erin = await registerCustomer(shop, 'erin');
  const productId = product(4);
  const before = await stockOf(shop, erin.token, productId);
  const placed = await placeOrder(erin, productId, 1);
  t.is(placed.status, 201);
  const orderId = placed.body.id as string;

  const pay = await api(shop, 'POST', `/api/orders/${orderId}/pay`, { token: erin.token, body: { method: 'bank' } });
  t.is(pay.status, 200, JSON.stringify(pay.body));
  t.is(pay.body.status, 'reserved', 'the bank answers pending; the order waits for its verdict');

  const paid = await orderReaches(shop, erin.token, orderId, 'paid', 30_000);
  const payment = await api(shop, 'GET', `/api/payments/${paid.paymentId as string}`, { token: erin.token });
  t.like(payment.body, { orderId, status: 'succeeded', channel: 'bank' });
  const history = await api(shop, 'GET', `/api/orders/${orderId}/history`, { token: erin.token });
  const toPaid = (history.body.items as { to: string; actor: string }[]).find((h) => h.to === 'paid');
  t.is(toPaid?.actor, 'system:payment-event', 'paid by the payment.succeeded event, not by the pay request');
  await waitFor(async () => (await stockOf(shop, erin.token, productId)).onHand === before.onHand - 1, { what: 'stock confirmed' });
  await shop.mailbox.waitFor(erin.email, (m) => m.text.includes(orderId) && /receipt/.test(m.subject), 'receipt email');

  // the callback came in at the gateway's public route, signed (the gateway has no session for a bank)
  const isCallback = (s: DecodedSpan) => serviceOf(s) === 'gateway' && s.kind === 'server' && s.attributes['url.path'] === '/api/payments/callbacks/bank';
  const callbackSpans = await shop.otlp.waitForSpans((all) => all.some(isCallback), { timeoutMs: 20_000, what: 'the callback at the gateway' });
  const atGateway = callbackSpans.filter(isCallback);
  t.true(atGateway.length >= 1);
  t.true(
    callbackSpans.some((s) => serviceOf(s) === 'payment' && s.kind === 'server' && atGateway.some((g) => g.traceId === s.traceId)),
    'the gateway passed the callback to the payment service',
  );

  // the public route still demands a valid signature
  const body = JSON.stringify({ eventId: randomUUID(), type: 'charge.succeeded', reference: randomUUID(), providerRef: 'x', amountCents: 1, currency: 'USD', occurredAt: new Date().toISOString() });
  const post = (signature?: string) =>
    fetch(`${shop.gatewayUrl}/api/payments/callbacks/bank`, { method: 'POST', headers: { 'content-type': 'application/json', ...(signature ? { 'x-lantern-signature': signature } : {}) }, body });
  const now = Math.floor(Date.now() / 1000);
  t.is((await post()).status, 401, 'unsigned');
  t.is((await post(`t=${now},v1=${createHmac('sha256', 'wrong-secret').update(`${now}.${body}`).digest('hex')}`)).status, 401, 'wrong key');
});

test.serial('an order not paid within PAYMENT_TIMEOUT_MS expires: stock released, the email says so', async (t) => {
  const { customer, orderId, productId, quantity, availableBefore } = unpaid;
  t.is(quantity, 4);
  const order = await orderReaches(shop, customer.token, orderId, 'expired', PAYMENT_TIMEOUT_MS + 30_000);
  t.is(order.statusReason, 'payment timeout');
  await waitFor(async () => (await stockOf(shop, customer.token, productId)).available === availableBefore, { what: 'stock of the expired order released' });
  const mail = await shop.mailbox.waitFor(customer.email, (m) => m.text.includes(orderId) && /expired/.test(m.subject), 'expiry email');
  t.regex(mail.text, /nothing was charged/);
  const pay = await api(shop, 'POST', `/api/orders/${orderId}/pay`, { token: customer.token, body: { method: 'card' } });
  t.is(pay.status, 409, 'an expired order cannot be paid');
  t.is((await api(shop, 'GET', `/api/payments?orderId=${orderId}`, { token: customer.token })).body.items.length, 0);
});
