// Overload, end to end: OTLP/HTTP → memory_limiter → batch → a slow exporter. A separate process sends
// about twice what the exporter lets through; the collector must refuse the excess (503 + Retry-After)
// instead of growing without bound, and lose nothing it answered 200 for.
import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startTestCollector } from './support/collector.js';
import { sink } from './support/sink.js';
import type { LoadOptions, LoadResult } from './support/otlp-load.js';
import './support/slow-sink.js';

const MIB = 1024 * 1024;
const LOAD_SCRIPT = fileURLToPath(new URL('./support/otlp-load.ts', import.meta.url));

// the exporter delivers one batch of BATCH spans per DELAY_MS from its in-memory queue: THROUGHPUT spans/s
const BATCH = 100;
const DELAY_MS = 100;
const THROUGHPUT = (BATCH * 1000) / DELAY_MS;
const SPANS_PER_REQUEST = 20;

function runLoad(opts: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', LOAD_SCRIPT, JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`load process exited with ${code}: ${err}`));
      else resolve(JSON.parse(out) as LoadResult);
    });
  });
}

test('under twice the load it can pass on, the collector refuses the excess with 503 + Retry-After, stays within its memory limit and loses nothing it accepted', async (t) => {
  // what `node --expose-gc` gives a production collector: the limiter's forced GC (ava's worker has no such flag)
  const g = globalThis as { gc?: () => void };
  const hadGc = g.gc;
  setFlagsFromString('--expose-gc');
  g.gc ??= runInNewContext('gc') as () => void;
  t.teardown(() => {
    if (!hadGc) delete g.gc;
  });
  const baseline = process.memoryUsage.rss();
  const hardMiB = Math.ceil(baseline / MIB) + 60;
  const c = await startTestCollector({
    receivers: { 'otlp/overload': { protocols: { http: { endpoint: '127.0.0.1:0' } } } },
    processors: {
      'memory_limiter/overload': { limit_mib: hardMiB, spike_limit_mib: 30, check_interval: '100ms', min_gc_interval_when_soft_limited: '1s' },
      'batch/overload': { send_batch_size: BATCH, send_batch_max_size: BATCH, timeout: '50ms' },
    },
    exporters: { 'test_slow_sink/overload': { delay_ms: DELAY_MS, queue: true, strip_attributes: true } },
    service: {
      pipelines: {
        traces: { receivers: ['otlp/overload'], processors: ['memory_limiter/overload', 'batch/overload'], exporters: ['test_slow_sink/overload'] },
      },
    },
  });
  t.teardown(() => c.shutdown());

  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  t.teardown(() => clearInterval(sampler));
  const load = await runLoad({
    url: `${c.endpoint('otlp/overload')}/v1/traces`,
    requests: 600,
    spansPerRequest: SPANS_PER_REQUEST,
    attributeBytes: 16 * 1024,
    rate: (2 * THROUGHPUT) / SPANS_PER_REQUEST,
    maxOutstanding: 50,
    deadlineMs: 20_000,
  });
  clearInterval(sampler);
  // accepted means queued in the exporter: shutdown lets its queue drain into the sink
  await c.shutdown();

  const statuses = new Map<number, number>();
  for (const r of load.results) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
  t.log(`baseline ${Math.round(baseline / MIB)} MiB, hard limit ${hardMiB} MiB, peak RSS ${Math.round(peak / MIB)} MiB, statuses ${JSON.stringify([...statuses])}, ${load.elapsedMs} ms`);

  const refused = load.results.filter((r) => r.status === 503 || r.status === 429);
  t.true(refused.length > 0, 'some requests were refused');
  for (const r of refused) t.true(Number(r.retryAfter) >= 1, 'every refusal carries Retry-After');
  t.true(load.results.some((r) => r.status === 200), 'some requests were accepted');
  t.deepEqual([...statuses.keys()].filter((s) => ![200, 503, 429].includes(s)), [], 'no other answers (no 500, no connection errors)');

  t.true(peak < (hardMiB + 32) * MIB, `peak RSS ${Math.round(peak / MIB)} MiB stays under the hard limit (${hardMiB} MiB) + 32 MiB`);

  // every span of every 200 reached the exporter; nothing of a refused request was kept
  const received = new Set(sink('test_slow_sink/overload').traces.map((s) => s.name));
  const missing: string[] = [];
  const keptOfRefused: string[] = [];
  load.results.forEach((r, i) => {
    for (let j = 0; j < SPANS_PER_REQUEST; j++) {
      const name = `r${i}.${j}`;
      if (r.status === 200 && !received.has(name)) missing.push(name);
      if (r.status !== 200 && received.has(name)) keptOfRefused.push(name);
    }
  });
  t.deepEqual(missing, [], 'every span of an accepted request reached the exporter');
  t.deepEqual(keptOfRefused, [], 'nothing of a refused request was kept');
});
