// npm run bench -- checkout
// Orders through the gateway at constant arrival rates, each created and paid to `paid`: POST /api/orders
// (Idempotency-Key, one product, quantity 1) then POST /api/orders/:id/pay {method: card}. The shop runs
// as separate child processes with the SDK preloaded (100% sampling, spans over OTLP to a local sink,
// JSON logs to /dev/null, metrics): gateway, product, inventory, order, payment, notification, on fresh
// Postgres schemas, a private redis-server and (by default) a private Kafka broker, with emails sent over
// SMTP to a sink on loopback. The load comes from a separate process (fixtures/checkout-load.ts, an open
// loop: order i starts at t0 + i/rate and its latency counts from then) with access tokens minted up
// front (createAccessTokenIssuer + JWT secret), so no login runs during the measurement.
//
// CPU per order: for each step, the CPU time (/proc/<pid>/stat, user + system, all threads) of the six
// services, the Postgres backends serving their connections (matched by client port), the private Redis
// and the Kafka broker, from the step's first arrival until everything the step's orders caused has
// finished (stock confirmed, outboxes sent, both order events turned into notifications and their emails
// accepted by the SMTP sink), divided by the orders paid in the step. So the asynchronous half of the
// saga (relay → Kafka → consumers → SMTP) is counted, and so is the shop's fixed background work (pollers,
// relays, consumer fetches, metrics) over that window: the idle rate is measured before the steps and
// reported, with a marginal figure that subtracts it. Postgres' own writer processes (walwriter,
// checkpointer, background writer) are shared by every database user on the machine: shown beside the
// figure, not in it. The load process, the OTLP sink and the SMTP sink are not counted (they stand for
// clients and external providers).
//
// Floor, same run, same method: the same number of two-request orders at the same rate through a bare
// node:http proxy to a bare upstream (fixtures/floor-proxy.ts): what two processes and one hop cost.
//
// BENCH_RATES=5,10,25,50,100,200 (orders/s; stops after the first failing step), BENCH_STEP_SECONDS=5, BENCH_USERS=500, BENCH_CONNECTIONS=128,
// BENCH_STEP_RETRIES=1 (a step with errors runs again once the shop is healthy; see below),
// BENCH_SHARED_KAFKA=1 (use the infra broker; its CPU then includes everyone else's use of it),
// BENCH_CPU_PROF=1 (or a directory): V8 CPU profiles of every service; the hottest one is summarised.
// BENCH_LOG_DIR=dir keeps each service's log.
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { createAccessTokenIssuer } from '@lantern/shop-common';
import { createTopics, freshSchema, infra, startPrivateKafka, uniqueName, waitFor, type FreshSchema, type PrivateKafka } from '@lantern/testkit';
import type { LoadResult, LoadRun } from './fixtures/checkout-load.js';
import { summariseProfile } from './fixtures/cpu-profile.js';
import { cpuBetween, cpuSnapshot, loadAverage, otlpSink, percentile, postgresBackendsOf, report, startPrivateRedis, type CpuSource, type Metrics } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const RATES = (process.env.BENCH_RATES ?? '5,10,25,50,100,200').split(',').map(Number).filter((n) => n > 0);
const STEP_S = Number(process.env.BENCH_STEP_SECONDS ?? 5);
const USERS = Number(process.env.BENCH_USERS ?? 500);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 128);
const P95_LIMIT_MS = 200;
/** A step whose p95 exceeds this is the last: the shop is saturated (its orders queue up). */
const SATURATED_P95_MS = 1000;
const TARGET_CPU_MS_PER_ORDER = 4;
const REQUEST_TIMEOUT_MS = 10_000;
/** Extra attempts of a step that had errors (BENCH_STEP_RETRIES). */
const STEP_RETRIES = Number(process.env.BENCH_STEP_RETRIES ?? 1);
const DRAIN_TIMEOUT_MS = 60_000;
const INTERNAL_AUTH_SECRET = 'bench-internal-secret-0123456789abcdefgh';
const JWT_SECRET = 'bench-jwt-secret-0123456789abcdefghijklmn';
const APP_NAME = 'checkout-bench';
const SERVICES = ['gateway', 'product', 'inventory', 'order', 'payment', 'notification'] as const;
type Service = (typeof SERVICES)[number];

const profDir = process.env.BENCH_CPU_PROF ? (process.env.BENCH_CPU_PROF === '1' ? mkdtempSync(join(tmpdir(), 'checkout-prof-')) : process.env.BENCH_CPU_PROF) : undefined;

// ------------------------------------------------------------------------------------------ processes

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function startService(name: Service, env: Record<string, string>): ChildProcess {
  const logDir = process.env.BENCH_LOG_DIR;
  const child = fork(join(root, `shop-services/${name}/src/main.ts`), [], {
    execArgv: ['--import', 'tsx/esm', '--import', '@lantern/sdk/register', ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profDir, name)}`] : [])],
    stdio: ['ignore', logDir ? 'pipe' : 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, OTEL_SERVICE_NAME: name, OTEL_TRACES_SAMPLER: 'always_on', LOG_LEVEL: 'info', LOKI_URL: '', NODE_ENV: 'production', KAFKAJS_NO_PARTITIONER_WARNING: '1', ...env },
  });
  if (logDir) child.stdout?.pipe(createWriteStream(join(logDir, `${name}.log`), { flags: 'a' }));
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') console.error(`${name} exited with ${code ?? signal}`);
  });
  return child;
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

async function ready(url: string, what: string): Promise<void> {
  await waitFor(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, { timeoutMs: 180_000, intervalMs: 250, what });
}

/** The JVM of the private broker: the java process whose command line names its data directory. */
function kafkaPidOf(dataDir: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes('kafka.Kafka') && cmd.includes(dataDir)) return Number(entry);
    } catch {
      // exited
    }
  }
  throw new Error(`no Kafka process for ${dataDir}`);
}

/** Postgres' writer processes: their work grows with every database user's writes, ours included. */
function postgresAuxPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (/^postgres: .*(walwriter|checkpointer|background writer)/.test(cmd)) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** An SMTP server that accepts and discards (the mail provider of the benchmark); counts messages. */
async function smtpSink(): Promise<{ url: string; count: () => number; close: () => Promise<void> }> {
  let count = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        count++;
        callback();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`, count: () => count, close: () => new Promise<void>((r) => server.close(() => r())) };
}

// ------------------------------------------------------------------------------------------ load

interface LoadProcess {
  run(r: LoadRun): Promise<LoadResult>;
  stop(): Promise<void>;
}

async function startLoadProcess(): Promise<LoadProcess> {
  const child = fork(join(here, 'fixtures/checkout-load.ts'), [], { execArgv: ['--import', 'tsx/esm'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`load process exited with ${code}`)));
  });
  return {
    run: (r) =>
      new Promise((resolve, reject) => {
        child.once('message', (m: { type: string; result?: LoadResult; message?: string }) => (m.type === 'result' && m.result ? resolve(m.result) : reject(new Error(m.message ?? 'load failed'))));
        child.send({ type: 'run', run: r });
      }),
    stop: () => stop(child),
  };
}

// ------------------------------------------------------------------------------------------ steps

interface Step {
  label: string;
  rate: number;
  load: LoadResult;
  p50: number;
  p95: number;
  p99: number;
  createP95: number;
  payP95: number;
  errors: number;
  errorRate: number;
  pass: boolean;
  /** CPU ms per source over the step's window (arrivals + drain). */
  cpu: Record<string, number>;
  windowMs: number;
  drainMs: number;
  cpuMsPerOrder: number;
  load1: number;
  /** Postgres work over the window, from pg_stat_database (the whole database: the bench runs alone). */
  pg: PgCounters;
}

interface PgCounters {
  xacts: number;
  rowsWritten: number;
  rowsRead: number;
}

const sum = (r: Record<string, number>, keys?: readonly string[]) => Object.entries(r).reduce((a, [k, v]) => a + (!keys || keys.includes(k) ? v : 0), 0);

function describe(s: Step, counted: readonly string[]): string {
  const per = (k: string) => `${k} ${(s.cpu[k]! / Math.max(1, s.load.paid)).toFixed(2)}`;
  const errs = Object.entries(s.load.errors).map(([k, v]) => `${k}:${v}`).join(' ');
  return (
    `${s.label} @${s.rate}/s: ${s.load.paid}/${s.load.scheduled} paid (${s.load.achievedRate.toFixed(0)}/s), p50 ${s.p50.toFixed(0)} ms, p95 ${s.p95.toFixed(0)} ms ` +
    `(create ${s.createP95.toFixed(0)}, pay ${s.payP95.toFixed(0)}), p99 ${s.p99.toFixed(0)} ms, errors ${s.errors}${errs ? ` [${errs}]` : ''}, in flight ≤ ${s.load.maxInFlight}; ` +
    `${s.cpuMsPerOrder.toFixed(2)} ms CPU/order (${counted.map(per).join(', ')}) over ${(s.windowMs / 1000).toFixed(1)} s (drain ${(s.drainMs / 1000).toFixed(1)} s), ` +
    `Postgres per order: ${(s.pg.xacts / Math.max(1, s.load.paid)).toFixed(1)} transactions, ${(s.pg.rowsWritten / Math.max(1, s.load.paid)).toFixed(1)} rows written; load ${s.load1.toFixed(1)} ${s.pass ? 'PASS' : 'FAIL'}`
  );
}

// ------------------------------------------------------------------------------------------ main

console.log(`load average at start: ${loadAverage().map((l) => l.toFixed(1)).join(' ')}`);
const names = {
  orders: uniqueName('bench-orders').replace(/_/g, '-'),
  payments: uniqueName('bench-payments').replace(/_/g, '-'),
  inventory: uniqueName('bench-inventory').replace(/_/g, '-'),
  flashSales: uniqueName('bench-flash-sales').replace(/_/g, '-'),
};
const prefix = `${uniqueName('bench_checkout')}:`;
const schemas: Partial<Record<Service, FreshSchema>> = {};
const children: Partial<Record<Service, ChildProcess>> = {};
let kafka: PrivateKafka | undefined;
let loadProc: LoadProcess | undefined;
const redis = await startPrivateRedis();
const sink = await otlpSink();
const smtp = await smtpSink();
const db = new pg.Pool({ connectionString: infra.databaseUrl, max: 2, application_name: APP_NAME });
const steps: Step[] = [];
let idle: { msPerS: Record<string, number> } | undefined;
let floorStep: { rate: number; cpuMsPerOrder: number; cpu: Record<string, number>; paid: number } | undefined;
let profileReport: { service: string; file: string; summary: ReturnType<typeof summariseProfile> } | undefined;
const cpuByService: Record<string, number> = {};
/** The measured steps on the monotonic clock the CPU profiles use (µs), so start-up is left out of them. */
let measuredFromUs = 0;
let measuredToUs = 0;

try {
  const useShared = process.env.BENCH_SHARED_KAFKA === '1';
  if (!useShared) kafka = await startPrivateKafka({ heap: '512m', startTimeoutMs: 120_000 });
  const brokers = kafka?.brokers ?? infra.kafkaBrokers;
  const kafkaPid = kafka ? kafkaPidOf(kafka.dataDir) : Number(readFileSync(join(infra.lanternHome, 'run', 'kafka.pid'), 'utf8').trim());
  const topics = Object.values(names).flatMap((t) => [t, `${t}.dlq`]);
  if (kafka) await kafka.createTopics(topics, 3);
  else await createTopics(topics, 3);

  for (const s of ['product', 'inventory', 'order', 'payment', 'notification'] as const) schemas[s] = await freshSchema(`bench_checkout_${s}`);
  const ports = Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await freePort()]))) as Record<Service, number>;
  const url = (s: Service) => `http://127.0.0.1:${ports[s]}`;
  const common = {
    HOST: '127.0.0.1',
    DATABASE_URL: infra.databaseUrl,
    REDIS_URL: redis.url,
    KAFKA_BROKERS: brokers.join(','),
    INTERNAL_AUTH_SECRET,
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
  };
  const env: Record<Service, Record<string, string>> = {
    product: { DB_SCHEMA: schemas.product!.name, REDIS_KEY_PREFIX: `${prefix}product:`, SEED_ON_START: 'true', CACHE_WARM_TOP_N: '0' },
    // plenty of units: the benchmark measures orders, not running out of stock
    inventory: { DB_SCHEMA: schemas.inventory!.name, REDIS_KEY_PREFIX: `${prefix}inventory:`, INVENTORY_TOPIC: names.inventory, SEED_ON_START: 'true', SEED_ON_HAND: '1000000' },
    // the periodic reconciliation compares whole windows of records: off, so a run cannot land in one step
    payment: { DB_SCHEMA: schemas.payment!.name, PAYMENTS_TOPIC: names.payments, RECONCILIATION_INTERVAL_MS: '0' },
    order: {
      DB_SCHEMA: schemas.order!.name,
      // both spellings of the upstream keys (PRODUCT_URL … and PRODUCT_SERVICE_URL …): the service reads one
      PRODUCT_URL: url('product'),
      INVENTORY_URL: url('inventory'),
      PAYMENT_URL: url('payment'),
      PRODUCT_SERVICE_URL: url('product'),
      INVENTORY_SERVICE_URL: url('inventory'),
      PAYMENT_SERVICE_URL: url('payment'),
      ORDERS_TOPIC: names.orders,
      PAYMENTS_TOPIC: names.payments,
      FLASH_SALES_TOPIC: names.flashSales,
      PAYMENTS_GROUP_ID: uniqueName('bench-order-payments'),
      FLASH_SALES_GROUP_ID: uniqueName('bench-order-flash-sales'),
    },
    notification: { DB_SCHEMA: schemas.notification!.name, ORDERS_TOPIC: names.orders, PAYMENTS_TOPIC: names.payments, KAFKA_GROUP_ID: uniqueName('bench-notification'), KAFKA_FROM_BEGINNING: 'true', SMTP_URL: smtp.url },
    gateway: {
      JWT_SECRET,
      PRODUCT_SERVICE_URL: url('product'),
      ORDER_SERVICE_URL: url('order'),
      INVENTORY_SERVICE_URL: url('inventory'),
      PAYMENT_SERVICE_URL: url('payment'),
      NOTIFICATION_SERVICE_URL: url('notification'),
      RATE_LIMIT_KEY_PREFIX: `${prefix}gateway:`,
    },
  };
  const t0 = Date.now();
  for (const s of SERVICES) children[s] = startService(s, { ...common, ...env[s], PORT: String(ports[s]) });
  await Promise.all(SERVICES.map((s) => ready(url(s), `${s} ready`)));
  console.log(`services ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (Kafka: ${kafka ? 'private broker' : 'shared broker'})`);

  const gatewayUrl = url('gateway');
  const page = (await (await fetch(`${gatewayUrl}/api/products?limit=100`)).json()) as { items: { id: string }[] };
  const productIds = page.items.map((p) => p.id);
  if (productIds.length === 0) throw new Error('no products in the catalogue');
  const issuer = createAccessTokenIssuer(JWT_SECRET, 3600);
  const tokens = await Promise.all(
    Array.from({ length: USERS }, async (_, i) => (await issuer.sign({ id: randomUUID(), role: 'customer', email: `bench-${i}@example.com` })).token),
  );
  loadProc = await startLoadProcess();
  const run = (rate: number, seconds: number, target = gatewayUrl, mode: LoadRun['mode'] = 'shop') =>
    loadProc!.run({ url: target, tokens, productIds, rate, seconds, connections: CONNECTIONS, mode, timeoutMs: REQUEST_TIMEOUT_MS });

  // Everything a step's orders set off has finished: stock confirmed, outboxes sent, every placed/paid
  // event turned into a notification, no email waiting. Queried from a connection of our own (not counted).
  const q = async (sql: string): Promise<number> => Number((await db.query(sql)).rows[0].n);
  const s = (svc: Service) => `"${schemas[svc]!.name}"`;
  const drained = async (): Promise<boolean> => {
    const [orderOutbox, paymentOutbox, inventoryOutbox, jobs, events, notices, unsent] = await Promise.all([
      q(`SELECT count(*)::int AS n FROM ${s('order')}.outbox`),
      q(`SELECT count(*)::int AS n FROM ${s('payment')}.outbox`),
      q(`SELECT count(*)::int AS n FROM ${s('inventory')}.outbox`),
      q(`SELECT count(*)::int AS n FROM ${s('order')}.scheduled_jobs WHERE kind IN ('confirm_stock', 'release_stock')`),
      q(`SELECT count(*)::int AS n FROM ${s('order')}.order_status_history WHERE to_status IN ('reserved', 'paid', 'payment_failed')`),
      q(`SELECT count(*)::int AS n FROM ${s('notification')}.notifications`),
      q(`SELECT count(*)::int AS n FROM ${s('notification')}.deliveries WHERE status IN ('pending', 'sending')`),
    ]);
    return orderOutbox + paymentOutbox + inventoryOutbox + jobs + unsent === 0 && notices >= events;
  };
  const waitDrained = async (what: string): Promise<number> => {
    const started = performance.now();
    await waitFor(drained, { timeoutMs: DRAIN_TIMEOUT_MS, intervalMs: 100, what: `${what}: every order's async work done` }).catch((err: Error) => console.warn(`WARNING ${err.message} (measured anyway)`));
    return performance.now() - started;
  };

  const sources: CpuSource[] = [
    ...SERVICES.map((svc) => ({ name: svc, pids: () => [children[svc]!.pid!] })),
    { name: 'postgres', pids: () => SERVICES.flatMap((svc) => postgresBackendsOf(children[svc]!.pid!)) },
    { name: 'redis', pids: () => [redis.pid] },
    { name: 'kafka', pids: () => [kafkaPid] },
  ];
  const counted = sources.map((x) => x.name);
  const aux: CpuSource[] = [{ name: 'postgres_aux', pids: postgresAuxPids }];

  /** One order a second until five in a row go through (an open gateway breaker closes again after 10 s). */
  const healthy = async (): Promise<void> => {
    let okInRow = 0;
    for (let i = 0; i < 120 && okInRow < 5; i++) {
      const w = await run(1, 1);
      okInRow = w.paid === w.scheduled ? okInRow + 1 : 0;
    }
  };

  // Warm-up (not measured): JIT, pools, caches, consumer groups, span pipeline. Cold, the first orders
  // can outlast the gateway's upstream timeout on a loaded machine and open its breaker: one at a time
  // first, until a few in a row succeed, then a short constant-rate run.
  {
    await healthy();
    for (const [rate, seconds] of [
      [2, 5],
      [Math.min(5, RATES[0]!), 10],
    ] as const) {
      const w = await run(rate, seconds);
      console.log(`warm-up @${rate}/s: ${w.paid}/${w.scheduled} paid, errors ${JSON.stringify(w.errors)}`);
    }
    await waitDrained('warm-up');
    await healthy();
  }

  // the shop's fixed background work with no orders (pollers, relays, consumer fetches, metrics)
  {
    const before = cpuSnapshot([...sources, ...aux]);
    const t = performance.now();
    await new Promise((r) => setTimeout(r, 5000));
    const cpu = cpuBetween(before, cpuSnapshot([...sources, ...aux]));
    const sec = (performance.now() - t) / 1000;
    idle = { msPerS: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v / sec])) };
    console.log(`idle CPU (ms/s): ${Object.entries(idle.msPerS).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
  }

  measuredFromUs = Number(process.hrtime.bigint() / 1000n);
  // Transactions and rows per order, a diagnostic beside the CPU: each autocommitted statement is a
  // transaction of its own. Backends report their counters when idle (within a second), and the drain
  // wait covers that.
  const pgCounters = async (): Promise<PgCounters> => {
    const r = await db.query<{ x: string; w: string; rd: string }>(
      `SELECT xact_commit + xact_rollback AS x, tup_inserted + tup_updated + tup_deleted AS w, tup_returned + tup_fetched AS rd FROM pg_stat_database WHERE datname = current_database()`,
    );
    const row = r.rows[0]!;
    return { xacts: Number(row.x), rowsWritten: Number(row.w), rowsRead: Number(row.rd) };
  };
  const measure = async (rate: number): Promise<Step> => {
    const pgBefore = await pgCounters();
    const before = cpuSnapshot([...sources, ...aux]);
    const tStart = performance.now();
    const load = await run(rate, STEP_S);
    const drainMs = await waitDrained(`step ${rate}/s`);
    const windowMs = performance.now() - tStart;
    const cpu = cpuBetween(before, cpuSnapshot([...sources, ...aux]));
    await new Promise((r) => setTimeout(r, 1100)); // the backends' counters reach pg_stat_database when idle
    const pgAfter = await pgCounters();
    const pgDelta: PgCounters = { xacts: pgAfter.xacts - pgBefore.xacts, rowsWritten: pgAfter.rowsWritten - pgBefore.rowsWritten, rowsRead: pgAfter.rowsRead - pgBefore.rowsRead };
    const errors = Object.values(load.errors).reduce((a, b) => a + b, 0);
    const p95 = percentile(load.orderMs, 95);
    const step: Step = {
      label: 'checkout',
      rate,
      load,
      p50: percentile(load.orderMs, 50),
      p95,
      p99: percentile(load.orderMs, 99),
      createP95: percentile(load.createMs, 95),
      payP95: percentile(load.payMs, 95),
      errors,
      errorRate: errors / Math.max(1, load.scheduled),
      pass: errors === 0 && p95 < P95_LIMIT_MS && load.paid >= load.scheduled,
      cpu,
      windowMs,
      drainMs,
      cpuMsPerOrder: sum(cpu, counted) / Math.max(1, load.paid),
      load1: loadAverage()[0],
      pg: pgDelta,
    };
    console.log(describe(step, counted));
    return step;
  };
  for (const rate of RATES) {
    let step = await measure(rate);
    // The machine is shared: a burst of someone else's work can push calls past the gateway's upstream
    // timeout and open its breaker (503s for the next 10 s). A step with errors runs once more, after the
    // shop is healthy again; the second attempt is the one kept (both are printed).
    for (let retry = 0; retry < STEP_RETRIES && step.errors > 0; retry++) {
      console.log(`step ${rate}/s had errors: again once the shop is healthy (attempt ${retry + 2})`);
      await waitDrained(`step ${rate}/s`);
      await healthy();
      step = await measure(rate);
    }
    steps.push(step);
    const { errors, load, p95 } = step;
    // Past the p95 limit the CPU figure is still worth having (fixed costs spread over more orders), so
    // the steps go on until orders fail or queue up (p95 over a second): then the shop is saturated.
    if (errors > 0 || load.paid < load.scheduled || p95 > SATURATED_P95_MS) break;
  }
  measuredToUs = Number(process.hrtime.bigint() / 1000n);
  for (const [k, v] of Object.entries(steps.reduce<Record<string, number>>((acc, st) => {
    for (const [name, ms] of Object.entries(st.cpu)) acc[name] = (acc[name] ?? 0) + ms;
    return acc;
  }, {}))) cpuByService[k] = v;
} finally {
  await loadProc?.stop();
  await Promise.all(SERVICES.map((svc) => stop(children[svc])));
  sink.server.close();
  await smtp.close();
  await db.end();
  await Promise.allSettled(Object.values(schemas).map((x) => x.drop()));
  await redis.stop();
  await kafka?.destroy();
}

const best = [...steps].reverse().find((x) => x.pass);
const first = steps[0];
// The CPU figure comes from the highest passing step; when none passed (p95 over the limit on a busy
// machine), from the highest step whose orders all went through: CPU per order does not depend on how
// long an order waited for a core, and more orders per second spread the fixed costs thinner.
const clean = [...steps].reverse().find((x) => x.errors === 0 && x.load.paid >= x.load.scheduled);
const chosen = best ?? clean ?? first;

// floor: two-request orders at the chosen step's rate through a bare proxy to a bare upstream (at least
// 10 s of them: /proc counts CPU in 10 ms ticks, and the floor's orders are cheap)
const floorRate = chosen?.rate ?? RATES[0]!;
{
  const startFloor = (env: Record<string, string>) =>
    new Promise<{ child: ChildProcess; url: string }>((resolve, reject) => {
      const child = fork(join(here, 'fixtures/floor-proxy.ts'), [], { execArgv: ['--import', 'tsx/esm'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { ...process.env, ...env } });
      child.once('message', (m) => resolve({ child, url: `http://127.0.0.1:${(m as { port: number }).port}` }));
      child.once('exit', (code) => reject(new Error(`floor ${env.FLOOR_ROLE} exited with ${code}`)));
    });
  const upstream = await startFloor({ FLOOR_ROLE: 'upstream' });
  const proxy = await startFloor({ FLOOR_ROLE: 'proxy', UPSTREAM_URL: upstream.url });
  const lp = await startLoadProcess();
  try {
    const tokens = ['floor-token'];
    const floorRun = (seconds: number) => lp.run({ url: proxy.url, tokens, productIds: ['00000000-0000-4000-8000-000000000001'], rate: floorRate, seconds, connections: CONNECTIONS, mode: 'floor', timeoutMs: REQUEST_TIMEOUT_MS });
    await floorRun(2);
    const floorSources: CpuSource[] = [
      { name: 'proxy', pids: () => [proxy.child.pid!] },
      { name: 'upstream', pids: () => [upstream.child.pid!] },
    ];
    const before = cpuSnapshot(floorSources);
    const r = await floorRun(Math.max(STEP_S, 10));
    const cpu = cpuBetween(before, cpuSnapshot(floorSources));
    floorStep = { rate: floorRate, cpu, paid: r.paid, cpuMsPerOrder: sum(cpu) / Math.max(1, r.paid) };
    console.log(`floor: bare proxy → upstream, ${r.paid} two-request orders at ${floorRate}/s: ${floorStep.cpuMsPerOrder.toFixed(3)} ms CPU/order (proxy ${(cpu.proxy! / Math.max(1, r.paid)).toFixed(3)}, upstream ${(cpu.upstream! / Math.max(1, r.paid)).toFixed(3)})`);
  } finally {
    await lp.stop();
    await Promise.all([stop(proxy.child), stop(upstream.child)]);
  }
}

// the hottest service's CPU profile (BENCH_CPU_PROF)
if (profDir) {
  const hottest = SERVICES.reduce((a, b) => ((cpuByService[b] ?? 0) > (cpuByService[a] ?? 0) ? b : a));
  try {
    const dir = join(profDir, hottest);
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (others: the loader hooks' worker)
    const file = readdirSync(dir).filter((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)).map((f) => join(dir, f))[0];
    if (file) {
      profileReport = { service: hottest, file, summary: summariseProfile(file, 20, { fromUs: measuredFromUs, toUs: measuredToUs }) };
      const span = profileReport.summary.windowed ? 'during the measured steps' : 'whole run';
      console.log(`\nCPU profile of the hottest process, ${hottest} (${file}; ${profileReport.summary.busyMs.toFixed(0)} ms busy, ${span}):`);
      console.table(profileReport.summary.byOrigin.map((o) => ({ origin: o.origin, ms: Math.round(o.ms), share: `${(o.share * 100).toFixed(1)}%` })));
      console.table(profileReport.summary.byFunction.map((f) => ({ function: f.fn.slice(0, 110), origin: f.origin, ms: Math.round(f.ms), share: `${(f.share * 100).toFixed(1)}%` })));
    }
  } catch (err) {
    console.warn(`no profile for ${hottest}: ${(err as Error).message}`);
  }
  console.log(`profiles of every service: ${profDir}`);
}

const perOrder = (st: Step | undefined, name: string) => (st && st.load.paid > 0 ? (st.cpu[name] ?? 0) / st.load.paid : 0);
const idleTotal = idle ? sum(idle.msPerS, ['gateway', 'product', 'inventory', 'order', 'payment', 'notification', 'postgres', 'redis', 'kafka']) : 0;
const round2 = (n: number) => Number(n.toFixed(2));
const metrics: Metrics = {
  // all counted processes' CPU per paid order at the highest passing step (else the first step)
  cpu_ms_per_order: round2(chosen?.cpuMsPerOrder ?? 0),
  orders_per_s: best?.rate ?? 0,
  p95_ms: round2(chosen?.p95 ?? 0),
  error_rate: chosen?.errorRate ?? 1,
  cpu_ms_per_order_floor: Number((floorStep?.cpuMsPerOrder ?? 0).toFixed(3)),
  cpu_rate_orders_per_s: chosen?.rate ?? 0,
  // the same less the idle rate over the step's window: what one more order costs
  cpu_ms_per_order_marginal: round2(chosen ? (sum(chosen.cpu, ['gateway', 'product', 'inventory', 'order', 'payment', 'notification', 'postgres', 'redis', 'kafka']) - (idleTotal * chosen.windowMs) / 1000) / Math.max(1, chosen.load.paid) : 0),
  ...Object.fromEntries(['gateway', 'product', 'inventory', 'order', 'payment', 'notification', 'postgres', 'redis', 'kafka'].map((k) => [`cpu_ms_per_order_${k}`, round2(perOrder(chosen, k))])),
  cpu_ms_per_order_postgres_aux_not_counted: round2(perOrder(chosen, 'postgres_aux')),
  // Postgres transactions (an autocommitted statement is one) and rows written per order, same window
  pg_transactions_per_order: round2(chosen ? chosen.pg.xacts / Math.max(1, chosen.load.paid) : 0),
  pg_rows_written_per_order: round2(chosen ? chosen.pg.rowsWritten / Math.max(1, chosen.load.paid) : 0),
  idle_cpu_ms_per_s: round2(idleTotal),
  cpu_ms_per_order_target: TARGET_CPU_MS_PER_ORDER,
  // cores the shop's 1,000 orders/s would need at this cost
  cores_for_1000_orders_per_s: round2(((chosen?.cpuMsPerOrder ?? 0) * 1000) / 1000),
  p50_ms: round2(chosen?.p50 ?? 0),
  p99_ms: round2(chosen?.p99 ?? 0),
  create_p95_ms: round2(chosen?.createP95 ?? 0),
  pay_p95_ms: round2(chosen?.payP95 ?? 0),
  first_step_rate: first?.rate ?? 0,
  first_step_cpu_ms_per_order: round2(first?.cpuMsPerOrder ?? 0),
  first_step_p95_ms: round2(first?.p95 ?? 0),
  highest_step_tried: steps.at(-1)?.rate ?? 0,
  highest_step_achieved_orders_per_s: round2(steps.at(-1)?.load.achievedRate ?? 0),
  highest_step_p95_ms: round2(steps.at(-1)?.p95 ?? 0),
  highest_step_error_rate: steps.at(-1)?.errorRate ?? 0,
  step_seconds: STEP_S,
  load_average_end: round2(loadAverage()[0]),
  meets_target: chosen && chosen.cpuMsPerOrder <= TARGET_CPU_MS_PER_ORDER && chosen.errors === 0 ? 1 : 0,
};
const rows = Object.fromEntries(
  steps.map((st) => [
    `${st.rate}/s`,
    {
      paid: st.load.paid,
      errors: st.errors,
      p50_ms: Math.round(st.p50),
      p95_ms: Math.round(st.p95),
      create_p95: Math.round(st.createP95),
      pay_p95: Math.round(st.payP95),
      pass: st.pass ? 1 : 0,
      cpu_ms_order: round2(st.cpuMsPerOrder),
      ...Object.fromEntries(['gateway', 'product', 'inventory', 'order', 'payment', 'notification', 'postgres', 'redis', 'kafka'].map((k) => [k, round2(perOrder(st, k))])),
      pg_aux: round2(perOrder(st, 'postgres_aux')),
      pg_xacts: round2(st.pg.xacts / Math.max(1, st.load.paid)),
      load1: round2(st.load1),
    },
  ]),
);
await report('checkout', metrics, rows);
