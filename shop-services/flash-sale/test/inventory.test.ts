import { randomUUID } from 'node:crypto';
import test from 'ava';
import { Redis } from 'ioredis';
import { createTestTelemetry } from '@lantern/shop-common/testing';
import { createInternalTokenSigner, runService, type RunningService } from '@lantern/shop-common';
import { createInventoryService, loadInventoryConfig, type InventoryService } from '@lantern/shop-inventory';
import { fetchJson, freshSchema, infra, uniqueName, type FreshSchema } from '@lantern/testkit';
import { customer, SECRET, startShop, type TestShop } from './helpers.js';

// The real inventory service (in-process, own schema and Redis prefix): allocation at creation,
// unsold units returned at settlement, as shop2.md's contract says.
let inventory: InventoryService;
let inventoryUrl: string;
let running: RunningService;
let schema: FreshSchema;
let prefix: string;
let shop: TestShop;
const asFlashSale = createInternalTokenSigner({ service: 'flash-sale', secret: SECRET });

test.before(async () => {
  schema = await freshSchema('fs_inventory_test');
  prefix = `${uniqueName('fs_inv')}:`;
  const config = loadInventoryConfig({
    INTERNAL_AUTH_SECRET: SECRET,
    PORT: '0',
    DATABASE_URL: infra.databaseUrl,
    REDIS_URL: infra.redisUrl,
    DB_SCHEMA: schema.name,
    REDIS_KEY_PREFIX: prefix,
    SEED_ON_START: 'false',
    OUTBOX_RELAY_ENABLED: 'false',
    DB_POOL_MAX: '4',
  });
  const telemetry = createTestTelemetry('inventory');
  inventory = createInventoryService({ config, telemetry });
  await inventory.start();
  running = await runService({ app: inventory.app, telemetry, port: 0, host: '127.0.0.1' });
  inventoryUrl = running.url;
  shop = await startShop({ env: { INVENTORY_SERVICE_URL: inventoryUrl } });
});

test.after.always(async () => {
  await shop?.close();
  await running?.close();
  await inventory?.close();
  const redis = new Redis(infra.redisUrl);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await schema?.drop();
});

async function stockOf(productId: string): Promise<{ onHand: number; reserved: number; available: number }> {
  const res = await fetchJson(`${inventoryUrl}/inventory/${productId}`, { headers: { authorization: `Bearer ${await asFlashSale.sign('inventory', customer())}` } });
  return res.body as { onHand: number; reserved: number; available: number };
}

async function allocation(saleId: string): Promise<{ quantity: number; consumed: number; returned: number; remaining: number; status: string }> {
  const res = await fetchJson(`${inventoryUrl}/inventory/allocations/${saleId}`, { headers: { authorization: `Bearer ${await asFlashSale.sign('inventory')}` } });
  return res.body as { quantity: number; consumed: number; returned: number; remaining: number; status: string };
}

test.serial('a sale takes its stock from inventory and gives the unsold units back when it ends', async (t) => {
  const productId = randomUUID();
  await inventory.store.seed([{ productId, sku: 'FS-INV-1' }], 50);
  await inventory.reconciler.reconcileProducts([productId]);

  const tooMuch = await shop.createSale({ productId, stock: 51 });
  t.deepEqual([tooMuch.status, tooMuch.body.error.code], [409, 'insufficient_stock']);

  const endsAt = Date.now() + 1500;
  const created = await shop.createSale({ productId, stock: 20, endsAt: new Date(endsAt).toISOString() });
  t.is(created.status, 201, JSON.stringify(created.body));
  const sale = created.body;
  t.is(sale.sku, 'FS-INV-1', 'the SKU comes from the allocation');
  t.like(await allocation(sale.id), { quantity: 20, consumed: 0, returned: 0, status: 'active' });
  t.is((await stockOf(productId)).available, 30);

  for (let i = 0; i < 3; i++) t.is((await shop.call('POST', `/flash-sales/${sale.id}/purchase`, { user: customer() })).status, 202);
  await new Promise((r) => setTimeout(r, Math.max(0, endsAt - Date.now() + 50)));

  const report = await shop.svc.settler.runOnce();
  t.like(report, { settled: 1, unitsReturned: 17 });
  t.like(await allocation(sale.id), { quantity: 20, returned: 17, remaining: 3 });
  t.is((await stockOf(productId)).available, 47, 'the 3 sold units stay set aside for their orders');
  // a second run (or another instance) returns nothing twice
  t.like(await shop.svc.settler.runOnce(), { settled: 0, unitsReturned: 0 });
  t.like(await allocation(sale.id), { returned: 17 });
});
