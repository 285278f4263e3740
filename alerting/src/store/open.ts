// openStores: one knex pool on one schema, migrations run at start (serialised by an advisory lock so
// replicas starting together don't race), plus the LISTEN connection for other replicas' alert changes.
import { randomUUID } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Logger } from 'pino';
import { ConfigError } from '../model/errors.js';
import type { Stores } from '../model/stores.js';
import { PgAckStore } from './acks.js';
import { PgAlertStore } from './alerts.js';
import { PgGroupStateStore, type GroupStateStore } from './groups.js';
import { PgLeaderLease } from './lease.js';
import { migrationSource } from './migrations.js';
import { PgNotificationLog } from './nflog.js';
import { channelFor } from './notify-channel.js';
import { PgSilenceStore } from './silences.js';

export interface OpenStoresOptions {
  /** postgres://… */
  databaseUrl: string;
  /** Schema holding every table (created if missing). */
  schema: string;
  /** Alertmanager's resolve_timeout: endsAt of an alert posted without one. Default 5m. */
  resolveTimeoutMs?: number;
  /** Name of the dispatcher lease row (one per cluster). Default "dispatcher". */
  leaseName?: string;
  /** Connection pool size. Default 5. */
  poolMax?: number;
  logger: Logger;
}

export interface PgStores extends Stores {
  alerts: PgAlertStore;
  silences: PgSilenceStore;
  nflog: PgNotificationLog;
  acks: PgAckStore;
  lease: PgLeaderLease;
  /** Aggregation-group timer state (dispatcher only). */
  groups: GroupStateStore;
  schema: string;
  close(): Promise<void>;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export async function openStores(opts: OpenStoresOptions): Promise<PgStores> {
  if (!SCHEMA_NAME.test(opts.schema)) throw new ConfigError('storage.schema', `"${opts.schema}" is not a plain SQL identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 chars)`);
  const schema = opts.schema;
  const db = knexFactory({
    client: 'pg',
    connection: opts.databaseUrl,
    searchPath: [schema],
    pool: { min: 0, max: opts.poolMax ?? 5 },
  });
  try {
    await migrate(db, opts.databaseUrl, schema);
    const alerts = new PgAlertStore(db, {
      schema,
      channel: channelFor(schema),
      origin: randomUUID(),
      lockKey: `lantern_alerts:${schema}`,
      resolveTimeoutMs: opts.resolveTimeoutMs ?? 5 * 60_000,
      databaseUrl: opts.databaseUrl,
      logger: opts.logger,
    });
    await alerts.start();
    return {
      alerts,
      silences: new PgSilenceStore(db),
      nflog: new PgNotificationLog(db),
      acks: new PgAckStore(db),
      lease: new PgLeaderLease(db, opts.leaseName ?? 'dispatcher'),
      groups: new PgGroupStateStore(db),
      schema,
      async close() {
        await alerts.close();
        await db.destroy();
      },
    };
  } catch (err) {
    await db.destroy();
    throw err;
  }
}

/** Idempotent: creates the schema and runs pending migrations while holding a per-schema advisory lock. */
async function migrate(db: Knex, databaseUrl: string, schema: string): Promise<void> {
  const lock = new pg.Client({ connectionString: databaseUrl });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock(hashtext($1))', [`lantern_migrate:${schema}`]);
    await lock.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await db.migrate.latest({ migrationSource: migrationSource(schema), schemaName: schema, tableName: 'knex_migrations' });
  } finally {
    await lock.end().catch(() => undefined);
  }
}
