// The kafka exporter and receiver against the real broker (127.0.0.1:9092): round trips of every signal,
// keying by trace id, refusal without loss, poison messages, and two sampling collectors in one group.
import test from 'ava';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics, freshTopic, uniqueName, waitFor } from '@lantern/testkit';
import { decodeLogs, decodeTraces, encodeTraces, plainSpan, type DecodedMetric, type DecodedSpan } from '../src/otlp/index.js';
import { pino } from 'pino';
import { Collector } from '../src/collector.js';
import { ConfigError } from '../src/pipeline/errors.js';
import { metricValue, selfMetrics, startTestCollector, testConfig } from './support/collector.js';
import { BROKER, produceRaw, readTopic, waitForBalancedGroup } from './support/kafka.js';
import { sink } from './support/sink.js';
import './support/slow-sink.js';
import { source } from './support/source.js';
import { logRecord, newSpanId, newTraceId, resourceOf, span } from './support/spans.js';

/** A collector whose kafka receiver feeds test_sink/<key> for the given signals. */
function receiverDoc(key: string, topics: { traces?: string; logs?: string; metrics?: string }, groupId = uniqueName('g'), extra: Record<string, unknown> = {}) {
  const signals = Object.keys(topics) as ('traces' | 'logs' | 'metrics')[];
  return {
    receivers: {
      [`kafka/${key}`]: {
        brokers: [BROKER],
        group_id: groupId,
        initial_offset: 'earliest',
        ...Object.fromEntries(signals.map((s) => [s, { topic: topics[s] }])),
        ...extra,
      },
    },
    exporters: { [`test_sink/${key}`]: {} },
    service: { pipelines: Object.fromEntries(signals.map((s) => [s, { receivers: [`kafka/${key}`], exporters: [`test_sink/${key}`] }])) },
  };
}

/** A collector that sends what test_source/<key> receives to Kafka through kafka/<key>. */
function exporterDoc(key: string, topics: { traces?: string; logs?: string; metrics?: string }, extra: Record<string, unknown> = {}) {
  const signals = Object.keys(topics) as ('traces' | 'logs' | 'metrics')[];
  return {
    receivers: { [`test_source/${key}`]: {} },
    exporters: {
      [`kafka/${key}`]: {
        brokers: [BROKER],
        ...Object.fromEntries(signals.map((s) => [s, { topic: topics[s] }])),
        retry_on_failure: { initial_interval: '100ms', max_interval: '500ms' },
        ...extra,
      },
    },
    service: { pipelines: Object.fromEntries(signals.map((s) => [s, { receivers: [`test_source/${key}`], exporters: [`kafka/${key}`] }])) },
  };
}

async function committedOffsets(groupId: string, topic: string): Promise<number[]> {
  const admin = new Kafka({ clientId: 'collector-test', brokers: [BROKER], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return t!.partitions.sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
  } finally {
    await admin.disconnect();
  }
}

const metric = async (c: Collector, name: string, labels: Record<string, string>) => metricValue(await selfMetrics(c), name, labels) ?? 0;

test('a poison message is skipped, counted and committed past; later good messages still arrive', async (t) => {
  const topic = await freshTopic('collector-kafka-poison');
  const groupId = uniqueName('g-poison');
  const before = [span({ name: 'before' }), span({ name: 'before' })];
  const after = [span({ name: 'after' })];
  await produceRaw(topic, [{ value: encodeTraces(before) }, { value: Buffer.from('\x0a\xff\xff garbage, not protobuf') }, { value: encodeTraces(after) }]);

  const c = await startTestCollector(receiverDoc('poison', { traces: topic }, groupId));
  await waitFor(() => sink('test_sink/poison').traces.length >= 3, { what: '3 spans' });
  t.deepEqual(sink('test_sink/poison').traces.map((s) => s.name), ['before', 'before', 'after']);
  t.is(await metric(c, 'otelcol_kafka_receiver_messages_skipped_total', { receiver: 'kafka/poison', topic, reason: 'undecodable' }), 1);
  t.is(await metric(c, 'otelcol_receiver_refused_spans_total', { receiver: 'kafka/poison', transport: 'kafka' }), 1);
  t.is(await metric(c, 'otelcol_receiver_accepted_spans_total', { receiver: 'kafka/poison', transport: 'kafka' }), 3);
  await c.shutdown();
  // offsets 0..2 consumed: the next to read is 3, past the garbage
  t.deepEqual(await committedOffsets(groupId, topic), [3]);
});

test('refused data pauses the partition and is re-read: nothing lost, nothing skipped', async (t) => {
  const topic = await freshTopic('collector-kafka-refuse');
  const s = sink('test_sink/refuse');
  s.refuse = true;
  const sent = Array.from({ length: 20 }, (_, i) => span({ name: `s${i}` }));
  const out = await startTestCollector(exporterDoc('refuse', { traces: topic }));
  t.teardown(() => out.shutdown());
  // 10 requests of 2 spans
  for (let i = 0; i < 10; i++) await source('test_source/refuse').traces!.consume(sent.slice(2 * i, 2 * i + 2));
  const c = await startTestCollector(receiverDoc('refuse', { traces: topic }));
  t.teardown(() => c.shutdown());
  await waitFor(async () => (await metric(c, 'otelcol_kafka_receiver_partition_pauses_total', { receiver: 'kafka/refuse', topic })) >= 2, { what: 'two pauses' });
  t.is(s.traces.length, 0);
  t.true((await metric(c, 'otelcol_receiver_refused_spans_total', { receiver: 'kafka/refuse', transport: 'kafka' })) >= 2);
  s.refuse = false;
  await waitFor(() => new Set(s.traces.map((x) => x.spanId)).size >= sent.length, { what: 'every span after the refusal', timeoutMs: 60_000 });
  t.deepEqual([...new Set(s.traces.map((x) => x.spanId))].sort(), sent.map((x) => x.spanId).sort());
  t.true(s.traces.length >= sent.length);
});

test('one topic carrying several signals is split by the otlp-signal header; a wrong header is skipped', async (t) => {
  const topic = await freshTopic('collector-kafka-shared');
  const traceId = newTraceId();
  await produceRaw(topic, [
    { value: encodeTraces([span({ traceId })]), headers: { 'otlp-signal': 'traces' } },
    { value: encodeTraces([span({ traceId })]), headers: { 'otlp-signal': 'profiles' } },
    { value: encodeTraces([span({ traceId })]) },
  ]);
  const c = await startTestCollector(receiverDoc('shared', { traces: topic, logs: topic }));
  t.teardown(() => c.shutdown());
  await waitFor(async () => (await metric(c, 'otelcol_kafka_receiver_messages_skipped_total', { receiver: 'kafka/shared', topic, reason: 'wrong_signal' })) >= 2, { what: 'two skipped' });
  t.is(sink('test_sink/shared').traces.length, 1);
  t.is(sink('test_sink/shared').logs.length, 0);
});

const byKey = <T>(items: T[], key: (x: T) => string) => [...items].sort((a, b) => key(a).localeCompare(key(b)));

function richSpans(): DecodedSpan[] {
  const traceId = newTraceId();
  const root = span({ traceId, name: 'GET /orders', service: 'orders', attributes: { 'http.status_code': 500, big: '12345678901234567890', ok: true, ratio: 0.25, list: ['a', 1] } });
  const child = span({ traceId, parentSpanId: root.spanId, name: 'SELECT', kind: 'client', status: 'error', service: 'orders' });
  child.events = [{ name: 'exception', timeUnixNano: child.startTimeUnixNano, attributes: { 'exception.message': 'boom' } }];
  child.links = [{ traceId: newTraceId(), spanId: newSpanId(), attributes: { why: 'retry' } }];
  child.status = { code: 'error', message: 'boom' };
  return [root, child, span({ name: 'lonely', service: 'billing' })];
}

function someMetrics(): DecodedMetric[] {
  const resource = resourceOf('metrics-svc');
  const scope = { name: 'test', attributes: {} };
  const now = (BigInt(Date.now()) * 1_000_000n).toString();
  const pt = { attributes: { route: '/a' }, startTimeUnixNano: now, timeUnixNano: now, flags: 0 };
  return [
    { name: 'queue_depth', type: 'gauge', resource, scope, dataPoints: [{ ...pt, value: 3, exemplars: [] }] },
    { name: 'requests', unit: '1', type: 'sum', temporality: 'cumulative', isMonotonic: true, resource, scope, dataPoints: [{ ...pt, value: 10, exemplars: [] }, { ...pt, attributes: { route: '/b' }, value: 4, exemplars: [] }] },
    {
      name: 'latency',
      unit: 'ms',
      type: 'histogram',
      temporality: 'delta',
      resource,
      scope,
      dataPoints: [{ ...pt, count: 3, sum: 30, min: 5, max: 15, bucketCounts: [1, 2, 0], explicitBounds: [10, 20], exemplars: [] }],
    },
  ];
}

test('round trip: spans, log records and data points arrive intact through Kafka', async (t) => {
  const topics = { traces: await freshTopic('collector-kafka-rt-spans', 2), logs: await freshTopic('collector-kafka-rt-logs', 2), metrics: await freshTopic('collector-kafka-rt-metrics') };
  const out = await startTestCollector(exporterDoc('rt', topics, { producer: { compression: 'gzip' } }));
  t.teardown(() => out.shutdown());
  const inn = await startTestCollector(receiverDoc('rt', topics));
  t.teardown(() => inn.shutdown());

  const spans = [...richSpans(), ...richSpans()];
  const traced = spans[0]!.traceId;
  const logs = [logRecord({ body: 'with trace', traceId: traced, attributes: { n: 1 } }), logRecord({ body: 'no trace', severity: 17 })];
  const metrics = someMetrics();
  await source('test_source/rt').traces!.consume(spans);
  await source('test_source/rt').logs!.consume(logs);
  await source('test_source/rt').metrics!.consume(metrics);

  const s = sink('test_sink/rt');
  await waitFor(() => s.traces.length >= spans.length && s.logs.length >= logs.length && s.metrics.length >= metrics.length, { what: 'everything' });
  // the kafka receiver hands on WireSpans (attributes, events and links read on first use): compared as plain spans
  t.deepEqual(byKey(s.traces.map(plainSpan), (x) => x.spanId), byKey(spans, (x) => x.spanId));
  t.deepEqual(byKey(s.logs, (x) => String(x.body)), byKey(logs, (x) => String(x.body)));
  t.deepEqual(byKey(s.metrics, (x) => x.name), byKey(metrics, (x) => x.name));
  t.is(await metric(inn, 'otelcol_receiver_accepted_metric_points_total', { receiver: 'kafka/rt', transport: 'kafka' }), 4);
  t.is(await metric(out, 'otelcol_exporter_sent_spans_total', { exporter: 'kafka/rt' }), spans.length);
});

test('messages are keyed by trace id: every span of a trace in one partition, big traces split under max_message_bytes', async (t) => {
  const topic = await freshTopic('collector-kafka-keyed', 4);
  const c = await startTestCollector(exporterDoc('keyed', { traces: topic }, { producer: { max_message_bytes: 4096 } }));
  t.teardown(() => c.shutdown());
  const traces = Array.from({ length: 20 }, () => newTraceId());
  const sent: DecodedSpan[] = [];
  // three source batches, each with one span of every trace
  for (let round = 0; round < 3; round++) {
    const batch = traces.map((traceId) => span({ traceId, name: `r${round}` }));
    sent.push(...batch);
    await source('test_source/keyed').traces!.consume(batch);
  }
  // one trace too big for one message: 40 spans of ~300 bytes
  const bigId = newTraceId();
  const big = Array.from({ length: 40 }, () => span({ traceId: bigId, attributes: { pad: 'x'.repeat(300) } }));
  sent.push(...big);
  await source('test_source/keyed').traces!.consume(big);

  await waitFor(async () => (await metric(c, 'otelcol_exporter_sent_spans_total', { exporter: 'kafka/keyed' })) >= sent.length, { what: 'all sent' });
  const produced = await metric(c, 'otelcol_kafka_exporter_messages_sent_total', { exporter: 'kafka/keyed', topic });
  const raw = await readTopic(topic, produced);
  const partitionOf = new Map<string, Set<number>>();
  const seen: string[] = [];
  for (const { partition, message } of raw) {
    t.is(message.headers?.['content-type']?.toString(), 'application/x-protobuf');
    t.is(message.headers?.['otlp-signal']?.toString(), 'traces');
    t.true((message.value?.byteLength ?? 0) <= 4096);
    const inside = decodeTraces(message.value!);
    t.true(inside.length > 0);
    for (const s of inside) {
      t.is(message.key?.toString(), s.traceId, 'the key is the trace id of every span inside');
      seen.push(s.spanId);
      partitionOf.set(s.traceId, (partitionOf.get(s.traceId) ?? new Set()).add(partition));
    }
  }
  t.deepEqual(seen.sort(), sent.map((s) => s.spanId).sort());
  for (const [traceId, partitions] of partitionOf) t.is(partitions.size, 1, `trace ${traceId} spans one partition`);
  t.true(new Set([...partitionOf.values()].map((p) => [...p][0])).size > 1, 'traces spread over partitions');
  t.true(raw.filter((r) => r.message.key?.toString() === bigId).length > 1, 'the big trace was split into several messages');
});

test('a missing topic: sends are retried until it exists, then everything arrives', async (t) => {
  const topic = uniqueName('collector-kafka-late').replace(/_/g, '-');
  const logs: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as { level: number; msg: string }) });
  const c = await Collector.start({ config: testConfig(exporterDoc('late', { traces: topic })), logger });
  t.teardown(() => c.shutdown());
  const spans = [span(), span()];
  await source('test_source/late').traces!.consume(spans); // queued: accepted
  const warning = await waitFor(() => logs.find((l) => l.level === 40 && l.msg.includes(`topic "${topic}" does not exist`)), { what: 'a warning naming the missing topic' });
  t.regex(warning.msg, /retried until it is created/);
  t.is(await metric(c, 'otelcol_exporter_sent_spans_total', { exporter: 'kafka/late' }), 0);
  await createTopics([topic], 1);
  await waitFor(async () => (await metric(c, 'otelcol_exporter_sent_spans_total', { exporter: 'kafka/late' })) === 2, { what: 'sent after the topic exists' });
  t.is(await metric(c, 'otelcol_exporter_send_failed_spans_total', { exporter: 'kafka/late' }), 0);
  const raw = await readTopic(topic, 2);
  t.deepEqual(raw.flatMap((r) => decodeTraces(r.message.value!).map((s) => s.spanId)).sort(), spans.map((s) => s.spanId).sort());
});

test('two sampling collectors in one group: every trace is decided whole in exactly one of them', async (t) => {
  const topic = await freshTopic('collector-kafka-scale', 4);
  const groupId = uniqueName('g-sampling');
  const sampling = (n: number) => ({
    receivers: { [`kafka/samp${n}`]: { brokers: [BROKER], group_id: groupId, initial_offset: 'earliest', traces: { topic } } },
    processors: { [`tail_sampling/samp${n}`]: { decision_wait: '2s', policies: [{ name: 'all', type: 'always_sample' }] } },
    exporters: { [`test_sink/samp${n}`]: {} },
    service: { pipelines: { traces: { receivers: [`kafka/samp${n}`], processors: [`tail_sampling/samp${n}`], exporters: [`test_sink/samp${n}`] } } },
  });
  const s1 = await startTestCollector(sampling(1));
  t.teardown(() => s1.shutdown());
  const s2 = await startTestCollector(sampling(2));
  t.teardown(() => s2.shutdown());
  // a member joining later would take partitions (and half-buffered traces) from the other
  await waitForBalancedGroup(groupId, 2);

  const front = await startTestCollector(exporterDoc('samp', { traces: topic }));
  t.teardown(() => front.shutdown());
  const traces = Array.from({ length: 200 }, () => newTraceId());
  const sent = new Map<string, string>(); // spanId → traceId
  // span k of every trace goes in source batch k (in chunks of 50 traces): each trace is spread over 5 batches
  for (let k = 0; k < 5; k++) {
    for (let i = 0; i < traces.length; i += 50) {
      const batch = traces.slice(i, i + 50).map((traceId) => span({ traceId, name: `step${k}` }));
      for (const s of batch) sent.set(s.spanId, s.traceId);
      await source('test_source/samp').traces!.consume(batch);
    }
  }

  const sinks = [sink('test_sink/samp1'), sink('test_sink/samp2')];
  const uniqueSpans = () => new Set(sinks.flatMap((s) => s.traces.map((x) => x.spanId))).size;
  await waitFor(() => uniqueSpans() >= sent.size, { what: `${sent.size} spans sampled`, timeoutMs: 90_000 });

  const where = new Map<string, Set<number>>(); // traceId → sinks it reached
  const spansOf = new Map<string, Set<string>>();
  sinks.forEach((s, i) => {
    for (const x of s.traces) {
      where.set(x.traceId, (where.get(x.traceId) ?? new Set()).add(i));
      spansOf.set(x.traceId, (spansOf.get(x.traceId) ?? new Set()).add(x.spanId));
    }
  });
  t.is(where.size, traces.length);
  const split = [...where].filter(([, at]) => at.size !== 1).map(([id]) => id);
  t.deepEqual(split, [], 'no trace reached both sampling collectors');
  t.true([...spansOf.values()].every((ids) => ids.size === 5), 'every trace complete');
  const perSink = sinks.map((s) => new Set(s.traces.map((x) => x.traceId)).size);
  t.true(perSink.every((n) => n > 0), `both collectors sampled traces (${perSink.join(' + ')})`);
});

test('shutdown lets the in-flight consume finish and commits it: the group resumes after it, nothing re-read', async (t) => {
  const topic = await freshTopic('collector-kafka-shutdown');
  const groupId = uniqueName('g-shutdown');
  const first = [span({ name: 'first' }), span({ name: 'first' })];
  await produceRaw(topic, [{ value: encodeTraces(first) }]);
  const doc = (n: number) => ({
    receivers: { [`kafka/down${n}`]: { brokers: [BROKER], group_id: groupId, initial_offset: 'earliest', traces: { topic } } },
    exporters: { [`test_slow_sink/down${n}`]: { key: 'down', delay_ms: n === 1 ? 1500 : 0 } },
    service: { pipelines: { traces: { receivers: [`kafka/down${n}`], exporters: [`test_slow_sink/down${n}`] } } },
  });
  const c1 = await startTestCollector(doc(1));
  // the batch is fetched (lag reported) before it is handed to the slow sink: shut down while it is in flight
  await waitFor(async () => (await selfMetrics(c1)).includes('otelcol_kafka_receiver_offset_lag{'), { what: 'a fetched batch' });
  await c1.shutdown();
  t.deepEqual(sink('down').traces.map((s) => s.spanId).sort(), first.map((s) => s.spanId).sort());
  t.deepEqual(await committedOffsets(groupId, topic), [1]);

  const second = [span({ name: 'second' })];
  await produceRaw(topic, [{ value: encodeTraces(second) }]);
  const c2 = await startTestCollector(doc(2));
  t.teardown(() => c2.shutdown());
  await waitFor(() => sink('down').traces.length >= 3, { what: 'the second message' });
  t.deepEqual(sink('down').traces.map((s) => s.name), ['first', 'first', 'second']);
});

test('config errors name the key; brokers may be one comma-separated string', async (t) => {
  const bad = async (doc: Record<string, unknown>, key: string, message: RegExp) => {
    const err = await t.throwsAsync(() => startTestCollector(doc), { instanceOf: ConfigError });
    t.is(err?.key, key);
    t.regex(err?.message ?? '', message);
  };
  await bad(exporterDoc('cfg', { traces: 'x' }, { encoding: 'otlp_json' }), 'exporters.kafka/cfg.encoding', /only "otlp_proto"/);
  await bad(exporterDoc('cfg', { traces: 'x' }, { producer: { compression: 'zstd' } }), 'exporters.kafka/cfg.producer.compression', /none|gzip/);
  await bad(exporterDoc('cfg', { traces: 'x' }, { tls: { ca_file: '/nonexistent/ca.pem' } }), 'exporters.kafka/cfg.tls.ca_file', /not readable/);
  await bad(exporterDoc('cfg', { traces: 'x' }, { brokers: ['no-port'] }), 'exporters.kafka/cfg.brokers.0', /host:port/);
  await bad(receiverDoc('cfg', { traces: 'x' }, 'g', { heartbeat_interval: '10s', session_timeout: '10s' }), 'receivers.kafka/cfg.heartbeat_interval', /shorter than session_timeout/);
  await bad(receiverDoc('cfg', { traces: 'x' }, 'g', { initial_offset: 'oldest' }), 'receivers.kafka/cfg.initial_offset', /latest|earliest/);
  const topic = await freshTopic('collector-kafka-cfg');
  const c = await startTestCollector(receiverDoc('cfg', { traces: topic }, uniqueName('g'), { brokers: `${BROKER}, ${BROKER}` }));
  t.teardown(() => c.shutdown());
  await produceRaw(topic, [{ value: encodeTraces([span({ name: 'via string brokers' })]) }]);
  await waitFor(() => sink('test_sink/cfg').traces.length === 1, { what: 'a span' });
  t.pass();
});

test('log records are keyed by their trace id (unkeyed without one); metrics are unkeyed', async (t) => {
  const topics = { logs: await freshTopic('collector-kafka-keyed-logs', 2), metrics: await freshTopic('collector-kafka-keyed-metrics') };
  const c = await startTestCollector(exporterDoc('keyedlogs', topics));
  t.teardown(() => c.shutdown());
  const traceId = newTraceId();
  await source('test_source/keyedlogs').logs!.consume([logRecord({ body: 'a', traceId }), logRecord({ body: 'plain' }), logRecord({ body: 'b', traceId })]);
  await source('test_source/keyedlogs').metrics!.consume(someMetrics());
  const logs = await readTopic(topics.logs, 2);
  // two partitions: the messages' read order is not defined, so compare them sorted by key
  const byKey = logs.map((r) => [r.message.key?.toString() ?? '(none)', decodeLogs(r.message.value!).map((l) => l.body)] as const).sort((a, b) => a[0].localeCompare(b[0]));
  t.deepEqual(byKey, [['(none)', ['plain']], [traceId, ['a', 'b']]].sort((a, b) => String(a[0]).localeCompare(String(b[0]))));
  const metrics = await readTopic(topics.metrics, 1);
  t.is(metrics.length, 1);
  t.is(metrics[0]!.message.key, null);
  t.is(metrics[0]!.message.headers?.['otlp-signal']?.toString(), 'metrics');
});
