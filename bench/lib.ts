import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
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
