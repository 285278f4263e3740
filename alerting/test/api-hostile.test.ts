// Hostile input at every API surface: each answer is a 4xx whose JSON-string body names the field, and
// nothing is stored (the store is checked afterwards). The server keeps serving throughout.
import test from 'ava';
import { fetchJson } from '@lantern/testkit';
import { hashPassword } from '../src/api/auth.js';
import { signAckLink } from '../src/notify/links.js';
import { ACK_SECRET, startApi } from './support/api-server.js';

const future = (ms: number) => new Date(Date.now() + ms).toISOString();
const okSilence = () => ({ matchers: [{ name: 'alertname', value: 'X', isRegex: false, isEqual: true }], startsAt: future(0), endsAt: future(3600_000), createdBy: 'a', comment: 'c' });

const bigLabels = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`l${i}`, 'v']));

const alertCases: { what: string; raw?: string; body?: unknown; type?: string; status: number; field: RegExp }[] = [
  { what: 'not an array', body: { labels: { a: 'b' } }, status: 400, field: /^alerts: expected an array/ },
  { what: 'no labels', body: [{ annotations: {} }], status: 400, field: /alerts\[0\]\.labels: required/ },
  { what: 'empty label set', body: [{ labels: {} }], status: 400, field: /alerts\[0\]\.labels: at least one label pair/ },
  { what: 'only empty values', body: [{ labels: { a: '' } }], status: 400, field: /alerts\[0\]\.labels: at least one label pair/ },
  { what: 'bad label name', body: [{ labels: { '1bad': 'x' } }], status: 400, field: /alerts\[0\]\.labels: invalid label name "1bad"/ },
  { what: 'number label value', body: [{ labels: { a: 1 } }], status: 400, field: /alerts\[0\]\.labels\.a: expected a string/ },
  { what: 'nested label value', body: [{ labels: { a: { b: 'c' } } }], status: 400, field: /alerts\[0\]\.labels\.a: expected a string/ },
  { what: '65 labels', body: [{ labels: { alertname: 'x', ...bigLabels } }], status: 400, field: /alerts\[0\]\.labels: 66 entries, at most 64/ },
  { what: 'huge label value', body: [{ labels: { alertname: 'x'.repeat(17 * 1024) } }], status: 400, field: /alerts\[0\]\.labels\.alertname: value longer than 16384 bytes/ },
  { what: 'huge label name', body: [{ labels: { ['n'.repeat(1100)]: 'x' } }], status: 400, field: /alerts\[0\]\.labels: name .* longer than 1024 bytes/ },
  { what: 'bad annotation name', body: [{ labels: { a: 'b' }, annotations: { 'bad-name': 'x' } }], status: 400, field: /alerts\[0\]\.annotations: invalid label name/ },
  { what: 'bad startsAt', body: [{ labels: { a: 'b' }, startsAt: 'yesterday' }], status: 400, field: /alerts\[0\]\.startsAt: invalid date-time "yesterday"/ },
  { what: 'numeric endsAt', body: [{ labels: { a: 'b' }, endsAt: 1700000000 }], status: 400, field: /alerts\[0\]\.endsAt: invalid date-time/ },
  { what: 'impossible date', body: [{ labels: { a: 'b' }, startsAt: '2024-13-45T99:00:00Z' }], status: 400, field: /alerts\[0\]\.startsAt: invalid date-time/ },
  { what: 'endsAt before startsAt', body: [{ labels: { a: 'b' }, startsAt: '2030-01-02T00:00:00Z', endsAt: '2030-01-01T00:00:00Z' }], status: 400, field: /alerts\[0\]\.endsAt: .* is before startsAt/ },
  { what: 'second alert bad (whole batch refused)', body: [{ labels: { alertname: 'GoodOne' } }, { labels: {} }], status: 400, field: /alerts\[1\]\.labels/ },
  { what: 'garbage JSON', raw: '[{"labels": {"a": "b"}', status: 400, field: /^body: invalid JSON/ },
  { what: 'empty body', raw: '', status: 400, field: /^body: empty/ },
  { what: 'deep nesting', raw: `${'['.repeat(5000)}${']'.repeat(5000)}`, status: 400, field: /^body: JSON nested deeper than 16 levels/ },
  { what: 'wrong content type', raw: '[{"labels":{"a":"b"}}]', type: 'text/plain', status: 415, field: /^content-type: expected application\/json/ },
  { what: 'form content type', raw: 'labels=a', type: 'application/x-www-form-urlencoded', status: 415, field: /^content-type/ },
  { what: 'over 1 MiB', raw: `[{"labels":{"a":"${'x'.repeat(1024 * 1024)}"}}]`, status: 413, field: /^body: larger than 1048576 bytes/ },
  { what: 'invalid UTF-8 is refused', raw: '\udc00', status: 400, field: /^body: (not valid UTF-8|invalid JSON)/ },
];

test('POST /api/v2/alerts: every hostile body is a 4xx naming the field; nothing stored', async (t) => {
  const s = await startApi('api_hostile_alerts');
  t.teardown(() => s.close());
  for (const c of alertCases) {
    const r = await fetchJson(`${s.url}/api/v2/alerts`, { method: 'POST', headers: c.type ? { 'content-type': c.type } : {}, ...(c.raw !== undefined ? { rawBody: c.raw } : { body: c.body }) });
    t.is(r.status, c.status, c.what);
    t.regex(r.headers.get('content-type') ?? '', /^application\/json/, c.what);
    t.is(typeof r.body, 'string', `${c.what}: body is a JSON string`);
    t.regex(String(r.body), c.field, c.what);
  }
  t.deepEqual(await s.stores.alerts.list(), [], 'nothing stored');
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  t.regex(metrics, /lantern_alerting_api_rejected_total\{reason="bad_request"\} \d+/);
});

test('POST /api/v2/silences: bad matchers, dates, fields are 400 naming the field; unknown id 404; nothing stored', async (t) => {
  const s = await startApi('api_hostile_silences');
  t.teardown(() => s.close());
  const cases: { what: string; body: unknown; status: number; field: RegExp }[] = [
    { what: 'no matchers', body: { ...okSilence(), matchers: [] }, status: 400, field: /^matchers: at least one matcher/ },
    { what: 'matchers not array', body: { ...okSilence(), matchers: 'alertname=X' }, status: 400, field: /^matchers: expected an array/ },
    { what: 'bad matcher name', body: { ...okSilence(), matchers: [{ name: 'a-b', value: 'x', isRegex: false }] }, status: 400, field: /^matchers\[0\]\.name: invalid label name/ },
    { what: 'bad regex', body: { ...okSilence(), matchers: [{ name: 'a', value: '(', isRegex: true }] }, status: 400, field: /^matchers\[0\]\.value: invalid regular expression/ },
    { what: 'lookahead (RE2 has none)', body: { ...okSilence(), matchers: [{ name: 'a', value: '(?=x)x', isRegex: true }] }, status: 400, field: /^matchers\[0\]\.value/ },
    { what: 'missing isRegex', body: { ...okSilence(), matchers: [{ name: 'a', value: 'x' }] }, status: 400, field: /^matchers\[0\]\.isRegex: required/ },
    { what: 'all match empty', body: { ...okSilence(), matchers: [{ name: 'a', value: '.*', isRegex: true }] }, status: 400, field: /^matchers: at least one matcher must not match the empty string/ },
    { what: 'too many matchers', body: { ...okSilence(), matchers: Array.from({ length: 65 }, (_, i) => ({ name: `l${i}`, value: 'x', isRegex: false })) }, status: 400, field: /^matchers: 65 matchers/ },
    { what: 'bad startsAt', body: { ...okSilence(), startsAt: 'now' }, status: 400, field: /^startsAt: invalid date-time "now"/ },
    { what: 'missing endsAt', body: { ...okSilence(), endsAt: undefined }, status: 400, field: /^endsAt: required/ },
    { what: 'end before start', body: { ...okSilence(), endsAt: future(-3600_000 + 1000), startsAt: future(3600_000) }, status: 400, field: /^endsAt: start time must be before end time/ },
    { what: 'end in the past', body: { ...okSilence(), startsAt: new Date(Date.now() - 7200_000).toISOString(), endsAt: new Date(Date.now() - 3600_000).toISOString() }, status: 400, field: /^endsAt: end time can't be in the past/ },
    { what: 'createdBy not string', body: { ...okSilence(), createdBy: 5 }, status: 400, field: /^createdBy: expected a string/ },
    { what: 'not an object', body: ['x'], status: 400, field: /^silence: expected a silence object/ },
    { what: 'unknown id', body: { ...okSilence(), id: '11111111-2222-4333-8444-555555555555' }, status: 404, field: /not found/ },
    { what: 'garbage id', body: { ...okSilence(), id: '../../etc/passwd' }, status: 404, field: /not found/ },
  ];
  for (const c of cases) {
    const r = await fetchJson(`${s.url}/api/v2/silences`, { method: 'POST', body: c.body });
    t.is(r.status, c.status, c.what);
    t.is(typeof r.body, 'string', c.what);
    t.regex(String(r.body), c.field, c.what);
  }
  t.deepEqual(await s.stores.silences.list(), [], 'nothing stored');
});

test('GET filters: bad matchers, bad regexes and bad booleans are 400 naming the parameter', async (t) => {
  const s = await startApi('api_hostile_filters');
  t.teardown(() => s.close());
  const cases: [string, RegExp][] = [
    ['/api/v2/alerts?filter=alertname', /^filter: invalid matcher "alertname"/],
    ['/api/v2/alerts?filter=' + encodeURIComponent('{a="b"}'), /^filter: invalid matcher/],
    ['/api/v2/alerts?filter=' + encodeURIComponent('a=~"("'), /^filter: .*invalid regular expression/],
    ['/api/v2/alerts?receiver=' + encodeURIComponent('('), /^receiver: invalid regular expression/],
    ['/api/v2/alerts?active=maybe', /^active: expected true or false, got "maybe"/],
    ['/api/v2/alerts/groups?muted=2', /^muted: expected true or false/],
    ['/api/v2/silences?filter=' + encodeURIComponent('a=="b"'), /^filter: invalid matcher/],
    ['/api/v2/silences?expired=nope', /^expired: expected true or false/],
    ['/api/v2/receivers?receiver_matchers=' + encodeURIComponent('!!'), /^receiver_matchers: invalid matcher/],
  ];
  for (const [path, field] of cases) {
    const r = await fetchJson(`${s.url}${path}`);
    t.is(r.status, 400, path);
    t.regex(String(r.body), field, path);
  }
  t.is((await fetchJson(`${s.url}/api/v2/alerts?${'filter=a%3D%22b%22&'.repeat(65)}`)).status, 400, '65 filters');
});

test('forged, altered and expired ack links are 403 with a clear message, and record nothing', async (t) => {
  const s = await startApi('api_hostile_ack');
  t.teardown(() => s.close());
  const key = '{}:{alertname="Forged"}';
  const good = new URL(signAckLink(key, { externalURL: s.url, secret: ACK_SECRET, now: new Date() }));
  const forged = new URL(signAckLink(key, { externalURL: s.url, secret: 'another-secret-0123456789abcdef', now: new Date() }));
  const expired = new URL(signAckLink(key, { externalURL: s.url, secret: ACK_SECRET, now: new Date(Date.now() - 13 * 3600_000) }));
  const otherKey = new URL(signAckLink('{}:{alertname="Other"}', { externalURL: s.url, secret: ACK_SECRET, now: new Date() }));
  const swapped = `${s.url}${otherKey.pathname}${good.search}`;
  const cases: [string, RegExp][] = [
    [forged.toString(), /signature does not match/],
    [swapped, /signature does not match/],
    [expired.toString(), /has expired/],
    [`${s.url}${good.pathname}`, /malformed/],
    [`${s.url}${good.pathname}?exp=abc&sig=zz`, /malformed/],
  ];
  for (const [url, msg] of cases) {
    for (const method of ['GET', 'POST']) {
      const r = await fetch(url, { method, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: method === 'POST' ? 'by=mallory' : undefined });
      t.is(r.status, 403, `${method} ${url}`);
      t.regex(await r.text(), msg);
    }
  }
  t.is(await s.stores.acks.get(key), undefined);
  // a valid link with an empty name: 400 naming the field, nothing recorded
  const empty = await fetch(good, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'by=' });
  t.is(empty.status, 400);
  t.regex(await empty.text(), /by: give your name/);
  t.is(await s.stores.acks.get(key), undefined);
  const ok = await fetch(good, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'by=alice' });
  t.is(ok.status, 200);
  t.is((await s.stores.acks.get(key))?.by, 'alice');
});

test('basic auth: every route but /-/healthy and ack links needs valid credentials', async (t) => {
  const s = await startApi('api_hostile_auth', { basicAuth: { users: { prom: hashPassword('s3cret', { N: 1024 }) } } });
  t.teardown(() => s.close());
  const auth = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
  for (const path of ['/api/v2/status', '/api/v2/alerts', '/', '/metrics', '/api/v1/rules']) {
    const r = await fetch(`${s.url}${path}`);
    t.is(r.status, 401, path);
    t.regex(r.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    t.is((await fetch(`${s.url}${path}`, { headers: auth('prom', 'wrong') })).status, 401, `${path} wrong password`);
    t.is((await fetch(`${s.url}${path}`, { headers: auth('nobody', 's3cret') })).status, 401, `${path} unknown user`);
    t.is((await fetch(`${s.url}${path}`, { headers: auth('prom', 's3cret') })).status, 200, `${path} with credentials`);
  }
  t.is((await fetch(`${s.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[{"labels":{"a":"b"}}]' })).status, 401);
  t.deepEqual(await s.stores.alerts.list(), []);
  t.is((await fetch(`${s.url}/-/healthy`)).status, 200);
  const link = signAckLink('{}:{alertname="A"}', { externalURL: s.url, secret: ACK_SECRET, now: new Date() });
  t.is((await fetch(link)).status, 200);
});
