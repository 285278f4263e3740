import test from 'ava';
import { buildOpenApi, ConfigError } from '@lantern/shop-common';
import { loadProductConfig, productRouteDocs } from '../src/index.js';

test('the route definitions build an OpenAPI document', (t) => {
  const doc = buildOpenApi(productRouteDocs, { title: 'product', version: '1' }) as { paths: Record<string, Record<string, { parameters: { name: string; schema: { enum?: string[] } }[] }>> };
  t.deepEqual(Object.keys(doc.paths).sort(), ['/categories', '/products', '/products/search', '/products/{id}', '/products/{id}/reviews']);
  t.truthy(doc.paths['/products']?.post);
  t.truthy(doc.paths['/products/{id}']?.delete);
  const sort = doc.paths['/products']?.get?.parameters.find((p) => p.name === 'sort');
  t.deepEqual(sort?.schema.enum, ['price', 'name', 'newest', 'rating']);
});

test('documentation-only routes refuse to run', async (t) => {
  const list = productRouteDocs.find((r) => r.method === 'GET' && r.path === '/categories');
  await t.throwsAsync(() => list!.handler({}), { message: /documentation only/ });
});

test('config defaults and errors name the key', (t) => {
  const base = { INTERNAL_AUTH_SECRET: 'x'.repeat(40) };
  const cfg = loadProductConfig(base);
  t.like(cfg, { PORT: 8082, DB_SCHEMA: 'product', SEED_ON_START: false, CACHE_DOUBLE_DELETE_DELAY_MS: 500 });
  t.true(loadProductConfig({ ...base, SEED_ON_START: 'true' }).SEED_ON_START);
  const err = t.throws(() => loadProductConfig({ ...base, SEED_ON_START: 'yes', CACHE_JITTER_RATIO: '2', DB_SCHEMA: 'Bad-Name' }), { instanceOf: ConfigError }) as ConfigError;
  t.deepEqual(err.issues.map((i) => i.key).sort(), ['CACHE_JITTER_RATIO', 'DB_SCHEMA', 'SEED_ON_START']);
  t.throws(() => loadProductConfig({}), { message: /INTERNAL_AUTH_SECRET/ });
});
