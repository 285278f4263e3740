import test from 'ava';
import { assignVariant, DEFAULT_EXPERIMENTS } from '../src/experiments.js';
import { conversionsTotal, exposuresTotal, servedTotal } from '../src/metrics.js';
import { closedPort, counterValue, startTestService, type ApiBody } from './helpers.js';

const reco = DEFAULT_EXPERIMENTS[0]!;

function detailPaths(body: ApiBody): string[] {
  return (body.error?.details ?? []).map((d) => d.path);
}

test('no service token or a forged one → 401', async (t) => {
  const svc = await startTestService(t);
  const none = await svc.call('GET', '/recommendations', { token: null });
  t.is(none.status, 401);
  t.is(none.body.error?.code, 'service_token_missing');
  const forged = await svc.call('GET', '/recommendations', { token: 'eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl' });
  t.is(forged.status, 401);
  t.is(forged.body.error?.code, 'service_token_invalid');
});

test('bad query input → 400 naming the field', async (t) => {
  const svc = await startTestService(t, { RECO_MAX_LIMIT: '20' });
  const cases: [string, string][] = [
    ['/recommendations?limit=0', 'query.limit'],
    ['/recommendations?limit=21', 'query.limit'],
    ['/recommendations?limit=ten', 'query.limit'],
    ['/recommendations?userId=has%20space', 'query.userId'],
    ['/recommendations?userId=a&userId=b', 'query.userId'],
    ['/recommendations?category=Not%20A%20Slug', 'query.category'],
    [`/recommendations?productId=${'x'.repeat(200)}`, 'query.productId'],
    ['/recommendations/bought-together/bad%20id', 'params.productId'],
    ['/recommendations/bought-together/p1?limit=-1', 'query.limit'],
    ['/experiments/reco-algo/assignment', 'query.userId'],
    ['/experiments/reco-algo/assignment?userId=u1&expose=maybe', 'query.expose'],
  ];
  for (const [path, field] of cases) {
    const r = await svc.call('GET', path);
    t.is(r.status, 400, path);
    t.true(detailPaths(r.body).includes(field), `${path}: ${JSON.stringify(r.body)}`);
    t.true(r.body.error?.message.includes(field), `${path}: message names ${field}`);
  }
});

test('bad bodies → 400 naming the field; unknown experiment or route → 404', async (t) => {
  const svc = await startTestService(t);
  const noProduct = await svc.call('POST', '/views', { body: { userId: 'u1' } });
  t.is(noProduct.status, 400);
  t.deepEqual(detailPaths(noProduct.body), ['body.productId']);
  const badCategory = await svc.call('POST', '/views', { body: { userId: 'u1', productId: 'p1', category: 42 } });
  t.deepEqual(detailPaths(badCategory.body), ['body.category']);
  const malformed = await svc.call('POST', '/views', { rawBody: '{"userId": ' });
  t.is(malformed.status, 400);
  t.is(malformed.body.error?.code, 'malformed_json');
  const noUser = await svc.call('POST', '/experiments/reco-algo/conversions', { body: {} });
  t.is(noUser.status, 400);
  t.deepEqual(detailPaths(noUser.body), ['body.userId']);

  const unknownExp = await svc.call('GET', '/experiments/nope/assignment?userId=u1');
  t.is(unknownExp.status, 404);
  t.regex(unknownExp.body.error?.message ?? '', /experiment "nope" is not configured/);
  const unknownConv = await svc.call('POST', '/experiments/nope/conversions', { body: { userId: 'u1' } });
  t.is(unknownConv.status, 404);
  t.is((await svc.call('GET', '/nothing-here')).status, 404);
});

test('views feed personalised recommendations; new users get popular; empty model gets static', async (t) => {
  const svc = await startTestService(t);
  const staticRes = await svc.call('GET', '/recommendations?userId=nobody&limit=2');
  t.is(staticRes.status, 200);
  t.is(staticRes.body.source, 'static');
  t.deepEqual((staticRes.body.items as { productId: string }[]).map((i) => i.productId), ['s1', 's2']);

  await svc.store.recordOrder({ orderId: 'o1', userId: 'x', items: [{ productId: 'a', quantity: 1, category: 'audio' }, { productId: 'b', quantity: 1, category: 'audio' }] });
  t.is((await svc.call('POST', '/views', { body: { userId: 'viewer', productId: 'a', category: 'audio' } })).status, 204);

  const personalisedBefore = await counterValue(servedTotal, { level: 'personalised' });
  const personal = await svc.call('GET', '/recommendations?userId=viewer&limit=1');
  t.is(personal.body.source, 'personalised');
  t.deepEqual(personal.body.items, [{ productId: 'b', score: 1, source: 'personalised' }]);
  t.deepEqual(personal.body.experiment, { id: 'reco-algo', variant: assignVariant(reco, 'viewer') });
  t.is(await counterValue(servedTotal, { level: 'personalised' }), personalisedBefore + 1);

  // The end user from the token stands in for a missing userId.
  const viaToken = await svc.call('GET', '/recommendations?limit=1', { user: { id: 'viewer', role: 'customer' } });
  t.is(viaToken.body.source, 'personalised');

  const popular = await svc.call('GET', '/recommendations?userId=stranger&category=audio&limit=2');
  t.is(popular.body.source, 'popular');
  t.is((popular.body.items as { productId: string }[])[0]?.productId, 'a'); // ordered (3) + viewed (1)

  const bt = await svc.call('GET', '/recommendations/bought-together/a');
  t.deepEqual(bt.body, { productId: 'a', items: [{ productId: 'b', count: 1 }] });
});

test('exposures and conversions are counted per configured variant', async (t) => {
  const svc = await startTestService(t, { RECO_EXPERIMENTS: JSON.stringify([{ id: 'banner', variants: { red: 30, blue: 70 } }]) });
  const variant = assignVariant({ id: 'banner', variants: { red: 30, blue: 70 } }, 'u-42');
  const labels = { experiment: 'banner', variant };
  const exposed = await counterValue(exposuresTotal, labels);
  const converted = await counterValue(conversionsTotal, labels);

  const a = await svc.call('GET', '/experiments/banner/assignment?userId=u-42');
  t.is(a.status, 200);
  t.is(a.body.variant, variant);
  t.is((await svc.call('GET', '/experiments/banner/assignment?userId=u-42')).body.variant, variant);
  await svc.call('GET', '/experiments/banner/assignment?userId=u-42&expose=false');
  t.is(await counterValue(exposuresTotal, labels), exposed + 2);

  const c = await svc.call('POST', '/experiments/banner/conversions', { body: { userId: 'u-42' } });
  t.is(c.status, 202);
  t.deepEqual(c.body, { experiment: 'banner', userId: 'u-42', variant });
  t.is(await counterValue(conversionsTotal, labels), converted + 1);

  // reco-algo is not configured here: recommendations carry no experiment.
  const r = await svc.call('GET', '/recommendations?userId=u-42');
  t.is(r.body.experiment, undefined);
});

test('Redis unreachable: recommendations degrade to static with 200; writes answer 503, never 500', async (t) => {
  const port = await closedPort();
  const svc = await startTestService(t, {}, { redisUrl: `redis://127.0.0.1:${port}` });
  const staticBefore = await counterValue(servedTotal, { level: 'static' });
  const r = await svc.call('GET', '/recommendations?userId=u1&productId=s2&limit=5');
  t.is(r.status, 200);
  t.is(r.body.source, 'static');
  t.is(r.body.degraded, true);
  t.deepEqual((r.body.items as { productId: string }[]).map((i) => i.productId), ['s1', 's3']);
  t.is(await counterValue(servedTotal, { level: 'static' }), staticBefore + 1);

  const view = await svc.call('POST', '/views', { body: { userId: 'u1', productId: 'p1' } });
  t.is(view.status, 503);
  t.is(view.body.error?.code, 'model_unavailable');
  t.is((await svc.call('GET', '/recommendations/bought-together/p1')).status, 503);
});
