import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Metrics = Record<string, number>;

export interface BenchResult {
  name: string;
  date: string;
  machine: { cpus: number; node: string };
  metrics: Metrics;
}

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');

/** Prints the metrics as a table and writes bench/results/NAME.json. */
export async function report(name: string, metrics: Metrics, extraRows?: Record<string, Metrics>): Promise<BenchResult> {
  const result: BenchResult = {
    name,
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version },
    metrics,
  };
  if (extraRows) {
    console.log(`\n${name}: side by side`);
    console.table(extraRows);
  }
  console.log(`\n${name}: metrics`);
  console.table(Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, { value: Number.isInteger(v) ? v : Number(v.toFixed(3)) }])));
  await mkdir(resultsDir, { recursive: true });
  const file = join(resultsDir, `${name}.json`);
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${file}`);
  return result;
}

/**
 * An OTLP endpoint on loopback that accepts and discards spans, so the benchmarked services pay the real
 * export cost; counts the bytes it received.
 */
export async function otlpSink(): Promise<{ server: Server; url: string; bytes: () => number }> {
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bytes: () => bytes };
}

const CLK_TCK = 100; // Linux USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on every Linux build we run on

/** CPU time (user + system, all threads) a process has used so far, in ms, from /proc/<pid>/stat. */
export function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after the command name (which may contain spaces) start after the last ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** Resident set size of a process, in MiB, from /proc/<pid>/status. */
export function procRssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** The p-th percentile (nearest rank) of xs; NaN when empty. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Pids of processes whose command name (/proc/<pid>/comm) is `comm`. */
export function pidsByComm(comm: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === comm) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** Local TCP ports of a process's sockets connected to `remotePort` (from /proc/<pid>/fd and /proc/net/tcp{,6}). */
export function tcpPortsTo(pid: number, remotePort: number): number[] {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // closed while we looked
      }
    }
  } catch {
    return [];
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9]!)) continue;
      const local = Number.parseInt(f[1]!.split(':')[1]!, 16);
      const remote = Number.parseInt(f[2]!.split(':')[1]!, 16);
      if (remote === remotePort) ports.push(local);
    }
  }
  return ports;
}

/**
 * Pids of the PostgreSQL backends serving a client process's connections: each backend's title is
 * `postgres: … 127.0.0.1(<client port>) …`, matched against the client's local ports to `pgPort`.
 * Only the work done for that client is counted, not other users of a shared server.
 */
export function postgresBackendsOf(clientPid: number, pgPort = 5432): number[] {
  const ports = new Set(tcpPortsTo(clientPid, pgPort));
  if (ports.size === 0) return [];
  return pidsByComm('postgres').filter((pid) => {
    try {
      const m = /\((\d+)\)/.exec(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
      return m !== null && ports.has(Number(m[1]));
    } catch {
      return false;
    }
  });
}

/** Named groups of processes whose CPU is summed; `pids` is asked again at every snapshot (pools open connections). */
export interface CpuSource {
  name: string;
  pids(): number[];
}

export type CpuSnapshot = Map<string, Map<number, number>>;

/** CPU used so far (ms) by every pid of every source. */
export function cpuSnapshot(sources: readonly CpuSource[]): CpuSnapshot {
  const snap: CpuSnapshot = new Map();
  for (const s of sources) {
    const byPid = new Map<number, number>();
    for (const pid of s.pids()) {
      try {
        byPid.set(pid, procCpuMs(pid));
      } catch {
        // exited
      }
    }
    snap.set(s.name, byPid);
  }
  return snap;
}

/** CPU ms per source between two snapshots; a process that appeared in between counts from zero. */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, byPid] of after) {
    let ms = 0;
    for (const [pid, cpu] of byPid) ms += cpu - (before.get(name)?.get(pid) ?? 0);
    out[name] = ms;
  }
  return out;
}

/** A private redis-server on a free port (no persistence), so its CPU is the benchmark's alone. */
export async function startPrivateRedis(): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], { stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    const started = Date.now();
    const tryConnect = () => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.end();
        resolve();
      });
      s.once('error', () => (Date.now() - started > 10_000 ? reject(new Error('redis-server did not start')) : setTimeout(tryConnect, 50)));
    };
    tryConnect();
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}

/** 1-, 5- and 15-minute load averages of the machine (the benchmarks share it). */
export function loadAverage(): [number, number, number] {
  const [a = 0, b = 0, c = 0] = loadavg();
  return [a, b, c];
}
