import test from 'ava';
import { createTopics, freshSchema, infra, uniqueName, waitFor } from '@lantern/testkit';
import { startFaultProxy } from './support/fault-proxy.js';
import { SECRET, admin, alice, callService, startInventory, startPayment, startProducts, type Reply } from './support/harness.js';
import { startOrderProcess, type OrderProcess } from './support/process.js';

/**
 * The order service as a real process, killed with SIGKILL in the middle of two sagas (a payment
 * call without answer, a reservation inventory made but never confirmed to us), then started again
 * on the same database: the new process finishes the first (paid, stock confirmed) and undoes the
 * second (order removed, stock released), from what the first process had recorded.
 */
test('SIGKILL mid-saga: a restarted process resumes from the recorded saga steps', async (t) => {
  const [products, inventory, payment, schema] = await Promise.all([startProducts(), startInventory(), startPayment(), freshSchema('order_test_restart')]);
  const inventoryProxy = await startFaultProxy(inventory.url);
  const paymentProxy = await startFaultProxy(payment.url);
  const base = uniqueName('order_test_restart').replace(/_/g, '-');
  const topics = { ORDERS_TOPIC: `${base}-orders`, PAYMENTS_TOPIC: `${base}-payments`, FLASH_SALES_TOPIC: `${base}-flash-sales` };
  await createTopics(Object.values(topics).flatMap((n) => [n, `${n}.dlq`]));
  const processes: OrderProcess[] = [];
  t.teardown(async () => {
    for (const p of processes) await p.kill();
    await inventoryProxy.close();
    await paymentProxy.close();
    await Promise.all([products.close(), inventory.close(), payment.close()]);
    await schema.drop();
  });
  const env = {
    DATABASE_URL: infra.databaseUrl,
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    INTERNAL_AUTH_SECRET: SECRET,
    DB_SCHEMA: schema.name,
    PRODUCT_SERVICE_URL: products.url,
    INVENTORY_SERVICE_URL: inventoryProxy.url,
    PAYMENT_SERVICE_URL: paymentProxy.url,
    CONSUMERS_ENABLED: 'false',
    SCHEDULER_POLL_MS: '100',
    JOB_RETRY_BASE_MS: '100',
    JOB_RETRY_MAX_MS: '500',
    PAYMENT_TIMEOUT_CALL_MS: '3000',
    SAGA_STUCK_AFTER_MS: '3500',
    ...topics,
  };
  const first = await startOrderProcess(env);
  processes.push(first);
  const call = (proc: OrderProcess, method: string, path: string, body?: unknown): Promise<Reply> => callService(proc.url, 'order', method, path, { user: alice, ...(body ? { body } : {}) });

  const [p1, p2] = products.products;
  if (!p1 || !p2) throw new Error('catalogue too small');
  await inventory.restock(p1.id, 5);
  await inventory.restock(p2.id, 5);
  const placed = await call(first, 'POST', '/orders', { items: [{ productId: p1.id, quantity: 2 }] });
  t.is(placed.status, 201, JSON.stringify(placed.body));
  const paying = placed.body.id as string;

  // saga 1: the payment request never gets an answer; saga 2: inventory reserves, the answer never comes back
  paymentProxy.fault = (req) => (req.method === 'POST' ? 'hang' : undefined);
  inventoryProxy.fault = (req) => (req.path === '/inventory/reservations' ? 'forward-hang' : undefined);
  const inFlight = [call(first, 'POST', `/orders/${paying}/pay`, {}), call(first, 'POST', '/orders', { items: [{ productId: p2.id, quantity: 3 }] })].map((p) => p.catch((err: unknown) => err));
  await waitFor(() => paymentProxy.requests.some((r) => r.method === 'POST') && inventoryProxy.requests.filter((r) => r.path === '/inventory/reservations').length === 2, {
    what: 'both calls in flight',
  });
  await waitFor(async () => (await inventory.available(p2.id)) === 2, { what: 'inventory holding saga 2 stock' });
  await first.kill('SIGKILL');
  await Promise.all(inFlight);

  paymentProxy.fault = () => undefined;
  inventoryProxy.fault = () => undefined;
  const second = await startOrderProcess(env);
  processes.push(second);

  // saga 1 resumes: the payment is asked again with the same key, paid, stock confirmed
  await waitFor(async () => (await call(second, 'GET', `/orders/${paying}`)).body.status === 'paid', { what: 'saga 1 paid after restart', timeoutMs: 30_000 });
  await waitFor(async () => (await inventory.reservation(paying)) === 'confirmed', { what: 'saga 1 stock confirmed' });
  const sent = paymentProxy.requests.filter((r) => r.method === 'POST' && r.path === '/payments');
  t.true(sent.length >= 2);
  t.true(sent.every((r) => r.idempotencyKey === paying));
  t.is((await payment.paymentsOf(paying)).length, 1);
  const history = (await callService(second.url, 'order', 'GET', `/orders/${paying}/history`, { user: admin })).body.items as { to: string; actor: string }[];
  t.like(history.at(-1), { to: 'paid', actor: 'system:saga-redrive' });

  // saga 2 is undone: the pending order is removed and the reservation inventory made is released
  await waitFor(async () => (await inventory.available(p2.id)) === 5, { what: 'saga 2 stock released', timeoutMs: 30_000 });
  const list = await call(second, 'GET', '/orders');
  t.deepEqual(list.body.items.map((o: { id: string }) => o.id), [paying]);
  t.is(await inventory.available(p1.id), 3);
});
