import type { Migration } from '@lantern/shop-common';
import { orderStatusSchema } from '@lantern/shop-common';

const STATUSES = orderStatusSchema.options.map((s) => `'${s}'`).join(', ');

/** The order service's own tables (the outbox and processed-event tables come from shop-common). */
export const orderMigrations: Migration[] = [
  {
    name: '001_orders',
    async up(knex) {
      await knex.schema.createTable('orders', (t) => {
        t.uuid('id').primary();
        t.text('user_id').notNullable();
        /** From the end user's token at creation: later events (from jobs and consumers) still carry it. */
        t.text('email');
        t.text('status').notNullable();
        /** Why the order reached its current status (cancel reason, payment failure, timeout). */
        t.text('status_reason');
        t.bigInteger('total_cents').notNullable();
        t.specificType('currency', 'char(3)').notNullable();
        t.text('payment_id');
        t.text('flash_sale_id');
        t.timestamp('expires_at', { useTz: true });
        /** Idempotency-Key of the creating request and the hash of its body. */
        t.text('idempotency_key');
        t.text('request_hash');
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.check(`status in (${STATUSES})`, [], 'orders_status_check');
        t.check('total_cents >= 0', [], 'orders_total_check');
        // The idempotency claim: the first insert wins, concurrent duplicates conflict (NULL keys never do).
        t.unique(['user_id', 'idempotency_key'], { indexName: 'orders_user_idempotency_key' });
        t.index(['user_id', 'created_at'], 'orders_user_created_idx');
        t.index(['status'], 'orders_status_idx');
      });
      await knex.schema.createTable('order_items', (t) => {
        t.uuid('order_id').notNullable().references('id').inTable('orders').onDelete('CASCADE');
        t.integer('line_no').notNullable();
        t.text('product_id').notNullable();
        t.text('sku').notNullable();
        t.text('name').notNullable();
        t.text('category');
        t.integer('quantity').notNullable();
        t.bigInteger('unit_price_cents').notNullable();
        t.primary(['order_id', 'line_no']);
        t.check('quantity > 0', [], 'order_items_quantity_check');
        t.check('unit_price_cents >= 0', [], 'order_items_price_check');
      });
      await knex.schema.createTable('order_status_history', (t) => {
        t.bigIncrements('id').primary();
        t.uuid('order_id').notNullable().references('id').inTable('orders').onDelete('CASCADE');
        t.text('from_status');
        t.text('to_status').notNullable();
        t.text('reason');
        /** `user:<id>`, `admin:<id>`, `system:<job or consumer>`. */
        t.text('actor').notNullable();
        t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.index(['order_id', 'id'], 'order_status_history_order_idx');
      });
    },
  },
  {
    name: '002_saga_steps',
    async up(knex) {
      // One row per (order, step): what the saga asked of another service and what came back, so a
      // restarted process (or the re-drive job) knows where each order stands.
      await knex.schema.createTable('saga_steps', (t) => {
        t.uuid('order_id').notNullable().references('id').inTable('orders').onDelete('CASCADE');
        t.text('step').notNullable();
        t.text('status').notNullable();
        t.integer('attempts').notNullable().defaultTo(1);
        t.text('detail');
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.primary(['order_id', 'step']);
      });
    },
  },
  {
    name: '003_scheduled_jobs',
    async up(knex) {
      // The durable scheduler: payment timeouts, compensations and re-drives wait here, so a crash or
      // a restart never loses one. No foreign key to orders: a release must outlive a deleted order.
      await knex.schema.createTable('scheduled_jobs', (t) => {
        t.bigIncrements('id').primary();
        t.text('kind').notNullable();
        /** What the job is about (the order id); (kind, key) is unique so scheduling twice is harmless. */
        t.text('key').notNullable();
        t.jsonb('payload').notNullable().defaultTo('{}');
        t.timestamp('run_at', { useTz: true }).notNullable();
        t.integer('attempts').notNullable().defaultTo(0);
        /** Set while a worker runs the job; a job whose lease ran out (worker died) is taken again. */
        t.timestamp('locked_until', { useTz: true });
        /** Which claim holds the lease: a worker only completes or reschedules the job it claimed. */
        t.uuid('lease_token');
        t.text('last_error');
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.unique(['kind', 'key'], { indexName: 'scheduled_jobs_kind_key' });
        t.index(['run_at'], 'scheduled_jobs_run_at_idx');
      });
    },
  },
];
