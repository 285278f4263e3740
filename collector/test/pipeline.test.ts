// The pipeline core: config validation names the key, fan-out, reload without losing data.
import test, { type ExecutionContext } from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Collector, ConfigError, RefusedError } from '../src/index.js';
import { startTestCollector, tempDir, testConfig } from './support/collector.js';
import { sink } from './support/sink.js';
import { source } from './support/source.js';
import { span } from './support/spans.js';

// ids are unique per test: tests in one file run concurrently and sources/sinks are found by id
const base = (key: string, src = key) => ({
  receivers: { [`test_source/${src}`]: {} },
  exporters: { [`test_sink/${key}`]: {} },
  service: { pipelines: { traces: { receivers: [`test_source/${src}`], exporters: [`test_sink/${key}`] } } },
});

async function configError(t: ExecutionContext, doc: Record<string, unknown>, key: string, message: RegExp) {
  const err = await t.throwsAsync(() => startTestCollector(doc), { instanceOf: ConfigError });
  t.is(err?.key, key);
  t.regex(err?.message ?? '', message);
}

test('config errors name the key', async (t) => {
  await configError(t, { ...base('a'), receivers: { nope: {} } }, 'receivers.nope', /unknown receiver type "nope"/);
  await configError(t, { ...base('a'), exporters: { 'test_sink/a': { key: 3 } } }, 'exporters.test_sink/a.key', /string/);
  await configError(
    t,
    { ...base('a'), service: { pipelines: { traces: { receivers: ['test_source/a'], exporters: ['missing'] } } } },
    'service.pipelines.traces.exporters.0',
    /exporter "missing" is not defined under exporters/,
  );
  await configError(t, { ...base('a'), service: { pipelines: { spans: { receivers: ['test_source/a'], exporters: ['test_sink/a'] } } } }, 'service.pipelines.spans', /pipeline ids/);
  await configError(t, { ...base('a'), extra: 1 }, '', /extra/);
});

test('a receiver in two pipelines feeds both; a pipeline fans out to every exporter', async (t) => {
  const c = await startTestCollector({
    receivers: { 'test_source/f': {} },
    exporters: { 'test_sink/f1': {}, 'test_sink/f2': {}, 'test_sink/f3': {} },
    service: {
      pipelines: {
        traces: { receivers: ['test_source/f'], exporters: ['test_sink/f1', 'test_sink/f2'] },
        'traces/other': { receivers: ['test_source/f'], exporters: ['test_sink/f3'] },
      },
    },
  });
  t.teardown(() => c.shutdown());
  await source('test_source/f').traces!.consume([span({ name: 'a' })]);
  t.deepEqual([sink('test_sink/f1'), sink('test_sink/f2'), sink('test_sink/f3')].map((s) => s.traces.map((x) => x.name)), [['a'], ['a'], ['a']]);
});

test('a refusing exporter makes consume reject with RefusedError (the receiver answers 503)', async (t) => {
  const c = await startTestCollector(base('refuse'));
  t.teardown(() => c.shutdown());
  sink('test_sink/refuse').refuse = true;
  await t.throwsAsync(() => source('test_source/refuse').traces!.consume([span()]), { instanceOf: RefusedError });
});

test('reload re-points receivers at the new pipelines; consumes during the reload are held, not lost', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'collector.yaml');
  const write = (key: string) => writeFileSync(file, JSON.stringify(testConfig(base(key, 'r'), dir)));
  write('r1');
  const c = await Collector.start({ config: file, logger: pino({ level: 'silent' }) });
  t.teardown(() => c.shutdown());
  await source('test_source/r').traces!.consume([span({ name: 'before' })]);
  write('r2');
  const reload = c.reload();
  const during = source('test_source/r').traces!.consume([span({ name: 'during' })]);
  await reload;
  await during;
  await source('test_source/r').traces!.consume([span({ name: 'after' })]);
  const r1 = sink('test_sink/r1').traces.map((s) => s.name);
  const r2 = sink('test_sink/r2').traces.map((s) => s.name);
  t.is(r1[0], 'before');
  t.is(r2.at(-1), 'after');
  // 'during' reached the old pipeline before the hold or the new one after it: once, never lost
  t.deepEqual([...r1, ...r2].sort(), ['after', 'before', 'during']);
  t.is(sink('test_sink/r1').shutdowns, 1, 'the removed exporter was shut down');
});

test('an invalid config on reload is refused and the running pipelines keep working', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'collector.yaml');
  writeFileSync(file, JSON.stringify(testConfig(base('k1'), dir)));
  const c = await Collector.start({ config: file, logger: pino({ level: 'silent' }) });
  t.teardown(() => c.shutdown());
  writeFileSync(file, 'receivers: [unclosed');
  await t.throwsAsync(() => c.reload(), { instanceOf: ConfigError });
  await source('test_source/k1').traces!.consume([span({ name: 'still' })]);
  t.deepEqual(sink('test_sink/k1').traces.map((s) => s.name), ['still']);
});

test('self metrics are served on the telemetry address', async (t) => {
  const c = await startTestCollector(base('m'));
  t.teardown(() => c.shutdown());
  const res = await fetch(`${c.endpoint('telemetry')}/metrics`);
  t.is(res.status, 200);
  t.regex(await res.text(), /otelcol_process_resident_memory_bytes/);
});
