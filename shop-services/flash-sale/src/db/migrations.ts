import type { Migration } from '@lantern/shop-common';

/**
 * Schema of the flash-sale service. Tables are unqualified: the connection's search_path is the
 * service's schema. Append new migrations; never edit one that has shipped.
 *
 * Postgres is the source of truth and the last guard against overselling, whatever Redis says: a
 * sale's units are slots 1..stock and a purchase that is not failed owns one (unique per sale, and
 * the slot must be within the stock), and a user has at most one purchase per sale (unique index).
 * No counter row is updated per purchase, so concurrent purchases never queue on one row lock.
 */
export const saleMigrations: Migration[] = [
  {
    name: '001_flash_sales',
    async up(knex) {
      await knex.schema.createTable('flash_sales', (t) => {
        t.uuid('id').primary();
        t.uuid('product_id').notNullable();
        t.text('sku').nullable();
        t.integer('price_cents').notNullable();
        t.specificType('currency', 'char(3)').notNullable();
        t.integer('stock').notNullable();
        t.integer('per_user_limit').notNullable().defaultTo(1);
        t.timestamp('starts_at', { useTz: true }).notNullable();
        t.timestamp('ends_at', { useTz: true }).notNullable();
        // allocating → active → settled; allocating → cancelled when inventory refused or never answered
        t.text('status').notNullable().defaultTo('allocating');
        // units owed back to inventory (unsold at settlement + purchases failed since), and those it took back
        t.integer('unsold_units').notNullable().defaultTo(0);
        t.integer('returned_units').notNullable().defaultTo(0);
        t.text('created_by').notNullable();
        t.timestamp('settled_at', { useTz: true }).nullable();
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.index(['status', 'ends_at']);
        t.index(['starts_at']);
      });
      await knex.raw(`ALTER TABLE flash_sales
        ADD CONSTRAINT flash_sales_price CHECK (price_cents >= 0),
        ADD CONSTRAINT flash_sales_stock CHECK (stock > 0),
        ADD CONSTRAINT flash_sales_returned CHECK (returned_units >= 0 AND returned_units <= unsold_units AND unsold_units <= stock),
        ADD CONSTRAINT flash_sales_window CHECK (ends_at > starts_at),
        ADD CONSTRAINT flash_sales_status CHECK (status IN ('allocating', 'active', 'settled', 'cancelled'))`);
      await knex.schema.createTable('purchases', (t) => {
        // the purchase id is also the id of the order the order service creates from it
        t.uuid('id').primary();
        t.uuid('sale_id').notNullable().references('id').inTable('flash_sales');
        t.text('user_id').notNullable();
        // which unit of the sale (1..stock) this purchase owns
        t.integer('slot').notNullable();
        t.text('status').notNullable().defaultTo('queued');
        t.text('failure_reason').nullable();
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.unique(['sale_id', 'user_id'], { indexName: 'purchases_one_per_user' });
      });
      await knex.raw(`ALTER TABLE purchases
        ADD CONSTRAINT purchases_status CHECK (status IN ('queued', 'ordered', 'failed')),
        ADD CONSTRAINT purchases_slot_positive CHECK (slot >= 1)`);
      // a failed purchase gives its unit back: only live purchases own a slot
      await knex.raw(`CREATE UNIQUE INDEX purchases_one_per_slot ON purchases (sale_id, slot) WHERE status <> 'failed'`);
    },
    async down(knex) {
      await knex.schema.dropTable('purchases');
      await knex.schema.dropTable('flash_sales');
    },
  },
];
