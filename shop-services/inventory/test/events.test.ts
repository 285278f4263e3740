import test from 'ava';
import { Kafka, logLevel } from 'kafkajs';
import { decodeEnvelope, inventoryLowStockSchema, inventoryRestockedSchema } from '@lantern/shop-common';
import { freshTopic, infra, uniqueName, waitFor } from '@lantern/testkit';
import { admin, metricValue, reserveBody, startInventory, type TestInventory } from './helpers.js';

interface OutboxRow {
  topic: string;
  key: string;
  type: string;
  payload: string;
}

async function outbox(inv: TestInventory): Promise<OutboxRow[]> {
  return inv.svc.db.knex('outbox').select('topic', 'key', 'type', 'payload').orderBy('seq');
}

test('low stock: one event per downward crossing of the threshold, in the transaction of the change', async (t) => {
  const inv = await startInventory(t, { env: { LOW_STOCK_THRESHOLD: '5', INVENTORY_TOPIC: 'inv-test-topic' } });
  const { productId, sku } = await inv.addProduct(8);
  const reserve = async (q: number) => {
    const body = reserveBody(productId, q);
    t.is((await inv.call('POST', '/inventory/reservations', { body })).status, 201);
    return body.orderId;
  };
  await reserve(2); // 6 left: above the threshold
  t.deepEqual(await outbox(inv), []);
  const crossing = await reserve(2); // 4 left: crossed
  await reserve(1); // 3 left: still low, no second event
  const rows = await outbox(inv);
  t.is(rows.length, 1);
  t.like(rows[0], { topic: 'inv-test-topic', key: productId, type: 'inventory.low_stock' });
  const data = inventoryLowStockSchema.parse(JSON.parse(rows[0]!.payload).data);
  t.like(data, { productId, sku, available: 4, threshold: 5 });

  // a refused reservation changes nothing and announces nothing
  t.is((await inv.call('POST', '/inventory/reservations', { body: reserveBody(productId, 50) })).status, 409);
  t.is((await outbox(inv)).length, 1);

  // back above the threshold (a release), then down again: a new crossing, a new event
  t.is((await inv.call('POST', `/inventory/reservations/${crossing}/release`)).status, 200); // 5 left: not above
  t.is((await outbox(inv)).length, 1);
  const restock = await inv.call('POST', `/inventory/${productId}/restock`, { as: 'gateway', user: admin, body: { quantity: 10 } }); // 15
  t.is(restock.status, 200);
  await reserve(10); // 5 left: crossed again
  const after = await outbox(inv);
  t.deepEqual(after.map((r) => r.type), ['inventory.low_stock', 'inventory.restocked', 'inventory.low_stock']);
  t.like(inventoryRestockedSchema.parse(JSON.parse(after[1]!.payload).data), { productId, sku, quantity: 10, onHand: 18 });

  // the gauge the InventoryStockLow alert reads
  t.is(await metricValue('inventory_stock_level', { sku }), 5);
});

test('the outbox relay delivers inventory events to Kafka', async (t) => {
  const topic = await freshTopic('inventory-events');
  const kafka = new Kafka({ clientId: uniqueName('inventory-test'), brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING });
  const inv = await startInventory(t, { kafka, env: { LOW_STOCK_THRESHOLD: '1', INVENTORY_TOPIC: topic } });
  const { productId } = await inv.addProduct(2);
  t.is((await inv.call('POST', '/inventory/reservations', { body: reserveBody(productId, 1) })).status, 201);

  const consumer = kafka.consumer({ groupId: uniqueName('inventory-test-group') });
  t.teardown(() => consumer.disconnect());
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const received: { key: string | undefined; type: string; data: unknown }[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      const env = decodeEnvelope(message.value ?? Buffer.alloc(0));
      received.push({ key: message.key?.toString(), type: env.type, data: env.data });
    },
  });
  await waitFor(() => received.length >= 1, { what: 'the low-stock event on Kafka', timeoutMs: 30_000 });
  t.is(received[0]?.key, productId);
  t.is(received[0]?.type, 'inventory.low_stock');
  t.like(received[0]?.data as object, { productId, available: 1, threshold: 1 });
  t.deepEqual(await outbox(inv), [], 'sent rows leave the outbox');
});
