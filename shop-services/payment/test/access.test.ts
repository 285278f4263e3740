import { randomUUID } from 'node:crypto';
import test from 'ava';
import { admin, alice, bob, detailPaths, startService } from './helpers.js';

test('customers read only their own payments; another customer gets 404; admins read all', async (t) => {
  const s = await startService(t);
  const mine = await s.pay({}, { user: alice });
  const theirs = await s.pay({}, { user: bob });

  t.is((await s.call('GET', `/payments/${mine.body.id}`, { user: alice })).status, 200);
  const other = await s.call('GET', `/payments/${theirs.body.id}`, { user: alice });
  t.is(other.status, 404);
  t.is(other.body.error.code, 'payment_not_found');
  t.is((await s.call('GET', `/payments/${theirs.body.id}/refunds`, { user: alice })).status, 404);
  t.is((await s.call('GET', `/payments/${randomUUID()}`, { user: alice })).status, 404);
  t.is((await s.call('GET', `/payments/${theirs.body.id}`, { user: admin })).status, 200);

  const byOrder = await s.call('GET', `/payments?orderId=${theirs.body.orderId}`, { user: alice });
  t.deepEqual(byOrder.body, { items: [] });
  const ownByOrder = await s.call('GET', `/payments?orderId=${mine.body.orderId}`, { user: alice });
  t.deepEqual(ownByOrder.body.items.map((p: { id: string }) => p.id), [mine.body.id]);
  // a customer cannot widen the list with ?userId=
  const widened = await s.call('GET', '/payments?userId=bob', { user: alice });
  t.deepEqual(widened.body.items.map((p: { userId: string }) => p.userId), ['alice']);
  const adminList = await s.call('GET', '/payments?userId=bob', { user: admin });
  t.deepEqual(adminList.body.items.map((p: { id: string }) => p.id), [theirs.body.id]);
  t.is((await s.call('GET', '/payments', { user: admin })).body.items.length, 2);

  t.is((await s.call('GET', '/payments', { user: null })).status, 401, 'no end user');
  t.is((await s.call('GET', `/payments/${mine.body.id}`, { caller: null })).status, 401, 'no service token');
  const forged = await s.call('GET', `/payments/${mine.body.id}`, { caller: null, headers: { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl' } });
  t.is(forged.status, 401);
});

test('hostile input → 400 naming the field, and nothing is charged', async (t) => {
  const s = await startService(t);
  const good = { orderId: randomUUID(), userId: 'alice', amountCents: 100, currency: 'USD' };
  const bodies: [unknown, string][] = [
    [{ ...good, orderId: 'order-1' }, 'body.orderId'],
    [{ ...good, userId: 'a b' }, 'body.userId'],
    [{ ...good, userId: 'x'.repeat(200) }, 'body.userId'],
    [{ ...good, amountCents: -5 }, 'body.amountCents'],
    [{ ...good, amountCents: 0 }, 'body.amountCents'],
    [{ ...good, amountCents: 10.5 }, 'body.amountCents'],
    [{ ...good, amountCents: '100' }, 'body.amountCents'],
    [{ ...good, amountCents: 1e15 }, 'body.amountCents'],
    [{ ...good, currency: 'usd' }, 'body.currency'],
    [{ ...good, currency: 'DOLLARS' }, 'body.currency'],
    [{ ...good, method: 'paypal' }, 'body.method'],
    [{ ...good, status: 'succeeded' }, 'body'],
    [{ ...good, orderId: { $ne: null } }, 'body.orderId'],
    [[good], 'body'],
  ];
  for (const [body, field] of bodies) {
    const res = await s.call('POST', '/payments', { caller: 'order', user: alice, body });
    t.is(res.status, 400, `${JSON.stringify(body)}`);
    t.true(detailPaths(res.body).includes(field), `${field}: ${JSON.stringify(res.body)}`);
  }
  const badKey = await s.call('POST', '/payments', { caller: 'order', user: alice, body: good, headers: { 'idempotency-key': 'has spaces and ünïcode' } });
  t.is(badKey.status, 400);
  t.deepEqual(detailPaths(badKey.body), ['headers.idempotency-key']);
  for (const raw of ['{"orderId": ', '{"a":'.repeat(100) + '1' + '}'.repeat(100), '"just a string"']) {
    const res = await s.call('POST', '/payments', { caller: 'order', user: alice, rawBody: raw });
    t.is(res.status, 400, raw.slice(0, 40));
  }
  t.is((await s.call('GET', '/payments/not-a-uuid', { user: alice })).body.error.details[0].path, 'params.id');
  t.deepEqual(detailPaths((await s.call('GET', '/payments?orderId=x', { user: alice })).body), ['query.orderId']);
  t.deepEqual(detailPaths((await s.call('GET', '/payments?limit=1000', { user: alice })).body), ['query.limit']);
  t.deepEqual(detailPaths((await s.call('GET', '/payments?bogus=1', { user: alice })).body), ['query']);

  const paid = await s.pay({});
  const refundCases: [unknown, string][] = [
    [{ reason: '' }, 'body.reason'],
    [{ reason: 'x'.repeat(501) }, 'body.reason'],
    [{ reason: 'x', amountCents: -1 }, 'body.amountCents'],
    [{ amountCents: 1 }, 'body.reason'],
  ];
  for (const [body, field] of refundCases) {
    const res = await s.call('POST', `/payments/${paid.body.id}/refunds`, { user: admin, body });
    t.is(res.status, 400);
    t.true(detailPaths(res.body).includes(field), `${field}: ${JSON.stringify(res.body)}`);
  }
  t.is((await s.rows('payments')).length, 1);
  t.is(s.telemetry.errors.length, 0, 'no 500');
});
