// The loki receiver (Loki push API): pino-loki as a real client, a snappy-protobuf push built from
// Loki's own push.proto, Loki's validation answers, and hostile bodies.
import test, { type ExecutionContext } from 'ava';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { once } from 'node:events';
import { pino } from 'pino';
import { pinoLoki } from 'pino-loki';
import protobuf from 'protobufjs';
import snappy from 'snappyjs';
import { waitFor } from '@lantern/testkit';
import { metricValue, selfMetrics, startTestCollector } from './support/collector.js';
import { sink } from './support/sink.js';

interface Started {
  url: string;
  sinkId: string;
  id: string;
  collector: Awaited<ReturnType<typeof startTestCollector>>;
}

async function start(t: ExecutionContext, key: string, extra: Record<string, unknown> = {}): Promise<Started> {
  const id = `loki/${key}`;
  const sinkId = `test_sink/loki-${key}`;
  const collector = await startTestCollector({
    receivers: { [id]: { endpoint: '127.0.0.1:0', ...extra } },
    exporters: { [sinkId]: {} },
    service: { pipelines: { logs: { receivers: [id], exporters: [sinkId] } } },
  });
  t.teardown(() => collector.shutdown());
  return { url: collector.endpoint(id), sinkId, id, collector };
}

async function push(s: Started, body: Uint8Array | string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${s.url}/loki/api/v1/push`, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const JSON_CT = { 'content-type': 'application/json' };
const nowNs = () => (BigInt(Date.now()) * 1_000_000n).toString();

// ---- Loki's own schema, to build protobuf pushes as Promtail/Alloy do ----

const protoDir = fileURLToPath(new URL('../proto/', import.meta.url));
const lokiRoot = new protobuf.Root();
lokiRoot.resolvePath = (_o, target) => (target.startsWith('gogoproto/') ? null : `${protoDir}${target}`) as string;
lokiRoot.loadSync('loki/push.proto', { keepCase: true });
const PushRequest = lokiRoot.lookupType('logproto.PushRequest');

interface ProtoEntry {
  ms: number;
  line: string;
  metadata?: Record<string, string>;
}
function protoPush(streams: { labels: string; entries: ProtoEntry[] }[]): Uint8Array {
  const message = PushRequest.fromObject({
    streams: streams.map((s) => ({
      labels: s.labels,
      entries: s.entries.map((e) => ({
        timestamp: { seconds: Math.floor(e.ms / 1000), nanos: (e.ms % 1000) * 1_000_000 + 7 },
        line: e.line,
        structuredMetadata: Object.entries(e.metadata ?? {}).map(([name, value]) => ({ name, value })),
      })),
    })),
  });
  return snappy.compress(PushRequest.encode(message).finish());
}

// ---- tests ----

test('pino-loki (batching) → every line reaches the sink with service, level and trace id mapped', async (t) => {
  const s = await start(t, 'pino');
  const transport = pinoLoki({
    host: s.url,
    batching: { interval: 0.2 },
    labels: { service_name: 'checkout', env: 'test' },
    structuredMetaKey: 'meta',
    silenceErrors: false,
  });
  const logger = pino({ level: 'trace' }, transport);
  const traceId = '4bf92f3577b34da6a3ce929d0e0736' + 'aa';
  const levels = ['debug', 'info', 'warn', 'error', 'fatal'] as const;
  for (let i = 0; i < 25; i++) {
    const level = levels[i % levels.length]!;
    logger[level]({ meta: { trace_id: traceId, order: `o-${i}` }, i }, `line ${i}`);
  }
  await waitFor(() => sink(s.sinkId).logs.length >= 25 || undefined, { what: '25 log records in the sink' });
  transport.end();
  await once(transport, 'close');
  const logs = sink(s.sinkId).logs;
  t.is(logs.length, 25);
  const byI = new Map(logs.map((l) => [(JSON.parse(l.body as string) as { i: number }).i, l]));
  t.deepEqual([...byI.keys()].sort((a, b) => a - b), Array.from({ length: 25 }, (_, i) => i));
  for (const [i, l] of byI) {
    t.is(l.resource.attributes['service.name'], 'checkout');
    t.is(l.resource.attributes.env, 'test');
    t.is(l.traceId, traceId);
    t.is(l.attributes.order, `o-${i}`);
    t.is(l.attributes.trace_id, undefined, 'the trace id became the record trace context');
    t.regex(l.body as string, new RegExp(`"msg":"line ${i}"`));
  }
  // pino-loki's levels: debug, info, warning, error, critical
  t.deepEqual(
    [0, 1, 2, 3, 4].map((i) => [byI.get(i)!.severityNumber, byI.get(i)!.severityText]),
    [
      [5, 'DEBUG'],
      [9, 'INFO'],
      [13, 'WARN'],
      [17, 'ERROR'],
      [21, 'FATAL'],
    ],
  );
  t.is(metricValue(await selfMetrics(s.collector), 'otelcol_receiver_accepted_log_records_total', { receiver: s.id, transport: 'http' }), 25);
});

test('snappy-compressed protobuf push → 204 and decoded: labels, exact timestamp, metadata, trace context, tenant, one resource per stream', async (t) => {
  const s = await start(t, 'proto');
  const ms = Date.now() - 5000;
  const body = protoPush([
    {
      labels: '{job="payments", level="warn", region=`eu-1`, note="a \\"quoted\\" \\u00e9"}',
      entries: [
        { ms, line: 'first', metadata: { traceID: 'ABCDEF0123456789ABCDEF0123456789', span_id: '0123456789abcdef', user: 'u1' } },
        { ms: ms + 1, line: 'second', metadata: { level: 'error', trace_id: 'not-a-trace-id' } },
      ],
    },
    { labels: '{service="search"}', entries: [{ ms, line: 'third' }] },
  ]);
  const r = await push(s, body, { 'content-type': 'application/x-protobuf', 'x-scope-orgid': 'tenant-a' });
  t.is(r.status, 204, r.text);
  const [a, b, c] = sink(s.sinkId).logs;
  t.like(a, { body: 'first', traceId: 'abcdef0123456789abcdef0123456789', spanId: '0123456789abcdef', severityNumber: 13, severityText: 'WARN', timeUnixNano: `${BigInt(ms) * 1_000_000n + 7n}` });
  t.deepEqual(a!.attributes, { user: 'u1' });
  t.deepEqual(a!.resource.attributes, { job: 'payments', level: 'warn', region: 'eu-1', note: 'a "quoted" é', 'service.name': 'payments', 'loki.tenant': 'tenant-a' });
  t.is(a!.resource, b!.resource, 'entries of one stream share one ResourceInfo');
  t.like(b, { body: 'second', severityNumber: 17, severityText: 'ERROR', traceId: undefined });
  t.is(b!.attributes.trace_id, 'not-a-trace-id', 'an id that is not hex stays an attribute');
  t.is(c!.resource.attributes['service.name'], 'search');
  t.not(c!.resource, a!.resource);

  // no Content-Type at all means protobuf too
  t.is((await push(s, protoPush([{ labels: '{job="x"}', entries: [{ ms, line: 'fourth' }] }]))).status, 204);
  t.is(sink(s.sinkId).logs.length, 4);
});

test('JSON push (plain and gzip) → 204; structured metadata and level label', async (t) => {
  const s = await start(t, 'json');
  const ts = nowNs();
  const doc = { streams: [{ stream: { service_name: 'web', level: 'debug' }, values: [[ts, 'hello', { trace_id: 'ab'.repeat(16), k: 'v' }], [ts, 'world']] }] };
  t.is((await push(s, JSON.stringify(doc), JSON_CT)).status, 204);
  t.is((await push(s, gzipSync(JSON.stringify(doc)), { ...JSON_CT, 'content-encoding': 'gzip' })).status, 204);
  const logs = sink(s.sinkId).logs;
  t.is(logs.length, 4);
  t.like(logs[0], { body: 'hello', timeUnixNano: ts, traceId: 'ab'.repeat(16), severityNumber: 5, severityText: 'DEBUG' });
  t.deepEqual(logs[0]!.attributes, { k: 'v' });
  t.is(logs[0]!.resource.attributes['service.name'], 'web');
});

test('a numeric timestamp, bad labels and malformed bodies are 400 with a plain-text reason; nothing is kept', async (t) => {
  const s = await start(t, 'bad');
  const numeric = await push(s, JSON.stringify({ streams: [{ stream: { job: 'a' }, values: [[1700000000000000000, 'x']] }] }), JSON_CT);
  t.is(numeric.status, 400);
  t.regex(numeric.headers.get('content-type') ?? '', /^text\/plain/);
  t.regex(numeric.text, /stream \{job="a"\} entry 0: the timestamp must be a string of nanoseconds since the epoch, got a number/);

  const badLabel = await push(s, JSON.stringify({ streams: [{ stream: { 'bad-name': 'a' }, values: [[nowNs(), 'x']] }] }), JSON_CT);
  t.is(badLabel.status, 400);
  t.regex(badLabel.text, /invalid label name "bad-name"/);

  const badSelector = await push(s, protoPush([{ labels: '{job="a", broken}', entries: [{ ms: Date.now(), line: 'x' }] }]));
  t.is(badSelector.status, 400);
  t.regex(badSelector.text, /couldn't parse labels: expected '='/);

  const garbage = await push(s, Buffer.from('this is not snappy at all, just text that goes on'), { 'content-type': 'application/x-protobuf' });
  t.is(garbage.status, 400);
  t.regex(garbage.text, /not valid block-snappy data|not a valid logproto.PushRequest/);

  const snappyGarbage = await push(s, snappy.compress(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2])), { 'content-type': 'application/x-protobuf' });
  t.is(snappyGarbage.status, 400);
  t.regex(snappyGarbage.text, /not a valid logproto.PushRequest/);

  const notJson = await push(s, '{"streams": [', JSON_CT);
  t.is(notJson.status, 400);
  t.regex(notJson.text, /not valid JSON/);

  const badUtf8 = await push(s, Buffer.concat([Buffer.from(`{"streams":[{"stream":{"a":"b"},"values":[["${nowNs()}","`), Buffer.from([0xff, 0xfe]), Buffer.from('"]]}]}')]), JSON_CT);
  t.is(badUtf8.status, 400);
  t.regex(badUtf8.text, /not valid UTF-8/);

  const empty = await push(s, '{"streams":[]}', JSON_CT);
  t.is(empty.status, 422);

  t.is((await push(s, 'x', { 'content-type': 'text/plain' })).status, 415);
  t.is(sink(s.sinkId).logs.length, 0);
  t.is((await push(s, JSON.stringify({ streams: [{ stream: { job: 'a' }, values: [[nowNs(), 'ok']] }] }), JSON_CT)).status, 204, 'still serving');
});

test("Loki's limits: a line over 256 KB and a stream with 16 labels are rejected (400 naming them), the valid rest is kept", async (t) => {
  const s = await start(t, 'limits');
  const ts = nowNs();
  const many = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`l${i}`, 'v']));
  const doc = {
    streams: [
      { stream: { job: 'big' }, values: [[ts, 'x'.repeat(256 * 1024 + 1)], [ts, 'small']] },
      { stream: many, values: [[ts, 'too many labels']] },
      { stream: { job: 'old' }, values: [[String(BigInt(Date.now() - 8 * 24 * 3600_000) * 1_000_000n), 'ancient']] },
    ],
  };
  const r = await push(s, JSON.stringify(doc), JSON_CT);
  t.is(r.status, 400);
  t.regex(r.text, /max entry size '262144' bytes exceeded for stream '\{job="big"\}' while adding an entry with length '262145' bytes/);
  t.regex(r.text, /has 16 label names; limit 15/);
  t.regex(r.text, /entry for stream '\{job="old"\}' has timestamp too old/);
  t.deepEqual(sink(s.sinkId).logs.map((l) => l.body), ['small']);
  t.is(metricValue(await selfMetrics(s.collector), 'otelcol_receiver_refused_log_records_total', { receiver: s.id }), 3);
});

test('a refusing pipeline → 429 with Retry-After; the retry is accepted', async (t) => {
  const s = await start(t, 'refuse');
  sink(s.sinkId).refuse = true;
  const body = JSON.stringify({ streams: [{ stream: { job: 'a' }, values: [[nowNs(), 'retry me']] }] });
  const r = await push(s, body, JSON_CT);
  t.is(r.status, 429);
  t.is(r.headers.get('retry-after'), '1');
  sink(s.sinkId).refuse = false;
  t.is((await push(s, body, JSON_CT)).status, 204);
  t.deepEqual(sink(s.sinkId).logs.map((l) => l.body), ['retry me']);
});

test('GET /ready, 404/405, bearer and basic auth, 413 over the limit after gzip', async (t) => {
  const s = await start(t, 'misc', { auth: { bearer_token: 'pw' }, max_request_body_size: 64 * 1024 });
  t.is((await fetch(`${s.url}/ready`)).status, 200);
  t.is((await fetch(`${s.url}/nope`)).status, 404);
  const get = await fetch(`${s.url}/loki/api/v1/push`);
  t.is(get.status, 405);
  t.is(get.headers.get('allow'), 'POST');
  const body = JSON.stringify({ streams: [{ stream: { job: 'a' }, values: [[nowNs(), 'authed']] }] });
  t.is((await push(s, body, JSON_CT)).status, 401);
  t.is((await push(s, body, { ...JSON_CT, authorization: 'Bearer nope' })).status, 401);
  t.is((await push(s, body, { ...JSON_CT, authorization: 'Bearer pw' })).status, 204);
  t.is((await push(s, body, { ...JSON_CT, authorization: `Basic ${Buffer.from('tenant:pw').toString('base64')}` })).status, 204);
  const big = JSON.stringify({ streams: [{ stream: { job: 'a' }, values: [[nowNs(), 'z'.repeat(100 * 1024)]] }] });
  const gz = gzipSync(big);
  t.true(gz.length < 64 * 1024);
  const r = await push(s, gz, { ...JSON_CT, 'content-encoding': 'gzip', authorization: 'Bearer pw' });
  t.is(r.status, 413);
  t.regex(r.text, /larger than the limit of 65536 bytes/);
  t.is(sink(s.sinkId).logs.length, 2);
});
