// No span lost on SIGTERM: spans sit in the batch processor (5 s delay) when the signal arrives;
// the graceful sequence must flush them and then exit 0 by itself.
import test from 'ava';
import { startOtlpReceiver } from '@lantern/testkit';
import { runFixture } from './fixtures/spawn.js';

test('SIGTERM: servers closed, hooks run, every buffered span exported, exit code 0', async (t) => {
  const receiver = await startOtlpReceiver();
  t.teardown(() => receiver.close());
  const spans = 300;
  const app = runFixture('./sigterm-app.ts', {
    OTEL_SERVICE_NAME: 'sdk-sigterm-test',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_TRACES_SAMPLER: 'always_on',
    SPANS: String(spans),
  });
  t.teardown(() => app.kill());
  await app.message((m) => m.type === 'ready', 'fixture ready');
  t.is(receiver.spans().length, 0, 'spans are still buffered before the signal');

  app.child.kill('SIGTERM');
  const exit = await app.exited;
  t.deepEqual(exit, { code: 0, signal: null }, app.stderr());

  const got = receiver.spans().filter((s) => s.name.startsWith('job '));
  t.is(got.length, spans);
  t.is(new Set(got.map((s) => s.attributes['job.index'])).size, spans);
  const msgs = app.logs().map((l) => l.msg);
  t.true(msgs.indexOf('shutting down') < msgs.indexOf('jobs drained'), 'hooks run after shutdown starts');
  t.true(msgs.includes('drained; flushing telemetry'));
});
