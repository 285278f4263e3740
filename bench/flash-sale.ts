// npm run bench -- flash-sale
//
// 10,000 buyers (distinct users, each with their own internal token, as the gateway signs them) for 100
// units, sent straight to the flash-sale service (not through the gateway: the gateway's own per-request
// cost is the checkout bench's subject, and here it would only add its JWT check, token signing and rate
// limit to every attempt). One buyer in ten fires a second attempt later in the stream, so "at most one
// per user" is exercised too: 11,000 attempts per round, closed loop over 64 keep-alive connections from
// this process (the load process; the service runs as its own child process with the SDK preloaded: 100%
// sampling, spans over OTLP to a local sink, access logs, metrics).
//
// CPU per attempt, from /proc/<pid>/stat (user + system, all threads), summed over every process the
// work touches: the flash-sale service, Redis, the Postgres backends serving the service (found by their
// application_name) plus Postgres' writer processes, and the Kafka broker; divided by attempts. The
// window closes once the outbox has sent every accepted purchase to Kafka. Redis, the Kafka broker and
// Postgres' writers are shared with everything else on the machine, so their figure includes whatever
// else ran meanwhile: the idle rate of those processes is measured before the run and printed beside it.
//
// Floors, measured the same way in the same run (same attempts, connections and shared processes):
// - floor_koa: a bare Koa app answering 409 sold_out (no telemetry, no auth);
// - floor_shop: the shop's standard stack answering 409 sold_out: SDK + createServiceApp + internal
//   token check + zod params, with no flash-sale logic behind it.
// Rounds alternate floor_koa → floor_shop → flash-sale (BENCH_ROUNDS, default 3; a fresh sale each
// round); medians are reported.
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { Pool } from 'undici';
import { createInternalTokenSigner, type AuthUser } from '@lantern/shop-common';
import { createTopics, freshSchema, infra, uniqueName, waitFor } from '@lantern/testkit';
import { otlpSink, percentile, procCpuMs, report, type Metrics } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const SELF = fileURLToPath(import.meta.url);
const ROLE = process.env.FLASH_SALE_BENCH_ROLE;
const INTERNAL_AUTH_SECRET = 'bench-internal-secret-0123456789abcdefgh';
const BUYERS = Number(process.env.BENCH_BUYERS ?? 10_000);
const STOCK = Number(process.env.BENCH_STOCK ?? 100);
/** Every n-th buyer tries a second time. */
const REPEAT_EVERY = 10;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TARGET_CPU_US = 300;
const APP_NAME = 'flash-sale-bench';

// ---------------------------------------------------------------------------------------------------
// Child roles: the two floors. Each sends {port} over IPC once listening.

async function floorKoa(): Promise<void> {
  const { default: Koa } = await import('koa');
  const app = new Koa();
  const body = JSON.stringify({ error: { code: 'sold_out', message: 'flash sale is sold out' } });
  app.use((ctx) => {
    if (ctx.method === 'POST' && /^\/flash-sales\/[^/]+\/purchase$/.test(ctx.path)) {
      ctx.status = 409;
      ctx.type = 'application/json';
      ctx.body = body;
    } else ctx.status = 404;
  });
  const server = createServer(app.callback());
  server.keepAliveTimeout = 65_000;
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => process.send?.({ port: (server.address() as AddressInfo).port }));
}

async function floorShop(): Promise<void> {
  const { getTelemetry } = await import('@lantern/sdk');
  const { z } = await import('zod');
  const { ConflictError, createServiceApp, defineRoute, runService } = await import('@lantern/shop-common');
  const telemetry = getTelemetry();
  const route = defineRoute({
    method: 'POST',
    path: '/flash-sales/:id/purchase',
    summary: 'floor: always sold out',
    auth: 'user',
    params: z.strictObject({ id: z.uuid() }),
    handler: async ({ params }) => {
      throw new ConflictError(`flash sale ${params.id} is sold out`, 'sold_out');
    },
  });
  const app = createServiceApp({ telemetry, routes: [route], serviceAuth: { secret: INTERNAL_AUTH_SECRET, audience: 'flash-sale' } });
  const running = await runService({ app, telemetry, port: 0, host: '127.0.0.1' });
  process.send?.({ port: running.port });
}

// ---------------------------------------------------------------------------------------------------
// CPU of the processes the work touches.

interface CpuSource {
  name: 'service' | 'redis' | 'postgres' | 'kafka';
  pids(): Promise<number[]>;
}

function cpuOf(pid: number): number | undefined {
  try {
    return procCpuMs(pid);
  } catch {
    return undefined; // exited
  }
}

/** Postgres' own writer processes (their work grows with our writes): walwriter, checkpointer, … */
function postgresAuxPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (/^postgres: .*(walwriter|checkpointer|background writer|autovacuum launcher)/.test(cmd) || /\/bin\/postgres\b/.test(cmd)) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

async function redisPid(): Promise<number> {
  const { Redis } = await import('ioredis');
  const r = new Redis(infra.redisUrl);
  try {
    const info = await r.info('server');
    return Number(/process_id:(\d+)/.exec(info)?.[1]);
  } finally {
    r.disconnect();
  }
}

function kafkaPid(): number {
  return Number(readFileSync(join(infra.lanternHome, 'run', 'kafka.pid'), 'utf8').trim());
}

class CpuMeter {
  private start = new Map<string, number>();
  constructor(private readonly sources: CpuSource[]) {}

  private async read(): Promise<Map<string, number>> {
    const m = new Map<string, number>();
    for (const s of this.sources) for (const pid of await s.pids()) {
      const v = cpuOf(pid);
      if (v !== undefined) m.set(`${s.name}:${pid}`, v);
    }
    return m;
  }

  async begin(): Promise<void> {
    this.start = await this.read();
  }

  /** CPU ms per source since begin(); a process that appeared meanwhile counts from 0. */
  async end(): Promise<Record<CpuSource['name'], number>> {
    const now = await this.read();
    const out: Record<CpuSource['name'], number> = { service: 0, redis: 0, postgres: 0, kafka: 0 };
    for (const [key, v] of now) {
      const name = key.split(':')[0] as CpuSource['name'];
      out[name] += v - (this.start.get(key) ?? 0);
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------
// Load: a closed loop over a keep-alive pool.

interface Attempt {
  user: AuthUser;
  token: string;
}

interface Outcome {
  status: number;
  code?: string;
  purchaseId?: string;
}

interface LoadResult {
  outcomes: Outcome[];
  latenciesMs: number[];
  wallMs: number;
}

async function attemptsFor(users: AuthUser[]): Promise<Attempt[]> {
  // long-lived tokens: signed before the window (the gateway signs once per user), valid for every round
  const signer = createInternalTokenSigner({ service: 'gateway', secret: INTERNAL_AUTH_SECRET, ttlSeconds: 900 });
  const tokens = new Map<string, string>();
  for (const u of users) tokens.set(u.id, await signer.sign('flash-sale', u));
  const list: Attempt[] = users.map((u) => ({ user: u, token: tokens.get(u.id)! }));
  // every REPEAT_EVERY-th buyer again, spread through the second half of the stream
  const repeats = users.filter((_, i) => i % REPEAT_EVERY === 0);
  repeats.forEach((u, k) => list.splice(Math.floor(list.length / 2) + k * (REPEAT_EVERY + 1), 0, { user: u, token: tokens.get(u.id)! }));
  return list;
}

function newUsers(n: number): AuthUser[] {
  return Array.from({ length: n }, () => {
    const id = randomUUID();
    return { id, role: 'customer', email: `${id.slice(0, 8)}@example.com` };
  });
}

async function runLoad(url: string, saleId: string, attempts: Attempt[]): Promise<LoadResult> {
  // a stuck service fails the round within seconds instead of hanging the bench
  const pool = new Pool(url, { connections: CONNECTIONS, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const outcomes: Outcome[] = new Array(attempts.length);
  const latenciesMs: number[] = [];
  let next = 0;
  const path = `/flash-sales/${saleId}/purchase`;
  const t0 = performance.now();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= attempts.length) return;
      const started = performance.now();
      try {
        const res = await pool.request({ method: 'POST', path, headers: { authorization: `Bearer ${attempts[i]!.token}` } });
        const body = (await res.body.json()) as { purchaseId?: string; error?: { code?: string } };
        outcomes[i] = { status: res.statusCode, code: body.error?.code, purchaseId: body.purchaseId };
      } catch (err) {
        outcomes[i] = { status: 0, code: (err as Error).message };
      }
      latenciesMs.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const wallMs = performance.now() - t0;
  await pool.close();
  return { outcomes, latenciesMs, wallMs };
}

// ---------------------------------------------------------------------------------------------------
// Processes.

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Children still running if the bench dies: killed on the way out, so no orphan keeps a port or CPU. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

function forkWithPort(script: string, env: Record<string, string>, sdk: boolean): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = fork(script, [], {
      execArgv: ['--import', 'tsx/esm', ...(sdk ? ['--import', '@lantern/sdk/register'] : [])],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env, ...env },
    });
    children.add(child);
    child.once('message', (m) => resolve({ child, url: `http://127.0.0.1:${(m as { port: number }).port}` }));
    child.once('exit', (code) => reject(new Error(`${env.FLASH_SALE_BENCH_ROLE ?? script} exited with ${code}`)));
  });
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(killer);
}

/** The inventory service's allocation endpoints, enough for creating and settling sales (not on the measured path). */
async function stubInventory(): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
      const status = req.method === 'POST' && req.url === '/inventory/allocations' ? 201 : req.method === 'POST' ? 200 : 404;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ ...body, sku: 'BENCH-SKU' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

// ---------------------------------------------------------------------------------------------------

/**
 * Per round, in order: the two floors, the sale itself (10,000 buyers for 100 units), then as many new
 * buyers against the same, now sold-out, sale: the fast path alone.
 */
const KINDS = ['floor_koa', 'floor_shop', 'flash_sale', 'sold_out_path'] as const;

interface Round {
  kind: (typeof KINDS)[number];
  attempts: number;
  cpuUsPerAttempt: number;
  byProcess: Record<CpuSource['name'], number>;
  attemptsPerS: number;
  p50: number;
  p99: number;
  codes: string;
  saleId?: string;
  accepted?: number;
  sold?: number;
  duplicateBuyers?: number;
  errors: number;
}

function codesOf(outcomes: Outcome[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) {
    const k = `${o.status}${o.code ? ` ${o.code}` : ''}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, v]) => `${k}: ${v}`).join(', ');
}

async function main(): Promise<void> {
  const schema = await freshSchema('bench_flash_sale');
  const prefix = `${uniqueName('bench_flash_sale')}:`;
  const topic = uniqueName('bench-flash-sales').replace(/_/g, '-');
  const ordersTopic = uniqueName('bench-orders').replace(/_/g, '-');
  await createTopics([topic, ordersTopic]);
  const sink = await otlpSink();
  const inventory = await stubInventory();
  const port = await freePort();
  const serviceUrl = `http://127.0.0.1:${port}`;
  const db = new pg.Pool({ connectionString: infra.databaseUrl, max: 2 });
  let service: ChildProcess | undefined;
  const rounds: Round[] = [];
  let idleRates: Record<string, number> = {};
  try {
    service = fork(join(root, 'shop-services/flash-sale/src/main.ts'), [], {
      // BENCH_CPU_PROF_DIR=dir writes a V8 CPU profile of the service (where its time goes)
      execArgv: ['--import', 'tsx/esm', '--import', '@lantern/sdk/register', ...(process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`] : [])],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: {
        ...process.env,
        OTEL_SERVICE_NAME: 'flash-sale',
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
        OTEL_TRACES_SAMPLER: 'always_on',
        LOG_LEVEL: 'info',
        LOKI_URL: '',
        NODE_ENV: 'production',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: `${infra.databaseUrl}${infra.databaseUrl.includes('?') ? '&' : '?'}application_name=${APP_NAME}`,
        REDIS_URL: infra.redisUrl,
        KAFKA_BROKERS: infra.kafkaBrokers.join(','),
        INTERNAL_AUTH_SECRET,
        DB_SCHEMA: schema.name,
        REDIS_KEY_PREFIX: prefix,
        INVENTORY_SERVICE_URL: `http://127.0.0.1:${(inventory.address() as AddressInfo).port}`,
        FLASH_SALES_TOPIC: topic,
        ORDERS_TOPIC: ordersTopic,
        KAFKA_GROUP_ID: uniqueName('bench-flash-sale-orders'),
      },
    });
    children.add(service);
    service.once('exit', (code, signal) => {
      if (signal !== 'SIGTERM') console.error(`flash-sale service exited with ${code ?? signal}`);
    });
    await waitFor(async () => (await fetch(`${serviceUrl}/readyz`).catch(() => undefined))?.status === 200, { timeoutMs: 90_000, what: 'flash-sale service ready' });
    const servicePid = service.pid!;

    const adminSigner = createInternalTokenSigner({ service: 'gateway', secret: INTERNAL_AUTH_SECRET });
    const createSale = async (stock: number): Promise<string> => {
      const adminToken = await adminSigner.sign('flash-sale', { id: 'bench-admin', role: 'admin' });
      const res = await fetch(`${serviceUrl}/flash-sales`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ productId: randomUUID(), priceCents: 4999, currency: 'USD', stock, startsAt: new Date(Date.now() - 1000).toISOString(), endsAt: new Date(Date.now() + 3600_000).toISOString() }),
      });
      const body = (await res.json()) as { id: string };
      if (res.status !== 201) throw new Error(`sale not created: ${res.status} ${JSON.stringify(body)}`);
      return body.id;
    };
    const outboxEmpty = async () => Number((await db.query(`SELECT count(*)::int AS n FROM "${schema.name}".outbox`)).rows[0].n) === 0;

    const pgBackends = async (): Promise<number[]> => (await db.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [APP_NAME])).rows.map((r: { pid: number }) => r.pid);
    const redis = await redisPid();
    const kafka = kafkaPid();
    const shared: CpuSource[] = [
      { name: 'redis', pids: async () => [redis] },
      { name: 'postgres', pids: async () => [...(await pgBackends()), ...postgresAuxPids()] },
      { name: 'kafka', pids: async () => [kafka] },
    ];

    // the shared processes' idle rate (other work on the machine included), for reading the figures
    {
      const meter = new CpuMeter(shared);
      await meter.begin();
      const t = performance.now();
      await new Promise((r) => setTimeout(r, 3000));
      const cpu = await meter.end();
      const s = (performance.now() - t) / 1000;
      idleRates = Object.fromEntries(Object.entries(cpu).filter(([k]) => k !== 'service').map(([k, v]) => [k, (v * 1000) / s]));
      console.log(`idle CPU of shared processes (µs/s): ${JSON.stringify(Object.fromEntries(Object.entries(idleRates).map(([k, v]) => [k, Math.round(v)])))}`);
    }

    // warm-up: JIT, pools, the Lua scripts, the span pipeline (not measured)
    {
      const saleId = await createSale(50);
      await runLoad(serviceUrl, saleId, await attemptsFor(newUsers(3000)));
      await waitFor(outboxEmpty, { timeoutMs: 30_000, what: 'outbox drained after warm-up' });
    }

    const floors: Record<'floor_koa' | 'floor_shop', { child: ChildProcess; url: string }> = {
      floor_koa: await forkWithPort(SELF, { FLASH_SALE_BENCH_ROLE: 'floor-koa' }, false),
      floor_shop: await forkWithPort(
        SELF,
        { FLASH_SALE_BENCH_ROLE: 'floor-shop', OTEL_SERVICE_NAME: 'flash-sale-floor', OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: 'always_on', LOG_LEVEL: 'info', LOKI_URL: '', NODE_ENV: 'production' },
        true,
      ),
    };
    try {
      for (const kind of ['floor_koa', 'floor_shop'] as const) await runLoad(floors[kind].url, randomUUID(), await attemptsFor(newUsers(2000))); // warm the floors too

      for (let r = 0; r < ROUNDS; r++) {
        let lastSale = '';
        for (const kind of KINDS) {
          const attempts = await attemptsFor(newUsers(BUYERS));
          const saleId = kind === 'flash_sale' ? (lastSale = await createSale(STOCK)) : kind === 'sold_out_path' ? lastSale : randomUUID();
          const onService = kind === 'flash_sale' || kind === 'sold_out_path';
          const pid = onService ? servicePid : floors[kind].child.pid!;
          const meter = new CpuMeter([{ name: 'service', pids: async () => [pid] }, ...shared]);
          await meter.begin();
          const load = await runLoad(onService ? serviceUrl : floors[kind as 'floor_koa' | 'floor_shop'].url, saleId, attempts);
          // the window closes once every accepted purchase has reached Kafka
          if (kind === 'flash_sale') await waitFor(outboxEmpty, { timeoutMs: 60_000, intervalMs: 20, what: 'outbox drained' });
          const cpu = await meter.end();
          const total = cpu.service + cpu.redis + cpu.postgres + cpu.kafka;
          const round: Round = {
            kind,
            attempts: attempts.length,
            cpuUsPerAttempt: (total * 1000) / attempts.length,
            byProcess: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, (v * 1000) / attempts.length])) as Round['byProcess'],
            attemptsPerS: attempts.length / (load.wallMs / 1000),
            p50: percentile(load.latenciesMs, 50),
            p99: percentile(load.latenciesMs, 99),
            codes: codesOf(load.outcomes),
            errors: load.outcomes.filter((o) => ![202, 409, 429].includes(o.status)).length,
          };
          if (kind === 'flash_sale') {
            const accepted = new Map<string, number>();
            load.outcomes.forEach((o, i) => {
              if (o.status === 202) accepted.set(attempts[i]!.user.id, (accepted.get(attempts[i]!.user.id) ?? 0) + 1);
            });
            const rows = (await db.query(`SELECT user_id, count(*)::int AS n FROM "${schema.name}".purchases WHERE sale_id = $1 GROUP BY user_id`, [saleId])).rows as { user_id: string; n: number }[];
            round.saleId = saleId;
            round.accepted = [...accepted.values()].reduce((a, b) => a + b, 0);
            round.sold = rows.reduce((a, r) => a + r.n, 0);
            round.duplicateBuyers = new Set([...[...accepted].filter(([, n]) => n > 1).map(([u]) => u), ...rows.filter((r) => r.n > 1).map((r) => r.user_id)]).size;
          }
          rounds.push(round);
          console.log(
            `round ${r + 1} ${kind}: ${round.cpuUsPerAttempt.toFixed(0)} µs/attempt (service ${round.byProcess.service.toFixed(0)}, redis ${round.byProcess.redis.toFixed(0)}, postgres ${round.byProcess.postgres.toFixed(0)}, kafka ${round.byProcess.kafka.toFixed(0)}), ` +
              `${round.attemptsPerS.toFixed(0)} attempts/s, p50 ${round.p50.toFixed(1)} ms, p99 ${round.p99.toFixed(1)} ms [${round.codes}]`,
          );
        }
      }
    } finally {
      await Promise.all([stop(floors.floor_koa.child), stop(floors.floor_shop.child)]);
    }
  } finally {
    await stop(service);
    inventory.close();
    sink.server.close();
  }

  // every purchase event on Kafka, per sale: exactly one per purchase, none twice for a user
  const sales = rounds.filter((r) => r.kind === 'flash_sale');
  const events = await readEvents(topic, sales.reduce((n, r) => n + (r.sold ?? 0), 0) + 50);
  await db.end();
  await schema.drop().catch(() => undefined);

  const median = (xs: number[]) => percentile(xs, 50);
  const pick = (kind: Round['kind'], f: (r: Round) => number) => median(rounds.filter((r) => r.kind === kind).map(f));
  const eventsPerSale = sales.map((r) => events.filter((e) => e.saleId === r.saleId));
  const eventDuplicates = eventsPerSale.map((es) => es.length - new Set(es.map((e) => e.userId)).size);
  const sold = Math.min(...sales.map((r) => r.sold ?? 0));
  const worstSold = Math.max(...sales.map((r) => Math.max(r.sold ?? 0, r.accepted ?? 0)));
  const cpu = pick('flash_sale', (r) => r.cpuUsPerAttempt);
  const metrics: Metrics = {
    cpu_us_per_attempt: Math.round(cpu),
    attempts_per_s: Math.round(pick('flash_sale', (r) => r.attemptsPerS)),
    p99_ms: Number(pick('flash_sale', (r) => r.p99).toFixed(1)),
    p50_ms: Number(pick('flash_sale', (r) => r.p50).toFixed(1)),
    stock: STOCK,
    sold,
    oversold: Math.max(0, worstSold - STOCK),
    duplicate_buyers: Math.max(...sales.map((r) => r.duplicateBuyers ?? 0), ...eventDuplicates),
    kafka_events_per_sale_min: Math.min(...eventsPerSale.map((es) => es.length)),
    kafka_events_per_sale_max: Math.max(...eventsPerSale.map((es) => es.length)),
    errors: sales.reduce((n, r) => n + r.errors, 0),
    buyers: BUYERS,
    attempts_per_round: sales[0]?.attempts ?? 0,
    rounds: ROUNDS,
    cpu_us_per_attempt_service: Math.round(pick('flash_sale', (r) => r.byProcess.service)),
    cpu_us_per_attempt_redis: Math.round(pick('flash_sale', (r) => r.byProcess.redis)),
    cpu_us_per_attempt_postgres: Math.round(pick('flash_sale', (r) => r.byProcess.postgres)),
    cpu_us_per_attempt_kafka: Math.round(pick('flash_sale', (r) => r.byProcess.kafka)),
    sold_out_path_cpu_us_per_attempt: Math.round(pick('sold_out_path', (r) => r.cpuUsPerAttempt)),
    sold_out_path_attempts_per_s: Math.round(pick('sold_out_path', (r) => r.attemptsPerS)),
    floor_koa_cpu_us_per_attempt: Math.round(pick('floor_koa', (r) => r.cpuUsPerAttempt)),
    floor_shop_cpu_us_per_attempt: Math.round(pick('floor_shop', (r) => r.cpuUsPerAttempt)),
    floor_koa_attempts_per_s: Math.round(pick('floor_koa', (r) => r.attemptsPerS)),
    floor_shop_attempts_per_s: Math.round(pick('floor_shop', (r) => r.attemptsPerS)),
    idle_shared_cpu_us_per_s: Math.round(Object.values(idleRates).reduce((a, b) => a + b, 0)),
    target_cpu_us_per_attempt: TARGET_CPU_US,
    meets_target: cpu <= TARGET_CPU_US && sold === STOCK && worstSold === STOCK && Math.max(...eventDuplicates, ...sales.map((r) => r.duplicateBuyers ?? 0)) === 0 ? 1 : 0,
  };
  const rows = Object.fromEntries(
    rounds.map((r, i) => [
      `${Math.floor(i / KINDS.length) + 1} ${r.kind}`,
      {
        cpu_us_per_attempt: Math.round(r.cpuUsPerAttempt),
        service_us: Math.round(r.byProcess.service),
        redis_us: Math.round(r.byProcess.redis),
        postgres_us: Math.round(r.byProcess.postgres),
        kafka_us: Math.round(r.byProcess.kafka),
        attempts_per_s: Math.round(r.attemptsPerS),
        p99_ms: Number(r.p99.toFixed(1)),
        sold: r.sold ?? 0,
      },
    ]),
  );
  await report('flash-sale', metrics, rows);
}

/** The purchase events on the topic (all partitions), read once at the end. */
async function readEvents(topic: string, atLeast: number): Promise<{ saleId: string; userId: string }[]> {
  const kafka = new Kafka({ clientId: 'bench-flash-sale-reader', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const total = (await admin.fetchTopicOffsets(topic)).reduce((n, o) => n + Number(o.high), 0);
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: uniqueName('bench-flash-sale-reader') });
  const out: { saleId: string; userId: string }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const e = JSON.parse(message.value?.toString('utf8') ?? '{}') as { type?: string; data?: { saleId: string; userId: string } };
        if (e.type === 'flash_sale.purchase_requested' && e.data) out.push({ saleId: e.data.saleId, userId: e.data.userId });
      },
    });
    await waitFor(() => out.length >= total, { timeoutMs: 60_000, intervalMs: 100, what: `${total} events on ${topic} (expected at least ${atLeast - 50})` });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

if (ROLE === 'floor-koa') await floorKoa();
else if (ROLE === 'floor-shop') await floorShop();
else await main();
