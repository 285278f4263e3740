import type { Migration } from '@lantern/shop-common';

export const migrations: Migration[] = [
  {
    name: '001_users',
    async up(knex) {
      await knex.schema.createTable('users', (t) => {
        t.uuid('id').primary();
        t.text('email').notNullable().unique({ indexName: 'users_email_key' });
        t.text('password_hash').notNullable();
        t.text('name').notNullable();
        t.text('role').notNullable().defaultTo('customer');
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.check("role in ('customer', 'admin')", [], 'users_role_check');
      });
    },
  },
  {
    name: '002_addresses',
    async up(knex) {
      await knex.schema.createTable('addresses', (t) => {
        t.uuid('id').primary();
        t.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
        t.text('label');
        t.text('recipient').notNullable();
        t.text('line1').notNullable();
        t.text('line2');
        t.text('city').notNullable();
        t.text('postal_code').notNullable();
        t.text('country').notNullable();
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.index(['user_id'], 'addresses_user_idx');
      });
    },
  },
  {
    name: '003_refresh_tokens',
    async up(knex) {
      await knex.schema.createTable('refresh_tokens', (t) => {
        t.uuid('id').primary();
        t.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
        /** All tokens descended from one login share a family; reuse of a rotated one revokes it. */
        t.uuid('family_id').notNullable();
        /** sha256 of the opaque token: a database leak yields no usable tokens. */
        t.text('token_hash').notNullable().unique({ indexName: 'refresh_tokens_hash_key' });
        t.timestamp('expires_at', { useTz: true }).notNullable();
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.timestamp('rotated_at', { useTz: true });
        t.timestamp('revoked_at', { useTz: true });
        t.index(['family_id'], 'refresh_tokens_family_idx');
        t.index(['user_id'], 'refresh_tokens_user_idx');
      });
    },
  },
];
