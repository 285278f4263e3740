// npm run bench -- collector
//
// OTLP protobuf through the collector's trace pipeline — otlp receiver → memory_limiter → spanmetrics →
// tail_sampling → batch → otlphttp export to a loopback sink — driven by this process as the load generator.
// The collector runs as its own process, and its CPU is read from /proc/<pid>/stat, so the load generator
// and the sink sharing the two cores do not blur the figure:
//   spans_per_cpu_s              spans exported per CPU second of the collector process (all threads)
//   decode_only_spans_per_cpu_s  the floor: protobufjs decode of the same payloads alone, in this process
//   codec_/receiver_decode_spans_per_cpu_s  the collector's decoders alone: to plain spans, and to the WireSpans
//                                the receiver hands the pipeline (attributes checked, not decoded)
//   floor_ratio                  spans_per_cpu_s / decode_only_spans_per_cpu_s: how the shared machine's speed
//                                of the moment cancels out (absolute figures vary 2-3x between runs)
//   peak_rss_mb_overload         the collector's peak RSS while offered far more than the sink drains
//   accepted_lost                spans answered 200 in the overload run that never reached the sink
// The payload is what an OpenTelemetry JS SDK sends under load: one service's batch a request (one resource,
// its spans grouped by instrumentation scope), BatchSpanProcessor's default maxExportBatchSize of 512 spans,
// 10 attributes a span, traces of a server span and four database client spans. BENCH_SPANS_PER_REQUEST, and
// BENCH_MIXED_RESOURCES=1 (the first version of this bench: 100 spans a request, each span of a trace from
// another of 4 resources and in its own scope block), give the other shapes.
// Knobs: BENCH_SPANS (total spans of the throughput run, default 307200; the first tenth warms up, unmeasured), BENCH_OVERLOAD_S (default 20),
// BENCH_CPU_PROF=DIR (the collector child writes a V8 CPU profile per run to DIR/throughput, DIR/overload),
// BENCH_SKIP_OVERLOAD=1 (throughput only, for profiling rounds), BENCH_NODE_FLAGS (extra node flags for the
// collector child, e.g. --trace-gc).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { decodeTraces, decodeTracesLazy, encodeTraces, requestType, type DecodedSpan, type ResourceInfo, type Scope } from '@lantern/collector';
import { loadAverage, procCpuMs, procRssMb, report } from './lib.js';

const MIXED = process.env.BENCH_MIXED_RESOURCES === '1';
const SPANS_PER_REQUEST = Number(process.env.BENCH_SPANS_PER_REQUEST ?? (MIXED ? 100 : 512));
const TOTAL_SPANS = Number(process.env.BENCH_SPANS ?? (MIXED ? 300_000 : 600 * SPANS_PER_REQUEST));
const OVERLOAD_S = Number(process.env.BENCH_OVERLOAD_S ?? 20);
const root = new URL('..', import.meta.url).pathname;

// ---- payloads: SPANS_PER_REQUEST spans × 10 attributes, 5 spans per trace, 4 services ----

const resources: ResourceInfo[] = ['gateway', 'product', 'user', 'order'].map((s) => ({ attributes: { 'service.name': s, 'service.version': '1.0.0', 'host.name': 'bench' } }));
// instrumentation scopes as an SDK groups them: server spans from one, database spans from another
const SERVER_SCOPE: Scope = { name: '@lantern/sdk', version: '0.1.0', attributes: {} };
const DB_SCOPE: Scope = { name: '@opentelemetry/instrumentation-pg', version: '0.52.0', attributes: {} };
let requestNo = 0;

function payload(): { body: Uint8Array; spanIds: string[] } {
  const spans: DecodedSpan[] = [];
  const now = BigInt(Date.now()) * 1_000_000n;
  const service = requestNo++ % resources.length;
  for (let t = 0; t * 5 < SPANS_PER_REQUEST; t++) {
    const traceId = randomBytes(16).toString('hex');
    let parent: string | undefined;
    for (let i = 0; i < 5 && t * 5 + i < SPANS_PER_REQUEST; i++) {
      const spanId = randomBytes(8).toString('hex');
      const start = now + BigInt(i * 1000);
      spans.push({
        traceId,
        spanId,
        ...(parent ? { parentSpanId: parent } : {}),
        flags: 1,
        name: i === 0 ? 'GET /api/products/:id' : `SELECT product ${i}`,
        kind: i === 0 ? 'server' : 'client',
        startTimeUnixNano: start.toString(),
        endTimeUnixNano: (start + 2_500_000n).toString(),
        attributes: {
          'http.request.method': 'GET',
          'http.route': '/api/products/:id',
          'http.response.status_code': 200,
          'url.path': '/api/products/42',
          'server.address': '127.0.0.1',
          'server.port': 8080,
          'user_agent.original': 'bench/1.0',
          'db.system': 'postgresql',
          'db.statement': 'select * from products where id = $1',
          'lantern.cache': 'miss',
        },
        droppedAttributesCount: 0,
        events: [],
        links: [],
        status: { code: i === 4 && t % 10 === 0 ? 'error' : 'unset' },
        resource: resources[MIXED ? (t + i) % resources.length : service]!,
        // the first version of this bench gave every span its own scope object, so its own ScopeSpans block
        scope: MIXED ? { name: '@lantern/sdk', version: '0.1.0', attributes: {} } : i === 0 ? SERVER_SCOPE : DB_SCOPE,
      });
      parent = spanId;
    }
  }
  return { body: encodeTraces(spans), spanIds: spans.map((s) => s.spanId) };
}

// ---- the sink: counts the spans the collector exports (unique span ids: at-least-once delivery) ----

async function startSink(): Promise<{ server: Server; url: string; received: Set<string>; setDelay(ms: number): void }> {
  const received = new Set<string>();
  let delay = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = () => {
        for (const s of decodeTraces(Buffer.concat(chunks))) received.add(s.spanId);
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      };
      if (delay > 0) setTimeout(answer, delay);
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, setDelay: (ms) => (delay = ms) };
}

// ---- the collector under test, as its own process ----

function collectorConfig(sinkUrl: string, dataDir: string, limitMib: number): string {
  return JSON.stringify({
    receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:0' } } } },
    processors: {
      memory_limiter: { check_interval: '100ms', limit_mib: limitMib, spike_limit_mib: Math.round(limitMib / 4) },
      spanmetrics: {},
      tail_sampling: { decision_wait: '1s', policies: [{ name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } }, { name: 'all', type: 'always_sample' }] },
      batch: { timeout: '200ms' },
    },
    exporters: { otlphttp: { endpoint: sinkUrl, compression: 'none', retry_on_failure: { initial_interval: '200ms', max_interval: '2s', max_elapsed_time: 0 } } },
    service: {
      data_dir: dataDir,
      telemetry: { metrics: { address: '127.0.0.1:0' }, logs: { level: 'warn' } },
      pipelines: { traces: { receivers: ['otlp'], processors: ['memory_limiter', 'spanmetrics', 'tail_sampling', 'batch'], exporters: ['otlphttp'] } },
    },
  });
}

/** node flags of the collector child: --cpu-prof into BENCH_CPU_PROF/<run> when asked (written when it exits). */
function profileFlags(run: string): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  // BENCH_NODE_FLAGS: extra node flags for the collector child only (e.g. --trace-gc), for experiments
  const extra = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  return [...extra, ...(dir ? ['--cpu-prof', '--cpu-prof-dir', join(dir, run)] : [])];
}

async function startCollector(sinkUrl: string, limitMib: number, run: string): Promise<{ child: ChildProcess; url: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-collector-'));
  const file = join(dir, 'collector.yaml');
  writeFileSync(file, collectorConfig(sinkUrl, dir, limitMib));
  // BENCH_ENDPOINTS=1 makes main.ts print its listening URLs as one JSON line on stdout
  const child = spawn(process.execPath, [...profileFlags(run), '--import', 'tsx/esm', join(root, 'collector/src/main.ts'), '--config', file], {
    env: { ...process.env, LANTERN_COLLECTOR_PRINT_ENDPOINTS: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const read = (d: Buffer) => {
      buf += d.toString();
      const m = /"otlp":"(http:\/\/[^"]+)"/.exec(buf);
      if (!m) return;
      resolve(m[1]!);
      // whatever the child prints later (--trace-gc) goes to stderr, not into a growing string
      child.stdout!.off('data', read);
      child.stdout!.pipe(process.stderr);
    };
    child.stdout!.on('data', read);
    child.once('exit', (code) => reject(new Error(`collector exited with ${code}`)));
  });
  return { child, url };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

/** User and system CPU ms of a process (/proc/<pid>/stat, USER_HZ 100), to tell kernel work (sockets) from JavaScript. */
function procUserSysMs(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]) * 10, sys: Number(f[12]) * 10 };
}

// ---- runs ----

function decodeFloor(bodies: Uint8Array[]): number {
  const type = requestType('traces');
  for (const b of bodies.slice(0, 50)) type.decode(b); // warm up
  const before = process.cpuUsage();
  let spans = 0;
  for (const b of bodies) {
    type.decode(b);
    spans += SPANS_PER_REQUEST;
  }
  const used = process.cpuUsage(before);
  return spans / ((used.user + used.system) / 1e6);
}

/** Spans per CPU second of `decode` over the payloads. */
function decodeRate(bodies: Uint8Array[], decode: (b: Uint8Array) => unknown[]): number {
  for (const b of bodies.slice(0, 50)) decode(b); // warm up
  const before = process.cpuUsage();
  let spans = 0;
  for (const b of bodies) spans += decode(b).length;
  const used = process.cpuUsage(before);
  return spans / ((used.user + used.system) / 1e6);
}

async function post(pool: Pool, body: Uint8Array): Promise<number> {
  const res = await pool.request({ method: 'POST', path: '/v1/traces', headers: { 'content-type': 'application/x-protobuf' }, body });
  await res.body.dump();
  return res.statusCode;
}

/** Sends bodies [from, to) over 4 connections; a 503 is back-pressure: wait and resend, as an OTLP exporter does. */
async function sendAll(pool: Pool, bodies: Uint8Array[], from: number, to: number): Promise<void> {
  let next = from;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < to) {
        const body = bodies[next++]!;
        while ((await post(pool, body)) !== 200) await sleep(50);
      }
    }),
  );
}

/**
 * The collector's CPU per span in steady state: the first WARMUP_SHARE of the requests (at least 20) are sent
 * and exported before the measurement starts, so V8's compilation of the hot paths (on its own threads, which
 * /proc counts) is not charged to the spans measured.
 */
const WARMUP_SHARE = 0.1;

async function throughput(bodies: Uint8Array[]): Promise<{ spansPerCpuS: number; spansPerS: number; cpuMs: number; sysMs: number; spans: number }> {
  const sink = await startSink();
  const { child, url } = await startCollector(sink.url, 1024, 'throughput');
  const pool = new Pool(url, { connections: 4, pipelining: 1 });
  const warmup = Math.min(bodies.length - 1, Math.max(20, Math.round(bodies.length * WARMUP_SHARE)));
  await sendAll(pool, bodies, 0, warmup);
  while (sink.received.size < warmup * SPANS_PER_REQUEST) await sleep(20);
  const expected = (bodies.length - warmup) * SPANS_PER_REQUEST;
  const cpu0 = procCpuMs(child.pid!);
  const split0 = procUserSysMs(child.pid!);
  const t0 = performance.now();
  await sendAll(pool, bodies, warmup, bodies.length);
  while (sink.received.size < bodies.length * SPANS_PER_REQUEST) await sleep(20);
  const seconds = (performance.now() - t0) / 1000;
  const cpuMs = procCpuMs(child.pid!) - cpu0;
  const split1 = procUserSysMs(child.pid!);
  const sysMs = split1.sys - split0.sys;
  await pool.close();
  await stop(child);
  sink.server.close();
  return { spansPerCpuS: expected / (cpuMs / 1000), spansPerS: expected / seconds, cpuMs, sysMs, spans: expected };
}

async function overload(): Promise<{ peakRssMb: number; accepted: number; refused: number; lost: number }> {
  const sink = await startSink();
  sink.setDelay(250); // a backend draining far less than is offered
  const { child, url } = await startCollector(sink.url, 240, 'overload');
  const pool = new Pool(url, { connections: 16, pipelining: 1 });
  const accepted = new Set<string>();
  let refused = 0;
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, procRssMb(child.pid!))), 100);
  const until = performance.now() + OVERLOAD_S * 1000;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (performance.now() < until) {
        const p = payload();
        const status = await post(pool, p.body).catch(() => 0);
        if (status === 200) for (const id of p.spanIds) accepted.add(id);
        else {
          refused++;
          await sleep(20);
        }
      }
    }),
  );
  sink.setDelay(0);
  // everything answered 200 must still arrive: drain, bounded by a generous deadline
  const deadline = performance.now() + 120_000;
  while ([...accepted].some((id) => !sink.received.has(id)) && performance.now() < deadline) await sleep(250);
  clearInterval(sampler);
  const lost = [...accepted].filter((id) => !sink.received.has(id)).length;
  await pool.close();
  await stop(child);
  sink.server.close();
  return { peakRssMb: peak, accepted: accepted.size, refused, lost };
}

const bodies = Array.from({ length: Math.ceil(TOTAL_SPANS / SPANS_PER_REQUEST) }, () => payload().body);
const load0 = loadAverage();
console.log(`collector bench: ${bodies.length} requests of ${SPANS_PER_REQUEST} spans (${(bodies[0]!.length / 1024).toFixed(1)} KiB each, ${MIXED ? '4 resources mixed in each' : 'one resource each'}); load average ${load0.join(' ')}`);
const decodeOnly = decodeFloor(bodies);
// the collector's own decoders: to plain spans (decodeTraces), and what the receiver does (WireSpans, read lazily)
const codecOnly = decodeRate(bodies, (b) => decodeTraces(b));
const lazyOnly = decodeRate(bodies, (b) => decodeTracesLazy(b));
const run = await throughput(bodies);
console.log(`throughput: ${run.spans} spans measured after a warm-up, ${Math.round(run.spansPerCpuS)} spans per collector CPU-second, ${Math.round(run.spansPerS)} spans/s wall, ${Math.round(run.cpuMs)} ms CPU of which ${Math.round(run.sysMs)} ms in the kernel; floor ${Math.round(decodeOnly)} (ratio ${(run.spansPerCpuS / decodeOnly).toFixed(3)})`);
const over = process.env.BENCH_SKIP_OVERLOAD === '1' ? { peakRssMb: Number.NaN, accepted: 0, refused: 0, lost: Number.NaN } : await overload();
console.log(`overload: peak RSS ${over.peakRssMb.toFixed(0)} MiB, ${over.accepted} spans accepted, ${over.refused} requests refused, ${over.lost} accepted spans lost; load average ${loadAverage().join(' ')}`);

await report(
  'collector',
  {
    spans_per_cpu_s: Math.round(run.spansPerCpuS),
    decode_only_spans_per_cpu_s: Math.round(decodeOnly),
    floor_ratio: Number((run.spansPerCpuS / decodeOnly).toFixed(3)),
    codec_decode_spans_per_cpu_s: Math.round(codecOnly),
    receiver_decode_spans_per_cpu_s: Math.round(lazyOnly),
    spans_per_s_wall: Math.round(run.spansPerS),
    collector_cpu_ms: Math.round(run.cpuMs),
    collector_sys_cpu_ms: Math.round(run.sysMs),
    peak_rss_mb_overload: Math.round(over.peakRssMb),
    overload_accepted_spans: over.accepted,
    overload_refused_requests: over.refused,
    accepted_lost: over.lost,
    spans_per_request: SPANS_PER_REQUEST,
    load_average_1m: load0[0],
  },
);
process.exit(0);
