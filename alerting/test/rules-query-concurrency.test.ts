// ALERTING_QUERY_CONCURRENCY: how many rule queries are in flight against Prometheus at once. The
// querier's connection pool is the bound (as Prometheus bounds concurrent rule evaluations); these
// tests hold a loopback Prometheus API's answers to see how many queries reach it together.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { PrometheusQuerier } from '../src/rules/prometheus-query.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/**
 * A Prometheus query API on loopback answering `vector(<n>)` queries with n. It holds every answer until
 * `hold` queries are in flight together (or 500 ms passed, so a smaller pool is not stuck), and records
 * the most it ever saw at once.
 */
async function heldPrometheus(hold: number): Promise<{ url: string; maxInFlight: () => number; close: () => Promise<void> }> {
  let inFlight = 0;
  let max = 0;
  let waiting: (() => void)[] = [];
  const releaseAll = () => {
    const w = waiting;
    waiting = [];
    for (const answer of w) answer();
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      inFlight++;
      max = Math.max(max, inFlight);
      const n = /vector\((\d+)\)/.exec(decodeURIComponent(new URLSearchParams(body).get('query') ?? ''))?.[1] ?? '0';
      const answer = () => {
        inFlight--;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: { n }, value: [0, n] }] } }));
      };
      waiting.push(answer);
      if (waiting.length >= hold) releaseAll();
      else setTimeout(releaseAll, 500).unref();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    maxInFlight: () => max,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function queryAll(concurrency: number, prom: { url: string }): Promise<number[]> {
  const querier = new PrometheusQuerier(prom.url, 10_000, concurrency);
  try {
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => querier.instant(`vector(${i})`, new Date())));
    return results.map((r) => r[0]?.value ?? -1);
  } finally {
    await querier.close();
  }
}

test('a concurrency of 2 keeps at most 2 rule queries in flight; every query still gets its own answer', async (t) => {
  const prom = await heldPrometheus(3); // would release at 3 together: a pool of 2 never gets there
  t.teardown(() => prom.close());
  t.deepEqual(await queryAll(2, prom), Array.from({ length: 12 }, (_, i) => i));
  t.true(prom.maxInFlight() <= 2, `saw ${prom.maxInFlight()} at once`);
});

test('a larger concurrency lets that many queries reach Prometheus together', async (t) => {
  const prom = await heldPrometheus(6);
  t.teardown(() => prom.close());
  t.deepEqual(await queryAll(6, prom), Array.from({ length: 12 }, (_, i) => i));
  t.is(prom.maxInFlight(), 6);
});

test('ALERTING_QUERY_CONCURRENCY out of range stops the engine with an error naming the key', async (t) => {
  for (const value of ['0', '257', 'many']) {
    const child = spawn(process.execPath, ['--import', 'tsx/esm', MAIN], {
      env: { ...process.env, ALERTING_ACK_SECRET: '0123456789abcdef0123456789abcdef01', ALERTING_QUERY_CONCURRENCY: value },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    t.is(code, 2, `${value}: ${stderr}`);
    t.regex(stderr, /invalid configuration: ALERTING_QUERY_CONCURRENCY:/, value);
  }
});
