import test from 'ava';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { defaultRegistry } from '@lantern/sdk';
import { freshSchema, infra, startPrivateKafka, uniqueName, waitFor } from '@lantern/testkit';
import { createDb, createOutboxRelay, enqueueEvent, outboxMigrations, decodeEnvelope, type EventEnvelope, type Logger } from '../src/index.js';

async function metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const m = await defaultRegistry().getSingleMetric(name)?.get();
  return m?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
}

test('Kafka down: events keep being accepted and wait in the outbox; after the restart every one is delivered', async (t) => {
  const broker = await startPrivateKafka();
  t.teardown(() => broker.destroy());
  const topic = uniqueName('orders').replace(/_/g, '-');
  await broker.createTopics([topic], 2);
  const kafka = new Kafka({ clientId: 'outbox-down-test', brokers: broker.brokers, logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 } });

  const schema = await freshSchema('outbox_down');
  const db = createDb({ url: infra.databaseUrl, schema: schema.name, migrations: outboxMigrations, pool: { max: 4 } });
  await db.migrate();
  t.teardown(async () => {
    await db.destroy();
    await schema.drop();
  });

  const failures: string[] = [];
  const logger: Logger = { debug: () => undefined, info: () => undefined, error: () => undefined, warn: (_o, msg) => void (msg?.includes('send failed') && failures.push(msg)) };
  const relay = createOutboxRelay({ db, kafka, source: 'order-service', logger, maxBackoffMs: 1000, statsIntervalMs: 100, batchSize: 8 });
  await relay.start();
  t.teardown(() => relay.stop());

  const sent: EventEnvelope[] = [];
  const write = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const key = `order-${sent.length % 5}`;
      sent.push(await db.knex.transaction((trx) => enqueueEvent(trx, { topic, type: 'test.step', key, data: { n: sent.length } })));
    }
  };
  await write(10);
  await waitFor(async () => Number((await db.knex('outbox').count({ n: '*' }))[0]?.n) === 0, { what: 'the first 10 sent', timeoutMs: 20_000 });

  // the broker crashes; the service keeps accepting work (its writes only need Postgres)
  await broker.stop();
  await write(20);
  await waitFor(() => failures.length >= 2, { what: 'the relay to notice the broker is gone', timeoutMs: 30_000 });
  t.is(Number((await db.knex('outbox').count({ n: '*' }))[0]?.n), 20, 'the rows wait in the outbox');
  await waitFor(async () => (await metric('outbox_pending_events')) === 20, { what: 'outbox_pending_events = 20', timeoutMs: 10_000 });
  t.true(((await metric('outbox_oldest_pending_age_seconds')) ?? 0) > 0);
  t.true(((await metric('outbox_published_total', { topic, outcome: 'error' })) ?? 0) > 0);
  const failuresWhileDown = failures.length;

  await broker.start();
  await waitFor(async () => Number((await db.knex('outbox').count({ n: '*' }))[0]?.n) === 0, { what: 'the backlog sent after the restart', timeoutMs: 40_000 });
  // backoff, not a busy loop: a few attempts per second of outage at most
  t.true(failuresWhileDown < 40, `${failuresWhileDown} failed attempts while down`);

  const got: KafkaMessage[] = [];
  const c = kafka.consumer({ groupId: uniqueName('check') });
  await c.connect();
  await c.subscribe({ topics: [topic], fromBeginning: true });
  await c.run({ eachMessage: async ({ message }) => void got.push(message) });
  t.teardown(() => c.disconnect());
  await waitFor(() => new Set(got.map((m) => decodeEnvelope(m.value).id)).size >= 30, { what: 'all 30 events', timeoutMs: 30_000 });
  const received = got.map((m) => decodeEnvelope(m.value));
  t.deepEqual([...new Set(received.map((e) => e.id))].sort(), sent.map((e) => e.id).sort(), 'none lost');
  // per key, first deliveries are in write order
  for (let k = 0; k < 5; k++) {
    const firsts: number[] = [];
    const seen = new Set<string>();
    for (const e of received) {
      if (e.key !== `order-${k}` || seen.has(e.id)) continue;
      seen.add(e.id);
      firsts.push((e.data as { n: number }).n);
    }
    t.deepEqual(firsts, [...firsts].sort((a, b) => a - b), `order-${k} in order`);
  }
  await waitFor(async () => (await metric('outbox_pending_events')) === 0, { what: 'outbox_pending_events back to 0', timeoutMs: 10_000 });
});
