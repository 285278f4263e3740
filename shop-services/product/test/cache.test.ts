import test from 'ava';
import { Redis } from 'ioredis';
import client from 'prom-client';
import { infra, uniqueName, waitFor } from '@lantern/testkit';
import { HotKeys, InvalidationBus, jitteredTtl, MultiLevelCache, SingleFlight } from '../src/cache/index.js';

const redis = new Redis(infra.redisUrl);
const prefix = `${uniqueName('test_cache')}:`;
test.after.always(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

/** A source of truth that counts loads and can hold them until released. */
function source(initial: Record<string, string>) {
  const data = new Map(Object.entries(initial));
  let gate: Promise<void> | undefined;
  let release = () => {};
  const src = {
    data,
    loads: 0,
    hold() {
      gate = new Promise((r) => (release = r));
    },
    release: () => release(),
    load: async (key: string) => {
      src.loads++;
      const value = data.get(key); // read before waiting: a slow reader holding an old row
      if (gate) await gate;
      return value;
    },
  };
  return src;
}

let n = 0;
function makeCache(src: ReturnType<typeof source>, extra: { bus?: InvalidationBus; name?: string; doubleDeleteDelayMs?: number } = {}) {
  return new MultiLevelCache<string>({ name: extra.name ?? `c${++n}`, redis, keyPrefix: prefix, load: src.load, bus: extra.bus, doubleDeleteDelayMs: extra.doubleDeleteDelayMs ?? 200 });
}

test('a miss loads once, then L1 hits; a second instance hits L2 without loading', async (t) => {
  const src = source({ a: 'A' });
  const one = makeCache(src, { name: 'shared1' });
  t.is(await one.get('a'), 'A');
  t.is(await one.get('a'), 'A');
  t.is(src.loads, 1);
  t.like(one.snapshot(), { l1: { miss: 1, hit: 1 }, l2: { miss: 1 }, db: { hit: 1 } });
  const two = makeCache(src, { name: 'shared1' });
  t.is(await two.get('a'), 'A');
  t.is(src.loads, 1);
  t.like(two.snapshot(), { l1: { miss: 1 }, l2: { hit: 1 }, db: { hit: 0 } });
  const metric = await client.register.getSingleMetric('cache_requests_total')?.get();
  const value = (level: string, result: string) => metric?.values.find((v) => v.labels.cache === 'shared1' && v.labels.level === level && v.labels.result === result)?.value;
  t.is(value('l1', 'hit'), 1);
  t.is(value('l1', 'miss'), 2);
  t.is(value('l2', 'hit'), 1);
  t.is(value('db', 'hit'), 1);
});

test('100 concurrent misses for one key cause exactly one load', async (t) => {
  const src = source({ k: 'V' });
  const cache = makeCache(src);
  src.hold();
  const all = Promise.all(Array.from({ length: 100 }, () => cache.get('k')));
  await waitFor(() => src.loads > 0, { what: 'the load to start' });
  src.release();
  const values = await all;
  t.true(values.every((v) => v === 'V'));
  t.is(src.loads, 1);
  t.is(cache.snapshot().l2.miss, 1);
});

test('a missing key is cached negatively in L1 and L2', async (t) => {
  const src = source({});
  const cache = makeCache(src, { name: 'neg' });
  t.is(await cache.get('nope'), undefined);
  t.is(await cache.get('nope'), undefined);
  t.is(src.loads, 1);
  t.is(cache.snapshot().l1.negative_hit, 1);
  const other = makeCache(src, { name: 'neg' });
  t.is(await other.get('nope'), undefined);
  t.is(src.loads, 1);
  t.is(other.snapshot().l2.negative_hit, 1);
  const ttl = await redis.ttl(cache.l2Key('nope'));
  t.true(ttl > 0 && ttl <= 33, `negative entries get the short TTL, got ${ttl}`);
});

test('an invalidation reaches the L1 of another instance through pub/sub', async (t) => {
  const channel = `${prefix}invalidate`;
  const busA = new InvalidationBus({ redis, channel });
  const busB = new InvalidationBus({ redis, channel });
  await Promise.all([busA.start(), busB.start()]);
  t.teardown(() => Promise.all([busA.close(), busB.close()]));
  const src = source({ p: 'old' });
  const a = makeCache(src, { name: 'inv', bus: busA });
  const b = makeCache(src, { name: 'inv', bus: busB });
  t.teardown(() => Promise.all([a.close(), b.close()]));
  t.is(await a.get('p'), 'old');
  t.is(await b.get('p'), 'old');
  t.true(b.inL1('p'));
  src.data.set('p', 'new');
  await a.invalidate('p');
  t.false(a.inL1('p'));
  await waitFor(() => !b.inL1('p'), { what: 'instance B to drop p from L1' });
  t.is(await b.get('p'), 'new');
  t.is(await a.get('p'), 'new');
});

test('the delayed second delete removes a stale value written back after the first delete', async (t) => {
  const src = source({ s: 'v1' });
  const cache = makeCache(src, { doubleDeleteDelayMs: 1500 }); // leaves ample room to write the stale value first
  t.teardown(() => cache.close());
  await cache.get('s');
  src.data.set('s', 'v2');
  await cache.invalidate('s');
  // a concurrent reader that read v1 before the write stores it now
  await redis.set(cache.l2Key('s'), JSON.stringify('v1'), 'EX', 60);
  await waitFor(async () => (await redis.exists(cache.l2Key('s'))) === 0, { what: 'the second delete' });
  t.is(await cache.get('s'), 'v2');
});

test('a load that overlaps an invalidation of its key is returned but not cached', async (t) => {
  const src = source({ r: 'old' });
  const cache = makeCache(src);
  t.teardown(() => cache.close());
  src.hold();
  const reading = cache.get('r');
  await waitFor(() => src.loads === 1, { what: 'the load to start' });
  src.data.set('r', 'new');
  await cache.invalidate('r');
  src.release();
  t.is(await reading, 'old');
  t.false(cache.inL1('r'));
  t.is(await redis.exists(cache.l2Key('r')), 0);
});

test('when Redis is unreachable, reads fall through to the loader', async (t) => {
  const dead = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  dead.on('error', () => {});
  t.teardown(() => dead.disconnect());
  const src = source({ x: 'X' });
  const cache = new MultiLevelCache<string>({ name: 'dead', redis: dead, keyPrefix: prefix, load: src.load });
  t.is(await cache.get('x'), 'X');
  t.is(cache.snapshot().l2.error, 1);
  await cache.invalidate('x'); // must not throw
  t.false(cache.inL1('x'));
  await cache.close();
});

test('hot keys rank by views and warm() fills L1 from them', async (t) => {
  const hot = new HotKeys({ redis, key: `${prefix}views` });
  t.teardown(() => hot.close());
  for (const [k, views] of [['h1', 1], ['h2', 5], ['h3', 3]] as const) for (let i = 0; i < views; i++) hot.record(k);
  await waitFor(async () => (await redis.zscore(`${prefix}views`, 'h2')) === '5', { what: 'views to be recorded by the flush timer' });
  t.deepEqual(await hot.top(2), ['h2', 'h3']);
  const src = source({ h1: '1', h2: '2', h3: '3' });
  const cache = makeCache(src);
  t.is(await cache.warm(await hot.top(2)), 2);
  t.true(cache.inL1('h2') && cache.inL1('h3'));
  t.false(cache.inL1('h1'));
  const before = src.loads;
  t.is(await cache.get('h2'), '2');
  t.is(src.loads, before);
});

test('hot keys sum views in memory and add them to Redis in one flush', async (t) => {
  const key = `${prefix}views-batched`;
  const hot = new HotKeys({ redis, key, flushIntervalMs: 60_000 });
  t.teardown(() => hot.close());
  for (let i = 0; i < 7; i++) hot.record('a');
  hot.record('b');
  t.is(await redis.zscore(key, 'a'), null, 'nothing is written per view');
  await hot.flush();
  t.is(await redis.zscore(key, 'a'), '7');
  t.is(await redis.zscore(key, 'b'), '1');
  await hot.flush(); // nothing new: nothing added twice
  t.is(await redis.zscore(key, 'a'), '7');
});

test('hot keys keep the views of a failed flush and send them with the next', async (t) => {
  const key = `${prefix}views-retry`;
  const hot = new HotKeys({ redis, key, flushIntervalMs: 60_000 });
  t.teardown(() => hot.close());
  await redis.set(key, 'not a sorted set'); // ZINCRBY now fails with WRONGTYPE
  for (let i = 0; i < 3; i++) hot.record('a');
  await hot.flush();
  t.is(await redis.type(key), 'string');
  await redis.del(key);
  hot.record('a');
  await hot.flush();
  t.is(await redis.zscore(key, 'a'), '4');
});

test('jittered TTLs stay within the ratio and vary', (t) => {
  t.is(jitteredTtl(100, 0.1, () => 0), 90);
  t.is(jitteredTtl(100, 0.1, () => 0.999999), 110);
  t.is(jitteredTtl(1, 0.5, () => 0), 1);
  const seen = new Set(Array.from({ length: 50 }, () => jitteredTtl(1000, 0.2)));
  t.true(seen.size > 1);
});

test('single-flight shares one call per key and forgets it afterwards', async (t) => {
  const sf = new SingleFlight<number>();
  let calls = 0;
  const fn = async () => ++calls;
  const [a, b] = await Promise.all([sf.do('k', fn), sf.do('k', fn)]);
  t.deepEqual([a, b], [1, 1]);
  t.is(await sf.do('k', fn), 2);
  await t.throwsAsync(sf.do('e', async () => { throw new Error('boom'); }), { message: 'boom' });
  t.is(sf.size, 0);
});

test('after its subscriber reconnects, an instance resets L1 and receives invalidations again', async (t) => {
  const channel = `${prefix}reconnect`;
  const busA = new InvalidationBus({ redis, channel });
  const busB = new InvalidationBus({ redis, channel });
  await Promise.all([busA.start(), busB.start()]);
  t.teardown(() => Promise.all([busA.close(), busB.close()]));
  const src = source({ q: '1', w: '1' });
  const a = makeCache(src, { name: 'rc', bus: busA });
  const b = makeCache(src, { name: 'rc', bus: busB });
  t.teardown(() => Promise.all([a.close(), b.close()]));
  await b.get('q');
  t.true(b.inL1('q'));
  // messages published while B is away are lost: B must drop everything it holds when it comes back
  const clients = String(await redis.client('LIST'));
  const line = clients.split('\n').find((l) => l.includes(`name=cache-invalidation-${busB.instanceId}`));
  const id = /\bid=(\d+)/.exec(line ?? '')?.[1];
  t.truthy(id, 'the subscriber connection is named');
  await redis.client('KILL', 'ID', id!);
  await waitFor(() => !b.inL1('q'), { what: 'B to reset L1 after reconnecting' });
  await b.get('w');
  src.data.set('w', '2');
  await waitFor(
    async () => {
      await a.invalidate('w');
      return !b.inL1('w');
    },
    { what: 'invalidations to reach B again after the resubscribe' },
  );
  t.is(await b.get('w'), '2');
});
