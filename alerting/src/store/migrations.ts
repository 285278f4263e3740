// The alert engine's tables, created by knex migrations defined in code (no migration files to ship).
// Every table lives in the schema given to openStores; the migrations table too, so schemas are independent.
import type { Knex } from 'knex';

interface CodeMigration {
  name: string;
  up(knex: Knex, schema: string): Promise<void>;
}

const MIGRATIONS: CodeMigration[] = [
  {
    name: '001_initial',
    async up(knex, schema) {
      const s = knex.schema.withSchema(schema);
      await s.createTable('alerts', (t) => {
        t.string('fingerprint', 16).primary();
        t.jsonb('labels').notNullable();
        t.jsonb('annotations').notNullable();
        t.timestamp('starts_at', { useTz: true, precision: 3 }).notNullable();
        t.timestamp('ends_at', { useTz: true, precision: 3 }).notNullable();
        t.boolean('timeout').notNullable();
        t.text('generator_url').notNullable();
        t.timestamp('updated_at', { useTz: true, precision: 3 }).notNullable();
        t.index(['ends_at']);
      });
      await knex.schema.withSchema(schema).createTable('silences', (t) => {
        t.uuid('id').primary();
        t.jsonb('matchers').notNullable();
        t.timestamp('starts_at', { useTz: true, precision: 3 }).notNullable();
        t.timestamp('ends_at', { useTz: true, precision: 3 }).notNullable();
        t.text('created_by').notNullable();
        t.text('comment').notNullable();
        t.jsonb('annotations').notNullable();
        t.timestamp('updated_at', { useTz: true, precision: 3 }).notNullable();
      });
      await knex.schema.withSchema(schema).createTable('nflog', (t) => {
        t.text('group_key').notNullable();
        t.text('receiver').notNullable();
        t.text('integration').notNullable();
        t.jsonb('firing').notNullable();
        t.jsonb('resolved').notNullable();
        t.timestamp('sent_at', { useTz: true, precision: 3 }).notNullable();
        t.primary(['group_key', 'receiver', 'integration']);
      });
      await knex.schema.withSchema(schema).createTable('acks', (t) => {
        t.text('group_key').primary();
        t.text('acked_by').notNullable();
        t.timestamp('acked_at', { useTz: true, precision: 3 }).notNullable();
      });
      await knex.schema.withSchema(schema).createTable('leases', (t) => {
        t.text('name').primary();
        t.text('holder').notNullable();
        t.timestamp('expires_at', { useTz: true, precision: 3 }).notNullable();
      });
      await knex.schema.withSchema(schema).createTable('aggregation_groups', (t) => {
        t.text('group_key').primary();
        t.text('receiver').notNullable();
        t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable();
        t.timestamp('first_flush_at', { useTz: true, precision: 3 }).nullable();
        t.timestamp('last_flush_at', { useTz: true, precision: 3 }).nullable();
        t.timestamp('first_notified_at', { useTz: true, precision: 3 }).nullable();
        t.integer('escalation_level').notNullable().defaultTo(0);
      });
    },
  },
];

export function migrationSource(schema: string): Knex.MigrationSource<CodeMigration> {
  return {
    getMigrations: async () => MIGRATIONS,
    getMigrationName: (m) => m.name,
    // Rolling back is not supported (knex insists on a down function): the schema only moves forward.
    getMigration: async (m) => ({
      up: (knex: Knex) => m.up(knex, schema),
      down: async () => {
        throw new Error(`migration ${m.name} cannot be rolled back`);
      },
    }),
  };
}
