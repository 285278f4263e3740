import http from 'node:http';
import test from 'ava';
import { z } from 'zod';
import { defineRoute, type AnyRoute, type RunningService } from '@lantern/shop-common';
import { productRouteDocs } from '@lantern/shop-product';
import { recommendationRouteDocs } from '@lantern/shop-recommendation';
import { userRouteDocs } from '@lantern/shop-user';
import { accessToken, admin, customer, startGateway, startProduct, startRecommendation, startStandIn, startUser, type GatewayInstance, type ProductInstance } from './helpers.js';

// A hostile corpus through the gateway to the real product, user and recommendation services (Postgres,
// Redis), and straight at each service: every answer is a 4xx naming the problem, none reaches a
// handler as an unexpected error, and the gateway never answers 5xx for the client's input.

let product: ProductInstance;
let user: Awaited<ReturnType<typeof startUser>>;
let reco: Awaited<ReturnType<typeof startRecommendation>>;
let echo: RunningService;
let gw: GatewayInstance;
let adminToken: string;
let customerToken: string;

/** An upstream that shows what arrived: the body text as received, for the byte-exact forwarding check. */
const echoRoutes: AnyRoute[] = [
  defineRoute({
    method: 'POST',
    path: '/inventory/echo',
    summary: 'echo',
    auth: 'user',
    body: z.record(z.string(), z.unknown()),
    handler: async ({ ctx }) => ({ raw: ctx.request.rawBody }),
  }),
];

test.before(async () => {
  [product, user, echo] = await Promise.all([startProduct(), startUser(), startStandIn('inventory', echoRoutes)]);
  reco = await startRecommendation([]);
  gw = await startGateway({ PRODUCT_SERVICE_URL: product.url, USER_SERVICE_URL: user.url, RECOMMENDATION_SERVICE_URL: reco.url, INVENTORY_SERVICE_URL: echo.url, BODY_LIMIT: '64kb' });
  [adminToken, customerToken] = await Promise.all([accessToken(admin), accessToken(customer)]);
});

test.after.always(async () => {
  await gw?.close();
  await Promise.all([user?.close(), reco?.close(), echo?.close()]);
  await product?.close();
});

test.afterEach((t) => {
  for (const [name, telemetry] of [
    ['gateway', gw.telemetry],
    ['product', product.telemetry],
    ['user', user.telemetry],
    ['recommendation', reco.telemetry],
  ] as const) {
    t.deepEqual(telemetry.errors, [], `${name}: no request may end in an unexpected error`);
  }
});

interface Reply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions poke into the JSON error body
  body: any;
}

/** node:http: the path goes out byte for byte (fetch would normalise it) and bodies may be any bytes. */
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
            // not JSON
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

const ID = '00000000-0000-4000-8000-000000000001';
const deep = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
const WRITES = new Set(['post', 'put', 'patch']);

/** Every write operation the gateway documents (its own and every proxied service's), parameters filled in. */
function gatewayWriteRoutes(): { method: string; path: string }[] {
  const doc = gw.gateway.openApi() as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((m) => WRITES.has(m))
      .map((m) => ({ method: m.toUpperCase(), path: path.replace(/\{[^}]+\}/g, ID) })),
  );
}

const serviceWrites = (routes: readonly AnyRoute[]) => routes.filter((r) => WRITES.has(r.method.toLowerCase())).map((r) => ({ method: r.method, path: r.path.replace(/:[A-Za-z0-9_]+/g, ID) }));

test('a body nested 5,000 levels gets 400 body_too_deep on every write route of the gateway, not 502', async (t) => {
  const routes = gatewayWriteRoutes();
  t.true(routes.length >= 8, `write routes found: ${routes.length}`);
  for (const r of routes) {
    const res = await send(gw.url, r.method, r.path, deep(5000), { authorization: `Bearer ${adminToken}` });
    t.is(res.status, 400, `${r.method} ${r.path}: ${JSON.stringify(res.body)}`);
    t.is(res.body?.error?.code, 'body_too_deep', `${r.method} ${r.path}`);
    t.regex(res.body?.error?.message ?? '', /64 levels/);
  }
  // an array nests as deep as an object does
  const arr = await send(gw.url, 'POST', '/api/users/register', '['.repeat(10_000) + ']'.repeat(10_000));
  t.is(arr.status, 400);
  t.is(arr.body?.error?.code, 'body_too_deep');
});

test('every write route of product, user and recommendation refuses the deep body itself (no gateway in front)', async (t) => {
  const services: [string, string, readonly AnyRoute[]][] = [
    ['product', product.url, productRouteDocs],
    ['user', user.url, userRouteDocs],
    ['recommendation', reco.url, recommendationRouteDocs],
  ];
  for (const [name, url, routes] of services) {
    const writes = serviceWrites(routes);
    t.true(writes.length > 0, name);
    for (const r of writes) {
      const res = await send(url, r.method, r.path, deep(5000));
      t.is(res.status, 400, `${name} ${r.method} ${r.path}`);
      t.is(res.body?.error?.code, 'body_too_deep', `${name} ${r.method} ${r.path}`);
    }
  }
});

interface Case {
  name: string;
  method: string;
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  token?: 'admin' | 'customer';
  status: number;
  code?: string;
  where?: string;
}

const cases: Case[] = [
  { name: 'NUL in the search query', method: 'GET', path: '/api/products/search?q=a%00b', status: 400, code: 'invalid_text', where: 'query.q' },
  { name: 'NUL in a list filter', method: 'GET', path: '/api/products?category=%00', status: 400, code: 'invalid_text', where: 'query.category' },
  { name: 'invalid UTF-8 in the search query', method: 'GET', path: '/api/products/search?q=%C3%28', status: 400, code: 'malformed_query', where: 'query.q' },
  { name: 'truncated escape in the search query', method: 'GET', path: '/api/products/search?q=%E0%A4%A', status: 400, code: 'malformed_query', where: 'query.q' },
  { name: 'truncated escape in a product path', method: 'GET', path: '/api/products/%E0%A4%A', status: 400, code: 'malformed_path', where: 'path' },
  { name: 'truncated escape in a details path', method: 'GET', path: '/api/products/%E0%A4%A/details', status: 400, code: 'malformed_path', where: 'path' },
  { name: 'NUL in a user path', method: 'GET', path: '/api/users/me%00', token: 'customer', status: 400, code: 'invalid_text', where: 'path' },
  { name: 'escaped surrogate in a user path', method: 'GET', path: '/api/users/%ED%A0%80', token: 'customer', status: 400, code: 'malformed_path' },
  { name: 'repeated limit', method: 'GET', path: '/api/products?limit=1&limit=2', status: 400, code: 'repeated_query_param', where: 'query.limit' },
  { name: 'repeated search term', method: 'GET', path: '/api/products/search?q=a&q=b', status: 400, code: 'repeated_query_param', where: 'query.q' },
  { name: 'qs-style __proto__[admin] (a plain unknown name here)', method: 'GET', path: '/api/products?__proto__[admin]=1', status: 400, code: 'validation_failed', where: 'query' },
  { name: '__proto__ query name', method: 'GET', path: '/api/products?__proto__=1', status: 400, code: 'forbidden_key', where: 'query.__proto__' },
  { name: 'constructor query name', method: 'GET', path: '/api/recommendations?constructor=1', token: 'customer', status: 400, code: 'forbidden_key' },
  { name: 'query of 5,000 characters', method: 'GET', path: `/api/products/search?q=${'a'.repeat(5000)}`, status: 414, code: 'query_too_long' },
  { name: 'NUL in a registration', method: 'POST', path: '/api/users/register', body: '{"email":"a@example.com","password":"correct horse battery","name":"a\\u0000b"}', status: 400, code: 'invalid_text', where: 'body.name' },
  { name: 'lone surrogate in a login', method: 'POST', path: '/api/users/login', body: '{"email":"a@example.com","password":"\\ud800"}', status: 400, code: 'invalid_text', where: 'body.password' },
  { name: 'non-UTF-8 login body', method: 'POST', path: '/api/users/login', body: Buffer.from([0x7b, 0x22, 0x65, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), status: 400, code: 'invalid_utf8' },
  { name: '__proto__ in a registration', method: 'POST', path: '/api/users/register', body: '{"__proto__":{"role":"admin"},"email":"a@example.com","password":"correct horse battery"}', status: 400, code: 'forbidden_key', where: 'body.__proto__' },
  { name: 'constructor in a profile update', method: 'PATCH', path: '/api/users/me', token: 'customer', body: '{"constructor":{"prototype":{"role":"admin"}}}', status: 400, code: 'forbidden_key', where: 'body.constructor' },
  { name: '1e400 as a price', method: 'POST', path: '/api/products', token: 'admin', body: '{"sku":"X-1","name":"x","description":"","category":"audio","priceCents":1e400,"currency":"EUR"}', status: 400, code: 'number_out_of_range', where: 'body.priceCents' },
  { name: 'text/plain login', method: 'POST', path: '/api/users/login', body: '{"email":"a@example.com","password":"x"}', headers: { 'content-type': 'text/plain' }, status: 415, code: 'unsupported_media_type' },
  { name: 'gzip-encoded login', method: 'POST', path: '/api/users/login', body: '{"email":"a@example.com","password":"x"}', headers: { 'content-encoding': 'gzip' }, status: 415, code: 'unsupported_encoding' },
  { name: 'oversize body', method: 'POST', path: '/api/users/login', body: JSON.stringify({ email: 'x'.repeat(70_000) }), status: 413, code: 'payload_too_large' },
  { name: 'header of 20,000 characters', method: 'GET', path: '/api/products', headers: { 'x-long': 'a'.repeat(20_000) }, status: 431 },
  { name: 'user agent of 12,000 characters (under Node’s header limit)', method: 'GET', path: '/api/products?limit=1', headers: { 'user-agent': 'a'.repeat(12_000) }, status: 200 },
  { name: 'authorization of 12,000 characters', method: 'GET', path: '/api/users/me', headers: { authorization: `Bearer ${'a'.repeat(12_000)}` }, status: 401 },
];

for (const c of cases) {
  test(`through the gateway: ${c.name} → ${c.status}${c.code ? ` ${c.code}` : ''}`, async (t) => {
    const token = c.token === 'admin' ? adminToken : c.token === 'customer' ? customerToken : undefined;
    const res = await send(gw.url, c.method, c.path, c.body, { ...(token ? { authorization: `Bearer ${token}` } : {}), ...c.headers });
    t.is(res.status, c.status, JSON.stringify(res.body)?.slice(0, 300));
    if (c.code) t.is(res.body?.error?.code, c.code);
    if (c.where) t.is(res.body?.error?.details?.[0]?.path, c.where);
  });
}

test('straight at the services: NUL in search, malformed escapes and prototype keys are 4xx there too', async (t) => {
  const direct: [string, string, number, string][] = [
    [product.url, '/products/search?q=a%00b', 400, 'invalid_text'],
    [product.url, '/products/%E0%A4%A', 400, 'malformed_path'],
    [product.url, '/products?limit=1&limit=2', 400, 'repeated_query_param'],
    [user.url, '/users/me?x=%FF', 400, 'malformed_query'],
    [reco.url, '/recommendations?__proto__=1', 400, 'forbidden_key'],
  ];
  for (const [base, path, status, code] of direct) {
    const res = await send(base, 'GET', path);
    t.is(res.status, status, `${base}${path}`);
    t.is(res.body?.error?.code, code, path);
  }
});

test('a clean body reaches the upstream byte for byte (whitespace and escapes kept, so signatures over it verify)', async (t) => {
  const text = '{ "note" : "caf\\u00e9 \\ud83d\\ude00",\n  "n": 1.50 }';
  const res = await send(gw.url, 'POST', '/api/inventory/echo', text, { authorization: `Bearer ${customerToken}` });
  t.is(res.status, 200, JSON.stringify(res.body));
  t.is(res.body.raw, text);
});
