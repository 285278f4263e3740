import type { Migration } from '@lantern/shop-common';

/**
 * Schema of the notification service (tables unqualified: the connection's search_path is the
 * service's schema). Append new migrations; never edit one that has shipped.
 */
export const notificationMigrations: Migration[] = [
  {
    name: '001_notifications',
    async up(knex) {
      // In-app messages, one per event (unique event_id). `seq` orders a user's list and is the page cursor:
      // timestamps tie and lose microseconds in JavaScript.
      await knex.schema.createTable('notifications', (t) => {
        t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
        t.bigIncrements('seq', { primaryKey: false });
        t.text('user_id').notNullable();
        t.uuid('event_id').notNullable().unique();
        t.text('event_type').notNullable();
        t.text('order_id').nullable();
        t.text('title').notNullable();
        t.text('body').notNullable();
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.timestamp('read_at', { useTz: true }).nullable();
      });
      await knex.raw('CREATE INDEX notifications_user_seq_idx ON notifications (user_id, seq DESC)');
      await knex.raw('CREATE INDEX notifications_user_unread_idx ON notifications (user_id, seq DESC) WHERE read_at IS NULL');

      // One row per (event, channel): the record that makes "one notification per event per channel" hold.
      // Email and SMS rows are also the work queue of the dispatcher (status pending/sending, next_attempt_at).
      await knex.schema.createTable('deliveries', (t) => {
        t.uuid('event_id').notNullable();
        t.text('channel').notNullable().checkIn(['email', 'sms', 'in_app'], 'deliveries_channel_valid');
        t.primary(['event_id', 'channel']);
        t.text('event_type').notNullable();
        t.text('user_id').notNullable();
        t.text('order_id').nullable();
        t.text('status').notNullable().checkIn(['pending', 'sending', 'sent', 'failed', 'skipped'], 'deliveries_status_valid');
        /** Why a delivery was skipped or failed, e.g. `no_email_address`, `smtp_permanent`. */
        t.text('reason').nullable();
        t.text('recipient').nullable();
        /** The rendered message (EmailMessage or SmsMessage), fixed when the event was claimed. */
        t.jsonb('message').nullable();
        t.integer('attempts').notNullable().defaultTo(0);
        /** pending: when to try; sending: when the lease ends (a sender that crashed is taken over then). */
        t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.text('last_error').nullable();
        t.text('provider_message_id').nullable();
        /** W3C trace context of the consuming span, so the send joins the event's trace. */
        t.jsonb('trace_context').notNullable().defaultTo('{}');
        t.timestamp('event_at', { useTz: true }).notNullable();
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.timestamp('sent_at', { useTz: true }).nullable();
      });
      await knex.raw("CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status IN ('pending', 'sending')");
      await knex.raw('CREATE INDEX deliveries_order_idx ON deliveries (order_id) WHERE order_id IS NOT NULL');

      // Opt-in channels per user: SMS goes only to a phone number the user gave us.
      await knex.schema.createTable('preferences', (t) => {
        t.text('user_id').primary();
        t.text('sms_phone').nullable();
        t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
      });
    },
    async down(knex) {
      await knex.schema.dropTableIfExists('preferences');
      await knex.schema.dropTableIfExists('deliveries');
      await knex.schema.dropTableIfExists('notifications');
    },
  },
  {
    name: '002_retention_indexes',
    async up(knex) {
      // The retention job (src/retention.ts) finds old rows by age; without these each of its batches
      // would scan the whole table. Partial, so each holds only rows that can ever qualify:
      // - read messages by read time: written by a read (never by the consumer's insert);
      // - unread messages by creation time: one more entry per in-app message;
      // - deliveries with a final status by the time of that outcome (pending/sending rows never qualify).
      // Built inside the migration's transaction (no CONCURRENTLY): writes to the table wait while it
      // builds, and the pool's statement timeout must not cut a build on a large table short.
      await knex.raw('SET LOCAL statement_timeout = 0');
      await knex.raw('CREATE INDEX notifications_read_at_idx ON notifications (read_at) WHERE read_at IS NOT NULL');
      await knex.raw('CREATE INDEX notifications_unread_created_idx ON notifications (created_at) WHERE read_at IS NULL');
      await knex.raw("CREATE INDEX deliveries_finished_idx ON deliveries (updated_at) WHERE status IN ('sent', 'failed', 'skipped')");
    },
    async down(knex) {
      await knex.raw('DROP INDEX IF EXISTS deliveries_finished_idx');
      await knex.raw('DROP INDEX IF EXISTS notifications_unread_created_idx');
      await knex.raw('DROP INDEX IF EXISTS notifications_read_at_idx');
    },
  },
];
