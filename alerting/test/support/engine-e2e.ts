// End-to-end helpers: the real engine (startEngine in-process, or main.ts as a child process) on a fresh
// Postgres schema with config files in a temp dir, a loopback Slack stand-in that answers `ok` and keeps
// every message, amtool, and a reader for the engine's /metrics.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freshSchema, infra, waitFor, type FreshSchema } from '@lantern/testkit';
import { startEngine, type Engine, type EngineOptions } from '../../src/engine.js';
import type { Block } from '../../src/notify/integrations/slack-blocks.js';
import { receiver, type Received } from './integration-fixtures.js';
import { quietLogger } from './stores.js';

export const E2E_ACK_SECRET = 'e2e-ack-secret-0123456789abcdef-0123';
const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const run = promisify(execFile);

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `lantern-${prefix}-`));
}

export async function writeTemp(dir: string, name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

/** A rule file with no groups: the engine runs with alerts from the API only. */
export const EMPTY_RULES = 'groups: []\n';

// ---- Slack stand-in ----

export interface SlackMessage {
  at: number;
  path: string;
  text: string;
  blocks: Block[];
  /** The header block's text. */
  header: string;
  /** action_id → url of the buttons. */
  buttons: Record<string, string>;
  /** All the message's text (header, sections, fields, context) joined, for regex checks. */
  all: string;
}

export function parseSlack(r: Received): SlackMessage {
  const body = JSON.parse(r.body) as { text: string; blocks: Block[] };
  const parts: string[] = [];
  const buttons: Record<string, string> = {};
  let header = '';
  for (const b of body.blocks) {
    if (b.type === 'header') header = b.text.text;
    if (b.type === 'header' || b.type === 'section') {
      if ('text' in b && b.text) parts.push(b.text.text);
      if (b.type === 'section') for (const f of b.fields ?? []) parts.push(f.text);
    }
    if (b.type === 'context') for (const e of b.elements) parts.push(e.text);
    if (b.type === 'actions') for (const e of b.elements) buttons[e.action_id] = e.url;
  }
  return { at: r.at, path: r.path, text: body.text, blocks: body.blocks, header, buttons, all: parts.join('\n') };
}

export interface SlackStandIn {
  url: string;
  /** Every message so far, parsed. `path` tells channels apart (e.g. /a, /b). */
  messages(path?: string): SlackMessage[];
  close(): Promise<void>;
}

/** An incoming-webhook stand-in on 127.0.0.1:0: answers 200 `ok` like Slack. */
export async function slackStandIn(): Promise<SlackStandIn> {
  const r = await receiver();
  return {
    url: r.url,
    messages: (path) => r.got.filter((g) => path === undefined || g.path === path).map(parseSlack),
    close: r.close,
  };
}

/** Messages for one alert group, told apart by an alertname that appears in the header. */
export const about = (msgs: SlackMessage[], alertname: string): SlackMessage[] => msgs.filter((m) => m.header.includes(alertname));
export const firingOf = (msgs: SlackMessage[]): SlackMessage[] => msgs.filter((m) => m.header.includes('[FIRING'));
export const resolvedOf = (msgs: SlackMessage[]): SlackMessage[] => msgs.filter((m) => m.header.includes('[RESOLVED]'));

// ---- Alertmanager config ----

export function slackAmConfig(o: {
  slackUrl: string;
  wait?: string;
  interval?: string;
  repeat?: string;
  groupBy?: string[];
  /** Extra receivers: name → slack path (e.g. {b: '/b'}). */
  receivers?: Record<string, string>;
  /** Child routes, YAML list items indented for `routes:`. */
  routes?: string;
}): string {
  const recv = { default: '/default', ...o.receivers };
  return `global:
  resolve_timeout: 5m
route:
  receiver: default
  group_by: ${JSON.stringify(o.groupBy ?? ['alertname'])}
  group_wait: ${o.wait ?? '1s'}
  group_interval: ${o.interval ?? '2s'}
  repeat_interval: ${o.repeat ?? '1h'}
${o.routes ? `  routes:\n${o.routes}` : ''}
receivers:
${Object.entries(recv)
  .map(([name, path]) => `  - name: ${name}\n    slack_configs:\n      - api_url: ${o.slackUrl}${path}\n        send_resolved: true`)
  .join('\n')}
`;
}

// ---- the engine in-process ----

export interface E2eEngine {
  engine: Engine;
  url: string;
  schema: FreshSchema;
  dir: string;
  amFile: string;
  stop(): Promise<void>;
}

export async function engineInProcess(o: {
  prefix: string;
  amYaml: string;
  rulesYaml?: string;
  evaluationIntervalMs?: number;
  traceUrl?: string;
  logsUrl?: string;
}): Promise<E2eEngine> {
  const schema = await freshSchema(o.prefix);
  const dir = await tempDir(o.prefix);
  const amFile = await writeTemp(dir, 'alertmanager.yml', o.amYaml);
  const rulesFile = await writeTemp(dir, 'rules.yml', o.rulesYaml ?? EMPTY_RULES);
  const opts: EngineOptions = {
    listen: { host: '127.0.0.1', port: 0 },
    externalURL: 'http://127.0.0.1:0', // replaced below once the port is known: links are checked against it
    alertmanagerConfigFile: amFile,
    ruleFiles: [rulesFile],
    prometheusUrl: infra.prometheusUrl,
    evaluationIntervalMs: o.evaluationIntervalMs ?? 1000,
    databaseUrl: infra.databaseUrl,
    schema: schema.name,
    ackSecret: E2E_ACK_SECRET,
    ...(o.traceUrl ? { traceUrl: o.traceUrl } : {}),
    ...(o.logsUrl ? { logs: { kind: 'collector' as const, url: o.logsUrl } } : {}),
    localSlackSink: false,
    replica: `${o.prefix}-solo`,
    leaseTtlMs: 3000,
    logger: quietLogger,
  };
  // The engine's links use externalURL, which must be the engine's own address for the ack link to work:
  // take a free port first, then start the engine on it.
  const port = await freePort();
  opts.listen = { host: '127.0.0.1', port };
  opts.externalURL = `http://127.0.0.1:${port}`;
  const engine = await startEngine(opts);
  let stopped = false;
  return {
    engine,
    url: engine.url,
    schema,
    dir,
    amFile,
    async stop() {
      if (stopped) return;
      stopped = true;
      await engine.stop();
      await schema.drop();
    },
  };
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

// ---- the engine as a process (main.ts) ----

export interface EngineProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  /** stderr and stdout so far (pino logs go to stdout). */
  output(): string;
  /** Resolves with the exit code (or signal) once the process has ended. */
  exited: Promise<number | NodeJS.Signals | null>;
}

/** Starts `node --import tsx/esm main.ts` with env; resolves once it printed its URL (LANTERN_ALERTING_PRINT_URL=1). */
export async function spawnEngine(env: Record<string, string>): Promise<EngineProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx/esm', MAIN], {
    env: { ...process.env, LANTERN_ALERTING_PRINT_URL: '1', LOG_LEVEL: 'info', ALERTING_LOGS_KIND: 'none', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let url: string | undefined;
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    url ??= /^\{"url":"([^"]+)"\}$/m.exec(out)?.[1];
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig)));
  let ended: number | string | undefined;
  void exited.then((c) => (ended = c === null ? 'exit' : c));
  await waitFor(
    () => {
      if (ended !== undefined) throw new Error(`engine exited (${String(ended)}) before printing its URL:\n${out.slice(-3000)}`);
      return url;
    },
    { what: 'the engine process to print its URL', timeoutMs: 60_000, intervalMs: 50 },
  ).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  return { url: url!, pid: child.pid!, child, output: () => out, exited };
}

/** The environment main.ts reads, for a replica on `schema` with `amFile` and no rules. */
export function engineEnv(o: { schema: string; amFile: string; rulesFile: string; replica: string; leaseTtl?: string; externalURL?: string }): Record<string, string> {
  return {
    DATABASE_URL: infra.databaseUrl,
    ALERTING_DB_SCHEMA: o.schema,
    ALERTMANAGER_CONFIG: o.amFile,
    ALERTING_RULE_FILES: o.rulesFile,
    ALERTING_LISTEN: '127.0.0.1:0',
    ALERTING_ACK_SECRET: E2E_ACK_SECRET,
    ALERTING_REPLICA: o.replica,
    ALERTING_LEASE_TTL: o.leaseTtl ?? '3s',
    PROMETHEUS_URL: infra.prometheusUrl,
    ...(o.externalURL ? { ALERTING_EXTERNAL_URL: o.externalURL } : {}),
  };
}

// ---- API, metrics, amtool ----

export interface PostAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
}

export async function postAlerts(url: string, alerts: PostAlert[]): Promise<void> {
  const res = await fetch(`${url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts) });
  if (res.status !== 200) throw new Error(`POST /api/v2/alerts answered ${res.status}: ${await res.text()}`);
}

/** One sample of the engine's /metrics (the first series of that name), or undefined. */
export async function metricValue(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

export const isLeader = async (url: string): Promise<boolean> => (await metricValue(url, 'lantern_leader').catch(() => undefined)) === 1;

export async function amtool(url: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  // HOME points at an empty dir so no user amtool config changes the flags
  return run('amtool', [`--alertmanager.url=${url}`, ...args], { timeout: 30_000, env: { ...process.env, HOME: tmpdir() } });
}

// ---- a latency histogram whose breach the test switches ----

/**
 * A scrape target serving one OpenMetrics histogram `metric{labels}` with `traceId` as the exemplar of the
 * slow bucket. Breaching: 1 of 4 requests took 1.7 s (p99 ≈ 2.4 s); not breaching: all 4 were fast.
 */
export async function latencyExporter(metric: string, labels: Record<string, string>, traceId: string): Promise<{ hostPort: string; setBreaching(b: boolean): void; close: () => Promise<void> }> {
  const { createServer } = await import('node:http');
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  let breaching = true;
  const body = (): string =>
    [
      `# TYPE ${metric} histogram`,
      `# HELP ${metric} Request latency.`,
      `${metric}_bucket{${l},le="0.5"} ${breaching ? 3 : 4}`,
      `${metric}_bucket{${l},le="2.5"} 4 # {trace_id="${traceId}"} 1.7`,
      `${metric}_bucket{${l},le="+Inf"} 4`,
      `${metric}_sum{${l}} ${breaching ? 2.9 : 1.2}`,
      `${metric}_count{${l}} 4`,
      '# EOF',
      '',
    ].join('\n');
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' }).end(body());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    hostPort: `127.0.0.1:${port}`,
    setBreaching: (b) => void (breaching = b),
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
