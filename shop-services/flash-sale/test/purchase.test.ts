import test from 'ava';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { infra, waitFor } from '@lantern/testkit';
import { attemptsTotal, counterRebuildsTotal, soldOutAnswersTotal, unitsReleasedTotal } from '../src/metrics.js';
import { buy, counterValue, customer, readTopic, startShop, tokensFor, type TestShop } from './helpers.js';

let shop: TestShop;
let redis: Redis;

test.before(async () => {
  // a sold-out flag that does not lapse during a test, so "no Redis call" is deterministic
  shop = await startShop({ env: { SOLD_OUT_RECHECK_MS: '600000' } });
  redis = new Redis(infra.redisUrl);
});

test.after.always(async () => {
  redis?.disconnect();
  await shop?.close();
});

async function newSale(stock: number, overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await shop.createSale({ stock, ...overrides });
  if (res.status !== 201) throw new Error(`sale not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

const sorted = (xs: string[]) => [...xs].sort();

async function purchasesOf(saleId: string): Promise<{ id: string; user_id: string; status: string }[]> {
  return shop.svc.db.knex('purchases').where({ sale_id: saleId }).select('id', 'user_id', 'status');
}

async function soldInDb(saleId: string): Promise<number> {
  return (await shop.svc.store.soldCounts([saleId])).get(saleId) ?? 0;
}

async function redisRemaining(saleId: string): Promise<number | undefined> {
  const [v] = await shop.svc.counters.remaining([saleId]);
  return v;
}

/** Every message on the shop's purchase topic, once the outbox has sent everything. */
async function publishedPurchases(): Promise<{ type: string; key: string; data: { saleId: string; userId: string; purchaseId: string } }[]> {
  await waitFor(async () => Number(((await shop.svc.db.knex('outbox').count({ n: '*' }).first()) as { n: string }).n) === 0, { timeoutMs: 20_000, what: 'outbox drained' });
  const admin = new Kafka({ clientId: 'fs-test-admin', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(shop.topic);
  await admin.disconnect();
  const total = offsets.reduce((n, o) => n + Number(o.high), 0);
  return (await readTopic(shop.kafka, shop.topic, (v) => v.length >= total)) as Awaited<ReturnType<typeof publishedPurchases>>;
}

test.serial('2,000 concurrent buyers for 100 units: exactly 100 accepted, no oversell, one per user, 100 events', async (t) => {
  const saleId = await newSale(100);
  const tokens = await tokensFor(Array.from({ length: 2000 }, () => customer()));
  const acceptedBefore = await counterValue(attemptsTotal, { outcome: 'accepted' });
  const soldOutBefore = await counterValue(attemptsTotal, { outcome: 'sold_out' });

  const results = await Promise.all(tokens.map((token) => buy(shop.url, saleId, token)));

  const accepted = results.filter((r) => r.status === 202);
  t.is(accepted.length, 100);
  const others = results.filter((r) => r.status !== 202);
  t.true(
    others.every((r) => r.status === 409 && r.code === 'sold_out'),
    JSON.stringify(others.find((r) => r.code !== 'sold_out')),
  );
  const rows = await purchasesOf(saleId);
  t.is(rows.length, 100);
  t.is(new Set(rows.map((r) => r.user_id)).size, 100);
  t.deepEqual(sorted(rows.map((r) => r.id)), sorted(accepted.map((r) => r.purchaseId!)));
  t.is(await soldInDb(saleId), 100);
  t.is(await redisRemaining(saleId), 0);
  t.is(await counterValue(attemptsTotal, { outcome: 'accepted' }), acceptedBefore + 100);
  t.is(await counterValue(attemptsTotal, { outcome: 'sold_out' }), soldOutBefore + 1900);

  const sale = await shop.call('GET', `/flash-sales/${saleId}`, { user: null, token: undefined });
  t.is(sale.status, 401, 'every route needs the internal token');
  const listed = await shop.call('GET', `/flash-sales/${saleId}`);
  t.is(listed.body.remaining, 0);
  t.is(listed.body.stock, 100);

  const events = (await publishedPurchases()).filter((e) => e.data.saleId === saleId);
  t.is(events.length, 100);
  t.true(events.every((e) => e.type === 'flash_sale.purchase_requested' && e.key === saleId));
  t.deepEqual(sorted(events.map((e) => e.data.purchaseId)), sorted(rows.map((r) => r.id)));
  t.is(new Set(events.map((e) => e.data.userId)).size, 100);
});

test.serial('once sold out, attempts are answered without Redis or Postgres', async (t) => {
  const saleId = await newSale(3);
  for (const token of await tokensFor([customer(), customer(), customer()])) t.is((await buy(shop.url, saleId, token)).status, 202);
  // the Lua script said "remaining 0" to the last buyer: the flag is set already
  t.true(shop.svc.soldOut.isSoldOut(saleId));

  const monitor = await redis.monitor();
  const redisCommands: string[] = [];
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args.some((a) => a.includes(saleId) || a.startsWith(shop.prefix))) redisCommands.push(args.join(' '));
  });
  // the outbox relay shares the pool: count only the statements on the service's own tables
  let sqlQueries = 0;
  const onQuery = (q: { sql: string }) => void (/flash_sales|purchases/.test(q.sql) && sqlQueries++);
  shop.svc.db.knex.on('query', onQuery);
  const localBefore = await counterValue(soldOutAnswersTotal, { path: 'local' });
  try {
    const tokens = await tokensFor(Array.from({ length: 200 }, () => customer()));
    const results = await Promise.all(tokens.map((token) => buy(shop.url, saleId, token)));
    t.true(results.every((r) => r.status === 409 && r.code === 'sold_out'));
    // a marker command after the burst: once MONITOR shows it, it has shown everything before it
    await redis.get(`${shop.prefix}monitor-marker`);
    await waitFor(() => redisCommands.some((c) => c.includes('monitor-marker')), { timeoutMs: 5000, what: 'MONITOR caught up' });
  } finally {
    shop.svc.db.knex.off('query', onQuery);
    monitor.disconnect();
  }
  t.deepEqual(redisCommands.filter((c) => c.includes(saleId)), []);
  t.is(sqlQueries, 0);
  t.is(await counterValue(soldOutAnswersTotal, { path: 'local' }), localBefore + 200);
});

test.serial('one user firing 20 concurrent purchases gets exactly one accepted', async (t) => {
  const saleId = await newSale(50);
  const [token] = await tokensFor([customer()]);
  const results = await Promise.all(Array.from({ length: 20 }, () => buy(shop.url, saleId, token!)));
  t.is(results.filter((r) => r.status === 202).length, 1);
  const others = results.filter((r) => r.status !== 202);
  t.true(others.every((r) => (r.status === 409 && r.code === 'already_purchased') || (r.status === 429 && r.code === 'rate_limited')), JSON.stringify(others));
  t.true(others.some((r) => r.status === 429), 'the local token bucket (capacity 5) sheds the flood');
  t.is((await purchasesOf(saleId)).length, 1);
  t.is(await redisRemaining(saleId), 49);

  const res = await fetch(`${shop.url}/flash-sales/${saleId}/purchase`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  t.is(res.status, 429);
  t.truthy(res.headers.get('retry-after'));
});

test.serial('before the start and after the end: 409 sale_not_active', async (t) => {
  const upcoming = await newSale(5, { startsAt: new Date(Date.now() + 3600_000).toISOString(), endsAt: new Date(Date.now() + 7200_000).toISOString() });
  const endsAt = Date.now() + 1500;
  const ending = await newSale(5, { endsAt: new Date(endsAt).toISOString() });
  const [a, b] = await tokensFor([customer(), customer()]);

  const early = await buy(shop.url, upcoming, a!);
  t.deepEqual([early.status, early.code], [409, 'sale_not_active']);
  // the script checks the window too, on the Redis clock (all instances agree)
  t.is((await shop.svc.counters.purchase(upcoming, 'someone')).outcome, 'not_started');

  await new Promise((r) => setTimeout(r, Math.max(0, endsAt - Date.now() + 50)));
  const late = await buy(shop.url, ending, b!);
  t.deepEqual([late.status, late.code], [409, 'sale_not_active']);
  t.is((await shop.svc.counters.purchase(ending, 'someone')).outcome, 'ended');
  t.is((await purchasesOf(ending)).length, 0);
  const notActive = await counterValue(attemptsTotal, { outcome: 'not_active' });
  t.true(notActive >= 2);
  const listed = await shop.call('GET', '/flash-sales?state=upcoming');
  t.true((listed.body.items as { id: string }[]).some((s) => s.id === upcoming));
});

test.serial('Redis keys deleted mid-sale: counters are rebuilt from Postgres and the sale never oversells', async (t) => {
  const stock = 60;
  const saleId = await newSale(stock);
  const keys = shop.svc.counters.keys(saleId);
  const wave1Users = Array.from({ length: 30 }, () => customer());
  const wave1Tokens = await tokensFor(wave1Users);
  const wave1 = await Promise.all(wave1Tokens.map((token) => buy(shop.url, saleId, token)));
  t.is(wave1.filter((r) => r.status === 202).length, 30);

  const rebuildsBefore = await counterValue(counterRebuildsTotal);
  await redis.del(...keys); // "flushed"
  // the second wave: 200 new buyers plus everyone from the first, while the keys vanish twice more
  const wave2Tokens = [...(await tokensFor(Array.from({ length: 200 }, () => customer()))), ...wave1Tokens];
  const flushes = [5, 25].map((ms) => new Promise<void>((r) => setTimeout(() => void redis.del(...keys).then(() => r()), ms)));
  const wave2 = await Promise.all(wave2Tokens.map((token) => buy(shop.url, saleId, token)));
  await Promise.all(flushes);

  const accepted = [...wave1, ...wave2].filter((r) => r.status === 202);
  t.is(accepted.length, stock, 'every unit sold exactly once');
  t.true(wave2.slice(200).every((r) => r.status === 409), 'first-wave buyers cannot buy again');
  t.true(wave2.every((r) => r.status === 202 || r.status === 409), JSON.stringify(wave2.find((r) => r.status !== 202 && r.status !== 409)));
  const rows = await purchasesOf(saleId);
  t.is(rows.length, stock);
  t.is(new Set(rows.map((r) => r.user_id)).size, stock);
  t.is(await soldInDb(saleId), stock);
  t.true((await counterValue(counterRebuildsTotal)) > rebuildsBefore);
  // Redis agrees with Postgres again
  const remaining = await redisRemaining(saleId);
  t.true(remaining === 0 || remaining === undefined, `remaining ${remaining}`);

  // one set lost on its own (eviction, a partial flush): its size no longer matches, so the script
  // asks for a rebuild instead of trusting it
  const rebuilds = await counterValue(counterRebuildsTotal);
  await redis.del(keys[2]); // the buyers
  shop.svc.soldOut.clear(saleId);
  const again = await buy(shop.url, saleId, wave1Tokens[0]!);
  t.deepEqual([again.status, again.code], [409, 'already_purchased']);
  t.is(await counterValue(counterRebuildsTotal), rebuilds + 1);
  t.is(await redis.scard(keys[2]), stock);
});

test.serial('Postgres failing after the Redis decrement: the hold is given back and nothing is kept', async (t) => {
  const saleId = await newSale(5);
  const user = customer();
  const [token] = await tokensFor([user]);
  const [, , buyersKey, holdsKey] = shop.svc.counters.keys(saleId);
  const releasedBefore = await counterValue(unitsReleasedTotal, { reason: 'db_failed' });
  await shop.svc.db.knex.raw('ALTER TABLE ?? RENAME TO ??', ['purchases', 'purchases_away']);
  let failed: Awaited<ReturnType<typeof buy>>;
  try {
    failed = await buy(shop.url, saleId, token!);
  } finally {
    await shop.svc.db.knex.raw('ALTER TABLE ?? RENAME TO ??', ['purchases_away', 'purchases']);
  }
  t.deepEqual([failed.status, failed.code], [503, 'flash_sale_unavailable']);
  t.is(await redisRemaining(saleId), 5);
  t.is(await redis.sismember(buyersKey, user.id), 0);
  t.is(await redis.zcard(holdsKey), 0);
  t.is(await soldInDb(saleId), 0);
  t.is(await counterValue(unitsReleasedTotal, { reason: 'db_failed' }), releasedBefore + 1);

  const retried = await buy(shop.url, saleId, token!);
  t.is(retried.status, 202);
  t.is(await redisRemaining(saleId), 4);
  t.is(await redis.zcard(holdsKey), 0, 'a committed purchase leaves no hold');
  const mine = await shop.call('GET', `/flash-sales/${saleId}/purchase`, { user });
  t.deepEqual([mine.body.purchaseId, mine.body.status], [retried.purchaseId, 'queued']);
});

test.serial('Postgres refuses slots a stale Redis hands out again: the buyer gets a free one, or sold_out', async (t) => {
  const saleId = await newSale(3);
  const [stateKey, freeKey] = shop.svc.counters.keys(saleId);
  const tokens = await tokensFor([customer(), customer(), customer(), customer()]);
  t.is((await buy(shop.url, saleId, tokens[0]!)).status, 202);
  t.is((await buy(shop.url, saleId, tokens[1]!)).status, 202);
  const taken = (await purchasesOf(saleId)).length;
  t.is(taken, 2);
  const owned = (await shop.svc.db.knex('purchases').where({ sale_id: saleId }).pluck('slot')) as number[];
  // a Redis gone wrong (e.g. rebuilt while purchases were in flight): both owned slots look free again
  await redis.sadd(freeKey, ...owned);
  await redis.hset(stateKey, 'remaining', 3);
  shop.svc.soldOut.clear(saleId);

  const third = await buy(shop.url, saleId, tokens[2]!);
  t.is(third.status, 202, 'the one really free slot is found after the taken ones are dropped');
  const fourth = await buy(shop.url, saleId, tokens[3]!);
  t.deepEqual([fourth.status, fourth.code], [409, 'sold_out']);
  t.is(await redisRemaining(saleId), 0);
  const slots = ((await shop.svc.db.knex('purchases').where({ sale_id: saleId }).pluck('slot')) as number[]).sort();
  t.deepEqual(slots, [1, 2, 3]);
});
