import test from 'ava';
import { infra, uniqueName } from '@lantern/testkit';
import { RecoStore, type StoreOptions } from '../src/store.js';
import { Recommender } from '../src/recommender.js';
import { createRedisClient, waitForRedis } from '../src/redis.js';
import { servedTotal, degradedTotal } from '../src/metrics.js';
import { closedPort, counterValue } from './helpers.js';

const silent = { warn: () => {} };
const opts = (prefix: string): StoreOptions => ({
  prefix,
  orderMarkerTtlSeconds: 3600,
  recentViewsMax: 5,
  recentViewsTtlSeconds: 3600,
  boughtTogetherMax: 100,
  orderWeight: 3,
});

async function setup(t: { teardown(fn: () => Promise<void> | void): void }) {
  const redis = createRedisClient(infra.redisUrl);
  await waitForRedis(redis);
  const prefix = uniqueName('reco_test');
  t.teardown(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });
  return { redis, prefix, store: new RecoStore(redis, opts(prefix)) };
}

test('an order counts co-occurrence once per pair and popularity by quantity; a re-delivery counts nothing', async (t) => {
  const { store } = await setup(t);
  const order = {
    orderId: 'o-1',
    userId: 'u-1',
    items: [
      { productId: 'a', quantity: 1, category: 'laptops' },
      { productId: 'b', quantity: 2, category: 'audio' },
      { productId: 'c', quantity: 1 },
      { productId: 'a', quantity: 1 }, // same product on a second line: still one co-occurrence
    ],
  };
  t.true(await store.recordOrder(order));
  t.false(await store.recordOrder(order));
  t.true(await store.recordOrder({ orderId: 'o-2', userId: 'u-2', items: [{ productId: 'a', quantity: 1 }, { productId: 'b', quantity: 1 }] }));

  t.deepEqual(await store.boughtTogether('a', 10), [
    { productId: 'b', score: 2 },
    { productId: 'c', score: 1 },
  ]);
  // equal scores come back in reverse lexical order (ZREVRANGE)
  t.deepEqual(await store.boughtTogether('c', 10), [
    { productId: 'b', score: 1 },
    { productId: 'a', score: 1 },
  ]);
  // popularity: a = (2 + 1) * 3, b = (2 + 1) * 3, c = 1 * 3
  t.deepEqual(await store.popular(undefined, 10), [
    { productId: 'b', score: 9 },
    { productId: 'a', score: 9 },
    { productId: 'c', score: 3 },
  ]);
  t.deepEqual(await store.popular('laptops', 10), [{ productId: 'a', score: 6 }]);
  t.is(await store.categoryOf('b'), 'audio');
});

test('a single-item order adds popularity but no bought-together entry', async (t) => {
  const { store } = await setup(t);
  t.true(await store.recordOrder({ orderId: 'solo', userId: 'u', items: [{ productId: 'x', quantity: 2 }] }));
  t.deepEqual(await store.boughtTogether('x', 10), []);
  t.deepEqual(await store.popular(undefined, 10), [{ productId: 'x', score: 6 }]);
});

test('recent views are most-recent-first, deduplicated and capped', async (t) => {
  const { store } = await setup(t);
  for (const p of ['p1', 'p2', 'p3', 'p1', 'p4', 'p5', 'p6']) await store.recordView({ userId: 'u', productId: p, category: 'phones' });
  t.deepEqual(await store.recentViews('u'), ['p6', 'p5', 'p4', 'p1', 'p3']);
  t.deepEqual((await store.popular('phones', 1))[0], { productId: 'p1', score: 2 });
});

test('fallback chain: personalised → popular → static, each counted by level', async (t) => {
  const { store } = await setup(t);
  const reco = new Recommender({ store, staticProducts: ['s1', 's2', 's3'], logger: silent });
  const before = {
    personalised: await counterValue(servedTotal, { level: 'personalised' }),
    popular: await counterValue(servedTotal, { level: 'popular' }),
    static: await counterValue(servedTotal, { level: 'static' }),
  };

  // Empty prefix: nothing learnt yet → static.
  const empty = await reco.recommend({ userId: 'newbie', limit: 2, algorithm: 'control' });
  t.is(empty.source, 'static');
  t.deepEqual(empty.items.map((i) => i.productId), ['s1', 's2']);

  await store.recordOrder({ orderId: 'o1', userId: 'x', items: [{ productId: 'a', quantity: 1, category: 'audio' }, { productId: 'b', quantity: 1, category: 'audio' }] });
  await store.recordOrder({ orderId: 'o2', userId: 'y', items: [{ productId: 'a', quantity: 1, category: 'audio' }, { productId: 'c', quantity: 1, category: 'audio' }] });
  await store.recordOrder({ orderId: 'o3', userId: 'z', items: [{ productId: 'a', quantity: 1, category: 'audio' }, { productId: 'b', quantity: 1, category: 'audio' }] });

  // A user who viewed "a": bought-together of a (b twice, c once), viewed product excluded.
  await store.recordView({ userId: 'viewer', productId: 'a', category: 'audio' });
  const personal = await reco.recommend({ userId: 'viewer', limit: 2, algorithm: 'control' });
  t.is(personal.source, 'personalised');
  t.deepEqual(personal.items.map((i) => i.productId), ['b', 'c']);

  // A new user: popularity (a is in all three orders).
  const popular = await reco.recommend({ userId: 'stranger', category: 'audio', limit: 3, algorithm: 'control' });
  t.is(popular.source, 'popular');
  t.is(popular.items[0]?.productId, 'a');
  t.deepEqual(new Set(popular.items.map((i) => i.productId)), new Set(['a', 'b', 'c']));

  // A short personalised list is topped up from the lower levels.
  const topped = await reco.recommend({ userId: 'viewer', limit: 5, algorithm: 'control' });
  t.deepEqual(topped.items.map((i) => i.source), ['personalised', 'personalised', 'static', 'static', 'static']);

  t.is(await counterValue(servedTotal, { level: 'static' }), before.static + 1);
  t.is(await counterValue(servedTotal, { level: 'personalised' }), before.personalised + 2);
  t.is(await counterValue(servedTotal, { level: 'popular' }), before.popular + 1);
});

test('cooccurrence-v2 weights recent views above older ones; control sums raw counts', async (t) => {
  const { store } = await setup(t);
  const reco = new Recommender({ store, staticProducts: [], logger: silent });
  // Older view "a" co-occurs with x 4 times; the more recent view "b" with y 3 times.
  for (let i = 0; i < 4; i++) await store.recordOrder({ orderId: `ax${i}`, userId: 'q', items: [{ productId: 'a', quantity: 1 }, { productId: 'x', quantity: 1 }] });
  for (let i = 0; i < 3; i++) await store.recordOrder({ orderId: `by${i}`, userId: 'q', items: [{ productId: 'b', quantity: 1 }, { productId: 'y', quantity: 1 }] });
  await store.recordView({ userId: 'u', productId: 'a' });
  await store.recordView({ userId: 'u', productId: 'b' });
  const seeds = await store.recentViews('u');
  t.deepEqual(seeds, ['b', 'a']);

  const control = await reco.personalised(seeds, 'control', new Set(seeds));
  t.deepEqual(control, [
    { productId: 'x', score: 4 },
    { productId: 'y', score: 3 },
  ]);
  // v2: y = 3 * 1, x = 4 * 0.7 = 2.8
  const v2 = await reco.personalised(seeds, 'cooccurrence-v2', new Set(seeds));
  t.deepEqual(v2.map((s) => s.productId), ['y', 'x']);
  t.is(Math.round((v2[1]?.score ?? 0) * 100), 280);
});

test('Redis unreachable: the chain degrades to the static list instead of failing', async (t) => {
  const port = await closedPort();
  const redis = createRedisClient(`redis://127.0.0.1:${port}`);
  redis.on('error', () => {}); // connection refused is expected here
  t.teardown(() => redis.disconnect());
  const store = new RecoStore(redis, opts(uniqueName('reco_down')));
  const warnings: string[] = [];
  const reco = new Recommender({ store, staticProducts: ['s1', 's2', 'p'], logger: { warn: (_o, msg) => warnings.push(msg) } });
  const staticBefore = await counterValue(servedTotal, { level: 'static' });
  const degradedBefore = await counterValue(degradedTotal);

  const res = await reco.recommend({ userId: 'u', productId: 'p', limit: 5, algorithm: 'control' });
  t.is(res.source, 'static');
  t.true(res.degraded);
  t.deepEqual(res.items.map((i) => i.productId), ['s1', 's2']); // the context product is not recommended to itself
  t.is(await counterValue(servedTotal, { level: 'static' }), staticBefore + 1);
  t.is(await counterValue(degradedTotal), degradedBefore + 1);
  t.is(warnings.length, 1);
});
