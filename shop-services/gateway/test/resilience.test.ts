import test from 'ava';
import { waitFor } from '@lantern/testkit';
import { accessToken, call, closedPortUrl, customer, startCountingServer, startGateway, startProduct, type ProductInstance } from './helpers.js';

let product: ProductInstance;
let productId: string;

test.before(async () => {
  product = await startProduct();
  const page = await product.svc.store.list({ limit: 1, offset: 0, status: 'active', sort: 'newest' });
  productId = page.items[0]!.id;
});

test.after.always(async () => {
  await product?.close();
});

test('details still answer 200 when recommendation is down, marked degraded', async (t) => {
  const gw = await startGateway({ PRODUCT_SERVICE_URL: product.url, RECOMMENDATION_SERVICE_URL: await closedPortUrl(), DETAILS_PART_TIMEOUT_MS: '5000' });
  t.teardown(() => gw.close());
  const res = await call(gw.url, 'GET', `/api/products/${productId}/details`);
  t.is(res.status, 200);
  t.is(res.body.product.id, productId);
  t.true(res.body.degraded);
  // inventory is not configured in this deployment: stock degrades too
  t.deepEqual(res.body.degraded_parts, ['stock', 'recommendations']);
  t.is(res.body.recommendations, null);
  t.is(res.body.stock, null);
  t.true(Array.isArray(res.body.reviews.items), 'reviews come from the product service, which is up');
  t.deepEqual(gw.telemetry.errors, []);
});

test('the recommendation breaker opens after repeated failures and calls stop reaching it', async (t) => {
  const failing = await startCountingServer(500);
  t.teardown(() => failing.close());
  const gw = await startGateway({
    PRODUCT_SERVICE_URL: product.url,
    RECOMMENDATION_SERVICE_URL: failing.url,
    BREAKER_FAILURE_THRESHOLD: '3',
    BREAKER_HALF_OPEN_MS: '600000',
    UPSTREAM_RETRIES: '0',
    DETAILS_PART_TIMEOUT_MS: '5000',
  });
  t.teardown(() => gw.close());
  for (let i = 0; i < 3; i++) {
    const res = await call(gw.url, 'GET', `/api/products/${productId}/details`);
    t.is(res.status, 200);
    t.true(res.body.degraded_parts.includes('recommendations'));
  }
  t.is(failing.count(), 3);
  t.is(gw.gateway.upstreams.get('recommendation')?.breakerState, 'open');
  for (let i = 0; i < 5; i++) {
    const res = await call(gw.url, 'GET', `/api/products/${productId}/details`);
    t.is(res.status, 200);
    t.is(res.body.product.id, productId);
    t.true(res.body.degraded_parts.includes('recommendations'));
  }
  t.is(failing.count(), 3, 'no recommendation call is attempted while the breaker is open');
  t.deepEqual(gw.telemetry.errors, []);
});

test('details are 503 when the product service itself is down', async (t) => {
  const gw = await startGateway({ PRODUCT_SERVICE_URL: await closedPortUrl(), UPSTREAM_RETRIES: '0' });
  t.teardown(() => gw.close());
  const res = await call(gw.url, 'GET', `/api/products/${productId}/details`);
  t.is(res.status, 503);
  t.is(res.body.error.code, 'service_unavailable');
  const proxied = await call(gw.url, 'GET', `/api/products/${productId}`);
  t.true(proxied.status === 502 || proxied.status === 503, `proxied read: ${proxied.status}`);
  t.deepEqual(gw.telemetry.errors, []);
});

test('over the rate limit: 429 with Retry-After; users and addresses have separate buckets', async (t) => {
  const gw = await startGateway({
    PRODUCT_SERVICE_URL: product.url,
    RATE_LIMIT_IP_CAPACITY: '3',
    RATE_LIMIT_IP_REFILL_PER_SECOND: '0.01',
    RATE_LIMIT_USER_CAPACITY: '2',
    RATE_LIMIT_USER_REFILL_PER_SECOND: '0.01',
  });
  t.teardown(() => gw.close());
  const path = `/api/products/${productId}`;
  for (let i = 0; i < 3; i++) t.is((await call(gw.url, 'GET', path)).status, 200);
  const limited = await call(gw.url, 'GET', path);
  t.is(limited.status, 429);
  t.is(limited.body.error.code, 'rate_limited');
  const retryAfter = limited.headers.get('retry-after');
  t.regex(retryAfter ?? '', /^\d+$/);
  t.true(Number(retryAfter) >= 1);

  const token = await accessToken(customer);
  for (let i = 0; i < 2; i++) t.is((await call(gw.url, 'GET', path, { token })).status, 200, 'the user has a bucket of its own');
  t.is((await call(gw.url, 'GET', path, { token })).status, 429);
});

test('with leased tokens (the default) the bucket still holds: a burst past capacity gets 429s, the rest 200', async (t) => {
  const gw = await startGateway({
    PRODUCT_SERVICE_URL: product.url,
    RATE_LIMIT_IP_CAPACITY: '40',
    RATE_LIMIT_IP_REFILL_PER_SECOND: '20',
    RATE_LIMIT_LEASE_TOKENS: '20',
  });
  t.teardown(() => gw.close());
  const started = Date.now();
  const statuses = await Promise.all(Array.from({ length: 70 }, () => call(gw.url, 'GET', `/api/products/${productId}`).then((r) => r.status)));
  const elapsedS = (Date.now() - started) / 1000;
  const ok = statuses.filter((s) => s === 200).length;
  // 40 in the bucket (leases of min(20, 20/s × 0.5 s, 40 / 4) = 10 come out of it) plus what refilled meanwhile
  t.true(ok >= 40 && ok <= 40 + Math.ceil(20 * elapsedS) + 1, `200s: ${ok} in ${elapsedS} s`);
  t.is(statuses.filter((s) => s === 429).length, 70 - ok);
});

test('Redis down: the limiter fails open and requests are served', async (t) => {
  const gw = await startGateway({ PRODUCT_SERVICE_URL: product.url, RATE_LIMIT_IP_CAPACITY: '1' }, { redisUrl: `redis://${new URL(await closedPortUrl()).host}` });
  t.teardown(() => gw.close());
  for (let i = 0; i < 3; i++) {
    const res = await call(gw.url, 'GET', `/api/products/${productId}`);
    t.is(res.status, 200);
  }
  await waitFor(async () => gw.telemetry.warnings.some((w) => w.includes('failing open')), { timeoutMs: 5_000, what: 'fail-open warning' });
  t.is(gw.telemetry.warnings.filter((w) => w.includes('failing open')).length, 1, 'logged once, not per request');
});

test('Redis down with RATE_LIMIT_FAIL_MODE=closed: 503', async (t) => {
  const gw = await startGateway({ PRODUCT_SERVICE_URL: product.url, RATE_LIMIT_FAIL_MODE: 'closed' }, { redisUrl: `redis://${new URL(await closedPortUrl()).host}` });
  t.teardown(() => gw.close());
  const res = await call(gw.url, 'GET', `/api/products/${productId}`);
  t.is(res.status, 503);
  t.is(res.body.error.code, 'rate_limiter_unavailable');
});
