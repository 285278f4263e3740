// The decoder shares frozen objects between spans (empty events and links, status without message) and one
// string per repeated trace/span id; the tail sampler's decision caches evict oldest-added first; the otlp
// receiver answers a plain success in one piece. Proves the sharing is safe: the shared objects are frozen
// (a component that mutated one would throw, not corrupt its neighbours), processors that change spans copy
// them, and ids that land in the same cache slot still decode to their own hex.
import test from 'ava';
import { request } from 'node:http';
import { decodeTraces } from '../src/otlp/codec.js';
import { encodeTraces } from '../src/otlp/encode.js';
import type { DecodedSpan } from '../src/otlp/types.js';
import { DecisionCache } from '../src/components/processors/tail_sampling/decision-cache.js';
import { startTestCollector } from './support/collector.js';
import { sink } from './support/sink.js';
import { source } from './support/source.js';
import { newTraceId, span } from './support/spans.js';

const roundTrip = (spans: DecodedSpan[]) => decodeTraces(encodeTraces(spans), 'protobuf');

test('spans without events, links or a status message share frozen empty arrays and status objects', (t) => {
  const out = roundTrip([span({ status: 'error' }), span({ status: 'error' }), span({ status: 'unset' }), span({ status: 'ok' })]);
  const [a, b, c, d] = out as [DecodedSpan, DecodedSpan, DecodedSpan, DecodedSpan];
  t.is(a.events, b.events);
  t.is(a.links, c.links);
  t.true(Object.isFrozen(a.events) && Object.isFrozen(a.links));
  t.is(a.status, b.status);
  t.true(Object.isFrozen(a.status));
  t.deepEqual([a.status, c.status, d.status], [{ code: 'error' }, { code: 'unset' }, { code: 'ok' }]);
  t.not(a.status, c.status);
  // a mutation fails loudly instead of changing every other span
  t.throws(() => (a.events as unknown[]).push({ name: 'x' }), { instanceOf: TypeError });
  t.throws(() => {
    (a.status as { code: string }).code = 'ok';
  }, { instanceOf: TypeError });
  t.is(b.status.code, 'error');
});

test('spans with events, links or a status message get their own objects', (t) => {
  const withAll = span();
  withAll.events = [{ name: 'e', timeUnixNano: '1', attributes: { k: 'v' } }];
  withAll.links = [{ traceId: newTraceId(), spanId: '0102030405060708', attributes: {} }];
  withAll.status = { code: 'error', message: 'boom' };
  const [x, y] = roundTrip([withAll, { ...withAll }]) as [DecodedSpan, DecodedSpan];
  t.not(x.events, y.events);
  t.not(x.links, y.links);
  t.not(x.status, y.status);
  t.false(Object.isFrozen(x.events) || Object.isFrozen(x.status));
  t.deepEqual(x.status, { code: 'error', message: 'boom' });
  t.is(x.events[0]!.name, 'e');
});

test('ids that share a cache slot (same last two bytes) decode to their own hex, however they interleave', (t) => {
  // the id caches hash the last two bytes: these all land in one slot and keep evicting each other
  const traceIds = ['00', '11', 'ab', 'ff'].map((p) => `${p.repeat(14)}beef`);
  const spanIds = ['01', '22', 'cd', 'ee'].map((p) => `${p.repeat(6)}beef`);
  const spans: DecodedSpan[] = [];
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 4; i++) spans.push(span({ traceId: traceIds[(i + round) % 4], spanId: spanIds[(i * 3 + round) % 4], parentSpanId: spanIds[(i + 1) % 4] }));
  }
  const out = roundTrip(spans);
  t.deepEqual(
    out.map((s) => [s.traceId, s.spanId, s.parentSpanId]),
    spans.map((s) => [s.traceId, s.spanId, s.parentSpanId]),
  );
});

test('processors that change decoded spans copy them: redaction → tail_sampling → batch over frozen shared objects', async (t) => {
  const key = 'shared-redact';
  const c = await startTestCollector({
    receivers: { [`test_source/${key}`]: {} },
    processors: {
      [`redaction/${key}`]: { allow_all_keys: true, blocked_values: ['4[0-9]{15}'] },
      [`tail_sampling/${key}`]: { decision_wait: '50ms', policies: [{ name: 'all', type: 'always_sample' }] },
      [`batch/${key}`]: { timeout: '20ms' },
    },
    exporters: { [`test_sink/${key}`]: {} },
    service: { pipelines: { traces: { receivers: [`test_source/${key}`], processors: [`redaction/${key}`, `tail_sampling/${key}`, `batch/${key}`], exporters: [`test_sink/${key}`] } } },
  });
  try {
    const input = roundTrip([span({ attributes: { card: '4111111111111111', ok: 'fine' } }), span({ attributes: { ok: 'fine' } })]);
    await source(`test_source/${key}`).traces!.consume(input);
    await c.shutdown();
    const out = sink(`test_sink/${key}`).traces;
    t.is(out.length, 2);
    const redacted = out.find((s) => s.spanId === input[0]!.spanId)!;
    t.not(redacted.attributes.card, '4111111111111111');
    t.is(input[0]!.attributes.card, '4111111111111111', 'the received span was not modified');
    t.true(Object.isFrozen(redacted.events) && Object.isFrozen(redacted.status), 'untouched parts stay shared');
  } finally {
    await c.shutdown();
  }
});

test('decision cache: bounded, evicts the oldest added, a lookup does not refresh, adding again is a no-op', (t) => {
  const cache = new DecisionCache(3);
  for (const id of ['a', 'b', 'c']) cache.add(id);
  t.true(cache.has('a'));
  cache.add('b');
  cache.add('d'); // evicts a (the oldest added, though it was looked up last)
  t.deepEqual(['a', 'b', 'c', 'd'].map((id) => cache.has(id)), [false, true, true, true]);
  t.is(cache.size, 3);
  cache.add('e'); // then b
  cache.add('f'); // then c
  cache.add('g'); // then d: the ring wraps
  t.deepEqual(['b', 'c', 'd', 'e', 'f', 'g'].map((id) => cache.has(id)), [false, false, false, true, true, true]);
  t.is(cache.size, 3);
});

/** Raw HTTP answer: status, headers and body as received. */
function post(url: string, contentType: string, body: Uint8Array | string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': contentType } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('otlp receiver: a plain success is 200 with an empty protobuf body or {} and exact headers; a partial success still says what was rejected', async (t) => {
  const key = 'shared-recv';
  const c = await startTestCollector({
    receivers: { [`otlp/${key}`]: { protocols: { http: { endpoint: '127.0.0.1:0' } } } },
    exporters: { [`test_sink/${key}`]: {} },
    service: { pipelines: { traces: { receivers: [`otlp/${key}`], exporters: [`test_sink/${key}`] } } },
  });
  try {
    const url = c.endpoint(`otlp/${key}`);
    const proto = await post(url, 'application/x-protobuf', encodeTraces([span()]));
    t.is(proto.status, 200);
    t.is(proto.headers['content-type'], 'application/x-protobuf');
    t.is(proto.headers['content-length'], '0');
    t.is(proto.body.length, 0);
    const json = await post(url, 'application/json', encodeTraces([span()], 'json'));
    t.is(json.status, 200);
    t.is(json.headers['content-type'], 'application/json');
    t.is(json.body.toString(), '{}');
    const bad = span();
    bad.spanId = '';
    const partial = await post(url, 'application/json', encodeTraces([span(), bad], 'json'));
    t.is(partial.status, 200);
    t.like(JSON.parse(partial.body.toString()), { partialSuccess: { rejectedSpans: '1' } });
    t.is(sink(`test_sink/${key}`).traces.length, 3);
  } finally {
    await c.shutdown();
  }
});
