import type { Knex } from 'knex';

export interface Migration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * Schema of the product service, in order. Tables are unqualified: the connection's search_path is
 * the service's own schema. Append new migrations; never edit one that has shipped.
 */
export const migrations: Migration[] = [
  {
    name: '001_catalogue',
    async up(knex) {
      await knex.schema.createTable('categories', (t) => {
        t.text('slug').primary();
        t.text('name').notNullable();
        t.text('description').notNullable().defaultTo('');
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
      });
      await knex.schema.createTable('products', (t) => {
        t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
        t.text('sku').notNullable().unique();
        t.text('name').notNullable();
        t.text('description').notNullable().defaultTo('');
        t.text('category').notNullable().references('slug').inTable('categories').onUpdate('CASCADE');
        t.integer('price_cents').notNullable().checkPositive('products_price_nonnegative');
        t.specificType('currency', 'char(3)').notNullable().defaultTo('USD');
        t.text('status').notNullable().defaultTo('active').checkIn(['active', 'inactive'], 'products_status_valid');
        t.jsonb('image_urls').notNullable().defaultTo('[]');
        t.decimal('rating_avg', 3, 2).nullable();
        t.integer('rating_count').notNullable().defaultTo(0);
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.index(['category', 'price_cents']);
        t.index(['price_cents']);
        t.index(['created_at']);
        t.index(['name']);
      });
      // checkPositive() means > 0; a free item is allowed, so replace it with >= 0
      await knex.raw('ALTER TABLE products DROP CONSTRAINT products_price_nonnegative, ADD CONSTRAINT products_price_nonnegative CHECK (price_cents >= 0)');
      await knex.raw('CREATE INDEX products_rating_idx ON products (rating_avg DESC NULLS LAST, rating_count DESC)');
      // full-text search: a generated tsvector (name weighs most), GIN-indexed, queried with websearch_to_tsquery
      await knex.raw(`
        ALTER TABLE products ADD COLUMN search tsvector GENERATED ALWAYS AS (
          setweight(to_tsvector('english'::regconfig, coalesce(name, '')), 'A') ||
          setweight(to_tsvector('english'::regconfig, coalesce(category, '')), 'B') ||
          setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'C')
        ) STORED`);
      await knex.raw('CREATE INDEX products_search_idx ON products USING GIN (search)');
      await knex.schema.createTable('reviews', (t) => {
        t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
        t.uuid('product_id').notNullable().references('id').inTable('products').onDelete('CASCADE');
        t.text('user_id').notNullable();
        t.smallint('rating').notNullable();
        t.text('body').notNullable().defaultTo('');
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.unique(['product_id', 'user_id'], { indexName: 'reviews_one_per_user' });
        t.index(['product_id', 'created_at']);
      });
      await knex.raw('ALTER TABLE reviews ADD CONSTRAINT reviews_rating_range CHECK (rating BETWEEN 1 AND 5)');
    },
    async down(knex) {
      await knex.schema.dropTableIfExists('reviews');
      await knex.schema.dropTableIfExists('products');
      await knex.schema.dropTableIfExists('categories');
    },
  },
];
