// npm run bench -- sdk-overhead
// The same Koa routes with no telemetry and with the Lantern SDK fully on (100% sampling, spans exported
// over OTLP/HTTP protobuf to a local sink, access log per request, RED metrics with exemplars), measured
// side by side in one run, with autocannon on the same machine. Runs alternate (bare, sdk, bare, sdk …)
// so drift in the machine's speed hits both sides alike; three rounds by default.
//
// Four views of the same cost:
// - saturation (50 connections, closed loop): the trivial_ratio and io_ratio. Both routes are
//   CPU-bound here (1 ms of I/O × 50 connections is more work than one core does), so both ratios
//   measure CPU per request.
// - low concurrency on the I/O route (4 connections): the server is mostly idle, so the ratio measures
//   the latency the SDK adds to a request that waits on I/O (io_ratio_4_connections).
// - equal load (a constant 4,000 requests/s to both): CPU µs per request at the same throughput,
//   the cleanest overhead figure (cpu_us_per_request_added).
// - one layer at a time, and plain OpenTelemetry http + koa instrumentation for comparison.
// Plain OpenTelemetry is also measured at equal load in every round, beside bare and SDK, so
// cpu_us_per_request_added has its OpenTelemetry counterpart from the same run.
//
// BENCH_ONLY=cpu runs only the equal-load rounds (bare, SDK, plain OTel), for quick iterations;
// BENCH_CPU_PROF=dir writes a V8 CPU profile of every server process there.
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { loadAverage, otlpSink, report } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const DURATION_S = Number(process.env.BENCH_DURATION ?? 6);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SATURATION_CONNECTIONS = 50;
const LOW_CONNECTIONS = 4;
const EQUAL_LOAD_RPS = 4000;

type Mode = 'bare' | 'sdk' | 'otel';
interface Load { connections: number; rate?: number }
interface Run { rps: number; meanMs: number; p99: number; cpuUsPerReq: number; errors: number }

const PRELOAD: Record<Mode, string[]> = {
  bare: [],
  sdk: ['--import', '@lantern/sdk/register'],
  otel: ['--import', join(here, 'fixtures/otel-plain.mjs')],
};

async function startApp(mode: Mode, otlpUrl: string, extraEnv: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const profDir = process.env.BENCH_CPU_PROF;
  const child = fork(join(here, 'fixtures/koa-app.ts'), [], {
    execArgv: ['--import', 'tsx/esm', ...PRELOAD[mode], ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [])],
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

function load(url: string, seconds: number, l: Load): Promise<autocannon.Result> {
  return autocannon({ url, connections: l.connections, duration: seconds, pipelining: 1, ...(l.rate ? { overallRate: l.rate } : {}) });
}

async function measure(mode: Mode, path: string, l: Load, otlpUrl: string, extraEnv: Record<string, string> = {}): Promise<Run> {
  const { child, port } = await startApp(mode, otlpUrl, extraEnv);
  try {
    const url = `http://127.0.0.1:${port}${path}`;
    await load(url, 2, { connections: SATURATION_CONNECTIONS }); // warm-up: JIT, connection pools, span batches
    const before = await cpuOf(child);
    const r = await load(url, DURATION_S, l);
    const after = await cpuOf(child);
    const total = r.requests.total || 1;
    return { rps: r.requests.average, meanMs: r.latency.average, p99: r.latency.p99, cpuUsPerReq: (after - before) / total, errors: r.errors + r.non2xx };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

const sink = await otlpSink();
const runs: Record<string, Run[]> = {};
async function record(key: string, mode: Mode, path: string, l: Load, env: Record<string, string> = {}): Promise<void> {
  const run = await measure(mode, path, l, sink.url, env);
  (runs[key] ??= []).push(run);
  console.log(`${key}: ${run.rps.toFixed(0)} rps, mean ${run.meanMs.toFixed(2)} ms, p99 ${run.p99} ms, ${run.cpuUsPerReq.toFixed(1)} µs CPU/req, ${run.errors} errors`);
}

const saturated: Load = { connections: SATURATION_CONNECTIONS };
const equalLoad: Load = { connections: SATURATION_CONNECTIONS, rate: EQUAL_LOAD_RPS };
const cpuOnly = process.env.BENCH_ONLY === 'cpu';
console.log(`load average at start: ${loadAverage().map((l) => l.toFixed(1)).join(' ')}`);
for (let round = 0; round < ROUNDS; round++) {
  for (const mode of ['bare', 'sdk'] as const) {
    if (!cpuOnly) {
      await record(`trivial/${mode}`, mode, '/trivial', saturated);
      await record(`io/${mode}`, mode, '/io/42', saturated);
      await record(`io 4 connections/${mode}`, mode, '/io/42', { connections: LOW_CONNECTIONS });
    }
    await record(`trivial ${EQUAL_LOAD_RPS} rps/${mode}`, mode, '/trivial', equalLoad);
  }
  // plain OpenTelemetry (http + koa instrumentation, tracing only) at the same load, in the same round
  await record(`trivial ${EQUAL_LOAD_RPS} rps/otel`, 'otel', '/trivial', equalLoad);
}

// Where the cost goes: one SDK layer at a time on the trivial route, and plain OpenTelemetry.
const layers: [string, Mode, Record<string, string>][] = [
  ['SDK preloaded, no middleware', 'sdk', { BENCH_LAYERS: 'preload' }],
  ['tracing, not sampled', 'sdk', { BENCH_LAYERS: 'tracing', OTEL_TRACES_SAMPLER: 'always_off' }],
  ['tracing, sampled, not exported', 'sdk', { BENCH_LAYERS: 'tracing', OTEL_TRACES_EXPORTER: 'none' }],
  ['tracing, sampled, exported', 'sdk', { BENCH_LAYERS: 'tracing' }],
  ['access log + metrics only', 'sdk', { BENCH_LAYERS: 'observability' }],
  ['plain OTel http+koa instrumentation', 'otel', {}],
];
for (const [label, mode, env] of cpuOnly ? [] : layers) {
  await record(`trivial/${label}`, mode, '/trivial', saturated, env);
  await record(`trivial ${EQUAL_LOAD_RPS} rps/${label}`, mode, '/trivial', { connections: SATURATION_CONNECTIONS, rate: EQUAL_LOAD_RPS }, env);
}
sink.server.close();

const avg = (key: string, f: keyof Run) => {
  const xs = (runs[key] ?? []).map((r) => r[f]);
  return xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
};
const rows = Object.fromEntries(
  Object.keys(runs).map((k) => [
    k,
    { rps: Math.round(avg(k, 'rps')), mean_ms: Number(avg(k, 'meanMs').toFixed(3)), p99_ms: avg(k, 'p99'), cpu_us_per_req: Number(avg(k, 'cpuUsPerReq').toFixed(1)), errors: avg(k, 'errors') },
  ]),
);
const eq = `trivial ${EQUAL_LOAD_RPS} rps`;
/** #11's target: CPU the full SDK adds per request, spans exported, 100% sampled. */
const TARGET_ADDED_US = 30;
// each round ran bare and SDK back to back: the spread of the per-round ratios shows the machine's noise
const roundRatios = (key: string) => (runs[`${key}/sdk`] ?? []).map((r, i) => r.rps / (runs[`${key}/bare`]?.[i]?.rps ?? Number.NaN));
await report(
  'sdk-overhead',
  {
    bare_rps: Math.round(avg('trivial/bare', 'rps')),
    sdk_rps: Math.round(avg('trivial/sdk', 'rps')),
    trivial_ratio: avg('trivial/sdk', 'rps') / avg('trivial/bare', 'rps'),
    io_ratio: avg('io/sdk', 'rps') / avg('io/bare', 'rps'),
    trivial_ratio_min: Math.min(...roundRatios('trivial')),
    trivial_ratio_max: Math.max(...roundRatios('trivial')),
    bare_p99_ms: avg('trivial/bare', 'p99'),
    sdk_p99_ms: avg('trivial/sdk', 'p99'),
    cpu_us_per_request_added: avg(`${eq}/sdk`, 'cpuUsPerReq') - avg(`${eq}/bare`, 'cpuUsPerReq'),
    // the same figure for plain OpenTelemetry http + koa instrumentation (tracing only, exported), same rounds
    plain_otel_cpu_us_per_request_added: avg(`${eq}/otel`, 'cpuUsPerReq') - avg(`${eq}/bare`, 'cpuUsPerReq'),
    cpu_us_per_request_added_target: TARGET_ADDED_US,
    meets_target: avg(`${eq}/sdk`, 'cpuUsPerReq') - avg(`${eq}/bare`, 'cpuUsPerReq') <= TARGET_ADDED_US ? 1 : 0,
    io_bare_rps: Math.round(avg('io/bare', 'rps')),
    io_sdk_rps: Math.round(avg('io/sdk', 'rps')),
    io_ratio_4_connections: avg('io 4 connections/sdk', 'rps') / avg('io 4 connections/bare', 'rps'),
    io_4_connections_latency_added_ms: avg('io 4 connections/sdk', 'meanMs') - avg('io 4 connections/bare', 'meanMs'),
    cpu_us_per_request_bare: avg(`${eq}/bare`, 'cpuUsPerReq'),
    cpu_us_per_request_added_saturated: avg('trivial/sdk', 'cpuUsPerReq') - avg('trivial/bare', 'cpuUsPerReq'),
    plain_otel_ratio: avg('trivial/plain OTel http+koa instrumentation', 'rps') / avg('trivial/bare', 'rps'),
    tracing_unsampled_ratio: avg('trivial/tracing, not sampled', 'rps') / avg('trivial/bare', 'rps'),
    spans_exported_bytes: sink.bytes(),
    load_average_end: Number(loadAverage()[0].toFixed(2)),
  },
  rows,
);
