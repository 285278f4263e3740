import test from 'ava';
import { z } from 'zod';
import { loadConfig, ConfigError, commonConfigSchema } from '../src/index.js';

test('loadConfig parses and coerces; ConfigError names every bad key without echoing values', (t) => {
  const ok = loadConfig(commonConfigSchema, { PORT: '8081', INTERNAL_AUTH_SECRET: 'x'.repeat(32), KAFKA_BROKERS: 'a:1, b:2' });
  t.is(ok.PORT, 8081);
  t.deepEqual(ok.KAFKA_BROKERS, ['a:1', 'b:2']);

  const err = t.throws(() => loadConfig(commonConfigSchema.extend({ JWT_SECRET: z.string().min(32) }), { PORT: 'eighty', INTERNAL_AUTH_SECRET: 'short-secret-value' }), {
    instanceOf: ConfigError,
  });
  t.deepEqual(err.issues.map((i) => i.key).sort(), ['INTERNAL_AUTH_SECRET', 'JWT_SECRET', 'PORT']);
  t.false(err.message.includes('short-secret-value'));
});
