import type { Migration } from '@lantern/shop-common';

/**
 * Schema of the inventory service, in order. Tables are unqualified: the connection's search_path is
 * the service's own schema. Append new migrations; never edit one that has shipped.
 *
 * Postgres is the source of truth for stock. The CHECK constraints make overselling impossible even
 * for a statement that forgot its WHERE clause: no column can go negative, and reservations plus
 * allocations can never exceed what is on hand.
 */
export const inventoryMigrations: Migration[] = [
  {
    name: '001_stock',
    async up(knex) {
      await knex.schema.createTable('stock', (t) => {
        t.uuid('product_id').primary();
        t.text('sku').notNullable();
        t.integer('on_hand').notNullable();
        t.integer('reserved').notNullable().defaultTo(0);
        t.integer('allocated').notNullable().defaultTo(0);
        /** Set when available fell to the low-stock threshold (event sent); cleared when it rises above. */
        t.boolean('low_stock').notNullable().defaultTo(false);
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.index(['sku']);
      });
      await knex.raw(`ALTER TABLE stock
        ADD CONSTRAINT stock_on_hand_nonnegative CHECK (on_hand >= 0),
        ADD CONSTRAINT stock_reserved_nonnegative CHECK (reserved >= 0),
        ADD CONSTRAINT stock_allocated_nonnegative CHECK (allocated >= 0),
        ADD CONSTRAINT stock_available_nonnegative CHECK (on_hand - reserved - allocated >= 0)`);

      await knex.schema.createTable('allocations', (t) => {
        t.uuid('allocation_id').primary();
        t.uuid('product_id').notNullable().references('product_id').inTable('stock');
        t.integer('quantity').notNullable();
        t.integer('consumed').notNullable().defaultTo(0);
        t.integer('returned').notNullable().defaultTo(0);
        t.text('status').notNullable().defaultTo('active');
        t.text('request_hash').notNullable();
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.index(['product_id']);
      });
      await knex.raw(`ALTER TABLE allocations
        ADD CONSTRAINT allocations_quantity_positive CHECK (quantity > 0),
        ADD CONSTRAINT allocations_counts_valid CHECK (consumed >= 0 AND returned >= 0 AND consumed + returned <= quantity),
        ADD CONSTRAINT allocations_status_valid CHECK (status IN ('active', 'closed'))`);

      await knex.schema.createTable('reservations', (t) => {
        t.uuid('order_id').primary();
        t.text('status').notNullable();
        t.text('request_hash').notNullable();
        /** Set when the units came out of a flash-sale allocation (POST /allocations/:id/consume). */
        t.uuid('allocation_id').nullable().references('allocation_id').inTable('allocations');
        t.timestamp('expires_at', { useTz: true }).notNullable();
        t.text('released_by').nullable();
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
      });
      await knex.raw(`ALTER TABLE reservations
        ADD CONSTRAINT reservations_status_valid CHECK (status IN ('reserved', 'confirmed', 'released', 'expired'))`);
      // the sweeper's scan: only live reservations, oldest deadline first
      await knex.raw(`CREATE INDEX reservations_live_expiry_idx ON reservations (expires_at) WHERE status = 'reserved'`);

      await knex.schema.createTable('reservation_items', (t) => {
        t.uuid('order_id').notNullable().references('order_id').inTable('reservations').onDelete('CASCADE');
        t.integer('position').notNullable();
        t.uuid('product_id').notNullable().references('product_id').inTable('stock');
        t.integer('quantity').notNullable();
        t.primary(['order_id', 'position']);
        t.index(['product_id']);
      });
      await knex.raw('ALTER TABLE reservation_items ADD CONSTRAINT reservation_items_quantity_positive CHECK (quantity > 0)');

      // Every transaction that changes stock records its operation id here, so the reconciler can tell,
      // from one snapshot, which of Redis's in-flight operations Postgres already contains (README).
      await knex.schema.createTable('stock_ops', (t) => {
        t.uuid('op_id').primary();
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.index(['created_at']);
      });
    },
    async down(knex) {
      await knex.schema.dropTableIfExists('stock_ops');
      await knex.schema.dropTableIfExists('reservation_items');
      await knex.schema.dropTableIfExists('reservations');
      await knex.schema.dropTableIfExists('allocations');
      await knex.schema.dropTableIfExists('stock');
    },
  },
  {
    // A retried return (same Idempotency-Key) must give units back once.
    name: '002_allocation_returns',
    async up(knex) {
      await knex.schema.createTable('allocation_returns', (t) => {
        t.uuid('allocation_id').notNullable().references('allocation_id').inTable('allocations');
        t.text('return_key').notNullable();
        /** null: "everything that remained" (a return without a quantity). */
        t.integer('requested').nullable();
        t.integer('returned').notNullable();
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.primary(['allocation_id', 'return_key']);
      });
    },
    async down(knex) {
      await knex.schema.dropTableIfExists('allocation_returns');
    },
  },
];
