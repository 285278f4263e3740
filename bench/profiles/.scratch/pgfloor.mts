// Postgres CPU per durable single-row INSERT (autocommit) and per SELECT by key, backend + client, on this machine
import pg from 'pg';
import { procCpuMs, postgresBackendsOf } from '/work/main/bench/lib.ts';
const c = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
await c.connect();
await c.query('CREATE SCHEMA IF NOT EXISTS pgfloor; DROP TABLE IF EXISTS pgfloor.t; CREATE TABLE pgfloor.t (id uuid primary key default gen_random_uuid(), v text, n int)');
const backend = postgresBackendsOf(process.pid)[0]!;
async function measure(label: string, n: number, fn: (i: number) => Promise<unknown>) {
  for (let i = 0; i < 200; i++) await fn(i);
  const b0 = procCpuMs(backend); const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await fn(i);
  const b1 = procCpuMs(backend); const c1 = process.cpuUsage(c0);
  console.log(`${label}: backend ${((b1 - b0) * 1000 / n).toFixed(0)} µs, client ${(((c1.user + c1.system) / n)).toFixed(0)} µs per statement`);
}
await measure('INSERT autocommit', 5000, (i) => c.query('INSERT INTO pgfloor.t (v, n) VALUES ($1, $2)', ['x' + i, i]));
await measure('SELECT by key', 5000, () => c.query('SELECT * FROM pgfloor.t WHERE id = $1', ['00000000-0000-4000-8000-000000000000']));
await measure('SELECT 1', 5000, () => c.query('SELECT 1'));
await c.query('DROP SCHEMA pgfloor CASCADE');
await c.end();
