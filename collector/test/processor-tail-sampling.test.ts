// tail_sampling: test_source → tail_sampling → test_sink. Decisions are awaited through the sink and the processor's
// own metrics (never by sleeping); the probabilistic hash is checked against independent reference values.
import test, { type ExecutionContext } from 'ava';
import { waitFor } from '@lantern/testkit';
import { ConfigError, RefusedError, type Collector } from '../src/index.js';
import { configSchema } from '../src/components/processors/tail_sampling/config.js';
import { PolicySet } from '../src/components/processors/tail_sampling/decide.js';
import { calculateThreshold, fnv1a64, hashTraceId, MAX_UINT64, probabilisticSampler } from '../src/components/processors/tail_sampling/probabilistic.js';
import type { DecodedSpan } from '../src/otlp/types.js';
import { metricValue, selfMetrics, startTestCollector } from './support/collector.js';
import { GoRand } from './support/go-rand.js';
import { sink } from './support/sink.js';
import { source } from './support/source.js';
import { newTraceId, span, type SpanSpec } from './support/spans.js';

type Body = Record<string, unknown>;

/** A collector test_source/<k> → tail_sampling/<k> → test_sink/<k>, with a short decision_wait unless overridden. */
async function start(t: ExecutionContext, k: string, body: Body): Promise<Collector> {
  const c = await startTestCollector({
    receivers: { [`test_source/${k}`]: {} },
    processors: { [`tail_sampling/${k}`]: { decision_wait: '200ms', ...body } },
    exporters: { [`test_sink/${k}`]: {} },
    service: { pipelines: { traces: { receivers: [`test_source/${k}`], processors: [`tail_sampling/${k}`], exporters: [`test_sink/${k}`] } } },
  });
  t.teardown(() => c.shutdown());
  return c;
}

const push = (k: string, spans: DecodedSpan[]) => source(`test_source/${k}`).traces!.consume(spans);
const received = (k: string) => sink(`test_sink/${k}`).traces;
const receivedTraceIds = (k: string) => new Set(received(k).map((s) => s.traceId));

/** `n` spans of one new trace; each spec applies to the span at its index (the rest are plain). */
function trace(n: number, specs: SpanSpec[] = []): DecodedSpan[] {
  const traceId = newTraceId();
  return Array.from({ length: n }, (_, i) => span({ ...specs[i], traceId }));
}

/** A metric of processor tail_sampling/<k> (0 when the series does not exist yet). */
async function metric(c: Collector, k: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await selfMetrics(c), name, { processor: `tail_sampling/${k}`, ...labels }) ?? 0;
}

const M = 'otelcol_processor_tail_sampling_';
const always = { name: 'all', type: 'always_sample' };

/** Waits until `n` traces were decided (sampled or not). */
async function decided(c: Collector, k: string, n: number): Promise<void> {
  await waitFor(
    async () => (await metric(c, k, `${M}global_count_traces_sampled_total`, { sampled: 'true' })) + (await metric(c, k, `${M}global_count_traces_sampled_total`, { sampled: 'false' })) === n,
    { what: `${n} decisions`, timeoutMs: 15_000 },
  );
}

// ---------------------------------------------------------------- config

async function configError(t: ExecutionContext, policies: unknown[], key: string, message: RegExp) {
  const err = await t.throwsAsync(() => start(t, 'cfg', { policies }), { instanceOf: ConfigError });
  t.is(err?.key, `processors.tail_sampling/cfg.${key}`);
  t.regex(err?.message ?? '', message);
}

test('config errors name the key: unknown type, bad (sub-)policy fields, bad regex, duplicate names', async (t) => {
  const ok = { name: 'ok', type: 'always_sample' };
  await configError(t, [ok, { name: 'b', type: 'always_sample' }, { name: 'c', type: 'composite' }], 'policies.2.type', /always_sample/);
  await configError(t, [ok, { name: 'b', type: 'always_sample' }, { name: 'l', type: 'latency', latency: { threshold_ms: -1 } }], 'policies.2.latency.threshold_ms', />=0|too small/i);
  await configError(
    t,
    [{ name: 'a', type: 'and', and: { and_sub_policy: [ok, { name: 'l', type: 'latency', latency: { threshold_ms: 'slow' } }] } }],
    'policies.0.and.and_sub_policy.1.latency.threshold_ms',
    /number/,
  );
  await configError(t, [{ name: 's', type: 'string_attribute', string_attribute: { key: 'k', values: ['ok', '(unclosed'], enabled_regex_matching: true } }], 'policies.0.string_attribute.values.1', /regular expression/);
  await configError(t, [ok, ok], 'policies.1.name', /duplicate policy name "ok"/);
  await configError(t, [], 'policies', /too small|at least/i);
  await configError(t, [{ name: 'sc', type: 'status_code', status_code: { status_codes: ['FAILED'] } }], 'policies.0.status_code.status_codes.0', /OK|ERROR/);
});

test('defaults: contrib settings, plus decision caches and max_spans so late spans follow and memory is bounded', (t) => {
  const cfg = configSchema.parse({ policies: [always] });
  t.deepEqual(cfg, {
    decision_wait: 30_000,
    num_traces: 50_000,
    max_spans: 500_000,
    expected_new_traces_per_sec: 0,
    sample_on_first_match: false,
    decision_cache: { sampled_cache_size: 100_000, non_sampled_cache_size: 100_000 },
    policies: [always],
  });
});

// ---------------------------------------------------------------- probabilistic hash (contrib probabilistic.go)

test('FNV-1a-64 and the threshold match independent reference values', (t) => {
  const enc = new TextEncoder();
  // the FNV reference vectors
  t.is(fnv1a64(enc.encode('')), 0xcbf29ce484222325n);
  t.is(fnv1a64(enc.encode('a')), 0xaf63dc4c8601ec8cn);
  t.is(fnv1a64(enc.encode('foobar')), 0x85944171f73967e8n);
  // salt then the 16 trace id bytes, computed with an independent Python implementation
  t.is(hashTraceId('default-hash-seed', '00000000000000000000000000000000'), 16254958829412527165n);
  t.is(hashTraceId('default-hash-seed', '0102030405060708090a0b0c0d0e0f10'), 15838989281584434349n);
  t.is(hashTraceId('default-hash-seed', '4bf92f3577b34da6a3ce929d0e0e4736'), 11908981664384643253n);
  t.is(hashTraceId('test-salt', 'ffffffffffffffffffffffffffffffff'), 5329741664083342512n);
  // Go: big.Float(MaxUint64) × ratio at 64-bit precision, nearest-even, truncated
  t.is(calculateThreshold(0.25), 4611686018427387903n);
  t.is(calculateThreshold(0.33), 6087425544324152319n);
  t.is(calculateThreshold(0.001), 18446744073709551n);
  t.is(calculateThreshold(0.12345), 2277250555899444223n);
  t.is(calculateThreshold(1), MAX_UINT64);
  t.is(calculateThreshold(1.5), MAX_UINT64);
  t.is(calculateThreshold(-0.5), 0n);
});

/** contrib's genRandomTraceIDs: rand.New(rand.NewSource(1)), two big-endian Uint64s per trace id. */
function genRandomTraceIds(n: number): string[] {
  const r = new GoRand(1);
  const hex = () => r.uint64().toString(16).padStart(16, '0');
  return Array.from({ length: n }, () => hex() + hex());
}

test('the Go random source reproduces rand.NewSource(1)', (t) => {
  // the well-known first values of Go's rand.Int63() with seed 1
  const r = new GoRand(1);
  t.deepEqual([r.int63(), r.int63(), r.int63()], [5577006791947779410n, 8674665223082153551n, 6129484611666145821n]);
});

test("contrib's TestProbabilisticSampling vectors: its 100 000 trace ids, each case within 0.2 percentage points", (t) => {
  const ids = genRandomTraceIds(100_000);
  const cases: [string, number, string, number][] = [
    ['100%', 100, '', 100],
    ['0%', 0, '', 0],
    ['25%', 25, '', 25],
    ['33%', 33, '', 33],
    ['33% - custom salt', 33, 'test-salt', 33],
    ['-%50', -50, '', 0],
    ['150%', 150, '', 100],
  ];
  for (const [name, pct, salt, expected] of cases) {
    const sampled = probabilisticSampler(pct, salt);
    const effective = (ids.filter((id) => sampled(id)).length / ids.length) * 100;
    t.true(Math.abs(effective - expected) <= 0.2, `${name}: effective ${effective}%`);
    t.log(`${name}: ${effective}%`);
  }
  // the salt changes which traces are kept, not how many
  const a = probabilisticSampler(33, '');
  const b = probabilisticSampler(33, 'test-salt');
  t.true(ids.slice(0, 1000).some((id) => a(id) !== b(id)));
});

// ---------------------------------------------------------------- policy logic without a collector

const policySet = (policies: unknown[]) => new PolicySet(configSchema.parse({ policies }).policies, false, () => undefined);
const decide = (p: PolicySet, spans: DecodedSpan[]) => p.decide({ traceId: spans[0]!.traceId, spans }, 0);

test('numeric_attribute, span_count, boolean_attribute, trace_state and the invert ranking', (t) => {
  const numeric = policySet([{ name: 'n', type: 'numeric_attribute', numeric_attribute: { key: 'http.status_code', min_value: 500, max_value: 599 } }]);
  t.true(decide(numeric, trace(2, [{}, { attributes: { 'http.status_code': 503 } }])));
  t.false(decide(numeric, trace(1, [{ attributes: { 'http.status_code': 404 } }])));
  t.false(decide(numeric, trace(1, [{ attributes: { 'http.status_code': '503x' } }])));
  const big = policySet([{ name: 'n', type: 'numeric_attribute', numeric_attribute: { key: 'bytes', min_value: 1e18 } }]);
  t.true(decide(big, trace(1, [{ attributes: { bytes: '9007199254740993000' } }])), 'int64 beyond 2^53 arrives as a decimal string');

  const count = policySet([{ name: 'c', type: 'span_count', span_count: { min_spans: 2, max_spans: 3 } }]);
  t.deepEqual([1, 2, 3, 4].map((n) => decide(count, trace(n))), [false, true, true, false]);

  const bool = policySet([{ name: 'b', type: 'boolean_attribute', boolean_attribute: { key: 'app.force_sample', value: true } }]);
  t.true(decide(bool, trace(1, [{ attributes: { 'app.force_sample': true } }])));
  t.false(decide(bool, trace(1, [{ attributes: { 'app.force_sample': 'true' } }])));

  const ts = policySet([{ name: 't', type: 'trace_state', trace_state: { key: 'tenant', values: ['gold'] } }]);
  const withState = trace(1);
  withState[0]!.traceState = 'vendor=x, tenant=gold';
  t.true(decide(ts, withState));
  t.false(decide(ts, trace(1)));

  // contrib's (deprecated) invert ranking: an inverted "not sampled" vetoes a plain "sampled"
  const invert = policySet([always, { name: 'not-noisy', type: 'string_attribute', string_attribute: { key: 'service.name', values: ['noisy'], invert_match: true } }]);
  t.false(decide(invert, trace(1, [{ service: 'noisy' }])));
  t.true(decide(invert, trace(1, [{ service: 'quiet' }])));
});

// ---------------------------------------------------------------- through a collector

test('nothing reaches the sink before decision_wait; status_code keeps ERROR traces and drops OK ones', async (t) => {
  const k = 'status';
  const c = await start(t, k, { decision_wait: '1s', policies: [{ name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } }] });
  const failed = trace(2, [{}, { status: 'error' }]);
  const fine = trace(2, [{ status: 'ok' }, { status: 'ok' }]);
  await push(k, [...failed, ...fine]);
  t.is(received(k).length, 0, 'held until the trace is decided');
  await waitFor(() => received(k).length === 2, { what: 'the error trace' });
  await decided(c, k, 2);
  t.deepEqual(receivedTraceIds(k), new Set([failed[0]!.traceId]));
  t.is(await metric(c, k, 'otelcol_processor_dropped_spans_total', { pipeline: 'traces' }), 2);
  t.is(await metric(c, k, `${M}count_traces_sampled_total`, { policy: 'errors', decision: 'sampled' }), 1);
  t.is(await metric(c, k, `${M}count_traces_sampled_total`, { policy: 'errors', decision: 'not_sampled' }), 1);
});

test('latency: earliest start to latest end, with and without an upper threshold', async (t) => {
  const k = 'latency';
  const c = await start(t, k, {
    policies: [
      { name: 'slow', type: 'latency', latency: { threshold_ms: 5000 } },
      { name: 'band', type: 'latency', latency: { threshold_ms: 100, upper_threshold_ms: 1000 } },
    ],
  });
  const t0 = Date.now();
  // 600 ms overall although no span lasts that long: in the band
  const spread = trace(2, [{ startMs: t0, durationMs: 100 }, { startMs: t0 + 300, durationMs: 300 }]);
  const quick = trace(2, [{ startMs: t0, durationMs: 50 }, { startMs: t0 + 10, durationMs: 40 }]);
  const tooSlowForBand = trace(1, [{ startMs: t0, durationMs: 2000 }]);
  const verySlow = trace(1, [{ startMs: t0, durationMs: 6000 }]);
  await push(k, [...spread, ...quick, ...tooSlowForBand, ...verySlow]);
  await decided(c, k, 4);
  await waitFor(() => received(k).length === 3, { what: 'sampled spans' });
  t.deepEqual(receivedTraceIds(k), new Set([spread[0]!.traceId, verySlow[0]!.traceId]));
});

test('probabilistic through the processor: exactly the trace ids the hash selects, about 25% of 2000', async (t) => {
  const k = 'prob';
  const c = await start(t, k, { policies: [{ name: 'quarter', type: 'probabilistic', probabilistic: { sampling_percentage: 25 } }] });
  const spans = Array.from({ length: 2000 }, () => span());
  for (let i = 0; i < spans.length; i += 250) await push(k, spans.slice(i, i + 250));
  await decided(c, k, 2000);
  const selects = probabilisticSampler(25, '');
  const expected = new Set(spans.filter((s) => selects(s.traceId)).map((s) => s.traceId));
  await waitFor(() => received(k).length === expected.size, { what: 'sampled spans' });
  t.deepEqual(receivedTraceIds(k), expected);
  t.true(expected.size > 400 && expected.size < 600, `${expected.size} of 2000 sampled`);
});

test('rate_limiting: a bucket of 2× spans_per_second, spent trace by trace', async (t) => {
  const k = 'rate';
  const c = await start(t, k, { policies: [{ name: 'ten', type: 'rate_limiting', rate_limiting: { spans_per_second: 10 } }] });
  const first = trace(15);
  const second = trace(15); // 5 tokens left after the first (plus a trickle): not kept
  await push(k, [...first, ...second]);
  await decided(c, k, 2);
  await waitFor(() => received(k).length === 15, { what: 'the first trace' });
  t.deepEqual(receivedTraceIds(k), new Set([first[0]!.traceId]));
});

test('string_attribute: exact values, regex, resource attributes, and invert_match', async (t) => {
  const k = 'strattr';
  const c = await start(t, k, {
    policies: [
      { name: 'route', type: 'string_attribute', string_attribute: { key: 'http.route', values: ['/checkout'] } },
      { name: 'db', type: 'string_attribute', string_attribute: { key: 'db.system', values: ['^post', '^mysql$'], enabled_regex_matching: true } },
      { name: 'svc', type: 'string_attribute', string_attribute: { key: 'service.name', values: ['payments'] } },
    ],
  });
  const keep = [trace(2, [{}, { attributes: { 'http.route': '/checkout' } }]), trace(1, [{ attributes: { 'db.system': 'postgresql' } }]), trace(1, [{ service: 'payments' }])];
  const drop = [trace(1, [{ attributes: { 'http.route': '/checkout/x' } }]), trace(1, [{ attributes: { 'db.system': 'mysqlx' } }]), trace(1, [{ service: 'cart' }])];
  await push(k, [...keep.flat(), ...drop.flat()]);
  await decided(c, k, 6);
  await waitFor(() => received(k).length === 4, { what: 'kept spans' });
  t.deepEqual(receivedTraceIds(k), new Set(keep.map((s) => s[0]!.traceId)));

  const ki = 'strinvert';
  const ci = await start(t, ki, { policies: [{ name: 'not-health', type: 'string_attribute', string_attribute: { key: 'url.path', values: ['^/health'], enabled_regex_matching: true, invert_match: true } }] });
  const health = trace(2, [{}, { attributes: { 'url.path': '/healthz' } }]);
  const api = trace(1, [{ attributes: { 'url.path': '/api/cart' } }]);
  const bare = trace(1);
  await push(ki, [...health, ...api, ...bare]);
  await decided(ci, ki, 3);
  await waitFor(() => received(ki).length === 2, { what: 'kept spans' });
  t.deepEqual(receivedTraceIds(ki), new Set([api[0]!.traceId, bare[0]!.traceId]));
});

test('and: every sub-policy must sample', async (t) => {
  const k = 'and';
  const c = await start(t, k, {
    policies: [
      {
        name: 'checkout-errors',
        type: 'and',
        and: {
          and_sub_policy: [
            { name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } },
            { name: 'checkout', type: 'string_attribute', string_attribute: { key: 'service.name', values: ['checkout'] } },
          ],
        },
      },
    ],
  });
  const both = trace(1, [{ service: 'checkout', status: 'error' }]);
  const errorElsewhere = trace(1, [{ service: 'cart', status: 'error' }]);
  const okCheckout = trace(1, [{ service: 'checkout', status: 'ok' }]);
  await push(k, [...both, ...errorElsewhere, ...okCheckout]);
  await decided(c, k, 3);
  await waitFor(() => received(k).length === 1, { what: 'the kept trace' });
  t.deepEqual(receivedTraceIds(k), new Set([both[0]!.traceId]));
});

test('drop beats sample, wherever it is listed', async (t) => {
  const k = 'drop';
  const c = await start(t, k, {
    policies: [
      always,
      { name: 'no-health', type: 'drop', drop: { drop_sub_policy: [{ name: 'health', type: 'string_attribute', string_attribute: { key: 'url.path', values: ['^/health'], enabled_regex_matching: true } }] } },
    ],
  });
  const health = trace(1, [{ attributes: { 'url.path': '/health' } }]);
  const api = trace(2, [{ attributes: { 'url.path': '/api' } }]);
  await push(k, [...health, ...api]);
  await decided(c, k, 2);
  await waitFor(() => received(k).length === 2, { what: 'the api trace' });
  t.deepEqual(receivedTraceIds(k), new Set([api[0]!.traceId]));
  t.is(await metric(c, k, `${M}count_traces_sampled_total`, { policy: 'no-health', decision: 'dropped' }), 1);
});

test('late spans follow the decision: a sampled trace’s late span is forwarded, a dropped trace’s is not', async (t) => {
  const k = 'late';
  const c = await start(t, k, { policies: [{ name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } }] });
  const kept = trace(1, [{ status: 'error' }]);
  const dropped = trace(1, [{ status: 'ok' }]);
  await push(k, [...kept, ...dropped]);
  await decided(c, k, 2);
  // the late spans would decide the other way on their own
  const lateKept = span({ traceId: kept[0]!.traceId, status: 'ok', name: 'late-kept' });
  const lateDropped = span({ traceId: dropped[0]!.traceId, status: 'error', name: 'late-dropped' });
  await push(k, [lateKept, lateDropped]);
  await waitFor(() => received(k).some((s) => s.name === 'late-kept'), { what: 'the late span of the kept trace' });
  t.is(await metric(c, k, `${M}early_releases_from_cache_decision_total`, { sampled: 'false' }), 1);
  t.is(await metric(c, k, `${M}early_releases_from_cache_decision_total`, { sampled: 'true' }), 1);
  // had it been buffered as a new trace, shutdown would decide it now and (error status) forward it
  await c.shutdown();
  t.false(received(k).some((s) => s.name === 'late-dropped'));
  t.is(received(k).length, 2);
});

test('num_traces: the oldest traces are decided early, counted, and forwarded; nothing is lost', async (t) => {
  const k = 'numtraces';
  const c = await start(t, k, { decision_wait: '1m', num_traces: 10, policies: [always] });
  const traces = Array.from({ length: 30 }, () => trace(2));
  await push(k, traces.slice(0, 15).flat());
  await push(k, traces.slice(15).flat());
  await waitFor(() => received(k).length === 40, { what: 'the 20 traces decided early' });
  t.deepEqual(receivedTraceIds(k), new Set(traces.slice(0, 20).map((s) => s[0]!.traceId)), 'the oldest first');
  await waitFor(async () => (await metric(c, k, `${M}sampling_trace_dropped_too_early_total`)) === 20, { what: 'the eviction metric' });
  await waitFor(async () => (await metric(c, k, `${M}sampling_traces_on_memory`)) === 10, { what: 'the traces gauge' });
  await c.shutdown();
  t.is(received(k).length, 60);
  t.is(receivedTraceIds(k).size, 30);
});

test('max_spans bounds the buffered spans the same way', async (t) => {
  const k = 'maxspans';
  const c = await start(t, k, { decision_wait: '1m', max_spans: 5, policies: [always] });
  const traces = Array.from({ length: 5 }, () => trace(2));
  await push(k, traces.flat());
  // spans 6, 8 and 10 each push the total past 5: the three oldest traces are decided early
  await waitFor(() => received(k).length === 6, { what: 'the 3 traces decided early' });
  t.deepEqual(receivedTraceIds(k), new Set(traces.slice(0, 3).map((s) => s[0]!.traceId)));
  await waitFor(async () => (await metric(c, k, `${M}sampling_trace_dropped_too_early_total`)) === 3, { what: 'the eviction metric' });
});

test('a refusing next stage: sampled spans are kept and retried until accepted', async (t) => {
  const k = 'refuse';
  const c = await start(t, k, { policies: [always] });
  sink(`test_sink/${k}`).refuse = true;
  const traces = Array.from({ length: 5 }, () => trace(3));
  await push(k, traces.flat());
  await waitFor(async () => (await metric(c, k, `${M}pending_forward_spans`)) === 15, { what: 'the refused spans held' });
  t.is(received(k).length, 0);
  sink(`test_sink/${k}`).refuse = false;
  await waitFor(() => received(k).length === 15, { what: 'every sampled span' });
  t.is(receivedTraceIds(k).size, 5);
  t.is(await metric(c, k, `${M}forward_failed_spans_total`), 0);
});

test('past max_spans of refused sampled spans, consume refuses (back-pressure) instead of dropping', async (t) => {
  const k = 'backpressure';
  const c = await start(t, k, { max_spans: 10, policies: [always] });
  sink(`test_sink/${k}`).refuse = true;
  await push(k, Array.from({ length: 4 }, () => trace(3)).flat());
  await waitFor(async () => (await metric(c, k, `${M}pending_forward_spans`)) === 12, { what: 'the sampled backlog' });
  await t.throwsAsync(() => push(k, trace(1)), { instanceOf: RefusedError });
  sink(`test_sink/${k}`).refuse = false;
  await waitFor(() => received(k).length === 12, { what: 'the backlog delivered' });
  await t.notThrowsAsync(() => push(k, trace(1)));
});

test('shutdown decides every pending trace and forwards the sampled ones', async (t) => {
  const k = 'shutdown';
  const c = await start(t, k, { decision_wait: '1m', policies: [{ name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } }] });
  const failed = trace(2, [{ status: 'error' }]);
  const fine = trace(1);
  await push(k, [...failed, ...fine]);
  t.is(received(k).length, 0);
  await c.shutdown();
  t.deepEqual(receivedTraceIds(k), new Set([failed[0]!.traceId]));
  t.is(received(k).length, 2);
});
