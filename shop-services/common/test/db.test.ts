import test from 'ava';
import { freshSchema, infra } from '@lantern/testkit';
import { createDb, isUniqueViolation, type Migration } from '../src/index.js';

const migrations: Migration[] = [
  { name: '002_index', up: (k) => k.schema.alterTable('things', (t) => t.unique(['name'], { indexName: 'things_name_key' })) },
  { name: '001_things', up: (k) => k.schema.createTable('things', (t) => { t.increments('id'); t.text('name').notNullable(); }) },
];

test('migrations run in order inside the service schema, once, with a per-schema migrations table', async (t) => {
  const schema = await freshSchema('common_db');
  t.teardown(() => schema.drop());
  const db = createDb({ url: infra.databaseUrl, schema: schema.name, migrations });
  t.teardown(() => db.destroy());

  t.deepEqual(await db.migrate(), ['001_things', '002_index']);
  t.deepEqual(await db.migrate(), []);
  const tables = await db.knex('pg_tables').where({ schemaname: schema.name }).pluck('tablename');
  t.true(tables.includes('things') && tables.includes('knex_migrations'));

  const evil = "Robert'); DROP TABLE things;--";
  await db.knex('things').insert({ name: evil });
  t.deepEqual(await db.knex('things').pluck('name'), [evil]);
  const err = await t.throwsAsync(db.knex('things').insert({ name: evil }));
  t.true(isUniqueViolation(err, 'things_name_key'));
  await t.notThrowsAsync(db.ping());
});

test('createDb refuses a schema name that is not a plain identifier', (t) => {
  t.throws(() => createDb({ url: infra.databaseUrl, schema: 'x"; drop', migrations: [] }), { message: /invalid schema name/ });
});
