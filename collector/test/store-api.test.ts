// The store's HTTP APIs through test_source → store: Jaeger's exact JSON (compat-apis.md §1), search, dependencies,
// the documented 400/404 envelopes, hostile parameters, the /api/v3 routes and the logs API.
import test from 'ava';
import type { DecodedLogRecord, DecodedSpan, ResourceInfo } from '../src/otlp/types.js';
import { source } from './support/source.js';
import { logRecord, newTraceId, span } from './support/spans.js';
import { get, startStore } from './support/store.js';

const TRACE = '83a9efd15c1c98a977e0711cc93ee28b';
const ROOT = 'e127af99e3b3e074';
const CHILD = '909541b92cf05311';
const frontend: ResourceInfo = { attributes: { 'service.name': 'frontend', 'host.name': 'h1' } };
const backend: ResourceInfo = { attributes: { 'service.name': 'backend' } };

function goldenSpans(): DecodedSpan[] {
  const root: DecodedSpan = {
    traceId: TRACE,
    spanId: ROOT,
    flags: 1,
    name: 'GET /checkout',
    kind: 'server',
    startTimeUnixNano: '1706678909209712345',
    endTimeUnixNano: '1706678909209835345',
    attributes: { 'http.method': 'GET', ratio: 0.5, big: '9223372036854775807', ok: true, count: 3 },
    droppedAttributesCount: 0,
    events: [{ name: 'exception', timeUnixNano: '1706678909209800000', attributes: { 'exception.message': 'x' } }],
    links: [],
    status: { code: 'error', message: 'boom' },
    resource: frontend,
    scope: { name: 'checkout-lib', version: '1.2.0', attributes: {} },
  };
  const child: DecodedSpan = {
    traceId: TRACE,
    spanId: CHILD,
    parentSpanId: ROOT,
    flags: 0,
    name: 'SELECT',
    kind: 'client',
    startTimeUnixNano: '1706678909209720000',
    endTimeUnixNano: '1706678909209780000',
    attributes: { 'db.system': 'postgresql' },
    droppedAttributesCount: 0,
    events: [],
    links: [],
    status: { code: 'unset' },
    resource: backend,
    scope: { name: 'db-lib', attributes: {} },
  };
  return [root, child];
}

const GOLDEN_TRACE = {
  traceID: TRACE,
  spans: [
    {
      traceID: TRACE,
      spanID: ROOT,
      flags: 1,
      operationName: 'GET /checkout',
      references: [],
      startTime: 1706678909209712,
      duration: 123,
      tags: [
        { key: 'otel.scope.name', type: 'string', value: 'checkout-lib' },
        { key: 'otel.scope.version', type: 'string', value: '1.2.0' },
        { key: 'big', type: 'int64', value: '9223372036854775807' },
        { key: 'count', type: 'int64', value: 3 },
        { key: 'http.method', type: 'string', value: 'GET' },
        { key: 'ok', type: 'bool', value: true },
        { key: 'ratio', type: 'float64', value: 0.5 },
        { key: 'span.kind', type: 'string', value: 'server' },
        { key: 'otel.status_code', type: 'string', value: 'ERROR' },
        { key: 'error', type: 'bool', value: true },
        { key: 'otel.status_description', type: 'string', value: 'boom' },
      ],
      logs: [
        {
          timestamp: 1706678909209800,
          fields: [
            { key: 'event', type: 'string', value: 'exception' },
            { key: 'exception.message', type: 'string', value: 'x' },
          ],
        },
      ],
      processID: 'p1',
      warnings: null,
    },
    {
      traceID: TRACE,
      spanID: CHILD,
      operationName: 'SELECT',
      references: [{ refType: 'CHILD_OF', traceID: TRACE, spanID: ROOT }],
      startTime: 1706678909209720,
      duration: 60,
      tags: [
        { key: 'otel.scope.name', type: 'string', value: 'db-lib' },
        { key: 'db.system', type: 'string', value: 'postgresql' },
        { key: 'span.kind', type: 'string', value: 'client' },
      ],
      logs: [],
      processID: 'p2',
      warnings: null,
    },
  ],
  processes: {
    p1: { serviceName: 'frontend', tags: [{ key: 'host.name', type: 'string', value: 'h1' }] },
    p2: { serviceName: 'backend', tags: [] },
  },
  warnings: null,
};

const WINDOW = 'start=1706678900000000&end=1706678999000000';
const err400 = (msg: string) => `${JSON.stringify({ data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 400, msg }] })}\n`;

async function golden(key: string) {
  const s = await startStore(key);
  await source(`test_source/${key}`).traces!.consume(goldenSpans());
  return s;
}

test('GET /api/traces/{id} returns the exact Jaeger UI-model JSON (tag order, kinds, status, int64 as string, processes, refs, logs)', async (t) => {
  const { c, url } = await golden('sa-golden');
  t.teardown(() => c.shutdown());
  const r = await get(`${url}/api/traces/${TRACE}`);
  t.is(r.status, 200);
  t.is(r.type, 'application/json');
  // compared as text so field order counts too
  t.is(r.text, JSON.stringify({ data: [GOLDEN_TRACE], total: 0, limit: 0, offset: 0, errors: null }));
  // Grafana sends start/end (in ms) as hints: still the trace
  t.is((await get(`${url}/api/traces/${TRACE}?start=1706678909000&end=1706678910000`)).status, 200);
  // prettyPrint indents, same data
  const pretty = await get(`${url}/api/traces/${TRACE}?prettyPrint=true`);
  t.true(pretty.text.includes('\n    "data"'));
  t.deepEqual(pretty.json, r.json);
});

test('services and operations (legacy, /api/operations, v3)', async (t) => {
  const { c, url } = await golden('sa-ops');
  t.teardown(() => c.shutdown());
  t.is((await get(`${url}/api/services`)).text, JSON.stringify({ data: ['backend', 'frontend'], total: 2, limit: 0, offset: 0, errors: null }));
  t.is((await get(`${url}/api/services/frontend/operations`)).text, JSON.stringify({ data: ['GET /checkout'], total: 1, limit: 0, offset: 0, errors: null }));
  t.is((await get(`${url}/api/services/nobody/operations`)).text, JSON.stringify({ data: null, total: 0, limit: 0, offset: 0, errors: null }));
  t.is((await get(`${url}/api/operations?service=backend`)).text, JSON.stringify({ data: [{ name: 'SELECT', spanKind: 'client' }], total: 1, limit: 0, offset: 0, errors: null }));
  t.is((await get(`${url}/api/operations?service=backend&spanKind=server`)).text, JSON.stringify({ data: [], total: 0, limit: 0, offset: 0, errors: null }));
  t.deepEqual((await get(`${url}/api/v3/services`)).json, { services: ['backend', 'frontend'] });
  t.deepEqual((await get(`${url}/api/v3/operations?service=frontend`)).json, { operations: [{ name: 'GET /checkout', spanKind: 'server' }] });
});

test('search by service, operation, tags, tag, durations, traceID', async (t) => {
  const { c, url } = await golden('sa-search');
  t.teardown(() => c.shutdown());
  const ids = async (q: string) => {
    const r = await get(`${url}/api/traces?${WINDOW}&${q}`);
    t.is(r.status, 200, q);
    return (r.json as { data: { traceID: string; spans: unknown[] }[] }).data.map((x) => x.traceID);
  };
  t.deepEqual(await ids('service=frontend'), [TRACE]);
  t.deepEqual(await ids('service=backend&operation=SELECT'), [TRACE]);
  // one span must satisfy every filter: frontend has no SELECT span
  t.deepEqual(await ids('service=frontend&operation=SELECT'), []);
  t.deepEqual(await ids(`service=backend&tags=${encodeURIComponent('{"db.system":"postgresql"}')}`), [TRACE]);
  t.deepEqual(await ids('service=backend&tag=db.system:mysql'), []);
  t.deepEqual(await ids('service=frontend&tag=error:true'), [TRACE]);
  t.deepEqual(await ids('service=frontend&tag=resource.host.name:h1&tag=http.method:GET'), [TRACE]);
  t.deepEqual(await ids('service=frontend&minDuration=100us'), [TRACE]);
  t.deepEqual(await ids('service=frontend&minDuration=1s'), []);
  t.deepEqual(await ids('service=frontend&maxDuration=100us'), []);
  t.deepEqual(await ids('service=backend&maxDuration=100us'), [TRACE]);
  // outside the time window
  t.deepEqual((await get(`${url}/api/traces?service=frontend`)).json, { data: [], total: 0, limit: 0, offset: 0, errors: null });
  // by traceID (no service needed); a missing one is reported in errors with 200
  const missing = newTraceId();
  const r = await get(`${url}/api/traces?traceID=${TRACE}&traceID=${missing}`);
  t.is(r.status, 200);
  t.deepEqual(r.json, { data: [GOLDEN_TRACE], total: 0, limit: 0, offset: 0, errors: [{ msg: 'trace not found', traceID: missing }] });
});

test('search limit returns the newest traces first; never a trace without spans', async (t) => {
  const key = 'sa-limit';
  const { c, url } = await startStore(key);
  t.teardown(() => c.shutdown());
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    const id = newTraceId();
    ids.push(id);
    await source(`test_source/${key}`).traces!.consume([span({ traceId: id, service: 'lim', name: `op${i}` })]);
  }
  const r = await get(`${url}/api/traces?service=lim&limit=2`);
  const data = (r.json as { data: { traceID: string; spans: unknown[] }[] }).data;
  t.deepEqual(
    data.map((x) => x.traceID),
    [ids[3], ids[2]],
  );
  t.true(data.every((x) => x.spans.length > 0));
});

test('dependencies: parent/child across services in the window', async (t) => {
  const { c, url } = await golden('sa-deps');
  t.teardown(() => c.shutdown());
  const r = await get(`${url}/api/dependencies?endTs=1706678910000&lookback=60000`);
  t.is(r.text, JSON.stringify({ data: [{ parent: 'frontend', child: 'backend', callCount: 1 }], total: 0, limit: 0, offset: 0, errors: null }));
  t.deepEqual((r.json as { data: unknown[] }).data.length, 1);
  // outside the window (default: the last 24 h)
  t.deepEqual((await get(`${url}/api/dependencies`)).json, { data: [], total: 0, limit: 0, offset: 0, errors: null });
  t.deepEqual((await get(`${url}/api/dependencies?endTs=1706678910000&lookback=60000&service=nobody`)).json, { data: [], total: 0, limit: 0, offset: 0, errors: null });
});

test('every documented 400 has Jaeger\'s envelope, text and text/plain content type; unknown trace is 404', async (t) => {
  const { c, url } = await golden('sa-errors');
  t.teardown(() => c.shutdown());
  const cases: [string, string][] = [
    ['/api/traces', "parameter 'service' is required"],
    ['/api/traces?service=frontend&minDuration=abc', 'unable to parse param \'minDuration\': time: invalid duration "abc"'],
    ['/api/traces?service=frontend&maxDuration=5x', 'unable to parse param \'maxDuration\': time: unknown unit "x" in duration "5x"'],
    ['/api/traces?service=frontend&minDuration=2s&maxDuration=1s', "'maxDuration' should be greater than 'minDuration'"],
    [`/api/traces?service=frontend&tags=${encodeURIComponent('{"a":1}')}`, "malformed 'tags' parameter, cannot unmarshal JSON: json: cannot unmarshal number into Go value of type string"],
    ['/api/traces?service=frontend&tag=novalue', "malformed 'tag' parameter, expecting key:value, received: novalue"],
    ['/api/traces?traceID=xyz', 'cannot parse traceID param: strconv.ParseUint: parsing "xyz": invalid syntax'],
    ['/api/traces?service=frontend&start=abc', 'unable to parse param \'start\': strconv.ParseInt: parsing "abc": invalid syntax'],
    ['/api/traces?service=frontend&limit=0', 'invalid parameter: limit must be greater than 0'],
    ['/api/traces?service=frontend&start=2&end=1', 'invalid parameter: start time must be before end time'],
    ['/api/traces/xyz', 'strconv.ParseUint: parsing "xyz": invalid syntax'],
    [`/api/traces/${'a'.repeat(33)}`, `TraceID cannot be longer than 32 hex characters: ${'a'.repeat(33)}`],
    ['/api/operations', "parameter 'service' is required"],
    ['/api/dependencies?endTs=x', 'unable to parse param \'endTs\': strconv.ParseInt: parsing "x": invalid syntax'],
  ];
  for (const [path, msg] of cases) {
    const r = await get(url + path);
    t.is(r.status, 400, path);
    t.is(r.type, 'text/plain; charset=utf-8', path);
    t.is(r.text, err400(msg), path);
  }
  const bad = await get(`${url}/api/traces?service=frontend&tags=${encodeURIComponent('{bad')}`);
  t.is(bad.status, 400);
  t.regex(bad.text, /malformed 'tags' parameter, cannot unmarshal JSON: /);
  const nf = await get(`${url}/api/traces/${newTraceId()}`);
  t.is(nf.status, 404);
  t.is(nf.type, 'text/plain; charset=utf-8');
  t.is(nf.text, `${JSON.stringify({ data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 404, msg: 'trace not found' }] })}\n`);
});

test('hostile parameters are 400s (or plain empty answers), never 500', async (t) => {
  const { c, url } = await golden('sa-hostile');
  t.teardown(() => c.shutdown());
  const huge = 'x'.repeat(12_000);
  const deep = '['.repeat(5000) + ']'.repeat(5000);
  const bad400 = [
    `/api/traces?service=frontend&start=%00`,
    `/api/traces?service=frontend&limit=%FF%FE`,
    `/api/traces?service=frontend&limit=99999999999999999999`,
    `/api/traces?service=frontend&minDuration=${huge}`,
    `/api/traces?service=frontend&tags=${encodeURIComponent(deep)}`,
    `/api/traces?traceID=%00`,
    `/api/traces/%zz`,
    `/api/traces/%00`,
    `/api/services/%zz/operations`,
    `/api/dependencies?lookback=1e9`,
    `/api/logs?start=%00`,
    `/api/logs?limit=-1`,
    `/api/logs?level=${huge}`,
    `/trace/%3Cscript%3E`,
    `/api/v3/trace-summaries?query.startTimeMin=x`,
  ];
  for (const path of bad400) t.is((await get(url + path)).status, 400, path.slice(0, 80));
  const ok = [`/api/traces?service=%00`, `/api/traces?service=${huge}`, `/api/services/${huge}/operations`, '/?service=%3Cb%3E', '/api/logs?q=%00%FF'];
  for (const path of ok) t.is((await get(url + path)).status, 200, path.slice(0, 80));
  t.is((await get(`${url}/api/nope`)).status, 404);
  t.is((await get(`${url}/api/services`, { method: 'DELETE' })).status, 404);
});

test('/api/v3/trace-summaries', async (t) => {
  const { c, url } = await golden('sa-v3');
  t.teardown(() => c.shutdown());
  const r = await get(`${url}/api/v3/trace-summaries?query.serviceName=frontend&query.startTimeMin=2024-01-31T05:00:00Z&query.startTimeMax=2024-01-31T06:00:00.5Z`);
  t.is(r.status, 200);
  t.deepEqual(r.json, {
    summaries: [
      {
        traceId: TRACE,
        rootServiceName: 'frontend',
        rootOperationName: 'GET /checkout',
        minStartTimeUnixNano: '1706678909209712000',
        maxEndTimeUnixNano: '1706678909209835000',
        spanCount: 2,
        errorSpanCount: 1,
        orphanSpanCount: 0,
        services: [
          { name: 'frontend', spanCount: 1, errorSpanCount: 1 },
          { name: 'backend', spanCount: 1, errorSpanCount: 0 },
        ],
      },
    ],
  });
  const missing = await get(`${url}/api/v3/trace-summaries?query.serviceName=frontend`);
  t.is(missing.status, 400);
  t.deepEqual(missing.json, { error: { httpCode: 400, message: 'query.startTimeMin is required' } });
});

function logs(): DecodedLogRecord[] {
  const tid = 'abcdefabcdefabcdefabcdefabcdef01';
  return [
    logRecord({ service: 'la', body: 'starting up', severity: 9, timeMs: 1_700_000_000_000 }),
    logRecord({ service: 'la', body: 'payment failed: card declined', severity: 17, timeMs: 1_700_000_001_000, traceId: tid, attributes: { order: 7 } }),
    logRecord({ service: 'lb', body: 'slow query', severity: 13, timeMs: 1_700_000_002_000 }),
    logRecord({ service: 'lb', body: 'debug detail', severity: 5, timeMs: 1_700_000_003_000 }),
  ];
}

test('GET /api/logs filters by service, minimum level, time, trace id and substring, newest first', async (t) => {
  const key = 'sa-logs';
  const { c, url } = await startStore(key);
  t.teardown(() => c.shutdown());
  await source(`test_source/${key}`).logs!.consume(logs());
  const msgs = async (q: string) => {
    const r = await get(`${url}/api/logs?${q}`);
    t.is(r.status, 200, q);
    const body = r.json as { data: { message: string }[]; total: number };
    return [body.data.map((d) => d.message), body.total];
  };
  t.deepEqual(await msgs(''), [['debug detail', 'slow query', 'payment failed: card declined', 'starting up'], 4]);
  t.deepEqual(await msgs('level=warn'), [['slow query', 'payment failed: card declined'], 2]);
  t.deepEqual(await msgs('service=la'), [['payment failed: card declined', 'starting up'], 2]);
  t.deepEqual(await msgs('q=DECLINED'), [['payment failed: card declined'], 1]);
  t.deepEqual(await msgs('trace_id=abcdefabcdefabcdefabcdefabcdef01'), [['payment failed: card declined'], 1]);
  t.deepEqual(await msgs('start=1700000001000&end=2023-11-14T22:13:22Z'), [['slow query', 'payment failed: card declined'], 2]);
  t.deepEqual(await msgs('limit=1'), [['debug detail'], 4]);
  const one = await get(`${url}/api/logs?level=error`);
  t.deepEqual(one.json, {
    data: [
      {
        time: '2023-11-14T22:13:21Z',
        service: 'la',
        level: 'error',
        message: 'payment failed: card declined',
        trace_id: 'abcdefabcdefabcdefabcdefabcdef01',
        span_id: '',
        attributes: { order: 7 },
      },
    ],
    total: 1,
  });
  const bad = await get(`${url}/api/logs?level=loud`);
  t.is(bad.status, 400);
  t.regex((bad.json as { error: string }).error, /parameter 'level'/);
  t.is((await get(`${url}/api/logs?trace_id=zz`)).status, 400);
});

test('basic auth: 401 without or with wrong credentials, 200 with them', async (t) => {
  const key = 'sa-auth';
  const { c, url } = await startStore(key, { query: { auth: { username: 'grafana', password: 's3cret' } } });
  t.teardown(() => c.shutdown());
  const basic = (u: string, p: string) => ({ headers: { authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` } });
  const none = await fetch(`${url}/api/services`);
  t.is(none.status, 401);
  t.regex(none.headers.get('www-authenticate') ?? '', /^Basic/);
  t.is((await get(`${url}/api/services`, basic('grafana', 'wrong'))).status, 401);
  t.is((await get(`${url}/api/services`, basic('graf', 's3cret'))).status, 401);
  t.is((await get(`${url}/api/services`, basic('grafana', 's3cret'))).status, 200);
  t.is((await get(`${url}/`, basic('grafana', 's3cret'))).status, 200);
});
