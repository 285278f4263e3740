// The collector as a process (src/main.ts): an invalid config exits 2 naming the key; SIGHUP reloads the
// file (a new receiver starts, the running one keeps its data); SIGTERM flushes and exits 0.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@lantern/testkit';
import { encodeTraces } from '../src/index.js';
import { tempDir } from './support/collector.js';
import { span } from './support/spans.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

function run(config: string): { child: ChildProcess; endpoints: Promise<Record<string, string>>; exited: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx/esm', MAIN, '--config', config], {
    env: { ...process.env, LANTERN_COLLECTOR_PRINT_ENDPOINTS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const endpoints = new Promise<Record<string, string>>((resolve) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{"'));
      if (line) resolve(JSON.parse(line) as Record<string, string>);
    });
  });
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
  return { child, endpoints, exited };
}

const config = (dir: string, lokiPort?: number) =>
  JSON.stringify({
    receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:0' } } }, ...(lokiPort ? { loki: { endpoint: `127.0.0.1:${lokiPort}` } } : {}) },
    exporters: { store: { query: { endpoint: '127.0.0.1:0' } } },
    service: {
      data_dir: dir,
      telemetry: { metrics: { address: '127.0.0.1:0' }, logs: { level: 'warn' } },
      pipelines: { traces: { receivers: ['otlp'], exporters: ['store'] }, ...(lokiPort ? { logs: { receivers: ['loki'], exporters: ['store'] } } : {}) },
    },
  });

test('an invalid config file exits with status 2 and names the key', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'receivers:\n  otlp:\n    protocols:\n      http:\n        endpoint: nowhere\nexporters:\n  store: {}\nservice:\n  pipelines:\n    traces: { receivers: [otlp], exporters: [store] }\n');
  const { exited } = run(file);
  const { code, stderr } = await exited;
  t.is(code, 2);
  t.regex(stderr, /receivers\.otlp\.protocols\.http\.endpoint/);
});

test('SIGHUP reloads the file: a new receiver starts and spans sent before it are still served; SIGTERM exits 0', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'collector.yaml');
  writeFileSync(file, config(dir));
  const { child, endpoints, exited } = run(file);
  t.teardown(() => void child.kill('SIGKILL'));
  const urls = await endpoints;
  const s = span({ service: 'reload-test', name: 'before reload' });
  const res = await fetch(`${urls.otlp}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: encodeTraces([s]) });
  t.is(res.status, 200);

  const lokiPort = await freePort();
  writeFileSync(file, config(dir, lokiPort));
  child.kill('SIGHUP');
  const ready = await waitFor(async () => (await fetch(`http://127.0.0.1:${lokiPort}/ready`).catch(() => undefined))?.status === 200 || undefined, { what: 'the loki receiver added by the reload' });
  t.true(ready);
  const trace = await fetch(`${urls['store.query']}/api/traces/${s.traceId}`);
  t.is(trace.status, 200, 'the store kept its data across the reload');

  child.kill('SIGTERM');
  t.is((await exited).code, 0);
});
