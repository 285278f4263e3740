import test from 'ava';
import { freshSchema, uniqueName, waitFor, type FreshSchema } from '@lantern/testkit';
import { admin, call, cleanRedis, startInstance, type Instance } from './helpers.js';

// Two product-service instances sharing Postgres and Redis, each with its own L1, as in production.
let schema: FreshSchema;
let prefix: string;
let a: Instance;
let b: Instance;
const ids: string[] = [];

test.before(async () => {
  schema = await freshSchema('product_cache');
  prefix = `${uniqueName('product_cache')}:`;
  a = await startInstance({ schema: schema.name, prefix, env: { SEED_ON_START: 'true' }, perCategory: 4 });
  b = await startInstance({ schema: schema.name, prefix });
  const list = await call(a.url, 'GET', '/products?limit=10&status=all');
  ids.push(...list.body.items.map((p: { id: string }) => p.id));
});

test.after.always(async () => {
  await a?.close();
  await b?.close();
  if (a) await cleanRedis(a.svc.redis, prefix).catch(() => undefined);
  await schema?.drop();
});

// serial: snapshots count per instance; each test still takes its own product
const take = () => {
  const id = ids.shift();
  if (!id) throw new Error('out of seeded products');
  return id;
};

test.serial('a hit follows a miss at each level', async (t) => {
  const id = take();
  const before = a.productQueries(id);
  t.is((await call(a.url, 'GET', `/products/${id}`)).status, 200);
  t.is(a.productQueries(id), before + 1, 'the first read loads from Postgres');
  t.is((await call(a.url, 'GET', `/products/${id}`)).body.id, id);
  t.is(a.productQueries(id), before + 1, 'the second read is an L1 hit');
  const bBefore = b.productQueries(id);
  const l2Before = b.svc.cache.snapshot().l2.hit;
  t.is((await call(b.url, 'GET', `/products/${id}`)).body.id, id);
  t.is(b.productQueries(id), bBefore, 'the other instance hits L2');
  t.is(b.svc.cache.snapshot().l2.hit, l2Before + 1);
});

test.serial('an update invalidates the L1 of both running instances', async (t) => {
  const id = take();
  const original = (await call(a.url, 'GET', `/products/${id}`)).body;
  await call(b.url, 'GET', `/products/${id}`);
  t.true(a.svc.cache.inL1(id) && b.svc.cache.inL1(id));
  const price = original.priceCents + 100;
  const put = await call(a.url, 'PUT', `/products/${id}`, { user: admin, body: { priceCents: price } });
  t.is(put.status, 200);
  await waitFor(() => !b.svc.cache.inL1(id), { what: 'instance B to drop the product from L1' });
  t.is((await call(b.url, 'GET', `/products/${id}`)).body.priceCents, price);
  t.is((await call(a.url, 'GET', `/products/${id}`)).body.priceCents, price);
});

test.serial('a delete on one instance is seen by the other as 404', async (t) => {
  const id = take();
  await call(a.url, 'GET', `/products/${id}`);
  await call(b.url, 'GET', `/products/${id}`);
  t.is((await call(b.url, 'DELETE', `/products/${id}`, { user: admin })).status, 204);
  await waitFor(() => !a.svc.cache.inL1(id), { what: 'instance A to drop the product' });
  t.is((await call(a.url, 'GET', `/products/${id}`)).status, 404);
});

test.serial('100 concurrent misses for one product cause exactly one query', async (t) => {
  const id = take();
  const before = a.productQueries(id);
  const results = await Promise.all(Array.from({ length: 100 }, () => call(a.url, 'GET', `/products/${id}`)));
  t.true(results.every((r) => r.status === 200 && r.body.id === id));
  t.is(a.productQueries(id) - before, 1);
});

test.serial('lookups of a missing id do not reach the database each time', async (t) => {
  const missing = '11111111-1111-4111-8111-111111111111';
  const before = a.productQueries(missing);
  for (let i = 0; i < 5; i++) t.is((await call(a.url, 'GET', `/products/${missing}`)).status, 404);
  t.is(a.productQueries(missing) - before, 1, 'one query, then L1 negative hits');
  const bBefore = b.productQueries(missing);
  t.is((await call(b.url, 'GET', `/products/${missing}`)).status, 404);
  t.is(b.productQueries(missing) - bBefore, 0, 'the other instance finds the negative entry in L2');
});

test.serial('views are ranked in Redis and a starting instance warms the most viewed', async (t) => {
  const hot = take();
  for (let i = 0; i < 3; i++) await call(a.url, 'GET', `/products/${hot}`);
  await waitFor(async () => Number(await a.svc.redis.zscore(`${prefix}views`, hot)) >= 3, { what: 'views to be counted' });
  const c = await startInstance({ schema: schema.name, prefix, env: { CACHE_WARM_TOP_N: '50' } });
  t.teardown(() => c.close());
  t.true(c.svc.cache.inL1(hot));
  const before = c.productQueries(hot);
  t.is((await call(c.url, 'GET', `/products/${hot}`)).body.id, hot);
  t.is(c.productQueries(hot), before);
  t.is(c.svc.cache.snapshot().l1.hit, 1);
});
