import test, { type ExecutionContext } from 'ava';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { context, propagation, trace, ROOT_CONTEXT, TraceFlags } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { defaultRegistry } from '@lantern/sdk';
import { createTopics, freshSchema, infra, uniqueName, waitFor } from '@lantern/testkit';
import {
  createDb,
  createEventConsumer,
  createOutboxRelay,
  enqueueEvent,
  claimEvent,
  outboxMigrations,
  processedEventsMigrations,
  decodeEnvelope,
  traceIdOf,
  InvalidEventDataError,
  type Db,
  type EventEnvelope,
} from '../src/index.js';
import { enableContext } from './helpers.js';

const kafka = new Kafka({ clientId: 'shop-common-outbox-test', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING });

async function freshDb(t: ExecutionContext): Promise<Db> {
  const schema = await freshSchema('outbox');
  const db = createDb({ url: infra.databaseUrl, schema: schema.name, migrations: [...outboxMigrations, ...processedEventsMigrations], pool: { max: 4 } });
  await db.migrate();
  t.teardown(async () => {
    await db.destroy();
    await schema.drop();
  });
  return db;
}

async function topic(prefix: string, partitions = 3): Promise<string> {
  const name = uniqueName(prefix).replace(/_/g, '-');
  await createTopics([name], partitions);
  return name;
}

/** Every message on the topics (fresh group, from the beginning), in arrival order. */
async function collect(t: ExecutionContext, topics: string[]): Promise<KafkaMessage[]> {
  const got: KafkaMessage[] = [];
  const c = kafka.consumer({ groupId: uniqueName('collect') });
  await c.connect();
  await c.subscribe({ topics, fromBeginning: true });
  await c.run({ eachMessage: async ({ message }) => void got.push(message) });
  t.teardown(() => c.disconnect());
  return got;
}

const envelopes = (ms: KafkaMessage[]): EventEnvelope[] => ms.map((m) => decodeEnvelope(m.value));

test('a row written in a rolled-back transaction is never sent; committed ones go out in key order with source and headers', async (t) => {
  const db = await freshDb(t);
  const orders = await topic('outbox-orders');
  const received = await collect(t, [orders]);

  // the state change fails after the event was written: the event must vanish with it
  const rolledBack = await db.knex
    .transaction(async (trx) => {
      await enqueueEvent(trx, { topic: orders, type: 'test.ghost', key: 'k-ghost', data: { n: -1 } });
      throw new Error('state change failed');
    })
    .catch((err: Error) => err.message);
  t.is(rolledBack, 'state change failed');

  // 3 keys, 10 events each, interleaved and in separate transactions
  const sent: EventEnvelope[] = [];
  for (let n = 0; n < 10; n++) {
    for (const key of ['k-a', 'k-b', 'k-c']) {
      sent.push(await db.knex.transaction((trx) => enqueueEvent(trx, { topic: orders, type: 'test.step', key, data: { n }, headers: { 'x-test': 'yes' } })));
    }
  }
  // an explicit source is kept as given (the relay's fills in only where none was set)
  sent.push(await db.knex.transaction((trx) => enqueueEvent(trx, { topic: orders, type: 'test.other', key: 'k-d', data: {}, source: 'payment-service' })));
  const relay = createOutboxRelay({ db, kafka, source: 'order-service', batchSize: 7 });
  t.teardown(() => relay.stop());
  t.is(await relay.drain(), 31);
  t.is(await relay.drain(), 0, 'nothing left after a drain');
  t.deepEqual(await db.knex('outbox').count({ n: '*' }), [{ n: '0' }], 'sent rows are deleted');

  await waitFor(() => received.length >= 31, { what: '31 events', timeoutMs: 30_000 });
  await new Promise((r) => setTimeout(r, 300)); // a late duplicate or ghost would show up here
  const got = envelopes(received);
  t.is(got.length, 31);
  t.false(got.some((e) => e.key === 'k-ghost'));
  t.deepEqual(got.map((e) => e.id).sort(), sent.map((e) => e.id).sort());
  for (const key of ['k-a', 'k-b', 'k-c']) {
    t.deepEqual(
      got.filter((e) => e.key === key).map((e) => (e.data as { n: number }).n),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      `events of ${key} in order`,
    );
  }
  t.true(got.filter((e) => e.key !== 'k-d').every((e) => e.source === 'order-service'), 'the relay fills in source');
  t.is(got.find((e) => e.key === 'k-d')?.source, 'payment-service');
  const m = received[0] as KafkaMessage;
  t.is(m.headers?.['x-test']?.toString(), 'yes');
  t.is(m.headers?.['event-type']?.toString(), 'test.step');
  t.is(m.headers?.['event-id']?.toString(), decodeEnvelope(m.value).id);
  t.is(m.key?.toString(), decodeEnvelope(m.value).key);
});

test('enqueueEvent validates SHOP_EVENTS data and names the bad path; unknown types pass as given', async (t) => {
  const db = await freshDb(t);
  const err = await t.throwsAsync(
    db.knex.transaction((trx) =>
      enqueueEvent(trx, {
        topic: 'orders',
        type: 'order.placed',
        key: 'o-1',
        data: { orderId: 'o-1', userId: 'u-1', items: [{ productId: 'p', quantity: 0, unitPriceCents: 100 }], totalCents: 0, currency: 'EUR', at: new Date().toISOString() },
      }),
    ),
    { instanceOf: InvalidEventDataError },
  );
  t.is(err?.status, 500);
  t.is(err?.code, 'invalid_event_data');
  t.deepEqual(err?.details?.map((d) => d.path), ['data.items.0.quantity']);
  await t.throwsAsync(db.knex.transaction((trx) => enqueueEvent(trx, { topic: 'bad topic!', type: 'x', key: 'k', data: {} })), { instanceOf: InvalidEventDataError, message: /topic/ });
  await t.throwsAsync(db.knex.transaction((trx) => enqueueEvent(trx, { topic: 'orders', type: 'x', key: '', data: {} })), { instanceOf: InvalidEventDataError, message: /key/ });
  t.deepEqual(await db.knex('outbox').count({ n: '*' }), [{ n: '0' }]);

  // valid known data is stored as parsed (unknown fields stripped); an unknown type is stored as given
  const at = new Date().toISOString();
  const e = await db.knex.transaction((trx) =>
    enqueueEvent(trx, { topic: 'payments', type: 'payment.succeeded', key: 'o-2', data: { paymentId: 'p-1', orderId: 'o-2', userId: 'u', amountCents: 500, currency: 'EUR', at, extra: 1 } as never }),
  );
  t.false('extra' in (e.data as object));
  const other = await db.knex.transaction((trx) => enqueueEvent(trx, { topic: 'payments', type: 'custom.thing', key: 'k', data: { anything: [1, 2] }, version: 3 }));
  t.is(other.version, 3);
  const rows = await db.knex('outbox').orderBy('seq').select('type', 'payload');
  t.deepEqual(
    rows.map((r: { type: string }) => r.type),
    ['payment.succeeded', 'custom.thing'],
  );
});

test('two relays on one outbox never send a row twice and keep key order; the standby takes over', async (t) => {
  const db = await freshDb(t);
  const orders = await topic('outbox-two-relays');
  const received = await collect(t, [orders]);
  const a = createOutboxRelay({ db, kafka, source: 'order-service', batchSize: 20, pollIntervalMs: 200, standbyRetryMs: 200 });
  const b = createOutboxRelay({ db, kafka, source: 'order-service', batchSize: 20, pollIntervalMs: 200, standbyRetryMs: 200 });
  await Promise.all([a.start(), b.start()]);
  t.teardown(() => Promise.all([a.stop(), b.stop()]).then(() => undefined));

  // 8 writers, each its own key, committing one event at a time while both relays run; half-way
  // one relay stops (the leader or the standby, whichever a is): the other carries on
  const keys = Array.from({ length: 8 }, (_, i) => `order-${i}`);
  await Promise.all(
    keys.map(async (key, w) => {
      for (let n = 0; n < 25; n++) {
        await db.knex.transaction((trx) => enqueueEvent(trx, { topic: orders, type: 'test.step', key, data: { n } }));
        if (w === 0 && n === 12) await a.stop();
      }
    }),
  );
  await waitFor(() => received.length >= 200, { what: '200 events', timeoutMs: 30_000 });
  await new Promise((r) => setTimeout(r, 500));
  const got = envelopes(received);
  t.is(got.length, 200, 'each row sent exactly once');
  t.is(new Set(got.map((e) => e.id)).size, 200);
  for (const key of keys) {
    t.deepEqual(
      got.filter((e) => e.key === key).map((e) => (e.data as { n: number }).n),
      Array.from({ length: 25 }, (_, n) => n),
    );
  }
  t.deepEqual(await db.knex('outbox').count({ n: '*' }), [{ n: '0' }]);
});

test('the stored trace context is the parent of the message: outbox → Kafka → consumer stays in the request trace', async (t) => {
  enableContext();
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  t.teardown(() => propagation.disable());
  const db = await freshDb(t);
  const orders = await topic('outbox-trace', 1);
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const requestSpan = trace.wrapSpanContext({ traceId, spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED });
  // the request: state change + event in one transaction, inside the request's span
  const sent = await context.with(trace.setSpan(ROOT_CONTEXT, requestSpan), () =>
    db.knex.transaction((trx) => enqueueEvent(trx, { topic: orders, type: 'test.traced', key: 'o-9', data: {} })),
  );
  const stored = (await db.knex('outbox').first('headers')) as { headers: Record<string, string> };
  t.is(traceIdOf(stored.headers.traceparent), traceId);

  const seen: { id: string; traceparent: string | undefined; activeTrace: string | undefined }[] = [];
  const consumer = createEventConsumer(kafka, {
    groupId: uniqueName('trace'),
    topics: [orders],
    fromBeginning: true,
    lagIntervalMs: false,
    handlers: {
      'test.traced': async (e, meta) =>
        void seen.push({ id: e.id, traceparent: meta.headers.traceparent?.toString(), activeTrace: trace.getSpanContext(context.active())?.traceId }),
    },
  });
  await consumer.start();
  t.teardown(() => consumer.stop());
  // the relay runs outside any trace (its own loop), as in a service
  const relay = createOutboxRelay({ db, kafka, source: 'order-service' });
  t.teardown(() => relay.stop());
  await context.with(ROOT_CONTEXT, () => relay.drain());
  await waitFor(() => seen.length === 1, { what: 'the traced event', timeoutMs: 30_000 });
  t.is(seen[0]?.id, sent.id);
  t.is(traceIdOf(seen[0]?.traceparent), traceId, "the message's traceparent is in the request's trace");
});

test('claimEvent: the first claim wins, a redelivery is skipped, a rolled-back claim can be retried', async (t) => {
  const db = await freshDb(t);
  const id = '6f1f7f5e-8d59-4c35-9a3e-0d7f1a2b3c4d';
  t.true(await db.knex.transaction((trx) => claimEvent(trx, 'notification', id)));
  t.false(await db.knex.transaction((trx) => claimEvent(trx, 'notification', id)), 'redelivery');
  t.true(await db.knex.transaction((trx) => claimEvent(trx, 'recommendation', id)), 'each group claims for itself');

  // the handler failed after claiming: the claim rolls back with its effects, the retry claims again
  const other = '0e6a3c1d-2b4f-4e8a-9c7d-5f1e2a3b4c5d';
  await t.throwsAsync(
    db.knex.transaction(async (trx) => {
      t.true(await claimEvent(trx, 'notification', other));
      throw new Error('handler failed');
    }),
  );
  t.true(await db.knex.transaction((trx) => claimEvent(trx, 'notification', other)));

  // concurrent redeliveries (a rebalance): exactly one applies
  const third = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
  const results = await Promise.all(Array.from({ length: 4 }, () => db.knex.transaction((trx) => claimEvent(trx, 'notification', third))));
  t.is(results.filter(Boolean).length, 1);
});

test('relay metrics: outbox_published_total counts acknowledged sends per topic', async (t) => {
  const db = await freshDb(t);
  const orders = await topic('outbox-metrics', 1);
  for (let n = 0; n < 5; n++) await db.knex.transaction((trx) => enqueueEvent(trx, { topic: orders, type: 'test.m', key: 'k', data: { n } }));
  const relay = createOutboxRelay({ db, kafka, source: 's', statsIntervalMs: 50, pollIntervalMs: 60_000 });
  const value = async (name: string, labels: Record<string, string> = {}) =>
    (await defaultRegistry().getSingleMetric(name)?.get())?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
  // a long safety-net poll: the first pass at start sends at once
  await relay.start();
  t.teardown(() => relay.stop());
  await waitFor(async () => (await value('outbox_published_total', { topic: orders, outcome: 'success' })) === 5, { what: '5 published', timeoutMs: 20_000 });
  t.is(await value('outbox_published_total', { topic: orders, outcome: 'error' }), undefined);
});

test('a relay that cannot reach Kafka does not keep the outbox from an instance that can', async (t) => {
  const db = await freshDb(t);
  const orders = await topic('outbox-partitioned', 1);
  const unreachable = new Kafka({ clientId: 'cut-off', brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const cutOff = createOutboxRelay({ db, kafka: unreachable, source: 'order-service', maxBackoffMs: 200 });
  await cutOff.start();
  t.teardown(() => cutOff.stop());
  const sent = await db.knex.transaction((trx) => enqueueEvent(trx, { topic: orders, type: 'test.step', key: 'k', data: {} }));
  const healthy = createOutboxRelay({ db, kafka, source: 'order-service' });
  t.teardown(() => healthy.stop());
  t.is(await healthy.drain(), 1);
  const received = await collect(t, [orders]);
  await waitFor(() => received.length === 1, { what: 'the event', timeoutMs: 20_000 });
  t.is(decodeEnvelope(received[0]?.value ?? null).id, sent.id);
});

test('big events: one above 256 KiB is refused at enqueue; a backlog larger than a Kafka record batch goes out in several requests', async (t) => {
  const db = await freshDb(t);
  const err = await t.throwsAsync(db.knex.transaction((trx) => enqueueEvent(trx, { topic: 'orders', type: 'x', key: 'k', data: { blob: 'x'.repeat(300 * 1024) } })), {
    instanceOf: InvalidEventDataError,
  });
  t.is(err?.details?.[0]?.path, 'data');

  // 12 events of ~200 KB for one partition: 2.4 MB, over the broker's 1 MiB record-batch limit if sent at once
  const orders = await topic('outbox-big', 1);
  const ids: string[] = [];
  for (let n = 0; n < 12; n++) ids.push((await db.knex.transaction((trx) => enqueueEvent(trx, { topic: orders, type: 'test.big', key: 'k', data: { n, blob: 'é'.repeat(100 * 1024) } }))).id);
  const relay = createOutboxRelay({ db, kafka, source: 's' });
  t.teardown(() => relay.stop());
  t.is(await relay.drain(), 12);
  const received = await collect(t, [orders]);
  await waitFor(() => received.length >= 12, { what: '12 big events', timeoutMs: 30_000 });
  t.deepEqual(envelopes(received).map((e) => e.id), ids, 'all of them, in order');
});
