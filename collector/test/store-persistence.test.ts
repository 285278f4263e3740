// persistence.directory: the store survives a restart (graceful and SIGKILL), retires segments it no longer needs,
// compacts into a snapshot when segments pile up, and skips a line cut short by a crash.
import test from 'ava';
import { spawn } from 'node:child_process';
import { appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { metricValue, selfMetrics, tempDir } from './support/collector.js';
import { source } from './support/source.js';
import { logRecord, newTraceId, span } from './support/spans.js';
import { get, startStore } from './support/store.js';

const segments = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.ndjson'));

test('a restarted store (new Collector, same directory) serves the same traces and logs', async (t) => {
  const dir = tempDir('store-persist-');
  const key = 'sp-restart';
  const id = newTraceId();
  const root = span({ traceId: id, service: 'pa', name: 'root', status: 'error', attributes: { big: '9223372036854775807' } });
  const child = span({ traceId: id, service: 'pb', name: 'child', parentSpanId: root.spanId });
  const first = await startStore(key, { persistence: { directory: dir } });
  await source(`test_source/${key}`).traces!.consume([root]);
  await source(`test_source/${key}`).traces!.consume([child]);
  await source(`test_source/${key}`).logs!.consume([logRecord({ service: 'pa', body: 'persisted line', traceId: id, severity: 17 })]);
  const before = await get(`${first.url}/api/traces/${id}`);
  const logsBefore = await get(`${first.url}/api/logs`);
  await first.c.shutdown();

  const second = await startStore(key, { persistence: { directory: dir } });
  t.teardown(() => second.c.shutdown());
  const after = await get(`${second.url}/api/traces/${id}`);
  t.is(after.status, 200);
  t.is(after.text, before.text);
  t.is((after.json as { data: { spans: unknown[] }[] }).data[0]!.spans.length, 2);
  t.deepEqual((await get(`${second.url}/api/logs`)).json, logsBefore.json);
  t.deepEqual(((await get(`${second.url}/api/services`)).json as { data: string[] }).data, ['pa', 'pb']);
});

test('a line cut short by a crash is skipped and counted; everything before it is served', async (t) => {
  const dir = tempDir('store-torn-');
  const key = 'sp-torn';
  const id = newTraceId();
  const first = await startStore(key, { persistence: { directory: dir } });
  await source(`test_source/${key}`).traces!.consume([span({ traceId: id, service: 'torn' })]);
  await first.c.shutdown();
  const last = segments(dir).sort().at(-1)!;
  appendFileSync(join(dir, last), '{"k":"t","r":[{"attributes":{}}],"i":[{"traceId":"ab');
  const second = await startStore(key, { persistence: { directory: dir } });
  t.teardown(() => second.c.shutdown());
  t.is((await get(`${second.url}/api/traces/${id}`)).status, 200);
  t.is(metricValue(await selfMetrics(second.c), 'otelcol_exporter_store_replay_skipped_lines_total', { exporter: `store/${key}` }), 1);
});

test('segments no longer needed are deleted; piled-up segments are compacted; a restart still has everything kept', async (t) => {
  const dir = tempDir('store-compact-');
  const key = 'sp-compact';
  const cfg = { max_traces: 2, persistence: { directory: dir, segment_max_bytes: 4096 } };
  const first = await startStore(key, cfg);
  const pad = 'x'.repeat(5000);
  // each batch fills a segment: evicted traces free theirs
  const ids: string[] = [];
  for (let i = 0; i < 12; i++) {
    const id = newTraceId();
    ids.push(id);
    await source(`test_source/${key}`).traces!.consume([span({ traceId: id, service: 'cs', attributes: { pad } })]);
  }
  t.true(segments(dir).length <= 4, `after evictions: ${segments(dir).join(',')}`);
  // log lines stay in the ring, so their segments pile up until a snapshot replaces them
  for (let i = 0; i < 40; i++) await source(`test_source/${key}`).logs!.consume([logRecord({ service: 'cs', body: `log${i} ${pad}` })]);
  const files = segments(dir);
  t.true(files.some((f) => f.includes('.snapshot.')), files.join(','));
  t.true(files.length <= 34, `after compaction: ${files.length}`);
  await first.c.shutdown();

  const second = await startStore(key, cfg);
  t.teardown(() => second.c.shutdown());
  for (const id of ids.slice(0, 10)) t.is((await get(`${second.url}/api/traces/${id}`)).status, 404);
  for (const id of ids.slice(10)) t.is((await get(`${second.url}/api/traces/${id}`)).status, 200);
  const body = (await get(`${second.url}/api/logs?limit=100`)).json as { data: { message: string }[]; total: number };
  t.is(body.total, 40);
  t.deepEqual(body.data.map((d) => d.message.split(' ')[0]).sort(), Array.from({ length: 40 }, (_, i) => `log${i}`).sort());
});

test('SIGKILL after consume() resolved loses nothing: a new collector on the directory serves it', async (t) => {
  const dir = tempDir('store-kill-');
  const id = newTraceId();
  const script = fileURLToPath(new URL('./fixtures/store-writer.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, dir, id], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('stored')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`writer exited early (${code})`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));

  const { c, url } = await startStore('sp-kill-reader', { persistence: { directory: dir } });
  t.teardown(() => c.shutdown());
  const r = await get(`${url}/api/traces/${id}`);
  t.is(r.status, 200);
  const trace = (r.json as { data: { spans: { operationName: string }[]; processes: Record<string, { serviceName: string }> }[] }).data[0]!;
  t.deepEqual(trace.spans.map((s) => s.operationName).sort(), ['before-crash', 'child']);
  t.deepEqual(Object.values(trace.processes).map((p) => p.serviceName), ['crashy', 'crashy-db']);
  const logs = (await get(`${url}/api/logs?trace_id=${id}`)).json as { data: { message: string }[] };
  t.deepEqual(logs.data.map((d) => d.message), ['written before SIGKILL']);
});
