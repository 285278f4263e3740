import knexFactory, { type Knex } from 'knex';

/** A migration defined in code (no file globbing: services run from TypeScript under tsx). */
export interface Migration {
  /** Unique and sortable, e.g. '001_users'. Never rename one that has shipped. */
  name: string;
  up(knex: Knex): Promise<void>;
  down?(knex: Knex): Promise<void>;
}

export interface DbOptions {
  url: string;
  /** The service's own Postgres schema (tests pass a fresh one). */
  schema: string;
  migrations: readonly Migration[];
  pool?: { min?: number; max?: number };
  /** Statement timeout for every query, so a stuck query cannot pin a pooled connection forever. */
  statementTimeoutMs?: number;
}

export interface Db {
  knex: Knex;
  schema: string;
  /** Creates the schema if needed and applies pending migrations (tracked per schema). */
  migrate(): Promise<string[]>;
  /** Readiness probe: a trivial query on a pooled connection. */
  ping(): Promise<void>;
  destroy(): Promise<void>;
}

class InlineMigrationSource implements Knex.MigrationSource<Migration> {
  constructor(private readonly migrations: readonly Migration[]) {}
  getMigrations(): Promise<Migration[]> {
    return Promise.resolve([...this.migrations].sort((a, b) => a.name.localeCompare(b.name)));
  }
  getMigrationName(m: Migration): string {
    return m.name;
  }
  getMigration(m: Migration): Promise<Knex.Migration> {
    return Promise.resolve({ up: (k: Knex) => m.up(k), down: (k: Knex) => (m.down ? m.down(k) : Promise.resolve()) });
  }
}

export function createDb(opts: DbOptions): Db {
  if (!/^[a-z_][a-z0-9_]*$/.test(opts.schema)) throw new Error(`invalid schema name ${JSON.stringify(opts.schema)}: use [a-z0-9_]`);
  const statementTimeout = opts.statementTimeoutMs ?? 10_000;
  const knex = knexFactory({
    client: 'pg',
    connection: { connectionString: opts.url, statement_timeout: statementTimeout } as Knex.PgConnectionConfig,
    searchPath: [opts.schema],
    pool: { min: opts.pool?.min ?? 0, max: opts.pool?.max ?? 10 },
    acquireConnectionTimeout: 10_000,
  });
  return {
    knex,
    schema: opts.schema,
    async migrate() {
      await knex.raw('CREATE SCHEMA IF NOT EXISTS ??', [opts.schema]);
      const [, applied] = (await knex.migrate.latest({
        migrationSource: new InlineMigrationSource(opts.migrations),
        schemaName: opts.schema,
        tableName: 'knex_migrations',
      })) as [number, string[]];
      return applied;
    },
    async ping() {
      await knex.raw('select 1');
    },
    destroy: () => knex.destroy(),
  };
}

/** Postgres unique-violation (23505), for mapping duplicate inserts to 409. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: unknown; constraint?: unknown };
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint);
}
