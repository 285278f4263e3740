import { randomUUID } from 'node:crypto';
import test from 'ava';
import { createInternalTokenSigner } from '@lantern/shop-common';
import { remainingUnits } from '../src/metrics.js';
import { admin, customer, SECRET, startShop, type Call, type TestShop } from './helpers.js';

let shop: TestShop;

test.before(async () => {
  shop = await startShop({ env: { ALLOCATION_TIMEOUT_MS: '1' } });
});

test.after.always(async () => {
  await shop?.close();
});

function detailPaths(res: Call): string[] {
  return ((res.body?.error?.details ?? []) as { path: string }[]).map((d) => d.path);
}

test('an admin creates a sale: stock allocated at inventory, listed publicly with the units left', async (t) => {
  const startsAt = new Date(Date.now() - 1000).toISOString();
  const endsAt = new Date(Date.now() + 3600_000).toISOString();
  const res = await shop.createSale({ stock: 25, priceCents: 1999, currency: 'EUR', startsAt, endsAt, perUserLimit: 1 });
  t.is(res.status, 201, JSON.stringify(res.body));
  const sale = res.body;
  t.like(sale, { productId: shop.productId, priceCents: 1999, currency: 'EUR', stock: 25, remaining: 25, perUserLimit: 1, state: 'active', startsAt, endsAt });
  t.is(sale.sku, `SKU-${shop.productId.slice(0, 8)}`);
  const allocation = shop.inventory.allocations.find((a) => a.allocationId === sale.id);
  t.like(allocation, { productId: shop.productId, quantity: 25, idempotencyKey: sale.id, caller: 'flash-sale' });

  // public: any caller of the gateway (no end user in the token)
  const one = await shop.call('GET', `/flash-sales/${sale.id}`, { token: await createInternalTokenSigner({ service: 'gateway', secret: SECRET }).sign('flash-sale') });
  t.is(one.status, 200);
  t.deepEqual(one.body, sale);
  const list = await shop.call('GET', '/flash-sales?state=active&limit=100');
  t.is(list.status, 200);
  t.true((list.body.items as { id: string }[]).some((s) => s.id === sale.id));

  const buyer = customer();
  const bought = await shop.call('POST', `/flash-sales/${sale.id}/purchase`, { user: buyer });
  t.is(bought.status, 202);
  t.is(bought.body.status, 'queued');
  t.is((await shop.call('GET', `/flash-sales/${sale.id}`)).body.remaining, 24);
  const gauge = (await remainingUnits.get()).values.find((v) => v.labels.sale_id === sale.id);
  t.is(gauge?.value, 24);

  // the buyer sees their purchase; another user sees none
  const mine = await shop.call('GET', `/flash-sales/${sale.id}/purchase`, { user: buyer });
  t.like(mine.body, { purchaseId: bought.body.purchaseId, saleId: sale.id, status: 'queued' });
  t.is(mine.body.orderId, undefined);
  const theirs = await shop.call('GET', `/flash-sales/${sale.id}/purchase`, { user: customer() });
  t.is(theirs.status, 404);
  t.is(theirs.body.error.code, 'purchase_not_found');
});

test('creating needs an admin; buying and reading one’s purchase need a user; every route needs a service token', async (t) => {
  const sale = (await shop.createSale()).body;
  const body = { productId: shop.productId, priceCents: 1, currency: 'USD', stock: 1, startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 60_000).toISOString() };
  const asCustomer = await shop.call('POST', '/flash-sales', { user: customer(), body });
  t.is(asCustomer.status, 403);
  const anonymous = await shop.call('POST', `/flash-sales/${sale.id}/purchase`, { token: await createInternalTokenSigner({ service: 'gateway', secret: SECRET }).sign('flash-sale') });
  t.deepEqual([anonymous.status, anonymous.body.error.code], [401, 'user_required']);
  t.is((await shop.call('GET', `/flash-sales/${sale.id}/purchase`, { token: await createInternalTokenSigner({ service: 'gateway', secret: SECRET }).sign('flash-sale') })).status, 401);
  const noToken = await shop.call('GET', '/flash-sales', { user: null });
  t.deepEqual([noToken.status, noToken.body.error.code], [401, 'service_token_missing']);
  const forged = await shop.call('POST', `/flash-sales/${sale.id}/purchase`, { token: await createInternalTokenSigner({ service: 'gateway', secret: 'another-secret-of-enough-length-0123456789' }).sign('flash-sale', customer()) });
  t.deepEqual([forged.status, forged.body.error.code], [401, 'service_token_invalid']);
  const otherAudience = await shop.call('GET', '/flash-sales', { token: await createInternalTokenSigner({ service: 'gateway', secret: SECRET }).sign('payment', customer()) });
  t.is(otherAudience.status, 401);
  t.is((await shop.call('DELETE', `/flash-sales/${sale.id}`, { user: admin })).status, 405);
});

test('hostile input → 400 naming the field, never a 500', async (t) => {
  const good = { productId: shop.productId, priceCents: 100, currency: 'USD', stock: 5, startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 60_000).toISOString() };
  // deeply nested but under the 16 kB body limit
  const deep = `${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}`;
  const bodies: [unknown, string][] = [
    [{ ...good, productId: 'not-a-uuid' }, 'body.productId'],
    [{ ...good, productId: undefined }, 'body.productId'],
    [{ ...good, priceCents: -1 }, 'body.priceCents'],
    [{ ...good, priceCents: 1.5 }, 'body.priceCents'],
    [{ ...good, priceCents: 1e300 }, 'body.priceCents'],
    [{ ...good, priceCents: '100' }, 'body.priceCents'],
    [{ ...good, currency: 'usd' }, 'body.currency'],
    [{ ...good, currency: 'US\u0000D' }, 'body.currency'],
    [{ ...good, stock: 0 }, 'body.stock'],
    [{ ...good, stock: 100_001 }, 'body.stock'],
    [{ ...good, stock: null }, 'body.stock'],
    [{ ...good, startsAt: 'yesterday' }, 'body.startsAt'],
    [{ ...good, startsAt: '2026-13-45T99:00:00Z' }, 'body.startsAt'],
    [{ ...good, endsAt: good.startsAt }, 'body.endsAt'],
    [{ ...good, endsAt: new Date(Date.now() + 40 * 24 * 3600_000).toISOString() }, 'body.endsAt'],
    [{ ...good, endsAt: new Date(Date.now() - 60_000).toISOString(), startsAt: new Date(Date.now() - 120_000).toISOString() }, 'body.endsAt'],
    [{ ...good, perUserLimit: 2 }, 'body.perUserLimit'],
    [{ ...good, extra: { $where: 'x' } }, 'body'],
    [{ ...good, __proto__: { admin: true }, productId: { toString: 1 } }, 'body.productId'],
    [[good], 'body'],
    [{ ...good, productId: 'x'.repeat(10_000) }, 'body.productId'],
  ];
  for (const [body, path] of bodies) {
    const res = await shop.call('POST', '/flash-sales', { user: admin, body });
    t.is(res.status, 400, `${path}: ${JSON.stringify(res.body).slice(0, 200)}`);
    t.true(
      detailPaths(res).some((p) => p === path || p.startsWith(`${path}.`) || (path === 'body' && p.startsWith('body'))),
      `${path}: ${JSON.stringify(res.body).slice(0, 300)}`,
    );
  }
  const deepRes = await shop.call('POST', '/flash-sales', { user: admin, rawBody: deep });
  t.is(deepRes.status, 400, `deep nesting: ${JSON.stringify(deepRes.body).slice(0, 200)}`);
  const malformed = await shop.call('POST', '/flash-sales', { user: admin, rawBody: '{"productId": ' });
  t.deepEqual([malformed.status, malformed.body.error.code], [400, 'malformed_json']);
  const huge = await shop.call('POST', '/flash-sales', { user: admin, rawBody: JSON.stringify({ ...good, pad: 'x'.repeat(40_000) }) });
  t.is(huge.status, 413);

  const sale = (await shop.createSale()).body;
  const paths: [string, string, string][] = [
    ['GET', '/flash-sales/not-a-uuid', 'params.id'],
    ['POST', '/flash-sales/1%20OR%201=1/purchase', 'params.id'],
    ['GET', `/flash-sales/${'a'.repeat(5000)}/purchase`, 'params.id'],
    ['GET', '/flash-sales?limit=0', 'query.limit'],
    ['GET', '/flash-sales?limit=101', 'query.limit'],
    ['GET', '/flash-sales?limit=ten', 'query.limit'],
    ['GET', '/flash-sales?limit=1&limit=2', 'query.limit'],
    ['GET', '/flash-sales?state=forever', 'query.state'],
    ['GET', '/flash-sales?sort=desc', 'query'],
  ];
  for (const [method, path, field] of paths) {
    const res = await shop.call(method, path);
    t.is(res.status, 400, `${method} ${path}`);
    t.true(detailPaths(res).some((p) => p === field || p.startsWith(field)), `${method} ${path}: ${JSON.stringify(res.body).slice(0, 300)}`);
  }
  const unknown = await shop.call('POST', `/flash-sales/${randomUUID()}/purchase`, { user: customer() });
  t.deepEqual([unknown.status, unknown.body.error.code], [404, 'sale_not_found']);
  t.is((await shop.call('GET', `/flash-sales/${randomUUID()}`)).status, 404);
  // a body on a purchase is ignored, whatever it says
  t.is((await shop.call('POST', `/flash-sales/${sale.id}/purchase`, { user: customer(), body: { userId: 'someone-else', quantity: 1000 } })).status, 202);
  t.deepEqual(shop.telemetry.errors, []);
});

test.serial('Redis unreachable: purchases answer 503 (nothing kept), listings fall back to Postgres', async (t) => {
  const sale = (await shop.createSale({ stock: 4 })).body;
  shop.svc.redis.disconnect();
  try {
    const res = await shop.call('POST', `/flash-sales/${sale.id}/purchase`, { user: customer() });
    t.deepEqual([res.status, res.body.error.code], [503, 'flash_sale_unavailable']);
    t.truthy(res.headers.get('retry-after'));
    const shown = await shop.call('GET', `/flash-sales/${sale.id}`);
    t.deepEqual([shown.status, shown.body.remaining], [200, 4]);
    t.is((await shop.call('GET', '/flash-sales')).status, 200);
  } finally {
    await shop.svc.redis.connect();
  }
  t.is((await shop.svc.db.knex('purchases').where({ sale_id: sale.id })).length, 0);
  t.is((await shop.call('POST', `/flash-sales/${sale.id}/purchase`, { user: customer() })).status, 202);
  t.deepEqual(shop.telemetry.errors, []);
});

test.serial('inventory refusing or unreachable: no sale is listed, and a stuck allocation is given back', async (t) => {
  const short = randomUUID();
  shop.inventory.stock.set(short, 3);
  const refused = await shop.createSale({ productId: short, stock: 4 });
  t.deepEqual([refused.status, refused.body.error.code], [409, 'insufficient_stock']);
  const unknown = await shop.createSale({ productId: randomUUID() });
  t.deepEqual([unknown.status, unknown.body.error.code], [400, 'unknown_product']);
  t.deepEqual(detailPaths(unknown), ['body.productId']);

  shop.inventory.failWith = 503;
  let down: Call;
  try {
    down = await shop.createSale({ productId: short, stock: 2 });
  } finally {
    shop.inventory.failWith = undefined;
  }
  t.true(down.status === 502 || down.status === 503, `inventory down: ${down.status}`);
  const stuck = (await shop.svc.db.knex('flash_sales').where({ product_id: short }).select('id', 'status')) as { id: string; status: string }[];
  t.deepEqual(stuck.map((s) => s.status).sort(), ['allocating', 'cancelled']);
  const listed = await shop.call('GET', '/flash-sales?limit=100');
  t.false((listed.body.items as { productId: string }[]).some((s) => s.productId === short));

  // the settler cancels it (ALLOCATION_TIMEOUT_MS=1 here); inventory never set anything aside → 404 → just cancelled
  const report = await shop.svc.settler.runOnce();
  t.true(report.cancelled >= 1);
  const after = (await shop.svc.db.knex('flash_sales').where({ product_id: short }).pluck('status')) as string[];
  t.deepEqual(after, ['cancelled', 'cancelled']);
});
