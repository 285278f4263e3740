import test from 'ava';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { Redis } from 'ioredis';
import { freshTopic, infra, promQuery, promTargets, registerScrapeTarget, uniqueName, waitFor } from '@lantern/testkit';

test('kafka: produce and consume round trip keeps key, value and headers', async (t) => {
  const topic = await freshTopic('infra-roundtrip');
  const kafka = new Kafka({ clientId: 'infra-test', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: uniqueName('infra-group') });
  await producer.connect();
  await consumer.connect();
  t.teardown(async () => {
    await consumer.disconnect();
    await producer.disconnect();
  });
  await consumer.subscribe({ topic, fromBeginning: true });
  const received = new Promise<{ key: string; value: string; headers: Record<string, string> }>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        resolve({ key: String(message.key), value: String(message.value), headers });
      },
    });
  });
  await producer.send({
    topic,
    messages: [{ key: 'order-1', value: JSON.stringify({ total: 4200 }), headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'x-tenant': 'acme' } }],
  });
  const msg = await received;
  t.is(msg.key, 'order-1');
  t.deepEqual(JSON.parse(msg.value), { total: 4200 });
  t.is(msg.headers.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  t.is(msg.headers['x-tenant'], 'acme');
});

test('kafka: auto topic creation is off, so producing to an unknown topic fails', async (t) => {
  const kafka = new Kafka({ clientId: 'infra-test', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING, retry: { retries: 1 } });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  await t.throwsAsync(producer.send({ topic: uniqueName('no-such-topic'), messages: [{ value: 'x' }] }));
});

test('postgres: a parametrised query round trip', async (t) => {
  const client = new pg.Client({ connectionString: infra.databaseUrl });
  await client.connect();
  t.teardown(() => client.end());
  const { rows } = await client.query<{ n: number; s: string }>('SELECT $1::int + 1 AS n, $2::text AS s', [41, "O'Brien; DROP TABLE x"]);
  t.deepEqual(rows[0], { n: 42, s: "O'Brien; DROP TABLE x" });
});

test('redis: set with expiry and get', async (t) => {
  const redis = new Redis(infra.redisUrl);
  t.teardown(() => redis.quit());
  const key = uniqueName('infra-key');
  await redis.set(key, 'v1', 'EX', 60);
  t.is(await redis.get(key), 'v1');
  const ttl = await redis.ttl(key);
  t.true(ttl > 0 && ttl <= 60);
  await redis.del(key);
  t.is(await redis.get(key), null);
});

test('prometheus: ready, and scrapes a target registered through file discovery', async (t) => {
  const ready = await fetch(new URL('/-/ready', infra.prometheusUrl));
  t.is(ready.status, 200);
  const marker = uniqueName('probe');
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(`# HELP lantern_infra_probe_info Infra test probe.\n# TYPE lantern_infra_probe_info gauge\nlantern_infra_probe_info{marker="${marker}"} 1\n`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const unregister = await registerScrapeTarget(marker, `127.0.0.1:${port}`, { service: 'infra-probe' });
  t.teardown(async () => {
    await unregister();
    server.close();
  });
  const target = await waitFor(async () => (await promTargets()).find((x) => x.scrapeUrl.includes(`:${port}/`) && x.health === 'up'), { what: 'target up' });
  t.is(target.labels.service, 'infra-probe');
  const samples = await waitFor(async () => {
    const r = await promQuery(`lantern_infra_probe_info{marker="${marker}"}`);
    return r.length > 0 ? r : undefined;
  }, { what: 'probe series in Prometheus' });
  t.is(samples[0]?.metric.service, 'infra-probe');
  t.is(samples[0]?.value[1], '1');
});
