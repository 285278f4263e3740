// redaction through a real pipeline: test_source → redaction → test_sink, checking the exact attributes
// that come out (audit attributes included) and that the input items are never modified.
import test from 'ava';
import { createHash } from 'node:crypto';
import { ConfigError } from '../src/index.js';
import type { DecodedMetric, ResourceInfo } from '../src/otlp/types.js';
import { metricValue, selfMetrics, startTestCollector } from './support/collector.js';
import { sink } from './support/sink.js';
import { source } from './support/source.js';
import { logRecord, resourceOf, span } from './support/spans.js';

const CARD = '4[0-9]{12}(?:[0-9]{3})?';
const EMAIL = '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}';

const doc = (key: string, redaction: Record<string, unknown>, signal = 'traces') => ({
  receivers: { [`test_source/${key}`]: {} },
  processors: { [`redaction/${key}`]: redaction },
  exporters: { [`test_sink/${key}`]: {} },
  service: { pipelines: { [signal]: { receivers: [`test_source/${key}`], processors: [`redaction/${key}`], exporters: [`test_sink/${key}`] } } },
});

async function redactSpan(key: string, redaction: Record<string, unknown>, attributes: Record<string, unknown>, resource?: ResourceInfo) {
  const c = await startTestCollector(doc(key, redaction));
  try {
    const s = span({ attributes: attributes as never });
    if (resource) s.resource = resource;
    await source(`test_source/${key}`).traces!.consume([s]);
    const out = sink(`test_sink/${key}`).traces[0]!;
    return { out, metrics: await selfMetrics(c) };
  } finally {
    await c.shutdown();
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

test('fail-closed: only allowed_keys survive (resource attributes too), with debug audit attributes', async (t) => {
  const resource = { attributes: { 'service.name': 'checkout', 'host.secret': 's3cr3t' } };
  const { out, metrics } = await redactSpan(
    'r-allow',
    { allow_all_keys: false, allowed_keys: ['http.method', 'id', 'service.name'], summary: 'debug' },
    { 'http.method': 'GET', 'user.email': 'bob@example.com', password: 'hunter2', id: 5 },
    resource,
  );
  t.deepEqual(out.attributes, { 'http.method': 'GET', id: 5, 'redaction.redacted.keys': 'password,user.email', 'redaction.redacted.count': 2 });
  t.deepEqual(out.resource.attributes, { 'service.name': 'checkout', 'redaction.redacted.keys': 'host.secret', 'redaction.redacted.count': 1 });
  t.is(metricValue(metrics, 'otelcol_processor_redaction_redacted_total', { processor: 'redaction/r-allow', pipeline: 'traces' }), 3);
});

test('blocked_key_patterns mask the whole value with ****, whatever its type', async (t) => {
  const { out, metrics } = await redactSpan(
    'r-keys',
    { blocked_key_patterns: ['.*token.*', '(?i)^password$'] },
    { 'auth.token': 'abc.def', PASSWORD: 'hunter2', 'api_token_id': 12345, count: 3, note: 'fine' },
  );
  t.deepEqual(out.attributes, { 'auth.token': '****', PASSWORD: '****', 'api_token_id': '****', count: 3, note: 'fine', 'redaction.masked.count': 3 });
  t.is(metricValue(metrics, 'otelcol_processor_redaction_masked_total', { processor: 'redaction/r-keys', pipeline: 'traces' }), 3);
});

test('hash_function replaces each match (blocked_values) or whole value (blocked keys) by its hex digest', async (t) => {
  const a = await redactSpan('r-sha', { blocked_values: [CARD], hash_function: 'sha256' }, { note: 'card 4111111111111111 declined', other: 'no card' });
  t.is(a.out.attributes.note, `card ${sha256('4111111111111111')} declined`);
  t.is(a.out.attributes.other, 'no card');
  const b = await redactSpan('r-md5', { blocked_key_patterns: ['secret'], hash_function: 'md5' }, { 'db.secret': 'pa55' });
  t.is(b.out.attributes['db.secret'], md5('pa55'));
});

test('allowed_values wins over blocked_values and is reported', async (t) => {
  const { out } = await redactSpan(
    'r-allowval',
    { blocked_values: [EMAIL], allowed_values: ['@mycompany\\.com$'], summary: 'debug' },
    { from: 'bob@example.com', to: 'alice@mycompany.com', subject: 'hello' },
  );
  t.deepEqual(out.attributes, {
    from: '****',
    to: 'alice@mycompany.com',
    subject: 'hello',
    'redaction.masked.keys': 'from',
    'redaction.masked.count': 1,
    'redaction.allowed.keys': 'to',
    'redaction.allowed.count': 1,
  });
});

test('ignored_keys pass untouched and are counted; summary silent adds nothing; non-strings are only checked with redact_all_types', async (t) => {
  const a = await redactSpan('r-ign', { allow_all_keys: false, ignored_keys: ['raw'], blocked_values: [CARD] }, { raw: '4111111111111111' });
  t.deepEqual(a.out.attributes, { raw: '4111111111111111', 'redaction.ignored.count': 1 });
  const b = await redactSpan('r-silent', { blocked_values: [CARD], summary: 'silent' }, { card: '4111111111111111', n: 4111111111111111 });
  t.deepEqual(b.out.attributes, { card: '****', n: 4111111111111111 });
  const c = await redactSpan('r-alltypes', { blocked_values: [CARD], summary: 'silent', redact_all_types: true }, { n: 4111111111111111 });
  t.deepEqual(c.out.attributes, { n: '****' });
});

test('span event attributes are redacted, with their own audit attributes', async (t) => {
  const c = await startTestCollector(doc('r-event', { blocked_values: [EMAIL] }));
  t.teardown(() => c.shutdown());
  const s = span();
  s.events = [{ name: 'login', timeUnixNano: '1', attributes: { user: 'bob@example.com' } }];
  await source('test_source/r-event').traces!.consume([s]);
  t.deepEqual(sink('test_sink/r-event').traces[0]!.events[0]!.attributes, { user: '****', 'redaction.masked.count': 1 });
});

test('card numbers and emails inside a log body are masked in place; structured bodies by path', async (t) => {
  const c = await startTestCollector(doc('r-log', { blocked_values: [CARD, EMAIL], summary: 'debug' }, 'logs'));
  t.teardown(() => c.shutdown());
  const text = logRecord({ body: 'payment by bob@example.com with 4111111111111111 declined', attributes: { 'http.route': '/pay' } });
  const structured = logRecord();
  structured.body = { user: { email: 'x@example.org', name: 'bob' }, cards: ['4111111111111111', 'none'] };
  await source('test_source/r-log').logs!.consume([text, structured]);
  const [a, b] = sink('test_sink/r-log').logs;
  t.is(a!.body, 'payment by **** with **** declined');
  t.deepEqual(a!.attributes, { 'http.route': '/pay', 'redaction.body.masked.keys': 'body', 'redaction.body.masked.count': 1 });
  t.deepEqual(b!.body, { user: { email: '****', name: 'bob' }, cards: ['****', 'none'] });
  t.deepEqual(b!.attributes, { 'redaction.body.masked.keys': 'cards.[0],user.email', 'redaction.body.masked.count': 2 });
  t.is(metricValue(await selfMetrics(c), 'otelcol_processor_redaction_masked_total', { processor: 'redaction/r-log', pipeline: 'logs' }), 3);
});

test('metric data point attributes are redacted', async (t) => {
  const c = await startTestCollector(doc('r-met', { blocked_key_patterns: ['^user\\.'], summary: 'silent' }, 'metrics'));
  t.teardown(() => c.shutdown());
  const m: DecodedMetric = {
    name: 'logins',
    type: 'sum',
    temporality: 'cumulative',
    isMonotonic: true,
    resource: resourceOf('svc'),
    scope: { name: 't', attributes: {} },
    dataPoints: [{ attributes: { 'user.id': 'u1', outcome: 'ok' }, startTimeUnixNano: '0', timeUnixNano: '1', flags: 0, value: 1, exemplars: [] }],
  };
  await source('test_source/r-met').metrics!.consume([m]);
  t.deepEqual(sink('test_sink/r-met').metrics[0]!.dataPoints[0]!.attributes, { 'user.id': '****', outcome: 'ok' });
  t.is(m.dataPoints[0]!.attributes['user.id'], 'u1');
});

test('input items are never modified: a second pipeline without redaction sees the originals', async (t) => {
  const c = await startTestCollector({
    receivers: { 'test_source/r-share': {} },
    processors: { 'redaction/r-share': { allow_all_keys: false, allowed_keys: ['keep', 'service.name'], blocked_values: [EMAIL], summary: 'debug' } },
    exporters: { 'test_sink/r-share-red': {}, 'test_sink/r-share-plain': {} },
    service: {
      pipelines: {
        traces: { receivers: ['test_source/r-share'], processors: ['redaction/r-share'], exporters: ['test_sink/r-share-red'] },
        'traces/plain': { receivers: ['test_source/r-share'], exporters: ['test_sink/r-share-plain'] },
        logs: { receivers: ['test_source/r-share'], processors: ['redaction/r-share'], exporters: ['test_sink/r-share-red'] },
        'logs/plain': { receivers: ['test_source/r-share'], exporters: ['test_sink/r-share-plain'] },
      },
    },
  });
  t.teardown(() => c.shutdown());
  const resource = { attributes: { 'service.name': 'svc', owner: 'ops@example.com' } };
  const s = span({ attributes: { keep: 'bob@example.com', drop: 'x' } });
  s.resource = resource;
  s.events = [{ name: 'e', timeUnixNano: '1', attributes: { keep: 'x@example.com' } }];
  const rec = logRecord({ body: 'mail bob@example.com', attributes: { keep: 'y' } });
  const before = structuredClone({ s, rec });
  await source('test_source/r-share').traces!.consume([s]);
  await source('test_source/r-share').logs!.consume([rec]);

  t.deepEqual({ s, rec }, before, 'the input objects are unchanged');
  const plain = sink('test_sink/r-share-plain');
  t.is(plain.traces[0], s);
  t.is(plain.logs[0], rec);
  const red = sink('test_sink/r-share-red');
  t.not(red.traces[0], s);
  t.deepEqual(red.traces[0]!.attributes, { keep: '****', 'redaction.redacted.keys': 'drop', 'redaction.redacted.count': 1, 'redaction.masked.keys': 'keep', 'redaction.masked.count': 1 });
  t.deepEqual(red.traces[0]!.resource.attributes, { 'service.name': 'svc', 'redaction.redacted.keys': 'owner', 'redaction.redacted.count': 1 });
  t.is(red.traces[0]!.events[0]!.attributes.keep, '****');
  t.is(red.logs[0]!.body, 'mail ****');
});

test('items with nothing to redact are passed on as they are (no copy)', async (t) => {
  const c = await startTestCollector(doc('r-same', { blocked_values: [CARD] }));
  t.teardown(() => c.shutdown());
  const s = span({ attributes: { a: 'b' } });
  await source('test_source/r-same').traces!.consume([s]);
  t.is(sink('test_sink/r-same').traces[0], s);
});

test('an invalid regular expression is a ConfigError naming its key', async (t) => {
  const err = await t.throwsAsync(() => startTestCollector(doc('r-bad', { blocked_values: [CARD, EMAIL, '([a-z'] })), { instanceOf: ConfigError });
  t.is(err?.key, 'processors.redaction/r-bad.blocked_values.2');
  t.regex(err?.message ?? '', /invalid regular expression/);
  const err2 = await t.throwsAsync(() => startTestCollector(doc('r-bad', { hash_function: 'sha512' })), { instanceOf: ConfigError });
  t.is(err2?.key, 'processors.redaction/r-bad.hash_function');
});
