import test from 'ava';
import { freshSchema, uniqueName, type FreshSchema } from '@lantern/testkit';
import { admin, call, cleanRedis, customer, startInstance, type Instance } from './helpers.js';

let schema: FreshSchema;
let inst: Instance;
let prefix: string;
let url: string;

test.before(async () => {
  schema = await freshSchema('product_api');
  prefix = `${uniqueName('product_api')}:`;
  inst = await startInstance({ schema: schema.name, prefix, env: { SEED_ON_START: 'true' } });
  url = inst.url;
});

test.after.always(async () => {
  await cleanRedis(inst.svc.redis, prefix);
  await inst?.close();
  await schema?.drop();
});

test.afterEach((t) => {
  t.deepEqual(inst.telemetry.errors, [], 'no request may end in an unexpected error');
});

const newProduct = (over: Record<string, unknown> = {}) => ({
  sku: `T-${Math.random().toString(36).slice(2, 10)}`,
  name: 'Test Widget',
  description: 'A widget for tests',
  category: 'tools',
  priceCents: 1999,
  imageUrls: ['https://img.example/w.jpg'],
  ...over,
});

test('categories list every seeded category with counts', async (t) => {
  const res = await call(url, 'GET', '/categories');
  t.is(res.status, 200);
  t.true(res.body.items.length >= 20);
  const laptops = res.body.items.find((c: { slug: string }) => c.slug === 'laptops');
  t.true(laptops.productCount > 0);
});

test('list paginates, filters and sorts', async (t) => {
  const first = await call(url, 'GET', '/products?limit=5&sort=price');
  t.is(first.status, 200);
  t.is(first.body.items.length, 5);
  t.like(first.body, { limit: 5, offset: 0 });
  t.true(first.body.total >= 1000);
  const prices = first.body.items.map((p: { priceCents: number }) => p.priceCents);
  t.deepEqual(prices, [...prices].sort((a, b) => a - b));
  const second = await call(url, 'GET', '/products?limit=5&offset=5&sort=price');
  t.true(second.body.items[0].priceCents >= prices[4]);

  const desc = await call(url, 'GET', '/products?limit=10&sort=price&order=desc&category=audio&minPrice=5000&maxPrice=20000');
  t.is(desc.status, 200);
  for (const p of desc.body.items) {
    t.is(p.category, 'audio');
    t.true(p.priceCents >= 5000 && p.priceCents <= 20000);
    t.is(p.status, 'active');
  }
  const dp = desc.body.items.map((p: { priceCents: number }) => p.priceCents);
  t.deepEqual(dp, [...dp].sort((a, b) => b - a));

  const all = await call(url, 'GET', '/products?status=all&limit=1');
  const active = await call(url, 'GET', '/products?limit=1');
  t.true(all.body.total > active.body.total, 'the seed has some inactive products');
  const rated = await call(url, 'GET', '/products?sort=rating&limit=3');
  t.true(rated.body.items[0].rating.average >= rated.body.items[2].rating.average);
  const named = await call(url, 'GET', '/products?sort=name&limit=3');
  t.true(named.body.items[0].name <= named.body.items[1].name);
});

test('bad list queries are 400s naming the parameter', async (t) => {
  const cases: [string, string][] = [
    ['/products?sort=popularity', 'query.sort'],
    ['/products?limit=abc', 'query.limit'],
    ['/products?limit=1000', 'query.limit'],
    ['/products?limit=2.5', 'query.limit'],
    ['/products?offset=-1', 'query.offset'],
    ['/products?minPrice=500&maxPrice=100', 'query.maxPrice'],
    ['/products?category=Not%20A%20Slug', 'query.category'],
    ['/products?status=deleted', 'query.status'],
    ['/products?sortt=price', 'query'],
    ['/products/search', 'query.q'],
    ['/products/search?q=%20%20', 'query.q'],
  ];
  for (const [path, field] of cases) {
    const res = await call(url, 'GET', path);
    t.is(res.status, 400, path);
    t.is(res.body.error.code, 'validation_failed', path);
    t.true(res.body.error.message.includes(field), `${path}: ${res.body.error.message}`);
  }
});

test('unknown and malformed ids', async (t) => {
  const bad = await call(url, 'GET', '/products/not-a-uuid');
  t.is(bad.status, 400);
  t.regex(bad.body.error.message, /params\.id/);
  const missing = await call(url, 'GET', '/products/00000000-0000-4000-8000-000000000000');
  t.is(missing.status, 404);
  t.is(missing.body.error.code, 'product_not_found');
  t.is((await call(url, 'GET', '/products/00000000-0000-4000-8000-000000000000/reviews')).status, 404);
  t.is((await call(url, 'PUT', '/products/00000000-0000-4000-8000-000000000000', { user: admin, body: { name: 'x' } })).status, 404);
  t.is((await call(url, 'DELETE', '/products/00000000-0000-4000-8000-000000000000', { user: admin })).status, 404);
  t.is((await call(url, 'GET', '/nope')).status, 404);
});

test('service token and admin role are required', async (t) => {
  t.is((await call(url, 'GET', '/products', { user: null })).status, 401);
  const asCustomer = await call(url, 'POST', '/products', { user: customer, body: newProduct() });
  t.is(asCustomer.status, 403);
  t.is((await call(url, 'POST', '/products', { user: null, body: newProduct() })).status, 401);
  const list = await call(url, 'GET', '/products?limit=1', { user: customer });
  const id = list.body.items[0].id;
  t.is((await call(url, 'PUT', `/products/${id}`, { user: customer, body: { priceCents: 1 } })).status, 403);
  t.is((await call(url, 'DELETE', `/products/${id}`, { user: customer })).status, 403);
  t.is((await call(url, 'GET', `/products/${id}`, { user: customer })).body.id, id);
});

test('admin creates, updates and deletes a product; reads see each change', async (t) => {
  const created = await call(url, 'POST', '/products', { user: admin, body: newProduct() });
  t.is(created.status, 201);
  t.like(created.body, { name: 'Test Widget', priceCents: 1999, currency: 'USD', status: 'active', rating: { average: null, count: 0 } });
  const id = created.body.id;
  t.is((await call(url, 'GET', `/products/${id}`)).body.priceCents, 1999);
  const updated = await call(url, 'PUT', `/products/${id}`, { user: admin, body: { priceCents: 2499, status: 'inactive' } });
  t.is(updated.status, 200);
  t.like(updated.body, { priceCents: 2499, status: 'inactive', name: 'Test Widget' });
  t.like((await call(url, 'GET', `/products/${id}`)).body, { priceCents: 2499, status: 'inactive' });
  t.is((await call(url, 'DELETE', `/products/${id}`, { user: admin })).status, 204);
  t.is((await call(url, 'GET', `/products/${id}`)).status, 404);
  t.is((await call(url, 'DELETE', `/products/${id}`, { user: admin })).status, 404);
});

test('bad product bodies are 400s naming the field; conflicts are 409; oversize is 413', async (t) => {
  const cases: [Record<string, unknown>, string][] = [
    [newProduct({ priceCents: '19.99' }), 'body.priceCents'],
    [newProduct({ priceCents: 19.5 }), 'body.priceCents'],
    [newProduct({ priceCents: -1 }), 'body.priceCents'],
    [newProduct({ name: '' }), 'body.name'],
    [newProduct({ name: 42 }), 'body.name'],
    [newProduct({ currency: 'usd' }), 'body.currency'],
    [newProduct({ status: 'deleted' }), 'body.status'],
    [newProduct({ imageUrls: ['javascript:alert(1)'] }), 'body.imageUrls.0'],
    [newProduct({ category: 'no-such-category' }), 'body.category'],
    [newProduct({ stock: 5 }), 'body'],
    [{ name: 'only a name' }, 'body.sku'],
  ];
  for (const [body, field] of cases) {
    const res = await call(url, 'POST', '/products', { user: admin, body });
    t.is(res.status, 400, JSON.stringify(body));
    t.true(res.body.error.message.includes(field), `${field}: ${res.body.error.message}`);
  }
  const malformed = await call(url, 'POST', '/products', { user: admin, rawBody: '{"sku": ' });
  t.is(malformed.status, 400);
  t.is(malformed.body.error.code, 'malformed_json');
  const huge = await call(url, 'POST', '/products', { user: admin, body: newProduct({ description: 'x'.repeat(20_000) }) });
  t.is(huge.status, 413);
  const dup = newProduct();
  t.is((await call(url, 'POST', '/products', { user: admin, body: dup })).status, 201);
  const again = await call(url, 'POST', '/products', { user: admin, body: dup });
  t.is(again.status, 409);
  t.is(again.body.error.code, 'sku_taken');
  const list = await call(url, 'GET', '/products?limit=1');
  const empty = await call(url, 'PUT', `/products/${list.body.items[0].id}`, { user: admin, body: {} });
  t.is(empty.status, 400);
  const wrongType = await call(url, 'PUT', `/products/${list.body.items[0].id}`, { user: admin, body: { priceCents: 'free' } });
  t.is(wrongType.status, 400);
  t.regex(wrongType.body.error.message, /body\.priceCents/);
});

test('reviews: create, one per user, list, and the product rating follows', async (t) => {
  const created = await call(url, 'POST', '/products', { user: admin, body: newProduct() });
  const id = created.body.id;
  const r1 = await call(url, 'POST', `/products/${id}/reviews`, { user: customer, body: { rating: 4, body: 'Nice' } });
  t.is(r1.status, 201);
  t.like(r1.body, { productId: id, userId: customer.id, rating: 4, body: 'Nice' });
  const r2 = await call(url, 'POST', `/products/${id}/reviews`, { user: { id: 'customer-2', role: 'customer' }, body: { rating: 1 } });
  t.is(r2.status, 201);
  const dup = await call(url, 'POST', `/products/${id}/reviews`, { user: customer, body: { rating: 5 } });
  t.is(dup.status, 409);
  for (const [body, field] of [[{ rating: 6 }, 'body.rating'], [{ rating: 0 }, 'body.rating'], [{ rating: '5' }, 'body.rating'], [{}, 'body.rating']] as const) {
    const bad = await call(url, 'POST', `/products/${id}/reviews`, { user: { id: 'customer-3', role: 'customer' }, body });
    t.is(bad.status, 400);
    t.true(bad.body.error.message.includes(field));
  }
  t.is((await call(url, 'POST', `/products/${id}/reviews`, { user: null, body: { rating: 5 } })).status, 401);
  t.is((await call(url, 'POST', '/products/00000000-0000-4000-8000-000000000000/reviews', { body: { rating: 5 } })).status, 404);
  const list = await call(url, 'GET', `/products/${id}/reviews?limit=10`);
  t.is(list.status, 200);
  t.is(list.body.total, 2);
  t.is(list.body.items.length, 2);
  t.like((await call(url, 'GET', `/products/${id}`)).body, { rating: { average: 2.5, count: 2 } });
  t.is((await call(url, 'GET', `/products/${id}/reviews?limit=0`)).status, 400);
});

test('full-text search finds products by words, ranked', async (t) => {
  const res = await call(url, 'GET', '/products/search?q=espresso%20machine&limit=5');
  t.is(res.status, 200);
  t.true(res.body.total > 0);
  for (const p of res.body.items) t.regex(p.name, /Espresso Machine/);
  const phrase = await call(url, 'GET', `/products/search?q=${encodeURIComponent('"noise cancellation" -earbuds')}&limit=50`);
  t.is(phrase.status, 200);
  for (const p of phrase.body.items) t.notRegex(p.name, /Earbuds/);
});

test('SQL injection strings are stored and searched literally', async (t) => {
  const name = "Robert'); DROP TABLE products;-- Widget";
  const created = await call(url, 'POST', '/products', { user: admin, body: newProduct({ name, description: "1' OR '1'='1" }) });
  t.is(created.status, 201);
  t.is(created.body.name, name);
  t.is((await call(url, 'GET', `/products/${created.body.id}`)).body.description, "1' OR '1'='1");
  const found = await call(url, 'GET', `/products/search?q=${encodeURIComponent("Robert'); DROP TABLE products;--")}`);
  t.is(found.status, 200);
  t.true(found.body.items.some((p: { id: string }) => p.id === created.body.id));
  for (const q of ["' OR 1=1 --", '"; SELECT pg_sleep(10); --', "') | (", '!!!', 'a:*', '\\']) {
    const res = await call(url, 'GET', `/products/search?q=${encodeURIComponent(q)}`);
    t.is(res.status, 200, q);
    t.true(res.body.total < 100, `${q} must not match everything`);
  }
  t.true((await call(url, 'GET', '/products?limit=1')).body.total >= 1000, 'the table is still there');
});
