// The dispatcher's stores batch the calls of one turn of the event loop into one statement (store/batch.ts):
// every caller still gets its own answer, writes to one key within a turn leave what the same writes one after
// another would leave, and a silence stored before a list() is never missed by it.
import { infra } from '@lantern/testkit';
import test from 'ava';
import knexFactory, { type Knex } from 'knex';
import type { NotificationLogEntry } from '../src/model/stores.js';
import { PgAckStore } from '../src/store/acks.js';
import { PgGroupStateStore } from '../src/store/groups.js';
import { PgNotificationLog } from '../src/store/nflog.js';
import { PgSilenceStore } from '../src/store/silences.js';
import { freshStores } from './support/stores.js';

const t0 = new Date('2030-01-01T00:00:00Z');
const at = (s: number): Date => new Date(t0.getTime() + s * 1000);

/** A knex on the stores' schema that counts the statements it runs. */
async function countingDb(prefix: string): Promise<{ db: Knex; statements: () => number; done: () => Promise<void> }> {
  const { stores, schema } = await freshStores(prefix); // creates the tables
  await stores.close();
  const db = knexFactory({ client: 'pg', connection: infra.databaseUrl, searchPath: [schema.name], pool: { min: 0, max: 5 } });
  let n = 0;
  db.on('query', () => n++);
  return {
    db,
    statements: () => n,
    done: async () => {
      await db.destroy();
      await schema.drop();
    },
  };
}

const entry = (g: number, integration: string, sentAt: Date, firing: string[] = [`fp${g}`]): NotificationLogEntry => ({
  groupKey: `{}:{i="${g}"}`,
  receiver: 'hook',
  integration,
  firing,
  resolved: [],
  sentAt,
});

test('nflog: 300 writes and 300 reads of one turn are one statement each; every caller gets its own entry; the last write to a key wins', async (t) => {
  const c = await countingDb('store_batch_nflog');
  t.teardown(c.done);
  const nflog = new PgNotificationLog(c.db);
  const before = c.statements();
  await Promise.all([
    ...Array.from({ length: 300 }, (_, g) => nflog.log(entry(g, 'webhook[0]', at(1)))),
    nflog.log(entry(7, 'webhook[0]', at(2), ['later'])),
  ]);
  t.is(c.statements() - before, 1, 'one upsert');
  const mid = c.statements();
  const got = await Promise.all([
    ...Array.from({ length: 300 }, (_, g) => nflog.get(`{}:{i="${g}"}`, 'hook', 'webhook[0]')),
    nflog.get('{}:{i="7"}', 'hook', 'webhook[1]'),
    nflog.get('{}:{i="7"}', 'hook', 'webhook[0]'),
  ]);
  t.is(c.statements() - mid, 1, 'one select');
  for (let g = 0; g < 300; g++) if (g !== 7) t.deepEqual(got[g], entry(g, 'webhook[0]', at(1)));
  t.deepEqual(got[7], entry(7, 'webhook[0]', at(2), ['later']));
  t.is(got[300], undefined, 'another integration of the same group has no entry');
  t.deepEqual(got[301], got[7], 'the same key asked twice');
});

test('acks: reads of one turn are one statement; each group gets its own acknowledgement or none', async (t) => {
  const c = await countingDb('store_batch_acks');
  t.teardown(c.done);
  const acks = new PgAckStore(c.db);
  await acks.ack('g1', 'ann', at(1));
  await acks.ack('g3', 'bob', at(3));
  const before = c.statements();
  const got = await Promise.all(['g1', 'g2', 'g3', 'g1'].map((g) => acks.get(g)));
  t.is(c.statements() - before, 1);
  t.deepEqual(got, [{ groupKey: 'g1', by: 'ann', at: at(1) }, undefined, { groupKey: 'g3', by: 'bob', at: at(3) }, { groupKey: 'g1', by: 'ann', at: at(1) }]);
  await acks.clear('g1');
  t.is(await acks.get('g1'), undefined, 'a read after a clear does not see it');
});

test('group state: creations of one turn are one insert (an existing row wins); updates merge per group in call order, a cleared column is cleared', async (t) => {
  const c = await countingDb('store_batch_groups');
  t.teardown(c.done);
  const groups = new PgGroupStateStore(c.db);
  const existing = await groups.create({ groupKey: 'g0', receiver: 'hook', createdAt: at(0), escalationLevel: 2, lastFlushAt: at(0) });
  const before = c.statements();
  const created = await Promise.all(
    Array.from({ length: 200 }, (_, i) => groups.create({ groupKey: `g${i}`, receiver: 'hook', createdAt: at(10), escalationLevel: 0 })),
  );
  t.is(c.statements() - before, 2, 'one insert and one select');
  t.deepEqual(created[0], existing, 'an existing row wins');
  t.deepEqual(created[199], { groupKey: 'g199', receiver: 'hook', createdAt: at(10), escalationLevel: 0 });

  const mid = c.statements();
  await Promise.all([
    ...Array.from({ length: 200 }, (_, i) => groups.update(`g${i}`, { lastFlushAt: at(20), firstFlushAt: at(20) })),
    groups.update('g5', { firstNotifiedAt: at(21) }),
    groups.update('g5', { lastFlushAt: at(22) }),
    groups.update('g0', { lastFlushAt: undefined, escalationLevel: 3 }),
    groups.update('g9', {}),
  ]);
  t.true(c.statements() - mid <= 3, 'one update per set of columns');
  const g5 = await groups.get('g5');
  t.deepEqual(g5, { groupKey: 'g5', receiver: 'hook', createdAt: at(10), firstFlushAt: at(20), lastFlushAt: at(22), firstNotifiedAt: at(21), escalationLevel: 0 });
  t.deepEqual(await groups.get('g0'), { groupKey: 'g0', receiver: 'hook', createdAt: at(0), firstFlushAt: at(20), escalationLevel: 3 }, 'the later patch clears the last flush and sets the level; the earlier one\'s first flush stays');
  t.deepEqual(await groups.get('g150'), { groupKey: 'g150', receiver: 'hook', createdAt: at(10), firstFlushAt: at(20), lastFlushAt: at(20), escalationLevel: 0 });
});

test('silences: lists asked while one is in flight share it, but a silence stored before a list() is always in it', async (t) => {
  const c = await countingDb('store_batch_sil');
  t.teardown(c.done);
  const silences = new PgSilenceStore(c.db);
  const post = { matchers: [{ name: 'a', value: '1', isRegex: false, isEqual: true }], startsAt: at(0), endsAt: at(100), createdBy: 'ann', comment: 'c' };
  const before = c.statements();
  const shared = await Promise.all(Array.from({ length: 50 }, () => silences.list()));
  t.is(c.statements() - before, 1, 'one select for 50 callers');
  t.true(shared.every((l) => l.length === 0));

  // a list in flight while a silence is stored: a list() asked after the store must not reuse it
  const inFlight = silences.list();
  const id = await silences.upsert(post, at(0));
  const after = await silences.list();
  t.deepEqual(after.map((s) => s.id), [id]);
  await inFlight;
  await silences.expire(id, at(1));
  t.deepEqual((await silences.list()).map((s) => s.endsAt), [at(1)]);
});
