import { Kafka, logLevel } from 'kafkajs';
import test from 'ava';
import { freshTopic, infra, uniqueName, waitFor } from '@lantern/testkit';
import { instrumentKafka, renderMetrics } from '../src/metrics/index.js';
import { kafkaCheck } from '../src/koa/index.js';

function sample(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split('} ')[1]);
  }
  return 0;
}

test('instrumentKafka counts produced and consumed messages and times the handler, by topic and outcome', async (t) => {
  const topic = await freshTopic('sdk-metrics');
  const kafka = instrumentKafka(new Kafka({ clientId: 'sdk-metrics-test', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING }));
  t.is(instrumentKafka(kafka), kafka, 'idempotent');
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: uniqueName('sdk_metrics'), retry: { retries: 0 } });
  const admin = kafka.admin();
  t.teardown(async () => {
    await consumer.disconnect();
    await producer.disconnect();
    await admin.disconnect();
  });
  const producerReady = kafkaCheck(producer);
  await t.throwsAsync(producerReady(), { message: 'kafka producer is not connected' });
  await Promise.all([producer.connect(), consumer.connect(), admin.connect()]);
  await t.notThrowsAsync(producerReady());
  await t.notThrowsAsync(kafkaCheck(admin)());

  await consumer.subscribe({ topic, fromBeginning: true });
  const handled: string[] = [];
  let failedOnce = false;
  await consumer.run({
    eachMessage: async ({ message }) => {
      const value = message.value?.toString() ?? '';
      if (value === 'poison' && !failedOnce) {
        failedOnce = true;
        throw new Error('handler failed');
      }
      handled.push(value);
    },
  });
  await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] });
  await producer.sendBatch({ topicMessages: [{ topic, messages: [{ value: 'poison' }] }] });
  await t.throwsAsync(producer.send({ topic: 'sdk-metrics-no-such-topic', messages: [{ value: 'x' }], acks: -1, timeout: 1000 }));

  await waitFor(() => handled.length === 3, { what: 'three messages handled', timeoutMs: 60_000 });
  const body = (await renderMetrics(undefined)).body;
  t.is(sample(body, 'kafka_messages_produced_total', { topic, outcome: 'success' }), 3);
  t.is(sample(body, 'kafka_messages_produced_total', { topic: 'sdk-metrics-no-such-topic', outcome: 'error' }), 1);
  t.is(sample(body, 'kafka_messages_consumed_total', { topic, outcome: 'success' }), 3);
  t.is(sample(body, 'kafka_messages_consumed_total', { topic, outcome: 'error' }), 1, 'the failed attempt, retried by kafkajs');
  t.is(sample(body, 'kafka_consumer_handler_duration_seconds_count', { topic, outcome: 'success' }), 3);
});
