import test from 'ava';
import { ConfigError } from '@lantern/shop-common';
import { generateCatalogue } from '@lantern/shop-product';
import { inventoryRouteDocs, loadInventoryConfig } from '../src/index.js';
import { SECRET, admin, startInventory } from './helpers.js';

test('seeding creates a stock row per catalogue product (on hand from config), once', async (t) => {
  const inv = await startInventory(t, { env: { SEED_ON_START: 'true', SEED_PER_CATEGORY: '2', SEED_ON_HAND: '40' } });
  const { products } = generateCatalogue({ perCategory: 2 });
  const count = await inv.svc.db.knex('stock').count<{ count: string }[]>('* as count');
  t.is(Number(count[0]?.count), products.length);
  const first = products[0]!;
  const page = await inv.call('GET', `/inventory/${first.id}`, { as: 'gateway' });
  t.deepEqual(page.body, { productId: first.id, sku: first.sku, onHand: 40, reserved: 0, allocated: 0, available: 40 });
  t.is(await inv.redisAvailable(first.id), 40, 'the start-up reconciliation put the seeded stock in Redis');

  // a restart seeds again, and leaves existing rows alone
  t.is((await inv.call('POST', `/inventory/${first.id}/restock`, { as: 'gateway', user: admin, body: { quantity: 2 } })).status, 200);
  const again = await inv.svc.start();
  t.is(again.seeded, 0);
  t.is((await inv.pgStock(first.id)).onHand, 42);
});

test('configuration: defaults, and errors naming the key', (t) => {
  const config = loadInventoryConfig({ INTERNAL_AUTH_SECRET: SECRET });
  t.like(config, { PORT: 8084, DB_SCHEMA: 'shop_inventory', REDIS_KEY_PREFIX: 'shop:inventory:', INVENTORY_TOPIC: 'inventory', SEED_ON_START: true, SEED_ON_HAND: 100, LOW_STOCK_THRESHOLD: 10 });
  t.deepEqual(config.INVENTORY_CALLERS, ['order', 'flash-sale']);
  const err = t.throws(
    () => loadInventoryConfig({ INTERNAL_AUTH_SECRET: SECRET, RESERVATION_TTL_SECONDS: '100', RESERVATION_MAX_TTL_SECONDS: '10', SEED_ON_START: 'maybe', DB_SCHEMA: 'Bad-Schema', INVENTORY_CALLERS: 'order,Not A Name' }),
    { instanceOf: ConfigError },
  );
  t.deepEqual(err.issues.map((i) => i.key).sort(), ['DB_SCHEMA', 'INVENTORY_CALLERS.1', 'SEED_ON_START'].sort());
  const ttl = t.throws(() => loadInventoryConfig({ INTERNAL_AUTH_SECRET: SECRET, RESERVATION_TTL_SECONDS: '100', RESERVATION_MAX_TTL_SECONDS: '10' }), { instanceOf: ConfigError });
  t.deepEqual(ttl.issues.map((i) => i.key), ['RESERVATION_TTL_SECONDS']);
});

test('route docs describe every route without being able to run one', (t) => {
  const routes = inventoryRouteDocs.map((r) => `${r.method} ${r.path}`);
  t.true(routes.includes('POST /inventory/reservations'));
  t.true(routes.includes('GET /inventory/:productId'));
  t.is(routes.length, 12);
});
