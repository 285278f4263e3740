// npm run bench -- alerting
//
// Phase 1 — rule evaluation against the real Prometheus: an in-bench exporter serves 10,000 series of
// lantern_bench_alerting_value{i="0".."9999"} (about half above 50), scraped every second; 1,000 alerting
// rules (rule k selects the 10 series i = 10k..10k+9, `> 50`) in 10 groups of 100 at a 1 s interval, run by
// the engine's RuleManager in this process (ALERTS/ALERTS_FOR_STATE remote write goes to a loopback discard
// sink, so the shared Prometheus is not filled with 5,000 bench ALERTS series).
//   eval_cycle_ms       one full evaluation of all 1,000 rules: the 10 groups' evaluation times of the same
//                       cycle summed (as if run one after another), median of 5 cycles after warm-up
//   eval_cycle_max_group_ms  the slowest group of a cycle (median): the wall time when groups overlap
// Phase 2 — dispatch: the engine as its own process (src/main.ts), group_by [alertname, i] so 10,000 alerts
// make 10,000 groups, group_wait 1s, a webhook receiver on loopback that timestamps arrivals. 10,000 alerts
// pushed on POST /api/v2/alerts in batches of 500.
//   dispatch_latency_ms    p99 over groups of arrival − (POST answered + group_wait)
//   dispatch_latency_p50_ms
//   rss_mb                 the engine's peak RSS during the push and dispatch
//   cpu_ms_per_1000_alerts the engine's CPU (user+sys, /proc/<pid>/stat) from the first POST until the last
//                          notification arrived, per 1,000 alerts
//   floor_cpu_ms_per_1000_alerts  the same POSTs answered by a bare node:http server (its own process) that
//                          parses the JSON and discards it
//   push_alerts_per_s, notifications_per_s, notified (of 10,000)
// Knobs: BENCH_PHASES (default 1,2), BENCH_ALERTS (default 10000), BENCH_CPU_PROF=DIR (the engine child writes a V8 CPU profile to DIR).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { request } from 'undici';
import { Registry } from 'prom-client';
import { RuleManager } from '@lantern/alerting';
import { freshSchema, infra, promQuery, registerScrapeTarget, uniqueName, waitFor } from '@lantern/testkit';
import { percentile, procCpuMs, procRssMb, report } from './lib.js';

const SERIES = 10_000;
const RULES = 1_000;
const GROUPS = 10;
const ALERTS = Number(process.env.BENCH_ALERTS ?? 10_000);
const BATCH = 500;
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
/** Rule k selects the 10 series i = 10k .. 10k+9 (as decimal strings). */
const exprFor = (k: number): string => `lantern_bench_alerting_value{bench_run="${run}", i=~"${k === 0 ? '[0-9]' : `${k}[0-9]`}"} > 50`;

// ---- phase 1: rule evaluation ----

async function phase1(): Promise<{ eval_cycle_ms: number; eval_cycle_sum_of_groups_ms: number; eval_cycle_max_group_ms: number; eval_floor_queries_ms: number; rule_alerts_firing: number }> {
  const value = (i: number) => (i * 7919) % 100; // a fixed spread: about half the series above 50
  const exposition = `# TYPE lantern_bench_alerting_value gauge\n${Array.from({ length: SERIES }, (_, i) => `lantern_bench_alerting_value{i="${i}"} ${value(i)}`).join('\n')}\n`;
  const exporter = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(exposition));
  const exporterAddr = await listen(exporter);
  const unregister = await registerScrapeTarget(run, exporterAddr, { bench_run: run });
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

    const perGroup = RULES / GROUPS;
    const groups = Array.from({ length: GROUPS }, (_, g) => {
      const rules = Array.from({ length: perGroup }, (_, r) => {
        const k = g * perGroup + r;
        return `      - alert: BenchValueHigh_${k}\n        expr: ${exprFor(k)}\n        labels:\n          severity: warning\n        annotations:\n          summary: 'value {{ $value }} of series {{ $labels.i }}'`;
      });
      return `  - name: bench-${g}\n    interval: 1s\n    rules:\n${rules.join('\n')}`;
    });
    const ruleFile = join(dir, 'bench.rules.yml');
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
    // per group: evaluation slot → duration ms. Read from the groups themselves: listGroups() (the
    // /api/v1/rules view) formats every active alert and would steal the evaluation's CPU every poll.
    const internals = manager as unknown as { groups: { def: { name: string }; lastEvaluation?: Date; evaluationTimeMs: number }[] };
    const seen = new Map<string, Map<number, number>>();
    const WARMUP = 3;
    const CYCLES = 5;
    try {
      await waitFor(
        () => {
          for (const g of internals.groups) {
            if (!g.lastEvaluation) continue;
            const m = seen.get(g.def.name) ?? new Map<number, number>();
            m.set(g.lastEvaluation.getTime(), g.evaluationTimeMs);
            seen.set(g.def.name, m);
          }
          return seen.size === GROUPS && [...seen.values()].every((m) => m.size >= WARMUP + CYCLES);
        },
        { what: `${WARMUP + CYCLES} evaluations of every group`, timeoutMs: 120_000, intervalMs: 20 },
      );
    } finally {
      await manager.stop();
    }
    const cycles: number[] = [];
    const sums: number[] = [];
    const maxGroup: number[] = [];
    for (let c = WARMUP; c < WARMUP + CYCLES; c++) {
      const evals = [...seen.values()].map((m) => [...m.entries()].sort(([a], [b]) => a - b)[c]!);
      // groups run side by side from their slots: the cycle's wall time spans the first start to the last end
      cycles.push(Math.max(...evals.map(([at, d]) => at + d)) - Math.min(...evals.map(([at]) => at)));
      sums.push(evals.reduce((s, [, d]) => s + d, 0));
      maxGroup.push(Math.max(...evals.map(([, d]) => d)));
    }
    // the floor: the same 1,000 queries sent straight to Prometheus, one after another (Prometheus's own cost
    // plus one HTTP round trip each), measured twice, the second kept
    let floorMs = 0;
    for (let round = 0; round < 2; round++) {
      const t0 = performance.now();
      for (let k = 0; k < RULES; k++) {
        const res = await request(`${infra.prometheusUrl}/api/v1/query`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ query: exprFor(k), time: (Date.now() / 1000).toFixed(3) }).toString(),
        });
        await res.body.text();
      }
      floorMs = performance.now() - t0;
    }
    console.log(`phase 1: cycle wall ${cycles.map((c) => c.toFixed(0)).join(', ')} ms, group sums ${sums.map((c) => c.toFixed(0)).join(', ')} ms; ${sent} alerts sent, ${firing.size} distinct firing`);
    return { eval_cycle_ms: median(cycles), eval_cycle_sum_of_groups_ms: median(sums), eval_cycle_max_group_ms: median(maxGroup), eval_floor_queries_ms: floorMs, rule_alerts_firing: firing.size };
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

/** The floor: a bare node:http server that reads and parses the same POSTs, then discards them. */
const FLOOR_SERVER = `
const http = require('node:http');
const s = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => { JSON.parse(Buffer.concat(chunks).toString('utf8')); res.writeHead(200, { 'content-type': 'application/json' }).end(''); });
});
s.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ url: 'http://127.0.0.1:' + s.address().port }) + '\\n'));
process.on('SIGTERM', () => process.exit(0));
`;

async function floor(): Promise<number> {
  const f = await spawnPrintingUrl(['-e', FLOOR_SERVER], {});
  try {
    const pid = f.child.pid!;
    const cpu0 = procCpuMs(pid);
    await push(f.url, () => undefined);
    return procCpuMs(pid) - cpu0;
  } finally {
    await stopChild(f);
  }
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
  const engine = await spawnPrintingUrl([...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), '--import', 'tsx', join(root, 'alerting/src/main.ts')], {
    LANTERN_ALERTING_PRINT_URL: '1',
    DATABASE_URL: infra.databaseUrl,
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
    console.log(`phase 2: pushing ${ALERTS} alerts in batches of ${BATCH}…`);
    const acceptedAt = new Map<string, number>();
    const cpu0 = procCpuMs(pid);
    const pushMs = await push(engine.url, (b, at) => {
      for (let j = 0; j < BATCH && b * BATCH + j < ALERTS; j++) acceptedAt.set(String(b * BATCH + j), at);
    });
    const pushedAt = performance.now();
    await waitFor(() => arrivals.size >= ALERTS, { what: `${ALERTS} groups notified`, timeoutMs: 180_000, intervalMs: 50 }).catch((err: Error) => console.error(`phase 2: ${err.message} (${arrivals.size} notified)`));
    const dispatchMs = performance.now() - pushedAt;
    const cpuMs = procCpuMs(pid) - cpu0;
    peakRss = Math.max(peakRss, procRssMb(pid));
    const latencies = [...arrivals.entries()].map(([i, at]) => at - (acceptedAt.get(i)! + GROUP_WAIT_MS));
    const floorCpu = await floor();
    console.log(`phase 2: pushed in ${pushMs.toFixed(0)} ms, all notified ${dispatchMs.toFixed(0)} ms later; engine CPU ${cpuMs} ms, floor ${floorCpu} ms`);
    return {
      dispatch_latency_ms: percentile(latencies, 99),
      dispatch_latency_p50_ms: percentile(latencies, 50),
      rss_mb: peakRss,
      cpu_ms_per_1000_alerts: (cpuMs * 1000) / ALERTS,
      floor_cpu_ms_per_1000_alerts: (floorCpu * 1000) / ALERTS,
      push_alerts_per_s: ALERTS / (pushMs / 1000),
      notifications_per_s: notifications / ((pushMs + dispatchMs) / 1000),
      notified: arrivals.size,
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
  measured: { eval_cycle_ms: p1.eval_cycle_ms, dispatch_latency_ms: p2.dispatch_latency_ms ?? NaN },
});
await sleep(10);
process.exit(0);
