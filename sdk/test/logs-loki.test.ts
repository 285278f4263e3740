// LOKI_URL set: lines go to stdout and, through pino-loki in a worker thread, to Loki. The Loki push
// API is played by an HTTP server in this process (the app runs in a child, as a service would).
import test, { type ExecutionContext } from 'ava';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startOtlpReceiver, waitFor } from '@lantern/testkit';
import { runFixture } from './fixtures/spawn.js';

interface LokiPush {
  streams: { stream: Record<string, string>; values: [string, string, Record<string, string>?][] }[];
}

/**
 * Plays Loki's push API and a trace receiver in this process, and runs loki-app.ts as a service
 * pointed at both. `refuseFirst` pushes are answered 503, as by a Loki that is restarting.
 */
async function lokiAndApp(t: ExecutionContext, env: Record<string, string>, refuseFirst = 0, userinfo = '') {
  const pushes: LokiPush[] = [];
  const auths: (string | undefined)[] = [];
  let refused = 0;
  const loki = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      auths.push(req.headers.authorization);
      if (refused < refuseFirst) {
        refused++;
        res.writeHead(503).end('Ingester not ready');
        return;
      }
      if (req.method === 'POST' && req.url === '/loki/api/v1/push') pushes.push(JSON.parse(body) as LokiPush);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => loki.listen(0, '127.0.0.1', r));
  t.teardown(() => loki.close());
  const receiver = await startOtlpReceiver();
  t.teardown(() => receiver.close());
  const app = runFixture('./loki-app.ts', {
    ...env,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    LOKI_URL: `http://${userinfo}127.0.0.1:${(loki.address() as AddressInfo).port}`,
  });
  t.teardown(() => app.kill());
  return { app, pushes, auths, refused: () => refused };
}

test('Loki gets labels service/level/env only, trace ids as structured metadata; flushed by shutdown', async (t) => {
  const { app, pushes } = await lokiAndApp(t, { OTEL_SERVICE_NAME: 'sdk-loki-test', DEPLOYMENT_ENVIRONMENT: 'test' });
  const ids = await app.message<{ traceId: string; spanId: string }>((m) => m.type === 'ready', 'fixture ready');
  app.child.kill('SIGTERM');
  t.is((await app.exited).code, 0, app.stderr());

  const entries = await waitFor(
    () => {
      const all = pushes.flatMap((p) => p.streams).filter((s) => s.values.some(([, line]) => line.includes('to loki')));
      return all.length > 0 ? all : undefined;
    },
    { what: `the line at Loki (got ${JSON.stringify(pushes)}; stderr ${app.stderr()})`, timeoutMs: 20_000 },
  );
  const [entry] = entries;
  t.deepEqual(entry?.stream, { level: 'warning', service: 'sdk-loki-test', env: 'test' });
  const [, line, meta] = entry?.values.find(([, l]) => l.includes('to loki')) ?? [];
  t.deepEqual(meta, { trace_id: ids.traceId, span_id: ids.spanId });
  const parsed = JSON.parse(line ?? '{}') as Record<string, unknown>;
  t.is(parsed.password, '[REDACTED]');
  t.is(parsed.orderId, 'o-7');
  t.false(JSON.stringify(pushes).includes('hunter2'));

  const stdoutLine = app.logs().find((l) => l.msg === 'to loki');
  t.is(stdoutLine?.trace_id, ids.traceId, 'stdout keeps the ids as plain fields');
  t.is(stdoutLine?.password, '[REDACTED]');
});

test('a push Loki refuses for a while (503) is retried, not dropped', async (t) => {
  const { app, pushes, refused } = await lokiAndApp(t, { OTEL_SERVICE_NAME: 'sdk-loki-retry-test' }, 2);
  await app.message((m) => m.type === 'ready', 'fixture ready');
  // delivered by the batch timer's push and its retries, while the service keeps running
  await waitFor(() => pushes.some((p) => p.streams.some((s) => s.values.some(([, line]) => line.includes('to loki')))), {
    what: `the line at Loki after ${refused()} refusals (stderr ${app.stderr()})`,
    timeoutMs: 20_000,
  });
  t.is(refused(), 2);
  app.child.kill('SIGTERM');
  t.is((await app.exited).code, 0, app.stderr());
});

test("credentials in LOKI_URL are sent as basic auth (the collector's Loki receiver checks them)", async (t) => {
  const { app, pushes, auths } = await lokiAndApp(t, { OTEL_SERVICE_NAME: 'sdk-loki-auth-test' }, 0, 'lantern:s3cr%2Ft@');
  await app.message((m) => m.type === 'ready', 'fixture ready');
  await waitFor(() => pushes.length > 0 || undefined, { what: `a push (stderr ${app.stderr()})`, timeoutMs: 20_000 });
  t.is(auths[0], `Basic ${Buffer.from('lantern:s3cr/t').toString('base64')}`);
});
