import test from 'ava';
import { ConfigError } from '@lantern/shop-common';
import { loadRecommendationConfig } from '../src/config.js';
import { DEFAULT_EXPERIMENTS } from '../src/experiments.js';

const base = { INTERNAL_AUTH_SECRET: 'test-internal-secret-0123456789-abcdef' };

function keysOf(env: Record<string, string>): string[] {
  try {
    loadRecommendationConfig({ ...base, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => i.key);
    throw err;
  }
  return [];
}

test('defaults: port 8087, topic orders, the reco-algo 50/50 experiment, empty static list', (t) => {
  const c = loadRecommendationConfig(base);
  t.is(c.PORT, 8087);
  t.is(c.ORDERS_TOPIC, 'orders');
  t.deepEqual(c.RECO_EXPERIMENTS, DEFAULT_EXPERIMENTS);
  t.deepEqual(c.RECO_STATIC_PRODUCTS, []);
  t.true(c.RECO_CONVERT_ON_ORDER);
});

test('parses the static list and experiments JSON', (t) => {
  const c = loadRecommendationConfig({ ...base, RECO_STATIC_PRODUCTS: ' p1, p2 ,,p3', RECO_EXPERIMENTS: '[{"id":"x","variants":{"a":25,"b":75}}]' });
  t.deepEqual(c.RECO_STATIC_PRODUCTS, ['p1', 'p2', 'p3']);
  t.deepEqual(c.RECO_EXPERIMENTS, [{ id: 'x', variants: { a: 25, b: 75 } }]);
});

test('bad values are reported against their keys', (t) => {
  t.deepEqual(keysOf({ RECO_EXPERIMENTS: '{not json' }), ['RECO_EXPERIMENTS']);
  t.deepEqual(keysOf({ RECO_EXPERIMENTS: '[{"id":"x","variants":{"a":10}}]' }), ['RECO_EXPERIMENTS.0.variants']);
  t.deepEqual(keysOf({ RECO_STATIC_PRODUCTS: 'ok,not ok' }), ['RECO_STATIC_PRODUCTS.1']);
  t.deepEqual(keysOf({ RECO_DEFAULT_LIMIT: '30', RECO_MAX_LIMIT: '20' }), ['RECO_DEFAULT_LIMIT']);
  t.deepEqual(keysOf({ RECO_CONVERT_ON_ORDER: 'yes' }), ['RECO_CONVERT_ON_ORDER']);
  t.deepEqual(keysOf({ INTERNAL_AUTH_SECRET: 'short' }), ['INTERNAL_AUTH_SECRET']);
});
