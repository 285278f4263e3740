// ESM patching: modules imported after the preload (or after a programmatic start()) are instrumented.
import test from 'ava';
import { infra, startOtlpReceiver } from '@lantern/testkit';
import { runFixture } from './fixtures/spawn.js';

test('preload: pg imported statically by the ESM app gets patched', async (t) => {
  const receiver = await startOtlpReceiver();
  t.teardown(() => receiver.close());
  const app = runFixture('./esm-pg-app.ts', { OTEL_SERVICE_NAME: 'esm-preload', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, DATABASE_URL: infra.databaseUrl });
  t.teardown(() => app.kill());
  t.is((await app.exited).code, 0, app.stderr());
  const spans = await receiver.waitForSpans((s) => s.some((x) => x.name === 'esm work'));
  const parent = spans.find((s) => s.name === 'esm work');
  const pg = spans.find((s) => s.attributes['db.query.text'] === 'select 1 as one');
  t.truthy(pg, 'pg span');
  t.is(pg?.parentSpanId, parent?.spanId);
});

test('programmatic: await start() then import() of the app patches pg without a preload', async (t) => {
  const receiver = await startOtlpReceiver();
  t.teardown(() => receiver.close());
  const app = runFixture('./programmatic-app.ts', { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, DATABASE_URL: infra.databaseUrl }, { preload: false });
  t.teardown(() => app.kill());
  t.is((await app.exited).code, 0, app.stderr());
  const spans = await receiver.waitForSpans((s) => s.some((x) => x.name === 'programmatic work'));
  const parent = spans.find((s) => s.name === 'programmatic work');
  const pg = spans.find((s) => s.attributes['db.query.text'] === 'select 2 as two');
  t.truthy(pg, 'pg span');
  t.is(pg?.parentSpanId, parent?.spanId);
  t.is(pg?.resource.attributes['service.name'], 'programmatic-fixture');
});
