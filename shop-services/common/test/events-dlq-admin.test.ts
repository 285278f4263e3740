import test from 'ava';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { freshSchema, infra, uniqueName, waitFor } from '@lantern/testkit';
import {
  createDb,
  createEventConsumer,
  createEventPublisher,
  createInternalTokenSigner,
  createServiceApp,
  runService,
  ensureTopics,
  dlqTopic,
  dlqAdminRoutes,
  claimEvent,
  processedEventsMigrations,
  NonRetryableEventError,
  type AuthUser,
  type DlqMessage,
} from '../src/index.js';
import { SECRET, testTelemetry } from './helpers.js';

const kafka = new Kafka({ clientId: 'shop-common-dlq-test', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING });
const signer = createInternalTokenSigner({ service: 'gateway', secret: SECRET });
const admin: AuthUser = { id: 'a1', role: 'admin' };
const customer: AuthUser = { id: 'u1', role: 'customer' };

interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; details?: { path: string }[] } };
}

test('DLQ admin: depth, messages with attempt history and envelope, replay by id and replay-all; a replay of an applied event is a no-op', async (t) => {
  const topic = uniqueName('orders').replace(/_/g, '-');
  await ensureTopics(kafka, [{ topic, partitions: 2 }]);
  const schema = await freshSchema('dlq_admin');
  const db = createDb({ url: infra.databaseUrl, schema: schema.name, migrations: processedEventsMigrations, pool: { max: 4 } });
  await db.migrate();
  t.teardown(async () => {
    await db.destroy();
    await schema.drop();
  });

  // a consumer whose handler refuses events until "fixed"; it applies each event once (claimEvent)
  let fixed = false;
  const applied: string[] = [];
  const group = uniqueName('notification');
  const consumer = createEventConsumer(kafka, {
    groupId: group,
    topics: [topic],
    fromBeginning: true,
    lagIntervalMs: false,
    handlers: {
      'order.thing': async (e) => {
        if (!fixed && (e.data as { fail?: boolean }).fail) throw new NonRetryableEventError('template missing');
        await db.knex.transaction(async (trx) => {
          if (await claimEvent(trx, group, e.id)) applied.push(e.id);
        });
      },
    },
  });
  await consumer.start();
  t.teardown(() => consumer.stop());

  const telemetry = testTelemetry('order');
  const app = createServiceApp({ telemetry, routes: dlqAdminRoutes({ kafka, prefix: '/orders/admin/dlq', topics: [topic, 'payments'] }), serviceAuth: { secret: SECRET, audience: 'order' } });
  const svc = await runService({ app, telemetry, port: 0, host: '127.0.0.1' });
  t.teardown(() => svc.close());
  const call = async (method: string, path: string, body?: unknown, user: AuthUser = admin): Promise<Answer> => {
    const res = await fetch(svc.url + path, {
      method,
      headers: { authorization: `Bearer ${await signer.sign('order', user)}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Answer['body'] };
  };

  const pub = createEventPublisher(kafka, { source: 'order-service' });
  await pub.connect();
  t.teardown(() => pub.disconnect());
  const good = await pub.publish(topic, 'order.thing', 'o-1', { fail: false });
  const bad1 = await pub.publish(topic, 'order.thing', 'o-2', { fail: true });
  const bad2 = await pub.publish(topic, 'order.thing', 'o-3', { fail: true });

  type Depth = { topic: string; dlqTopic: string; depth: number; total: number };
  const depthOf = async () => ((await call('GET', '/orders/admin/dlq')).body.topics as Depth[]).find((d) => d.topic === topic);
  await waitFor(async () => (await depthOf())?.depth === 2, { what: 'DLQ depth 2', timeoutMs: 30_000 });
  t.deepEqual(applied, [good.id]);
  const listed = await call('GET', '/orders/admin/dlq');
  t.is(listed.status, 200);
  t.like((listed.body.topics as Depth[]).find((d) => d.topic === topic), { dlqTopic: dlqTopic(topic), depth: 2, total: 2 });
  t.like((listed.body.topics as Depth[]).find((d) => d.topic === 'payments'), { dlqTopic: 'payments.dlq' }, 'every configured topic is listed');

  const msgs = await call('GET', `/orders/admin/dlq/${topic}?limit=10`);
  t.is(msgs.status, 200);
  const messages = msgs.body.messages as DlqMessage[];
  t.deepEqual(messages.map((m) => m.envelope?.id).sort(), [bad1.id, bad2.id].sort());
  for (const m of messages) {
    t.is(m.dlq.reason, 'non_retryable');
    t.is(m.dlq.errorClass, 'NonRetryableEventError');
    t.is(m.dlq.consumerGroup, group);
    t.is(m.dlq.attemptHistory?.length, 1);
    t.regex(m.dlq.attemptHistory?.[0]?.error ?? '', /template missing/);
    t.false(m.replayed);
    t.is(m.id, `${m.partition}:${m.offset}`);
  }
  const viaDlqName = await call('GET', `/orders/admin/dlq/${dlqTopic(topic)}?limit=1`);
  t.is((viaDlqName.body.messages as DlqMessage[]).length, 1, 'the .dlq name works too, limit honoured');

  // replay one by id once the cause is fixed: applied once, and the copy says where it came from
  fixed = true;
  const original = await collectTopic(topic);
  t.teardown(() => original.stop());
  const first = messages.find((m) => m.envelope?.id === bad1.id) as DlqMessage;
  const one = await call('POST', `/orders/admin/dlq/${topic}/replay`, { offsets: [first.id] });
  t.is(one.status, 200);
  t.like(one.body, { replayed: 1, notFound: [] });
  await waitFor(() => applied.includes(bad1.id), { what: 'the replayed event applied', timeoutMs: 30_000 });
  const copy = await waitFor(() => original.messages.find((m) => m.headers?.['dlq-replayed-from'] !== undefined), { what: 'the replayed copy', timeoutMs: 10_000 });
  t.is(copy.headers?.['dlq-replayed-from']?.toString(), `${dlqTopic(topic)}:${first.partition}:${first.offset}`);
  t.is(copy.headers?.[ 'dlq-reason'], undefined, 'dead-letter bookkeeping is not carried to the original topic');

  // replay-all: both go again (bad1 a second time), bad2 is applied, bad1 is not applied twice
  const all = await call('POST', `/orders/admin/dlq/${topic}/replay`, {});
  t.like(all.body, { replayed: 2 });
  await waitFor(() => applied.includes(bad2.id), { what: 'the second replayed event applied', timeoutMs: 30_000 });
  await waitFor(() => original.messages.filter((m) => m.headers?.['dlq-replayed-from'] !== undefined).length === 3, { what: '3 replayed copies', timeoutMs: 10_000 });
  await new Promise((r) => setTimeout(r, 300));
  t.deepEqual([...applied].sort(), [good.id, bad1.id, bad2.id].sort(), 'each event applied exactly once');
  t.is((await depthOf())?.depth, 0, 'replay-all moves the replay cursor');
  t.like((await call('POST', `/orders/admin/dlq/${topic}/replay`, {})).body, { replayed: 0 });
  const after = (await call('GET', `/orders/admin/dlq/${topic}`)).body.messages as DlqMessage[];
  t.true(after.length === 2 && after.every((m) => m.replayed), 'messages stay listed, marked replayed');

  // the edge: unknown topic 404, bad names and bodies 400 with paths, customers 403
  t.is((await call('GET', '/orders/admin/dlq/not-configured')).status, 404);
  const badName = await call('GET', '/orders/admin/dlq/bad%20topic');
  t.is(badName.status, 400);
  t.is(badName.body.error?.details?.[0]?.path, 'params.topic');
  const badQuery = await call('GET', `/orders/admin/dlq/${topic}?limit=100000&x=1`);
  t.is(badQuery.status, 400);
  t.deepEqual(badQuery.body.error?.details?.map((d) => d.path).sort(), ['query', 'query.limit']);
  const bare = await call('POST', `/orders/admin/dlq/${topic}/replay`, { offsets: ['0'] });
  t.is(bare.status, 400, 'a bare offset is ambiguous on a 2-partition DLQ');
  t.is(bare.body.error?.details?.[0]?.path, 'body.offsets.0');
  const badOffsets = await call('POST', `/orders/admin/dlq/${topic}/replay`, { offsets: ['x:1'], extra: true });
  t.is(badOffsets.status, 400);
  t.deepEqual(badOffsets.body.error?.details?.map((d) => d.path).sort(), ['body', 'body.offsets.0']);
  const missing = await call('POST', `/orders/admin/dlq/${topic}/replay`, { offsets: ['0:999999'] });
  t.like(missing.body, { replayed: 0, notFound: ['0:999999'] });
  t.is((await call('GET', '/orders/admin/dlq', undefined, customer)).status, 403);
  t.is((await call('POST', `/orders/admin/dlq/${topic}/replay`, {}, customer)).status, 403);
});

/** Collects every message of a topic (fresh group, from the beginning). */
async function collectTopic(topic: string): Promise<{ messages: KafkaMessage[]; stop(): Promise<void> }> {
  const messages: KafkaMessage[] = [];
  const c = kafka.consumer({ groupId: uniqueName('collect') });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  await c.run({ eachMessage: async ({ message }) => void messages.push(message) });
  return { messages, stop: () => c.disconnect() };
}
