import test from 'ava';
import { createDb } from '@lantern/shop-common';
import { freshSchema, infra } from '@lantern/testkit';
import { generateCatalogue, migrations, seedCatalogue } from '../src/index.js';

test('the catalogue is deterministic and realistic in size', (t) => {
  const one = generateCatalogue();
  const two = generateCatalogue();
  t.deepEqual(one.products.slice(0, 20), two.products.slice(0, 20));
  t.deepEqual(one, two);
  t.true(one.products.length >= 1000);
  t.true(new Set(one.products.map((p) => p.category)).size >= 20);
  t.is(new Set(one.products.map((p) => p.sku)).size, one.products.length, 'skus are unique');
  t.is(new Set(one.products.map((p) => p.id)).size, one.products.length, 'ids are unique');
  for (const p of one.products) {
    t.true(Number.isInteger(p.priceCents) && p.priceCents > 0, `${p.sku} price`);
    t.regex(String(p.priceCents), /(99|49)$/);
  }
  t.notDeepEqual(generateCatalogue({ seed: 7 }).products[0], one.products[0], 'another seed gives another catalogue');
});

test('seeding is idempotent', async (t) => {
  const schema = await freshSchema('product_seed');
  const db = createDb({ url: infra.databaseUrl, schema: schema.name, migrations });
  t.teardown(async () => {
    await db.destroy();
    await schema.drop();
  });
  await db.migrate();
  const first = await seedCatalogue(db.knex);
  t.true(first.products >= 1000);
  t.true(first.categories >= 20);
  t.true(first.reviews > 0);
  const firstRows = await db.knex('products').orderBy('sku').limit(5).select('id', 'sku', 'name', 'price_cents', 'rating_avg');
  const second = await seedCatalogue(db.knex);
  t.deepEqual(second, { categories: 0, products: 0, reviews: 0 });
  const [{ count }] = (await db.knex('products').count('* as count')) as [{ count: string }];
  t.is(Number(count), first.products);
  t.deepEqual(await db.knex('products').orderBy('sku').limit(5).select('id', 'sku', 'name', 'price_cents', 'rating_avg'), firstRows);
  const rated = (await db.knex('products').where('rating_count', '>', 0).first('rating_avg', 'rating_count')) as { rating_avg: string };
  t.true(Number(rated.rating_avg) >= 1 && Number(rated.rating_avg) <= 5);
});
