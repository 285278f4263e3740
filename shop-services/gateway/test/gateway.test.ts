import http from 'node:http';
import test from 'ava';
import { SignJWT } from 'jose';
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, type RunningService } from '@lantern/shop-common';
import {
  JWT_SECRET,
  accessToken,
  admin,
  call,
  customer,
  inventoryStandInRoutes,
  startGateway,
  startProduct,
  startRecommendation,
  startStandIn,
  userStandInRoutes,
  type GatewayInstance,
  type ProductInstance,
} from './helpers.js';

let product: ProductInstance;
let reco: { url: string; close(): Promise<void> };
let users: RunningService;
let inventory: RunningService;
let gw: GatewayInstance;
let productId: string;

test.before(async () => {
  product = await startProduct();
  [users, inventory] = await Promise.all([startStandIn('shop-user', userStandInRoutes()), startStandIn('inventory', inventoryStandInRoutes(7))]);
  const page = await product.svc.store.list({ limit: 3, offset: 0, status: 'active', sort: 'newest' });
  productId = page.items[0]!.id;
  reco = await startRecommendation(page.items.slice(1).map((p) => p.id));
  gw = await startGateway({
    PRODUCT_SERVICE_URL: product.url,
    USER_SERVICE_URL: users.url,
    INVENTORY_SERVICE_URL: inventory.url,
    RECOMMENDATION_SERVICE_URL: reco.url,
    // generous: a cold first call on a busy test machine must not look like a degraded part
    DETAILS_PART_TIMEOUT_MS: '5000',
  });
});

test.after.always(async () => {
  await gw?.close();
  await Promise.all([users?.close(), inventory?.close(), reco?.close()]);
  await product?.close();
});

test.afterEach((t) => {
  t.deepEqual(gw.telemetry.errors, [], 'no request may end in an unexpected error');
});

const expiredToken = () =>
  new SignJWT({ role: 'customer', typ: 'access' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(customer.id)
    .setIssuer(ACCESS_TOKEN_ISSUER)
    .setAudience(ACCESS_TOKEN_AUDIENCE)
    .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
    .setExpirationTime(Math.floor(Date.now() / 1000) - 600)
    .sign(new TextEncoder().encode(JWT_SECRET));

test('public browsing works without a token: list, one product, categories', async (t) => {
  const list = await call(gw.url, 'GET', '/api/products?limit=2&sort=price');
  t.is(list.status, 200);
  t.is(list.body.items.length, 2);
  t.like(list.body, { limit: 2, offset: 0 });
  const one = await call(gw.url, 'GET', `/api/products/${productId}`);
  t.is(one.status, 200);
  t.is(one.body.id, productId);
  const cats = await call(gw.url, 'GET', '/api/categories');
  t.is(cats.status, 200);
  t.true(cats.body.items.length > 0);
});

test('upstream 4xx pass through: bad input is the product service 400, unknown id its 404', async (t) => {
  const bad = await call(gw.url, 'GET', '/api/products?limit=1000');
  t.is(bad.status, 400);
  t.is(bad.body.error.code, 'validation_failed');
  t.true(bad.body.error.details.some((d: { path: string }) => d.path === 'query.limit'));
  const missing = await call(gw.url, 'GET', '/api/products/00000000-0000-4000-8000-000000000000');
  t.is(missing.status, 404);
  t.is(missing.body.error.code, 'product_not_found');
  t.regex(missing.headers.get('content-type') ?? '', /^application\/json/);
  // a wrong method: the product service's 405 arrives with its Allow header
  const wrongMethod = await call(gw.url, 'PATCH', '/api/categories', { body: {}, token: await accessToken(customer) });
  t.is(wrongMethod.status, 405);
  t.is(wrongMethod.body.error.code, 'method_not_allowed');
  t.regex(wrongMethod.headers.get('allow') ?? '', /GET/);
});

test('unknown routes are 404', async (t) => {
  for (const path of ['/api/nothing-here', '/nothing', '/api']) {
    const res = await call(gw.url, 'GET', path);
    t.is(res.status, 404, path);
    t.is(res.body.error.code, 'route_not_found', path);
  }
});

test('protected routes need a valid token: missing, expired and tampered are 401', async (t) => {
  const none = await call(gw.url, 'GET', '/api/users/me');
  t.is(none.status, 401);
  t.is(none.body.error.code, 'token_missing');
  const expired = await call(gw.url, 'GET', '/api/users/me', { token: await expiredToken() });
  t.is(expired.status, 401);
  t.is(expired.body.error.code, 'token_expired');
  const good = await accessToken(customer);
  const [h, p, s] = good.split('.');
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), role: 'admin' })).toString('base64url');
  const tampered = await call(gw.url, 'GET', '/api/users/me', { token: `${h}.${forged}.${s}` });
  t.is(tampered.status, 401);
  t.is(tampered.body.error.code, 'token_invalid');
});

test('a valid token reaches the user service, which sees the verified user and client address', async (t) => {
  const res = await call(gw.url, 'GET', '/api/users/me', { token: await accessToken(customer) });
  t.is(res.status, 200);
  t.like(res.body, { id: customer.id, role: 'customer', email: customer.email, caller: { service: 'gateway' } });
  t.is(res.body.forwardedFor, '127.0.0.1');
});

test('login is public and mapped to the user service auth route', async (t) => {
  const res = await call(gw.url, 'POST', '/api/users/login', { body: { email: 'a@example.test' } });
  t.is(res.status, 200);
  t.deepEqual(res.body, { loggedIn: 'a@example.test' });
});

test('public browsing still works with an expired token', async (t) => {
  const res = await call(gw.url, 'GET', `/api/products/${productId}`, { token: await expiredToken() });
  t.is(res.status, 200);
  t.is(res.body.id, productId);
});

test('admin product writes: customer gets the product service 403, admin creates', async (t) => {
  const body = { sku: `GW-${Date.now().toString(36)}`, name: 'Gateway Widget', category: 'tools', priceCents: 1234 };
  const anon = await call(gw.url, 'POST', '/api/products', { body });
  t.is(anon.status, 401);
  const asCustomer = await call(gw.url, 'POST', '/api/products', { body, token: await accessToken(customer) });
  t.is(asCustomer.status, 403);
  t.is(asCustomer.body.error.code, 'forbidden');
  const asAdmin = await call(gw.url, 'POST', '/api/products', { body, token: await accessToken(admin) });
  t.is(asAdmin.status, 201);
  t.like(asAdmin.body, { sku: body.sku, priceCents: 1234 });
  const bad = await call(gw.url, 'POST', '/api/products', { body: { ...body, priceCents: 'x' }, token: await accessToken(admin) });
  t.is(bad.status, 400);
  t.true(bad.body.error.details.some((d: { path: string }) => d.path === 'body.priceCents'));
});

test('an upstream that is not configured answers 503 service_unavailable', async (t) => {
  const res = await call(gw.url, 'GET', '/api/orders', { token: await accessToken(customer) });
  t.is(res.status, 503);
  t.deepEqual(res.body.error, { code: 'service_unavailable', message: 'order service is not configured' });
});

test('an oversize body is refused with 413', async (t) => {
  const res = await call(gw.url, 'POST', '/api/users/login', { body: { email: 'x', padding: 'p'.repeat(20_000) } });
  t.is(res.status, 413);
  t.is(res.body.error.code, 'payload_too_large');
  t.regex(res.body.error.message, /exceeds/);
});

test('dot segments in the path are refused before routing', async (t) => {
  // fetch would normalise the path, so send it raw
  for (const path of ['/api/products/%2e%2e/users/me', '/api/products/x/../../users/me']) {
    const status = await new Promise<number>((resolve, reject) => {
      const { hostname, port } = new URL(gw.url);
      const req = http.request({ hostname, port, path, method: 'GET' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    t.is(status, 400, path);
  }
});

test('product details aggregate product, stock, reviews and recommendations', async (t) => {
  const res = await call(gw.url, 'GET', `/api/products/${productId}/details`);
  t.is(res.status, 200);
  t.is(res.body.product.id, productId);
  t.deepEqual(res.body.degraded_parts, [], JSON.stringify(gw.telemetry.warnings));
  t.deepEqual(res.body.stock, { productId, available: 7 }, 'fields outside the schema are not exposed');
  t.true(Array.isArray(res.body.reviews.items));
  t.true(res.body.recommendations.items.length > 0);
  t.false(res.body.degraded);
  t.deepEqual(res.body.degraded_parts, []);
});

test('product details: unknown product is 404, malformed id 400', async (t) => {
  const missing = await call(gw.url, 'GET', '/api/products/00000000-0000-4000-8000-000000000000/details');
  t.is(missing.status, 404);
  t.is(missing.body.error.code, 'product_not_found');
  const bad = await call(gw.url, 'GET', '/api/products/not-a-uuid/details');
  t.is(bad.status, 400);
  t.true(bad.body.error.details.some((d: { path: string }) => d.path === 'params.id'));
});

test('/api/docs is an OpenAPI 3.1 document built from the route schemas', async (t) => {
  const res = await call(gw.url, 'GET', '/api/docs');
  t.is(res.status, 200);
  t.is(res.body.openapi, '3.1.0');
  const paths = res.body.paths;
  t.truthy(paths['/api/products/{id}']?.get);
  t.truthy(paths['/api/products/{id}/details']?.get);
  t.deepEqual(paths['/api/products/{id}'].get.security, [], 'public route');
  t.is(paths['/api/products']?.post?.security, undefined, 'writes need the bearer token');
  const details = paths['/api/products/{id}/details'].get.responses['200'].content['application/json'].schema;
  t.deepEqual(details.properties.degraded_parts.items.enum, ['stock', 'reviews', 'recommendations']);
  t.truthy(paths['/api/products/{id}'].get.parameters.find((p: { name: string; in: string }) => p.name === 'id' && p.in === 'path'));
  // the user and recommendation services' routes, at their gateway paths
  t.deepEqual(paths['/api/users/login']?.post?.security, [], 'login is public');
  t.truthy(paths['/api/users/login'].post.requestBody, 'with its body schema');
  t.truthy(paths['/api/users/me']?.get);
  t.is(paths['/api/users/me'].get.security, undefined, 'the profile needs the bearer token');
  t.truthy(paths['/api/users/me/addresses/{id}']?.delete);
  t.truthy(paths['/api/recommendations']?.get?.parameters.find((p: { name: string }) => p.name === 'limit'));
  t.falsy(paths['/auth/login'], 'no upstream-internal paths');
  t.falsy(paths['/api/views'], 'routes the gateway does not forward are not documented');
  // the checkout services
  t.truthy(paths['/api/orders']?.post?.requestBody, 'placing an order, with its body schema');
  t.truthy(paths['/api/orders/{id}/pay']?.post);
  t.truthy(paths['/api/inventory/{productId}']?.get);
  t.truthy(paths['/api/notifications']?.get);
  t.deepEqual(paths['/api/payments/callbacks/{channel}']?.post?.security, [], 'provider callbacks carry a signature, not a token');
  // the flash sale: listings public, buying with a token
  t.deepEqual(paths['/api/flash-sales']?.get?.security, [], 'sale listings are public');
  t.truthy(paths['/api/flash-sales/{id}/purchase']?.post, 'buying');
  t.is(paths['/api/flash-sales/{id}/purchase'].post.security, undefined, 'buying needs the bearer token');
});
