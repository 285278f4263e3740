import test from 'ava';
import { NotFoundError } from '../src/model/errors.js';
import type { Matcher } from '../src/model/silence.js';
import { freshStores, storesOn } from './support/stores.js';

const t0 = new Date('2030-01-01T00:00:00Z');
const at = (s: number): Date => new Date(t0.getTime() + s * 1000);
const m = (name: string, value: string): Matcher => ({ name, value, isRegex: false, isEqual: true });

test('silences: create gives a uuid; a start in the past is clamped to now; get/list round-trip', async (t) => {
  const { stores, schema } = await freshStores('store_sil_a');
  t.teardown(async () => { await stores.close(); await schema.drop(); });
  const id = await stores.silences.upsert({ matchers: [m('alertname', 'X')], startsAt: at(-100), endsAt: at(100), createdBy: 'ann', comment: 'deploy', annotations: { ticket: 'T-1' } }, at(0));
  t.regex(id, /^[0-9a-f-]{36}$/);
  const s = await stores.silences.get(id);
  t.deepEqual(s, { id, matchers: [m('alertname', 'X')], startsAt: at(0), endsAt: at(100), createdBy: 'ann', comment: 'deploy', annotations: { ticket: 'T-1' }, updatedAt: at(0) });
  t.deepEqual((await stores.silences.list()).map((x) => x.id), [id]);
});

test('silences: updating an active silence in place (same matchers, same start) keeps the id', async (t) => {
  const { stores, schema } = await freshStores('store_sil_b');
  t.teardown(async () => { await stores.close(); await schema.drop(); });
  const id = await stores.silences.upsert({ matchers: [m('a', '1')], startsAt: at(0), endsAt: at(100), createdBy: 'ann', comment: 'c' }, at(0));
  const same = await stores.silences.upsert({ id, matchers: [m('a', '1')], startsAt: at(0), endsAt: at(500), createdBy: 'ann', comment: 'longer' }, at(10));
  t.is(same, id);
  const s = (await stores.silences.get(id))!;
  t.deepEqual(s.endsAt, at(500));
  t.is(s.comment, 'longer');
});

test('silences: changing matchers of an active silence expires the old one and creates a new one', async (t) => {
  const { stores, schema } = await freshStores('store_sil_c');
  t.teardown(async () => { await stores.close(); await schema.drop(); });
  const id = await stores.silences.upsert({ matchers: [m('a', '1')], startsAt: at(0), endsAt: at(100), createdBy: 'ann', comment: 'c' }, at(0));
  const id2 = await stores.silences.upsert({ id, matchers: [m('a', '2')], startsAt: at(0), endsAt: at(100), createdBy: 'ann', comment: 'c' }, at(10));
  t.not(id2, id);
  t.deepEqual((await stores.silences.get(id))!.endsAt, at(10));
  const n = (await stores.silences.get(id2))!;
  t.deepEqual(n.matchers, [m('a', '2')]);
  t.deepEqual(n.startsAt, at(10));
});

test('silences: unknown or malformed id on update or expire is NotFoundError; expire ends active and pending ones', async (t) => {
  const { stores, schema } = await freshStores('store_sil_d');
  t.teardown(async () => { await stores.close(); await schema.drop(); });
  const post = { matchers: [m('a', '1')], startsAt: at(0), endsAt: at(100), createdBy: 'ann', comment: 'c' };
  await t.throwsAsync(stores.silences.upsert({ ...post, id: '00000000-0000-4000-8000-000000000000' }, at(0)), { instanceOf: NotFoundError });
  await t.throwsAsync(stores.silences.upsert({ ...post, id: 'nope' }, at(0)), { instanceOf: NotFoundError });
  await t.throwsAsync(stores.silences.expire('nope', at(0)), { instanceOf: NotFoundError });
  t.is(await stores.silences.get('nope'), undefined);
  const active = await stores.silences.upsert(post, at(0));
  const pending = await stores.silences.upsert({ ...post, startsAt: at(50) }, at(0));
  await stores.silences.expire(active, at(20));
  await stores.silences.expire(pending, at(20));
  t.deepEqual((await stores.silences.get(active))!.endsAt, at(20));
  const p = (await stores.silences.get(pending))!;
  t.deepEqual([p.startsAt, p.endsAt], [at(20), at(20)]);
  await t.notThrowsAsync(stores.silences.expire(active, at(30)));
  t.is((await stores.silences.list()).length, 2);
});

test('nflog and acks round-trip and survive a new Stores on the same schema', async (t) => {
  const { stores, schema } = await freshStores('store_nflog');
  await stores.nflog.log({ groupKey: 'g', receiver: 'r', integration: 'webhook[0]', firing: ['a', 'b'], resolved: ['c'], sentAt: at(5) });
  await stores.nflog.log({ groupKey: 'g', receiver: 'r', integration: 'webhook[0]', firing: ['a'], resolved: ['b', 'c'], sentAt: at(9) });
  await stores.acks.ack('g', 'ann', at(7));
  await stores.close();
  const again = await storesOn(schema.name);
  t.teardown(async () => { await again.close(); await schema.drop(); });
  t.deepEqual(await again.nflog.get('g', 'r', 'webhook[0]'), { groupKey: 'g', receiver: 'r', integration: 'webhook[0]', firing: ['a'], resolved: ['b', 'c'], sentAt: at(9) });
  t.is(await again.nflog.get('g', 'r', 'webhook[1]'), undefined);
  t.deepEqual(await again.acks.get('g'), { groupKey: 'g', by: 'ann', at: at(7) });
  await again.acks.clear('g');
  t.is(await again.acks.get('g'), undefined);
});

test('leader lease: one holder at a time; renewable by the holder; free after expiry or release', async (t) => {
  const { stores: a, schema } = await freshStores('store_lease');
  const b = await storesOn(schema.name);
  t.teardown(async () => { await a.close(); await b.close(); await schema.drop(); });
  const results = await Promise.all([a.lease.tryAcquire('A', 10_000, at(0)), b.lease.tryAcquire('B', 10_000, at(0))]);
  t.is(results.filter(Boolean).length, 1, 'exactly one of two concurrent acquirers wins');
  const [leader, other, lStore, oStore] = results[0] ? ['A', 'B', a, b] as const : ['B', 'A', b, a] as const;
  t.true(await lStore.lease.tryAcquire(leader, 10_000, at(5)), 'the holder renews');
  t.false(await oStore.lease.tryAcquire(other, 10_000, at(14)), 'renewed until 15');
  t.true(await oStore.lease.tryAcquire(other, 10_000, at(15)), 'taken after expiry');
  t.false(await lStore.lease.tryAcquire(leader, 10_000, at(16)), 'the old holder lost it');
  await oStore.lease.release(other);
  t.true(await lStore.lease.tryAcquire(leader, 10_000, at(17)), 'free after release');
});
