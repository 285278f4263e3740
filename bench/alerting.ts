// npm run bench -- alerting
//
// Phase 1 — rule evaluation against the real Prometheus: an in-bench exporter serves 10,000 series of
// lantern_bench_alerting_value{i="0".."9999", rule="0".."999"} (about half above 50), scraped every second;
// 1,000 alerting rules in 10 groups of 100 at a 1 s interval, run by the engine's RuleManager in this process
// (ALERTS/ALERTS_FOR_STATE remote write goes to a loopback discard sink, so the shared Prometheus is not filled
// with 5,000 bench ALERTS series). Rule k selects its 10 series by `rule="k"` (equality, as rules select by job
// or service); the same rules selecting by a regex on `i` are measured too (Prometheus matches that regex
// against all 10,000 values of `i` per query: ~1 ms of its CPU each, per its query stats).
//   eval_cycle_ms       one evaluation of all 1,000 rules: every group's evaluation started at the same moment
//                       (the schedule's worst case: all slots coinciding), until the last ends; median of 7,
//                       after the manager ran on its own schedule (restore included) and was stopped
//   eval_cycle_p90_ms, eval_cycle_scheduled_max_group_ms (the slowest group's evaluation on the schedule)
//   eval_cpu_ms_per_cycle  CPU per cycle of this process (the engine's evaluation) plus Prometheus's
//                       (/proc/<pid>/stat); eval_cpu_prometheus_ms_per_cycle is Prometheus's share
//   eval_floor_queries_ms  the same 1,000 queries sent straight to Prometheus, 16 in flight (the engine's
//                       default bound); eval_floor_serial_queries_ms one at a time
//   eval_cycle_regex_ms, eval_cpu_regex_ms_per_cycle, eval_floor_regex_queries_ms: the regex variant
// Phase 2 — dispatch: the engine as its own process (src/main.ts), group_by [alertname, i] so 10,000 alerts
// make 10,000 groups, group_wait 1s, a webhook receiver on loopback that timestamps arrivals. 10,000 alerts
// pushed on POST /api/v2/alerts in batches of 500.
//   dispatch_latency_ms    p99 over groups of arrival − (POST answered + group_wait); _p50_ms, _max_ms
//   rss_mb                 the engine's peak RSS during the push and dispatch
//   cpu_ms_per_1000_alerts CPU (user+sys, /proc/<pid>/stat) from the first POST until the last notification
//                          arrived, of the engine and of the Postgres backends serving it (found by the
//                          application_name its connections carry), per 1,000 alerts; each share apart too
//   floor_cpu_ms_per_1000_alerts  a bare node:http process taking the same POSTs and sending one webhook per
//                          alert group_wait later on a keep-alive pool: the least work any engine does for
//                          this load; floor_dispatch_latency_ms (p99) and _p50_ms: its latency, measured alike
//   push_alerts_per_s, notifications_per_s, notified (of 10,000)
// Both phases record the 1-minute load average at their start (eval_load_avg_1m, dispatch_load_avg_1m): the
// machine is shared, and wall-time figures move with it.
// Knobs: BENCH_PHASES (default 1,2), BENCH_ALERTS (default 10000), BENCH_CPU_PROF=DIR (the engine child writes a V8 CPU profile to DIR).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import pg from 'pg';
import { Agent, request } from 'undici';
import { Registry } from 'prom-client';
import { RuleManager } from '@lantern/alerting';
import { freshSchema, infra, promQuery, registerScrapeTarget, uniqueName, waitFor } from '@lantern/testkit';
import { percentile, procCpuMs, procRssMb, report } from './lib.js';

const SERIES = 10_000;
const RULES = 1_000;
const GROUPS = 10;
const ALERTS = Number(process.env.BENCH_ALERTS ?? 10_000);
const BATCH = 500;
/** The engine's default bound on queries in flight (RuleManager queryConcurrency). */
const QUERY_CONCURRENCY = 16;
const GROUP_WAIT_MS = 1000;
const root = new URL('..', import.meta.url).pathname;
const run = uniqueName('bench_alerting');
const dir = mkdtempSync(join(tmpdir(), 'lantern-bench-alerting-'));
const silent = pino({ level: 'silent' });

const listen = (s: Server): Promise<string> =>
  new Promise((r) => s.listen(0, '127.0.0.1', () => r(`127.0.0.1:${(s.address() as AddressInfo).port}`)));
const close = (s: Server): Promise<void> =>
  new Promise((r) => {
    s.close(() => r());
    s.closeAllConnections();
  });
const median = (xs: number[]): number => percentile(xs, 50);

// ---- phase 1: rule evaluation ----

/** Rule k selects its 10 series by an equality matcher (rule="k"), as rules usually select (job, service). */
const exprFor = (k: number): string => `lantern_bench_alerting_value{bench_run="${run}", rule="${k}"} > 50`;
/**
 * The same 10 series by a regex on `i` (i = 10k..10k+9): Prometheus matches the regex against every value of
 * `i` (10,000), about 1 ms of its CPU per query (query stats: queryPreparationTime), so this variant mostly
 * measures Prometheus.
 */
const regexExprFor = (k: number): string => `lantern_bench_alerting_value{bench_run="${run}", i=~"${k === 0 ? '[0-9]' : `${k}[0-9]`}"} > 50`;

interface GroupInternals {
  def: { name: string };
  lastEvaluation?: Date;
  evaluationTimeMs: number;
  evaluate(ts: Date): Promise<void>;
}

/** The Prometheus server's pid (infra.sh starts it and keeps its pid), for its CPU time. */
function prometheusPid(): number | undefined {
  try {
    const pid = Number(readFileSync(join(infra.lanternHome, 'run', 'prometheus.pid'), 'utf8').trim());
    procCpuMs(pid);
    return pid;
  } catch {
    return undefined;
  }
}

const ownCpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * One rule set: the manager runs on its schedule until every group was evaluated WARMUP times (restore
 * included), then is stopped, and the cycles are timed by starting every group's evaluation at the same moment
 * (the worst case of the schedule: all slots coinciding) and waiting for the last to end.
 */
async function evalCycles(label: string, expr: (k: number) => string, discardAddr: string, cycles: number): Promise<{ cycleMs: number[]; liveMaxGroupMs: number; cpuMs: number; promCpuMs: number; sent: number; firing: number }> {
  const perGroup = RULES / GROUPS;
  const groups = Array.from({ length: GROUPS }, (_, g) => {
    const rules = Array.from({ length: perGroup }, (_, r) => {
      const k = g * perGroup + r;
      return `      - alert: BenchValueHigh_${k}\n        expr: ${expr(k)}\n        labels:\n          severity: warning\n        annotations:\n          summary: 'value {{ $value }} of series {{ $labels.i }}'`;
    });
    return `  - name: bench-${g}\n    interval: 1s\n    rules:\n${rules.join('\n')}`;
  });
  const ruleFile = join(dir, `bench-${label}.rules.yml`);
  writeFileSync(ruleFile, `groups:\n${groups.join('\n')}\n`);

  let sent = 0;
  const firing = new Set<string>();
  const manager = new RuleManager({
    files: [ruleFile],
    prometheusUrl: infra.prometheusUrl,
    remoteWriteUrl: `http://${discardAddr}/api/v1/write`,
    sink: {
      send: async (alerts) => {
        sent += alerts.length;
        for (const a of alerts) firing.add(`${a.labels.alertname}/${a.labels.i}`);
      },
    },
    logger: silent,
    registry: new Registry(),
    evaluationIntervalMs: 1000,
  });
  await manager.load();
  manager.start();
  // Read from the groups themselves: listGroups() (the /api/v1/rules view) formats every active alert.
  const internals = manager as unknown as { groups: GroupInternals[] };
  const seen = new Map<string, Map<number, number>>();
  const WARMUP = 4;
  try {
    await waitFor(
      () => {
        for (const g of internals.groups) {
          if (!g.lastEvaluation) continue;
          const m = seen.get(g.def.name) ?? new Map<number, number>();
          m.set(g.lastEvaluation.getTime(), g.evaluationTimeMs);
          seen.set(g.def.name, m);
        }
        return seen.size === GROUPS && [...seen.values()].every((m) => m.size >= WARMUP);
      },
      { what: `${WARMUP} scheduled evaluations of every group`, timeoutMs: 120_000, intervalMs: 20 },
    );
  } finally {
    await manager.stop();
  }
  // on its schedule (groups at their own offsets in the second): the slowest group's evaluation, after restore
  const liveMax: number[] = [];
  for (let c = 2; c < WARMUP; c++) liveMax.push(Math.max(...[...seen.values()].map((m) => [...m.entries()].sort(([a], [b]) => a - b)[c]![1])));

  const cycle = async (): Promise<number> => {
    const t0 = performance.now();
    const ts = new Date();
    await Promise.all(internals.groups.map((g) => g.evaluate(ts)));
    return performance.now() - t0;
  };
  await cycle(); // the connections stopped with the manager: open them again
  const promPid = prometheusPid();
  const cpu0 = ownCpuMs();
  const prom0 = promPid ? procCpuMs(promPid) : 0;
  const cycleMs: number[] = [];
  for (let c = 0; c < cycles; c++) {
    cycleMs.push(await cycle());
    await sleep(200);
  }
  const cpuMs = ownCpuMs() - cpu0;
  const promCpuMs = promPid ? procCpuMs(promPid) - prom0 : NaN;
  await manager.stop();
  console.log(`phase 1 (${label}): cycles ${cycleMs.map((c) => c.toFixed(0)).join(', ')} ms; slowest scheduled group ${liveMax.map((c) => c.toFixed(0)).join(', ')} ms; ${sent} alerts sent, ${firing.size} distinct firing`);
  return { cycleMs, liveMaxGroupMs: median(liveMax), cpuMs: cpuMs / cycles, promCpuMs: promCpuMs / cycles, sent, firing: firing.size };
}

/** The floor: the same 1,000 queries sent straight to Prometheus, `connections` at a time, measured twice, the second kept. */
async function queryFloor(expr: (k: number) => string, connections: number): Promise<number> {
  const agent = new Agent({ connections });
  let ms = 0;
  try {
    for (let round = 0; round < 2; round++) {
      const t0 = performance.now();
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < RULES) {
          const k = next++;
          const res = await request(`${infra.prometheusUrl}/api/v1/query`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: `query=${encodeURIComponent(expr(k))}&time=${(Date.now() / 1000).toFixed(3)}`,
            dispatcher: agent,
          });
          await res.body.text();
        }
      };
      await Promise.all(Array.from({ length: connections }, worker));
      ms = performance.now() - t0;
    }
  } finally {
    await agent.close();
  }
  return ms;
}

async function phase1(): Promise<Record<string, number>> {
  const value = (i: number) => (i * 7919) % 100; // a fixed spread: about half the series above 50
  const exposition = `# TYPE lantern_bench_alerting_value gauge\n${Array.from({ length: SERIES }, (_, i) => `lantern_bench_alerting_value{i="${i}",rule="${Math.floor(i / 10)}"} ${value(i)}`).join('\n')}\n`;
  const exporter = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(exposition));
  const exporterAddr = await listen(exporter);
  const unregister = await registerScrapeTarget(run, exporterAddr, { bench_run: run });
  // ALERTS/ALERTS_FOR_STATE go to a discard sink: the shared Prometheus is not filled with bench series
  const discard = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  const discardAddr = await listen(discard);
  try {
    console.log(`phase 1: waiting for Prometheus to scrape ${SERIES} series…`);
    await waitFor(async () => Number((await promQuery(`count(lantern_bench_alerting_value{bench_run="${run}"})`))[0]?.value[1] ?? 0) === SERIES, {
      what: `${SERIES} series in Prometheus`,
      timeoutMs: 90_000,
      intervalMs: 500,
    });
    const load = loadavg()[0]!;
    console.log(`phase 1: load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    const eq = await evalCycles('equality', exprFor, discardAddr, 7);
    const re = await evalCycles('regex', regexExprFor, discardAddr, 3);
    const floorConcurrent = await queryFloor(exprFor, QUERY_CONCURRENCY);
    const floorSerial = await queryFloor(exprFor, 1);
    const floorRegex = await queryFloor(regexExprFor, QUERY_CONCURRENCY);
    console.log(`phase 1: floors (Prometheus alone, same queries): ${floorConcurrent.toFixed(0)} ms at ${QUERY_CONCURRENCY} in flight, ${floorSerial.toFixed(0)} ms one at a time, regex ${floorRegex.toFixed(0)} ms`);
    return {
      eval_cycle_ms: median(eq.cycleMs),
      eval_cycle_p90_ms: percentile(eq.cycleMs, 90),
      eval_cycle_scheduled_max_group_ms: eq.liveMaxGroupMs,
      eval_cpu_ms_per_cycle: eq.cpuMs + eq.promCpuMs,
      eval_cpu_prometheus_ms_per_cycle: eq.promCpuMs,
      eval_floor_queries_ms: floorConcurrent,
      eval_floor_serial_queries_ms: floorSerial,
      eval_cycle_regex_ms: median(re.cycleMs),
      eval_cpu_regex_ms_per_cycle: re.cpuMs + re.promCpuMs,
      eval_floor_regex_queries_ms: floorRegex,
      rule_alerts_firing: eq.firing,
      eval_load_avg_1m: load,
    };
  } finally {
    await unregister();
    await close(exporter);
    await close(discard);
  }
}

// ---- phase 2: dispatch ----

interface Child {
  child: ChildProcess;
  url: string;
  output: () => string;
}

async function spawnPrintingUrl(args: string[], env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let url: string | undefined;
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    url ??= /^\{"url":"([^"]+)"\}$/m.exec(out)?.[1];
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (out += s));
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`child exited ${child.exitCode}:\n${out.slice(-2000)}`);
      return url;
    },
    { what: 'the child to print its URL', timeoutMs: 60_000, intervalMs: 50 },
  );
  return { child, url: url!, output: () => out };
}

async function stopChild(c: Child): Promise<void> {
  if (c.child.exitCode !== null) return;
  const exited = new Promise((r) => c.child.once('exit', r));
  c.child.kill('SIGTERM');
  const timer = setTimeout(() => c.child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

const batches = (): object[][] => {
  const startsAt = new Date().toISOString();
  const out: object[][] = [];
  for (let b = 0; b < ALERTS; b += BATCH) {
    out.push(
      Array.from({ length: Math.min(BATCH, ALERTS - b) }, (_, j) => ({
        labels: { alertname: 'BenchDispatch', i: String(b + j), service: `svc-${(b + j) % 20}`, severity: 'warning' },
        annotations: { summary: `bench alert ${b + j}` },
        startsAt,
      })),
    );
  }
  return out;
};

async function push(url: string, onAccepted: (batch: number, at: number) => void): Promise<number> {
  const started = performance.now();
  const all = batches();
  for (let b = 0; b < all.length; b++) {
    const res = await fetch(`${url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(all[b]) });
    if (res.status !== 200) throw new Error(`POST /api/v2/alerts answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
    onAccepted(b, Date.now());
  }
  return performance.now() - started;
}

/**
 * The floor: a bare node:http process that reads and parses the same POSTs and, group_wait after each was
 * answered, sends one webhook POST per alert to a receiver, on a keep-alive pool of as many connections as the
 * engine's: the least work any engine must do for this load (no routing, grouping, persistence or dedup), and
 * the least latency it can have on this machine.
 */
const FLOOR_SERVER = `
const http = require('node:http');
const target = new URL(process.env.FLOOR_TARGET);
const wait = Number(process.env.FLOOR_WAIT_MS);
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
const send = (a) => {
  const body = JSON.stringify({ version: '4', status: 'firing', alerts: [a] });
  const r = http.request({ host: target.hostname, port: target.port, path: '/', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (out) => out.resume());
  r.end(body);
};
const s = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const alerts = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    res.writeHead(200, { 'content-type': 'application/json' }).end('');
    setTimeout(() => { for (const a of alerts) send(a); }, wait);
  });
});
s.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ url: 'http://127.0.0.1:' + s.address().port }) + '\\n'));
process.on('SIGTERM', () => process.exit(0));
`;

async function floor(): Promise<{ cpuMs: number; latencies: number[] }> {
  const arrivals = new Map<string, number>();
  const sink = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alerts: { labels: Record<string, string> }[] };
      for (const a of body.alerts) if (a.labels.i !== undefined) arrivals.set(a.labels.i, at);
      res.writeHead(200).end('ok');
    });
  });
  const sinkAddr = await listen(sink);
  const f = await spawnPrintingUrl(['-e', FLOOR_SERVER], { FLOOR_TARGET: `http://${sinkAddr}/`, FLOOR_WAIT_MS: String(GROUP_WAIT_MS) });
  try {
    const pid = f.child.pid!;
    const acceptedAt = new Map<string, number>();
    const cpu0 = procCpuMs(pid);
    await push(f.url, (b, at) => {
      for (let j = 0; j < BATCH && b * BATCH + j < ALERTS; j++) acceptedAt.set(String(b * BATCH + j), at);
    });
    await waitFor(() => arrivals.size >= ALERTS, { what: 'the floor to send every webhook', timeoutMs: 120_000, intervalMs: 20 });
    return { cpuMs: procCpuMs(pid) - cpu0, latencies: [...arrivals.entries()].map(([i, at]) => at - (acceptedAt.get(i)! + GROUP_WAIT_MS)) };
  } finally {
    await stopChild(f);
    await close(sink);
  }
}

/**
 * CPU of the Postgres backends serving one application_name (the engine's pool and its LISTEN connection),
 * from /proc/<pid>/stat: sampled while the run lasts, since a backend's figure is gone once it exits.
 */
function postgresCpu(applicationName: string): { start(): void; stop(): Promise<number> } {
  const client = new pg.Client({ connectionString: infra.databaseUrl });
  const base = new Map<number, number>();
  const last = new Map<number, number>();
  let started = false;
  let timer: NodeJS.Timeout | undefined;
  const sample = async (): Promise<void> => {
    const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
    for (const { pid } of rows) {
      try {
        const cpu = procCpuMs(pid);
        if (!started) base.set(pid, cpu);
        last.set(pid, cpu);
      } catch {
        // the backend just exited
      }
    }
  };
  const connected = client.connect();
  return {
    start() {
      void connected.then(async () => {
        await sample();
        started = true;
        timer = setInterval(() => void sample().catch(() => undefined), 200);
      });
    },
    async stop() {
      await connected;
      clearInterval(timer);
      await sample();
      await client.end();
      let total = 0;
      for (const [pid, cpu] of last) total += cpu - (base.get(pid) ?? 0);
      return total;
    },
  };
}

async function phase2(): Promise<Record<string, number>> {
  const schema = await freshSchema('bench_alerting');
  // the webhook receiver: arrival time per alert `i` (one alert per group)
  const arrivals = new Map<string, number>();
  let notifications = 0;
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      notifications++;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alerts: { labels: Record<string, string> }[] };
      for (const a of body.alerts) if (a.labels.i !== undefined && !arrivals.has(a.labels.i)) arrivals.set(a.labels.i, at);
      res.writeHead(200).end('ok');
    });
  });
  const receiverAddr = await listen(receiver);
  const amFile = join(dir, 'alertmanager.yml');
  writeFileSync(
    amFile,
    `route:\n  receiver: hook\n  group_by: [alertname, i]\n  group_wait: 1s\n  group_interval: 5m\n  repeat_interval: 4h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: http://${receiverAddr}/\n`,
  );
  const rulesFile = join(dir, 'none.rules.yml');
  writeFileSync(rulesFile, 'groups: []\n');
  const prof = process.env.BENCH_CPU_PROF;
  // the engine's connections carry this name, so their Postgres backends' CPU is counted with the engine's
  const applicationName = `${run}_engine`.slice(0, 63);
  const databaseUrl = new URL(infra.databaseUrl);
  databaseUrl.searchParams.set('application_name', applicationName);
  const engine = await spawnPrintingUrl([...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), '--import', 'tsx/esm', join(root, 'alerting/src/main.ts')], {
    LANTERN_ALERTING_PRINT_URL: '1',
    DATABASE_URL: databaseUrl.toString(),
    ALERTING_DB_SCHEMA: schema.name,
    ALERTMANAGER_CONFIG: amFile,
    ALERTING_RULE_FILES: rulesFile,
    ALERTING_LISTEN: '127.0.0.1:0',
    ALERTING_ACK_SECRET: 'bench-ack-secret-0123456789abcdef-0123',
    ALERTING_LOGS_KIND: 'none',
    ALERTING_REPLICA: 'bench',
    ALERTING_LEASE_TTL: '15s',
    LOG_LEVEL: 'warn',
  });
  const pid = engine.child.pid!;
  let peakRss = 0;
  const rssTimer = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, procRssMb(pid));
    } catch {
      // the process is gone
    }
  }, 100);
  try {
    await waitFor(async () => (await (await fetch(`${engine.url}/metrics`)).text()).includes('lantern_leader 1'), { what: 'the engine to lead', timeoutMs: 30_000 });
    await sleep(1000); // let start-up settle (module loading, migrations, the first lease round)
    const load = loadavg()[0]!;
    console.log(`phase 2: load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; pushing ${ALERTS} alerts in batches of ${BATCH}…`);
    const acceptedAt = new Map<string, number>();
    const pgCpu = postgresCpu(applicationName);
    pgCpu.start();
    await sleep(300);
    const cpu0 = procCpuMs(pid);
    const pushMs = await push(engine.url, (b, at) => {
      for (let j = 0; j < BATCH && b * BATCH + j < ALERTS; j++) acceptedAt.set(String(b * BATCH + j), at);
    });
    const pushedAt = performance.now();
    await waitFor(() => arrivals.size >= ALERTS, { what: `${ALERTS} groups notified`, timeoutMs: 180_000, intervalMs: 20 }).catch((err: Error) => console.error(`phase 2: ${err.message} (${arrivals.size} notified)`));
    const dispatchMs = performance.now() - pushedAt;
    await sleep(500); // the last nflog writes land after the last notification
    const engineCpuMs = procCpuMs(pid) - cpu0;
    const postgresCpuMs = await pgCpu.stop();
    peakRss = Math.max(peakRss, procRssMb(pid));
    const latencies = [...arrivals.entries()].map(([i, at]) => at - (acceptedAt.get(i)! + GROUP_WAIT_MS));
    const fl = await floor();
    const floorCpu = fl.cpuMs;
    console.log(
      `phase 2: pushed in ${pushMs.toFixed(0)} ms, all notified ${dispatchMs.toFixed(0)} ms later; CPU engine ${engineCpuMs} ms + its Postgres backends ${postgresCpuMs} ms, floor ${floorCpu} ms; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    );
    return {
      dispatch_latency_ms: percentile(latencies, 99),
      dispatch_latency_p50_ms: percentile(latencies, 50),
      dispatch_latency_max_ms: Math.max(...latencies),
      rss_mb: peakRss,
      cpu_ms_per_1000_alerts: ((engineCpuMs + postgresCpuMs) * 1000) / ALERTS,
      cpu_engine_ms_per_1000_alerts: (engineCpuMs * 1000) / ALERTS,
      cpu_postgres_ms_per_1000_alerts: (postgresCpuMs * 1000) / ALERTS,
      floor_cpu_ms_per_1000_alerts: (floorCpu * 1000) / ALERTS,
      floor_dispatch_latency_ms: percentile(fl.latencies, 99),
      floor_dispatch_latency_p50_ms: percentile(fl.latencies, 50),
      push_alerts_per_s: ALERTS / (pushMs / 1000),
      notifications_per_s: notifications / ((pushMs + dispatchMs) / 1000),
      notified: arrivals.size,
      dispatch_load_avg_1m: load,
    };
  } finally {
    clearInterval(rssTimer);
    await stopChild(engine);
    await close(receiver);
    await schema.drop();
  }
}

const phases = (process.env.BENCH_PHASES ?? '1,2').split(',');
const p1 = phases.includes('1') ? await phase1() : { eval_cycle_ms: NaN };
const p2 = phases.includes('2') ? await phase2() : { dispatch_latency_ms: NaN };
await report('alerting', { ...p1, ...p2 }, {
  targets: { eval_cycle_ms: 1000, dispatch_latency_ms: 100 },
  measured: { eval_cycle_ms: p1.eval_cycle_ms ?? NaN, dispatch_latency_ms: p2.dispatch_latency_ms ?? NaN },
});
await sleep(10);
process.exit(0);
