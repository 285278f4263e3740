import type { Migration } from '@lantern/shop-common';

/**
 * Schema of the payment service, in order. Tables are unqualified: the connection's search_path is the
 * service's own schema. Append new migrations; never edit one that has shipped.
 *
 * The ledger is `payments` (one intent per order), `payment_attempts` (one row per call to a channel,
 * its id is the reference the channel records) and `refunds`. `sim_provider_transactions` is not ours:
 * it stands for the simulated providers' own books, which reconciliation compares the ledger with.
 */
export const paymentMigrations: Migration[] = [
  {
    name: '001_payments',
    async up(knex) {
      await knex.schema.createTable('payments', (t) => {
        t.uuid('id').primary();
        // one payment per order: the insert that wins this constraint is the only one that charges
        t.uuid('order_id').notNullable().unique({ indexName: 'payments_order_id_key' });
        t.text('idempotency_key').nullable().unique({ indexName: 'payments_idempotency_key_key' });
        t.text('user_id').notNullable();
        t.text('email').nullable();
        t.integer('amount_cents').notNullable();
        t.specificType('currency', 'char(3)').notNullable();
        t.text('method').nullable();
        t.text('channel').nullable();
        t.text('channel_ref').nullable();
        t.text('status').notNullable();
        t.text('failure_reason').nullable();
        t.integer('refunded_cents').notNullable().defaultTo(0);
        // refunds sent to the channel and not answered yet: reserved so concurrent refunds cannot overshoot
        t.integer('refund_pending_cents').notNullable().defaultTo(0);
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.index(['user_id', 'created_at']);
      });
      await knex.raw(`ALTER TABLE payments
        ADD CONSTRAINT payments_status_valid CHECK (status IN ('processing', 'pending', 'succeeded', 'failed')),
        ADD CONSTRAINT payments_amount_positive CHECK (amount_cents > 0),
        ADD CONSTRAINT payments_refunds_within_amount CHECK (refunded_cents >= 0 AND refund_pending_cents >= 0 AND refunded_cents + refund_pending_cents <= amount_cents)`);

      await knex.schema.createTable('payment_attempts', (t) => {
        t.uuid('id').primary();
        t.uuid('payment_id').notNullable().references('id').inTable('payments').onDelete('CASCADE');
        t.smallint('seq').notNullable();
        t.text('channel').notNullable();
        t.integer('amount_cents').notNullable();
        t.specificType('currency', 'char(3)').notNullable();
        t.text('outcome').notNullable().defaultTo('in_flight');
        t.text('channel_ref').nullable();
        t.text('error').nullable();
        t.integer('latency_ms').nullable();
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.timestamp('finished_at', { useTz: true }).nullable();
        t.unique(['payment_id', 'seq']);
        t.index(['channel', 'created_at']);
      });
      await knex.raw(`ALTER TABLE payment_attempts
        ADD CONSTRAINT payment_attempts_outcome_valid CHECK (outcome IN ('in_flight', 'success', 'pending', 'declined', 'error'))`);

      await knex.schema.createTable('refunds', (t) => {
        t.uuid('id').primary();
        t.uuid('payment_id').notNullable().references('id').inTable('payments').onDelete('CASCADE');
        t.text('idempotency_key').nullable();
        t.text('channel').notNullable();
        t.integer('amount_cents').notNullable();
        t.specificType('currency', 'char(3)').notNullable();
        t.text('reason').notNullable();
        t.text('status').notNullable().defaultTo('processing');
        t.text('channel_ref').nullable();
        t.text('error').nullable();
        t.text('requested_by').nullable();
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.timestamp('finished_at', { useTz: true }).nullable();
        t.unique(['payment_id', 'idempotency_key'], { indexName: 'refunds_idempotency_key' });
        t.index(['channel', 'created_at']);
        t.index(['payment_id']);
      });
      await knex.raw(`ALTER TABLE refunds
        ADD CONSTRAINT refunds_status_valid CHECK (status IN ('processing', 'succeeded', 'failed')),
        ADD CONSTRAINT refunds_amount_positive CHECK (amount_cents > 0)`);

      // provider events already applied: a replayed callback finds its row and changes nothing
      await knex.schema.createTable('processed_callbacks', (t) => {
        t.text('channel').notNullable();
        t.text('event_id').notNullable();
        t.text('reference').nullable();
        t.text('outcome').notNullable();
        t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.primary(['channel', 'event_id']);
      });

      await knex.schema.createTable('reconciliation_runs', (t) => {
        t.uuid('id').primary();
        t.timestamp('started_at', { useTz: true }).notNullable();
        t.timestamp('finished_at', { useTz: true }).notNullable();
        t.timestamp('window_from', { useTz: true }).notNullable();
        t.timestamp('window_to', { useTz: true }).notNullable();
        t.jsonb('report').notNullable();
      });
      // one row per distinct disagreement, so a mismatch is announced once however many runs see it
      await knex.schema.createTable('reconciliation_mismatches', (t) => {
        t.uuid('id').primary();
        t.text('channel').notNullable();
        t.text('kind').notNullable();
        t.text('reference').notNullable();
        t.uuid('payment_id').nullable();
        t.text('detail').notNullable();
        t.uuid('run_id').notNullable();
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.unique(['channel', 'kind', 'reference']);
      });

      // The simulated providers' books (one per channel, told apart by `channel`), keyed by our reference
      // as a real provider's idempotency key would be: the same reference never charges twice.
      await knex.schema.createTable('sim_provider_transactions', (t) => {
        t.text('channel').notNullable();
        t.text('reference').notNullable();
        t.text('provider_ref').notNullable();
        t.text('kind').notNullable();
        t.integer('amount_cents').notNullable();
        t.specificType('currency', 'char(3)').notNullable();
        t.text('status').notNullable();
        t.text('reason').nullable();
        t.text('original_ref').nullable();
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.primary(['channel', 'reference']);
        t.index(['channel', 'created_at']);
      });
    },
    async down(knex) {
      for (const table of ['sim_provider_transactions', 'reconciliation_mismatches', 'reconciliation_runs', 'processed_callbacks', 'refunds', 'payment_attempts', 'payments']) {
        await knex.schema.dropTableIfExists(table);
      }
    },
  },
  {
    name: '002_recovery_indexes',
    async up(knex) {
      // the recovery job looks for charges and refunds left in progress: small partial indexes, not scans
      await knex.raw("CREATE INDEX payments_processing_idx ON payments (created_at) WHERE status = 'processing'");
      await knex.raw("CREATE INDEX refunds_processing_idx ON refunds (created_at) WHERE status = 'processing'");
    },
    async down(knex) {
      await knex.raw('DROP INDEX IF EXISTS payments_processing_idx');
      await knex.raw('DROP INDEX IF EXISTS refunds_processing_idx');
    },
  },
];
