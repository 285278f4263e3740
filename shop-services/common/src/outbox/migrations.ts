import type { Knex } from 'knex';
import type { Migration } from '../db/db.js';

/** Table names inside the service's own schema (the knex search_path points there). */
export const OUTBOX_TABLE = 'outbox';
export const PROCESSED_EVENTS_TABLE = 'processed_events';

/**
 * `<schema>.outbox`: events written in the same transaction as the state change they describe.
 * `seq` is the send order (per key, the relay never reorders); a row is deleted once Kafka acknowledged it.
 * Spread into the service's own migrations: `migrations: [...serviceMigrations, ...outboxMigrations]`.
 */
export const outboxMigrations: Migration[] = [
  {
    name: 'lantern_outbox_001_table',
    async up(knex: Knex) {
      await knex.schema.createTable(OUTBOX_TABLE, (t) => {
        t.bigIncrements('seq').primary();
        t.uuid('event_id').notNullable();
        t.string('topic', 249).notNullable();
        t.text('key').notNullable();
        t.string('type', 200).notNullable();
        // the envelope as JSON text, without `source` when the relay supplies it; sent byte for byte
        t.text('payload').notNullable();
        t.string('source', 200).nullable();
        // Kafka headers: W3C trace context of the writing request, event-type, event-id, caller's extras
        t.jsonb('headers').notNullable().defaultTo('{}');
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
      });
    },
    async down(knex: Knex) {
      await knex.schema.dropTableIfExists(OUTBOX_TABLE);
    },
  },
];

/**
 * `<schema>.processed_events`: one row per (consumer group, event id) applied, written in the
 * handler's transaction by claimEvent, so a redelivered or replayed event is applied once.
 */
export const processedEventsMigrations: Migration[] = [
  {
    name: 'lantern_processed_events_001_table',
    async up(knex: Knex) {
      await knex.schema.createTable(PROCESSED_EVENTS_TABLE, (t) => {
        t.string('consumer_group', 200).notNullable();
        t.string('event_id', 128).notNullable();
        t.timestamp('processed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.primary(['consumer_group', 'event_id']);
        t.index(['processed_at']);
      });
    },
    async down(knex: Knex) {
      await knex.schema.dropTableIfExists(PROCESSED_EVENTS_TABLE);
    },
  },
];
