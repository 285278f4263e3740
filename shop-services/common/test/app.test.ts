import test from 'ava';
import { z } from 'zod';
import { SignJWT } from 'jose';
import {
  createServiceApp,
  runService,
  defineRoute,
  createInternalTokenSigner,
  NotFoundError,
  buildOpenApi,
  type RunningService,
  type AuthUser,
} from '../src/index.js';
import { SECRET, TEST_TRACE_ID, testTelemetry } from './helpers.js';

const items = new Map<string, { id: string; name: string; qty: number }>();

const routes = [
  defineRoute({
    method: 'POST',
    path: '/items',
    summary: 'Create an item',
    auth: 'none',
    body: z.object({ name: z.string().min(1), qty: z.number().int().positive(), email: z.email().optional() }),
    response: z.object({ id: z.string(), name: z.string(), qty: z.number() }),
    status: 201,
    handler: async ({ body }) => {
      const item = { id: String(items.size + 1), name: body.name, qty: body.qty, secret: 'never-leaks' };
      items.set(item.id, item);
      return item;
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/items/:id',
    summary: 'Get an item',
    auth: 'user',
    params: z.object({ id: z.string().regex(/^\d+$/, 'must be a numeric id') }),
    query: z.object({ verbose: z.coerce.boolean().default(false) }),
    handler: async ({ params, user }) => {
      const item = items.get(params.id);
      if (!item) throw new NotFoundError(`item ${params.id} not found`);
      return { ...item, viewer: user.id };
    },
  }),
  defineRoute({ method: 'GET', path: '/admin/items', summary: 'List items', auth: 'admin', handler: async () => [...items.values()] }),
  defineRoute({
    method: 'GET',
    path: '/boom',
    summary: 'Unexpected fault',
    auth: 'none',
    handler: async () => {
      throw new Error('database password is hunter2');
    },
  }),
];

let svc: RunningService;
const signer = createInternalTokenSigner({ service: 'gateway', secret: SECRET });
const customer: AuthUser = { id: "u1", role: "customer" };
const admin: AuthUser = { id: "a1", role: "admin" };

test.before(async () => {
  const telemetry = testTelemetry('items');
  const app = createServiceApp({ telemetry, routes, bodyLimit: '1kb', serviceAuth: { secret: SECRET } });
  svc = await runService({ app, telemetry, port: 0, host: '127.0.0.1', resources: { noop: () => undefined } });
});
test.after.always(() => svc?.close());

async function call(method: string, path: string, opts: { token?: string | null; body?: string; user?: typeof customer } = {}) {
  const token = opts.token === undefined ? await signer.sign('items', opts.user) : opts.token;
  const res = await fetch(svc.url + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: opts.body,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as { error?: { code: string; message: string; details?: { path: string }[] }; trace_id?: string } & Record<string, unknown>) : undefined };
}

test.serial('valid body → 201 and the response schema strips undeclared fields', async (t) => {
  const r = await call('POST', '/items', { body: JSON.stringify({ name: "Robert'); DROP TABLE items;--", qty: 2 }) });
  t.is(r.status, 201);
  t.deepEqual(r.body, { id: '1', name: "Robert'); DROP TABLE items;--", qty: 2 });
});

test('bad body → 400 naming each field with its location', async (t) => {
  const r = await call('POST', '/items', { body: JSON.stringify({ qty: 'two', email: 'nope' }) });
  t.is(r.status, 400);
  t.is(r.body?.error?.code, 'validation_failed');
  t.deepEqual(r.body?.error?.details?.map((d) => d.path).sort(), ['body.email', 'body.name', 'body.qty']);
  t.regex(r.body?.error?.message ?? '', /body\.name/);
  t.is(r.body?.trace_id, TEST_TRACE_ID);
});

test('malformed JSON → 400, oversize body → 413, both with clear messages', async (t) => {
  const bad = await call('POST', '/items', { body: '{"name": "x", ' });
  t.is(bad.status, 400);
  t.is(bad.body?.error?.code, 'malformed_json');
  const big = await call('POST', '/items', { body: JSON.stringify({ name: 'x'.repeat(5000), qty: 1 }) });
  t.is(big.status, 413);
  t.regex(big.body?.error?.message ?? '', /exceeds the 1024 byte limit/);
});

test('path params validated; unknown id → 404 with the id; unknown route → 404 JSON', async (t) => {
  const badId = await call('GET', '/items/abc', { user: customer });
  t.is(badId.status, 400);
  t.is(badId.body?.error?.details?.[0]?.path, 'params.id');
  const missing = await call('GET', '/items/999', { user: customer });
  t.is(missing.status, 404);
  t.is(missing.body?.error?.message, 'item 999 not found');
  const route = await call('GET', '/nowhere');
  t.is(route.status, 404);
  t.is(route.body?.error?.code, 'route_not_found');
  const method = await call('DELETE', '/admin/items');
  t.is(method.status, 405);
});

test('service auth: missing, tampered, expired, wrong-audience and wrong-secret tokens → 401', async (t) => {
  const none = await call('GET', '/admin/items', { token: null });
  t.is(none.status, 401);
  t.is(none.body?.error?.code, 'service_token_missing');

  const good = await signer.sign('items', admin);
  const [h, p, s] = good.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url')}.${s}`;
  t.is((await call('GET', '/admin/items', { token: forged })).status, 401);

  const key = new TextEncoder().encode(SECRET);
  const expired = await new SignJWT({ typ: 'internal', role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('gateway').setAudience('items').setSubject('a1').setIssuedAt(Math.floor(Date.now() / 1000) - 600).setExpirationTime(Math.floor(Date.now() / 1000) - 300).sign(key);
  const exp = await call('GET', '/admin/items', { token: expired });
  t.is(exp.status, 401);
  t.is(exp.body?.error?.code, 'service_token_expired');

  const otherAud = await signer.sign('payments', admin);
  t.is((await call('GET', '/admin/items', { token: otherAud })).status, 401);
  const otherSecret = await createInternalTokenSigner({ service: 'gateway', secret: 'another-secret-another-secret-12345' }).sign('items', admin);
  t.is((await call('GET', '/admin/items', { token: otherSecret })).status, 401);
  // a token without typ=internal (e.g. an end-user access token) is not a service token
  const noTyp = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('gateway').setAudience('items').setSubject('a1').setExpirationTime('1m').sign(key);
  t.is((await call('GET', '/admin/items', { token: noTyp })).status, 401);
});

test('end-user requirement: no user → 401, customer on admin route → 403, admin → 200', async (t) => {
  t.is((await call('GET', '/items/1')).status, 401);
  const forbidden = await call('GET', '/admin/items', { user: customer });
  t.is(forbidden.status, 403);
  t.is(forbidden.body?.error?.code, 'forbidden');
  t.is((await call('GET', '/admin/items', { user: admin })).status, 200);
});

test('unexpected errors reach the telemetry middleware (safe 500, no internals)', async (t) => {
  const r = await call('GET', '/boom');
  t.is(r.status, 500);
  t.false(JSON.stringify(r.body).includes('hunter2'));
});

test('buildOpenApi documents paths, params, bodies and public routes', (t) => {
  const doc = buildOpenApi(routes, { title: 'items', version: '1', pathPrefix: '/api' }) as { paths: Record<string, Record<string, { parameters: { name: string; in: string }[]; requestBody?: unknown; security?: unknown[] }>> };
  const get = doc.paths['/api/items/{id}']?.get;
  t.deepEqual(get?.parameters.map((p) => `${p.in}:${p.name}`), ['path:id', 'query:verbose']);
  t.truthy(doc.paths['/api/items']?.post?.requestBody);
  t.deepEqual(doc.paths['/api/items']?.post?.security, []);
});

test('buildOpenApi 3.1: documented routes at other paths, 401 only where a token is needed, common responses', (t) => {
  const [first] = routes;
  if (!first) return t.fail('no routes');
  const doc = buildOpenApi(
    [
      { route: first, path: '/gw/items/:id', public: false },
      { route: first, path: '/gw/public/:id', public: true },
    ],
    { title: 'gw', version: '1', openapi: '3.1.0', unauthorized: 'token needed', commonResponses: { '429': 'slow down' } },
  ) as { openapi: string; jsonSchemaDialect?: string; paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown[] }>> };
  t.is(doc.openapi, '3.1.0');
  t.is(doc.jsonSchemaDialect, 'https://json-schema.org/draft/2020-12/schema');
  const method = first.method.toLowerCase();
  const guarded = doc.paths['/gw/items/{id}']?.[method];
  const open = doc.paths['/gw/public/{id}']?.[method];
  t.truthy(guarded?.responses['401']);
  t.truthy(guarded?.responses['429']);
  t.is(open?.responses['401'], undefined);
  t.deepEqual(open?.security, []);
});
