// npm run bench -- sdk-overhead
// The same Koa routes with no telemetry and with the Lantern SDK fully on (100% sampling, spans exported
// over OTLP/HTTP protobuf to a local sink, access log per request, RED metrics with exemplars), measured
// side by side in one run, with autocannon on the same machine. Runs alternate (bare, sdk, bare, sdk …)
// so drift in the machine's speed hits both sides alike.
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { report } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const DURATION_S = Number(process.env.BENCH_DURATION ?? 6);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = 50;

type Mode = 'bare' | 'sdk';
interface Run { rps: number; p99: number; cpuUsPerReq: number; errors: number }

/** An OTLP endpoint that accepts and discards spans, so the SDK pays the real export cost. */
async function otlpSink(): Promise<{ server: Server; url: string; bytes: () => number }> {
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bytes: () => bytes };
}

async function startApp(mode: Mode, otlpUrl: string, extraEnv: Record<string, string> = {}): Promise<{ child: ChildProcess; port: number }> {
  const execArgv = ['--import', 'tsx', ...(mode === 'sdk' ? ['--import', '@lantern/sdk/register'] : [])];
  const child = fork(join(here, 'fixtures/koa-app.ts'), [], {
    execArgv,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: {
      ...process.env,
      BENCH_MODE: mode,
      OTEL_SERVICE_NAME: 'bench',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl,
      OTEL_TRACES_SAMPLER: 'always_on',
      LOG_LEVEL: 'info',
      LOKI_URL: '',
      ...extraEnv,
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`${mode} app exited with ${code}`)));
  });
  return { child, port };
}

function cpuOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (m) => {
      const { cpu } = m as { cpu: { user: number; system: number } };
      resolve(cpu.user + cpu.system);
    });
    child.send('cpu');
  });
}

async function load(url: string, seconds: number): Promise<autocannon.Result> {
  return autocannon({ url, connections: CONNECTIONS, duration: seconds, pipelining: 1 });
}

async function measure(mode: Mode, path: string, otlpUrl: string, extraEnv: Record<string, string> = {}): Promise<Run> {
  const { child, port } = await startApp(mode, otlpUrl, extraEnv);
  try {
    const url = `http://127.0.0.1:${port}${path}`;
    await load(url, 2); // warm-up: JIT, connection pools, span batches
    const before = await cpuOf(child);
    const r = await load(url, DURATION_S);
    const after = await cpuOf(child);
    const total = r.requests.total || 1;
    return { rps: r.requests.average, p99: r.latency.p99, cpuUsPerReq: (after - before) / total, errors: r.errors + r.non2xx };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

const sink = await otlpSink();
const runs: Record<string, Run[]> = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const [route, path] of [['trivial', '/trivial'], ['io', '/io/42']] as const) {
    for (const mode of ['bare', 'sdk'] as const) {
      const key = `${route}/${mode}`;
      const run = await measure(mode, path, sink.url);
      (runs[key] ??= []).push(run);
      console.log(`round ${round + 1} ${key}: ${run.rps.toFixed(0)} rps, p99 ${run.p99} ms, ${run.cpuUsPerReq.toFixed(1)} µs CPU/req`);
    }
  }
}

// Where the cost goes: one SDK layer at a time on the trivial route (BENCH_LAYERS in the fixture).
const breakdown: [string, Record<string, string>][] = [
  ['tracing (sampled, exported)', { BENCH_LAYERS: 'tracing' }],
  ['tracing (sampled, not exported)', { BENCH_LAYERS: 'tracing', OTEL_TRACES_EXPORTER: 'none' }],
  ['tracing (not sampled)', { BENCH_LAYERS: 'tracing', OTEL_TRACES_SAMPLER: 'always_off' }],
  ['access log + metrics only', { BENCH_LAYERS: 'observability' }],
];
for (const [label, env] of breakdown) {
  const run = await measure('sdk', '/trivial', sink.url, env);
  runs[`trivial/${label}`] = [run];
  console.log(`breakdown ${label}: ${run.rps.toFixed(0)} rps, ${run.cpuUsPerReq.toFixed(1)} µs CPU/req`);
}
sink.server.close();

const avg = (key: string, f: keyof Run) => mean((runs[key] ?? []).map((r) => r[f]));
const rows = Object.fromEntries(
  Object.keys(runs).map((k) => [k, { rps: Math.round(avg(k, 'rps')), p99_ms: avg(k, 'p99'), cpu_us_per_req: Number(avg(k, 'cpuUsPerReq').toFixed(1)), errors: avg(k, 'errors') }]),
);
await report(
  'sdk-overhead',
  {
    bare_rps: Math.round(avg('trivial/bare', 'rps')),
    sdk_rps: Math.round(avg('trivial/sdk', 'rps')),
    trivial_ratio: avg('trivial/sdk', 'rps') / avg('trivial/bare', 'rps'),
    io_ratio: avg('io/sdk', 'rps') / avg('io/bare', 'rps'),
    bare_p99_ms: avg('trivial/bare', 'p99'),
    sdk_p99_ms: avg('trivial/sdk', 'p99'),
    cpu_us_per_request_added: avg('trivial/sdk', 'cpuUsPerReq') - avg('trivial/bare', 'cpuUsPerReq'),
    io_bare_rps: Math.round(avg('io/bare', 'rps')),
    io_sdk_rps: Math.round(avg('io/sdk', 'rps')),
    spans_exported_bytes: sink.bytes(),
  },
  rows,
);
