import http from 'node:http';
import test from 'ava';
import { z } from 'zod';
import { createServiceApp, runService, defineRoute, createInternalTokenSigner, type RunningService } from '../src/index.js';
import { findBadValue, jsonNestsDeeperThan } from '../src/http/hostile-input.js';
import { SECRET, testTelemetry } from './helpers.js';

// Every class of hostile input a held-out corpus may throw at a service built on createServiceApp:
// each must get a 4xx naming what was wrong and where, never a 5xx, and never reach a route.

const nested = (levels: number, leaf = '1') => '{"a":'.repeat(levels) + leaf + '}'.repeat(levels);
const deepArray = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

const routes = [
  defineRoute({
    method: 'POST',
    path: '/items',
    summary: 'Strict body',
    auth: 'none',
    body: z.strictObject({ name: z.string().max(5000), qty: z.number().int().optional(), meta: z.record(z.string(), z.unknown()).optional() }),
    status: 201,
    handler: async ({ body }) => ({ name: body.name, qty: body.qty ?? null }),
  }),
  defineRoute({
    method: 'POST',
    path: '/docs',
    summary: 'Free-form body: echoed back, so deep values would reach JSON.stringify',
    auth: 'none',
    body: z.record(z.string(), z.unknown()),
    handler: async ({ body, ctx }) => ({ echoed: body, raw: ctx.request.rawBody }),
  }),
  defineRoute({
    method: 'GET',
    path: '/search',
    summary: 'Query',
    auth: 'none',
    query: z.strictObject({ q: z.string().max(200), limit: z.coerce.number().int().max(100).optional() }),
    handler: async ({ query }) => ({ q: query.q }),
  }),
  defineRoute({
    method: 'GET',
    path: '/items/:id',
    summary: 'Path',
    auth: 'none',
    params: z.object({ id: z.string().max(100) }),
    handler: async ({ params }) => ({ id: params.id }),
  }),
  defineRoute({
    method: 'GET',
    path: '/decode',
    summary: 'Decodes a header the way careless code would (URIError on bad input)',
    auth: 'none',
    handler: async ({ ctx }) => ({ decoded: decodeURIComponent(ctx.get('x-encoded')) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/recurse',
    summary: 'Recursion driven by input: stack overflow on deep input',
    auth: 'none',
    handler: async ({ ctx }) => {
      const depth = Number(ctx.get('x-depth'));
      const down = (n: number): number => (n <= 0 ? 0 : 1 + down(n - 1));
      return { depth: down(depth) };
    },
  }),
  defineRoute({ method: 'POST', path: '/private', summary: 'Needs a service token', auth: 'none', handler: async () => ({ ok: true }) }),
];

let open: RunningService;
let guarded: RunningService;
const telemetry = testTelemetry('hostile');
const guardedTelemetry = testTelemetry('hostile-guarded');

test.before(async () => {
  open = await runService({ app: createServiceApp({ telemetry, routes, serviceAuth: false, bodyLimit: '64kb' }), telemetry, port: 0, host: '127.0.0.1' });
  const app = createServiceApp({ telemetry: guardedTelemetry, routes, serviceAuth: { secret: SECRET } });
  guarded = await runService({ app, telemetry: guardedTelemetry, port: 0, host: '127.0.0.1' });
});
test.after.always(async () => {
  await open?.close();
  await guarded?.close();
});
test.afterEach((t) => {
  t.deepEqual(telemetry.errors, [], 'no request may reach the safe-500 handler');
  t.deepEqual(guardedTelemetry.errors, []);
});

interface Reply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions poke into the JSON error body
  body: any;
}

/** node:http, not fetch: paths are sent byte for byte and bodies may be invalid UTF-8. */
function send(base: string, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON (Node's own 431 has no body)
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

interface Case {
  name: string;
  method: string;
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  status: number;
  code?: string;
  /** details[0].path of the error. */
  where?: string;
}

const cases: Case[] = [
  // nesting
  { name: 'array nested 5,000 levels', method: 'POST', path: '/docs', body: deepArray(5000), status: 400, code: 'body_too_deep', where: 'body' },
  { name: 'object nested 5,000 levels', method: 'POST', path: '/docs', body: nested(5000), status: 400, code: 'body_too_deep', where: 'body' },
  { name: 'object nested 65 levels (one past the limit)', method: 'POST', path: '/docs', body: nested(65), status: 400, code: 'body_too_deep', where: 'body' },
  { name: 'deep nesting inside a strict body', method: 'POST', path: '/items', body: `{"name":"x","meta":${nested(3000)}}`, status: 400, code: 'body_too_deep' },
  // text
  { name: 'NUL in a body string', method: 'POST', path: '/items', body: '{"name":"a\\u0000b"}', status: 400, code: 'invalid_text', where: 'body.name' },
  { name: 'NUL in a nested key', method: 'POST', path: '/items', body: '{"name":"x","meta":{"a\\u0000":1}}', status: 400, code: 'invalid_text', where: 'body.meta.a\\u0000' },
  { name: 'lone surrogate in a body string', method: 'POST', path: '/items', body: '{"name":"\\ud800x"}', status: 400, code: 'invalid_text', where: 'body.name' },
  { name: 'lone low surrogate deep in an array', method: 'POST', path: '/docs', body: '{"list":["ok",["\\udc00"]]}', status: 400, code: 'invalid_text', where: 'body.list.1.0' },
  { name: 'body bytes that are not UTF-8', method: 'POST', path: '/items', body: Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), status: 400, code: 'invalid_utf8', where: 'body' },
  { name: 'encoded surrogate bytes (CESU-8) in the body', method: 'POST', path: '/items', body: Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), status: 400, code: 'invalid_utf8' },
  // prototype keys and numbers
  { name: '__proto__ key', method: 'POST', path: '/docs', body: '{"__proto__":{"admin":true}}', status: 400, code: 'forbidden_key', where: 'body.__proto__' },
  { name: 'constructor.prototype nested', method: 'POST', path: '/items', body: '{"name":"x","meta":{"constructor":{"prototype":{"admin":true}}}}', status: 400, code: 'forbidden_key', where: 'body.meta.constructor' },
  { name: '1e400 (Infinity after JSON.parse)', method: 'POST', path: '/items', body: '{"name":"x","qty":1e400}', status: 400, code: 'number_out_of_range', where: 'body.qty' },
  { name: '-1e400 deep in a free-form body', method: 'POST', path: '/docs', body: '{"a":{"b":[-1e400]}}', status: 400, code: 'number_out_of_range', where: 'body.a.b.0' },
  // content types and sizes
  { name: 'text/plain body', method: 'POST', path: '/items', body: '{"name":"x"}', headers: { 'content-type': 'text/plain' }, status: 415, code: 'unsupported_media_type' },
  { name: 'form body', method: 'POST', path: '/items', body: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'unsupported_media_type' },
  { name: 'body without a content type', method: 'POST', path: '/items', body: '{"name":"x"}', headers: { 'content-type': '' }, status: 415, code: 'unsupported_media_type' },
  { name: 'latin1 charset', method: 'POST', path: '/items', body: '{"name":"x"}', headers: { 'content-type': 'application/json; charset=latin1' }, status: 415, code: 'unsupported_encoding' },
  { name: 'gzip content encoding', method: 'POST', path: '/items', body: '{"name":"x"}', headers: { 'content-encoding': 'gzip' }, status: 415, code: 'unsupported_encoding' },
  { name: 'body over the limit', method: 'POST', path: '/items', body: JSON.stringify({ name: 'x'.repeat(70_000) }), status: 413, code: 'payload_too_large' },
  { name: 'malformed JSON', method: 'POST', path: '/items', body: '{"name":', status: 400, code: 'malformed_json' },
  { name: 'a JSON scalar', method: 'POST', path: '/items', body: '"x"', status: 400, code: 'malformed_json' },
  // path
  { name: 'truncated percent-escape in the path', method: 'GET', path: '/items/%E0%A4%A', status: 400, code: 'malformed_path', where: 'path' },
  { name: 'escaped non-UTF-8 byte in the path', method: 'GET', path: '/items/%FF', status: 400, code: 'malformed_path', where: 'path' },
  { name: 'escaped surrogate in the path', method: 'GET', path: '/items/%ED%A0%80', status: 400, code: 'malformed_path', where: 'path' },
  { name: 'NUL in the path', method: 'GET', path: '/items/a%00b', status: 400, code: 'invalid_text', where: 'path' },
  // query
  { name: 'NUL in a query value', method: 'GET', path: '/search?q=a%00b', status: 400, code: 'invalid_text', where: 'query.q' },
  { name: 'NUL in a query name', method: 'GET', path: '/search?q=a&x%00=1', status: 400, code: 'invalid_text', where: 'query.x\\u0000' },
  { name: 'truncated escape in a query value', method: 'GET', path: '/search?q=%E0%A4%A', status: 400, code: 'malformed_query', where: 'query.q' },
  { name: 'non-UTF-8 byte in a query value', method: 'GET', path: '/search?q=%FF', status: 400, code: 'malformed_query', where: 'query.q' },
  { name: 'bare % in a query value', method: 'GET', path: '/search?q=100%', status: 400, code: 'malformed_query', where: 'query.q' },
  { name: 'repeated query parameter', method: 'GET', path: '/search?q=a&q=b', status: 400, code: 'repeated_query_param', where: 'query.q' },
  { name: '__proto__ query parameter', method: 'GET', path: '/search?q=a&__proto__=1', status: 400, code: 'forbidden_key', where: 'query.__proto__' },
  { name: 'constructor query parameter', method: 'GET', path: '/search?constructor=x', status: 400, code: 'forbidden_key', where: 'query.constructor' },
  { name: 'query of 5,000 characters', method: 'GET', path: `/search?q=${'a'.repeat(5000)}`, status: 414, code: 'query_too_long', where: 'query' },
  { name: '100 query parameters', method: 'GET', path: `/search?${Array.from({ length: 100 }, (_, i) => `k${i}=1`).join('&')}`, status: 400, code: 'too_many_query_params', where: 'query' },
  // headers: Node refuses over-long headers itself (16 KiB), before any middleware
  { name: 'header of 20,000 characters', method: 'GET', path: '/search?q=a', headers: { 'x-long': 'a'.repeat(20_000) }, status: 431 },
  // faults raised by careless code on input the guards cannot see (here: a header)
  { name: 'URIError in a handler', method: 'GET', path: '/decode', headers: { 'x-encoded': '%E0%A4%A' }, status: 400, code: 'malformed_uri' },
  { name: 'stack overflow in a handler', method: 'GET', path: '/recurse', headers: { 'x-depth': '1000000' }, status: 400, code: 'input_too_deep' },
];

for (const c of cases) {
  test(`${c.name} → ${c.status}${c.code ? ` ${c.code}` : ''}`, async (t) => {
    const r = await send(open.url, c.method, c.path, c.body, c.headers);
    t.is(r.status, c.status, JSON.stringify(r.body));
    if (c.code) t.is(r.body?.error?.code, c.code);
    if (c.where) t.is(r.body?.error?.details?.[0]?.path, c.where);
    if (c.code) t.notRegex(r.body?.error?.message ?? '', /stack|at .*\.ts/, 'no internals in the message');
  });
}

test('input refused before the service token is checked: the guards protect unauthenticated surfaces too', async (t) => {
  const r = await send(guarded.url, 'POST', '/private', deepArray(5000));
  t.is(r.status, 400);
  t.is(r.body?.error?.code, 'body_too_deep');
  const q = await send(guarded.url, 'GET', '/search?q=%00');
  t.is(q.status, 400);
  const token = await createInternalTokenSigner({ service: 'gateway', secret: SECRET }).sign('hostile-guarded');
  const ok = await send(guarded.url, 'POST', '/private', '{}', { authorization: `Bearer ${token}` });
  t.is(ok.status, 200);
});

test('what is fine passes: 64 levels, brackets inside strings, emoji, non-ASCII query, + as space, raw body kept', async (t) => {
  const atLimit = nested(64);
  const r64 = await send(open.url, 'POST', '/docs', atLimit);
  t.is(r64.status, 200);
  t.is(r64.body.raw, atLimit, 'ctx.request.rawBody is the text as received (for signatures)');
  const brackets = JSON.stringify({ s: '['.repeat(2000) + '{'.repeat(2000), t: 'a "quoted" \\ [' });
  t.is((await send(open.url, 'POST', '/docs', brackets)).status, 200);
  const emoji = await send(open.url, 'POST', '/items', '{"name":"caf\\u00e9 \\ud83d\\ude00 😀"}');
  t.is(emoji.status, 201);
  t.is(emoji.body.name, 'café 😀 😀');
  const q = await send(open.url, 'GET', '/search?q=%C3%A9t%C3%A9+d%27hiver&limit=5');
  t.is(q.status, 200);
  t.is(q.body.q, "été d'hiver");
  const path = await send(open.url, 'GET', '/items/caf%C3%A9');
  t.is(path.body.id, 'café');
  const empty = await send(open.url, 'POST', '/private', '');
  t.is(empty.status, 200, 'an empty body with a JSON content type is no body');
});

test('jsonNestsDeeperThan: counts objects and arrays, skips strings and escapes, handles 1,000,000 levels without recursion', (t) => {
  t.false(jsonNestsDeeperThan(nested(64), 64));
  t.true(jsonNestsDeeperThan(nested(65), 64));
  t.false(jsonNestsDeeperThan(JSON.stringify({ s: '[[[[{{{{', e: 'a\\"[[[' }), 2));
  t.true(jsonNestsDeeperThan(deepArray(1_000_000), 64));
  t.false(jsonNestsDeeperThan('[1,[2],[3],[4,[5]]]', 3));
  t.true(jsonNestsDeeperThan('[1,[2],[3],[4,[5,[6]]]]', 3));
});

test('findBadValue walks without recursion and names the first bad value', (t) => {
  let deep: unknown = 'a\u0000';
  for (let i = 0; i < 100_000; i++) deep = [deep];
  const bad = findBadValue(deep, 'body');
  t.is(bad?.code, 'invalid_text');
  t.true(bad?.path.startsWith('body.0.0.0'));
  t.is(findBadValue({ a: [1, 'x', { b: null, c: true }] }, 'body'), undefined);
  t.is(findBadValue(JSON.parse('{"a":{"__proto__":1}}'), 'body')?.path, 'body.a.__proto__');
});
