// exporterhelper: bounded queue (refuse or block when full), retry with backoff and Retry-After,
// permanent failures counted and logged, persistent queue files (written whole, resumed in order,
// deleted when done), and shutdown (memory: drain then count the rest; persistent: leave the files).
import test from 'ava';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createQueuedExporter, jittered, parseRetryAfter, RetryableExportError, type ExportRequest, type QueuedExporterOptions } from '../src/exporterhelper/index.js';
import { decodeTraces } from '../src/otlp/codec.js';
import { RefusedError } from '../src/pipeline/errors.js';
import type { Exporter, Host } from '../src/pipeline/types.js';
import { SelfTelemetry } from '../src/telemetry/self.js';
import { metricValue, tempDir } from './support/collector.js';
import { span } from './support/spans.js';

interface TestHost extends Host {
  logs: Record<string, unknown>[];
  metric(name: string, labels?: Record<string, string>): Promise<number | undefined>;
}

function testHost(dataDir = tempDir('exporterhelper-')): TestHost {
  const logs: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      cb();
    },
  });
  const telemetry = new SelfTelemetry({ defaultMetrics: false });
  return {
    telemetry,
    derivedMetrics: new Registry(),
    logger: pino({ level: 'info' }, stream),
    dataDir,
    logs,
    metric: async (name, labels) => metricValue(await telemetry.registry.metrics(), name, labels),
  };
}

const fastRetry = { enabled: true, initial_interval: 5, max_interval: 20, multiplier: 2, max_elapsed_time: 10_000 };
const queue = (o: Partial<QueuedExporterOptions['queue']> = {}) => ({ enabled: true, num_consumers: 1, queue_size: 10, block_on_overflow: false, persistent: false, ...o });

function exporter(host: Host, send: QueuedExporterOptions['send'], o: Partial<QueuedExporterOptions> = {}): Exporter {
  return createQueuedExporter({ id: o.id ?? 'test_exp', host, signals: ['traces'], queue: queue(), retry: fastRetry, send, ...o });
}

/** A send() that records span ids of what it was given and succeeds. */
function recorder() {
  const got: string[][] = [];
  return { got, send: async (req: ExportRequest) => void got.push(decodeTraces(req.body).map((s) => s.spanId)) };
}

const until = async (cond: () => boolean | Promise<boolean>) => {
  for (let i = 0; i < 600 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 25));
};

test('a full memory queue refuses (RefusedError, counted) and nothing accepted is lost', async (t) => {
  const host = testHost();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const { got, send } = recorder();
  const e = exporter(host, async (req) => {
    await gate;
    await send(req);
  }, { queue: queue({ queue_size: 2 }) });
  await e.start!();
  const c = e.consumer('traces');
  const batches = [[span()], [span()], [span()]];
  await c.consume(batches[0]!);
  await until(async () => (await host.metric('otelcol_exporter_queue_size', { exporter: 'test_exp', signal: 'traces' })) === 0); // taken by the worker
  await c.consume(batches[1]!);
  await c.consume(batches[2]!);
  t.is(await host.metric('otelcol_exporter_queue_size', { exporter: 'test_exp', signal: 'traces' }), 2);
  t.is(await host.metric('otelcol_exporter_queue_capacity', { exporter: 'test_exp', signal: 'traces' }), 2);
  const err = await t.throwsAsync(c.consume([span(), span()]));
  t.true(err instanceof RefusedError);
  t.is(await host.metric('otelcol_exporter_enqueue_failed_spans_total', { exporter: 'test_exp' }), 2);
  release();
  await e.shutdown();
  t.deepEqual(got, batches.map((b) => b.map((s) => s.spanId)));
  t.is(await host.metric('otelcol_exporter_sent_spans_total', { exporter: 'test_exp' }), 3);
});

test('block_on_overflow waits for room instead of refusing', async (t) => {
  const host = testHost();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const { got, send } = recorder();
  const e = exporter(host, async (req) => {
    await gate;
    await send(req);
  }, { queue: queue({ queue_size: 1, block_on_overflow: true }) });
  await e.start!();
  const c = e.consumer('traces');
  const spans = [span(), span(), span(), span()];
  await c.consume([spans[0]!]);
  await until(async () => (await host.metric('otelcol_exporter_queue_size', { exporter: 'test_exp', signal: 'traces' })) === 0);
  await c.consume([spans[1]!]);
  let blockedDone = false;
  const blocked = c.consume([spans[2]!]).then(() => (blockedDone = true));
  await new Promise((r) => setTimeout(r, 100));
  t.false(blockedDone, 'waits while the queue is full');
  release();
  await blocked;
  await c.consume([spans[3]!]);
  await e.shutdown();
  t.deepEqual(got.flat(), spans.map((s) => s.spanId));
});

test('retryable errors are retried (Retry-After honoured) until sent; the span arrives once', async (t) => {
  const host = testHost();
  const { got, send } = recorder();
  let calls = 0;
  const e = exporter(host, async (req) => {
    calls++;
    if (calls === 1) throw new RetryableExportError('503', { retryAfterMs: 30 });
    if (calls === 2) throw new RetryableExportError('network down');
    await send(req);
  });
  await e.start!();
  const s = span();
  await e.consumer('traces').consume([s]);
  await until(() => got.length > 0);
  await e.shutdown();
  t.is(calls, 3);
  t.deepEqual(got, [[s.spanId]]);
  t.is(await host.metric('otelcol_exporter_sent_spans_total', { exporter: 'test_exp' }), 1);
  t.is(await host.metric('otelcol_exporter_send_failed_spans_total', { exporter: 'test_exp' }), undefined);
});

test('a permanent error is not retried, and is counted and logged with the count', async (t) => {
  const host = testHost();
  let calls = 0;
  const e = exporter(host, async () => {
    calls++;
    throw new Error('400 bad request: span name too long');
  });
  await e.start!();
  await e.consumer('traces').consume([span(), span(), span()]);
  await until(async () => (await host.metric('otelcol_exporter_send_failed_spans_total', { exporter: 'test_exp' })) === 3);
  await e.shutdown();
  t.is(calls, 1);
  const log = host.logs.find((l) => l.dropped_items === 3);
  t.truthy(log, 'the loss is logged with its size');
  t.regex(String(log?.msg), /rejected permanently/);
  t.regex(String(log?.err), /span name too long/);
});

test('retries stop after max_elapsed_time: the batch is counted as failed and logged', async (t) => {
  const host = testHost();
  let calls = 0;
  const e = exporter(host, async () => {
    calls++;
    throw new RetryableExportError('503 unavailable');
  }, { retry: { ...fastRetry, max_elapsed_time: 150 } });
  await e.start!();
  await e.consumer('traces').consume([span(), span()]);
  await until(async () => (await host.metric('otelcol_exporter_send_failed_spans_total', { exporter: 'test_exp' })) === 2);
  await e.shutdown();
  t.true(calls > 1, 'it was retried');
  t.regex(String(host.logs.find((l) => l.dropped_items === 2)?.msg), /retries exhausted/);
});

test('shutdown drains the memory queue for the drain time, then counts and logs what is left', async (t) => {
  const host = testHost();
  const e = exporter(host, async () => {
    throw new RetryableExportError('down');
  }, { drainTimeoutMs: 200, retry: { ...fastRetry, max_elapsed_time: 0 } });
  await e.start!();
  const c = e.consumer('traces');
  await c.consume([span()]);
  await c.consume([span(), span()]);
  await e.shutdown();
  t.is(await host.metric('otelcol_exporter_send_failed_spans_total', { exporter: 'test_exp' }), 3);
  t.true(host.logs.some((l) => l.dropped_items === 2));
  await t.throwsAsync(c.consume([span()]), { instanceOf: RefusedError });
});

test('persistent queue: one whole file per request, resumed in order after a restart, deleted once sent', async (t) => {
  const host = testHost();
  const dir = join(host.dataDir, 'queues', 'otlphttp_persist');
  const opts = { id: 'otlphttp/persist', queue: queue({ persistent: true, num_consumers: 2 }), drainTimeoutMs: 100 };
  const first = exporter(host, async () => {
    throw new RetryableExportError('backend down');
  }, opts);
  await first.start!();
  const batches = Array.from({ length: 5 }, () => [span(), span()]);
  for (const b of batches) {
    await first.consumer('traces').consume(b);
    // consume resolved: the request is on disk under its final name
    t.true(readdirSync(dir).filter((f) => f.endsWith('.otlp')).length > 0);
  }
  await first.shutdown();
  t.is(readdirSync(dir).filter((f) => f.endsWith('.otlp')).length, 5, 'files stay when the backend is down at shutdown');
  t.is(await host.metric('otelcol_exporter_send_failed_spans_total', { exporter: 'otlphttp/persist' }), undefined, 'not counted as lost');
  // a half-written temp file (crash during write) is never read
  writeFileSync(join(dir, '0000000000000099-traces-1.otlp.tmp'), Buffer.from([0x0a, 0xff]));

  const { got, send } = recorder();
  const second = exporter(host, send, { ...opts, queue: queue({ persistent: true, num_consumers: 1 }) });
  await second.start!();
  await until(() => got.length === 5);
  await second.shutdown();
  t.deepEqual(got, batches.map((b) => b.map((s) => s.spanId)), 'every request, oldest first');
  t.deepEqual(readdirSync(dir), [], 'sent files and temp files are gone');
  t.false(existsSync(join(dir, '0000000000000099-traces-1.otlp.tmp')));
});

test('persistent queue: a permanently failed request is deleted and counted', async (t) => {
  const host = testHost();
  const dir = join(host.dataDir, 'queues', 'perm');
  const e = exporter(host, async () => {
    throw new Error('400');
  }, { id: 'perm', queue: queue({ persistent: true }) });
  await e.start!();
  await e.consumer('traces').consume([span()]);
  await until(async () => (await host.metric('otelcol_exporter_send_failed_spans_total', { exporter: 'perm' })) === 1);
  await until(() => readdirSync(dir).length === 0);
  await e.shutdown();
  t.deepEqual(readdirSync(dir), []);
});

test('sending_queue disabled: consume waits for the send and reports a permanent failure', async (t) => {
  const host = testHost();
  const { got, send } = recorder();
  let fail = false;
  const e = exporter(host, async (req) => {
    if (fail) throw new Error('400 nope');
    await send(req);
  }, { queue: queue({ enabled: false }) });
  await e.start!();
  const s = span();
  await e.consumer('traces').consume([s]);
  t.deepEqual(got, [[s.spanId]], 'sent before consume resolved');
  fail = true;
  const err = await t.throwsAsync(e.consumer('traces').consume([span()]));
  t.is(err?.name, 'PermanentError');
  t.is(await host.metric('otelcol_exporter_send_failed_spans_total', { exporter: 'test_exp' }), 1);
  await e.shutdown();
});

test('backoff jitter stays within ±50 % and max_interval; Retry-After parses seconds and HTTP dates', (t) => {
  for (const r of [0, 0.25, 0.5, 0.999]) {
    const d = jittered(1000, 30_000, () => r);
    t.true(d >= 500 && d < 1500);
  }
  t.is(jittered(40_000, 30_000, () => 0.9), 30_000);
  t.is(parseRetryAfter('7'), 7000);
  t.is(parseRetryAfter(new Date(1_000_000 + 5000).toUTCString(), 1_000_000), 5000);
  t.is(parseRetryAfter('soon'), undefined);
  t.is(parseRetryAfter(undefined), undefined);
});
