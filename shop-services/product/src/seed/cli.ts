import { createDb, loadConfig } from '@lantern/shop-common';
import { z } from 'zod';
import { migrations } from '../db/migrations.js';
import { seedCatalogue } from './load.js';

// `npm run seed -w @lantern/shop-product`: migrates the schema and loads the catalogue (idempotent)
const config = loadConfig(
  z.object({
    DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/postgres'),
    DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'must match [a-z_][a-z0-9_]*').default('product'),
    SEED_PER_CATEGORY: z.coerce.number().int().min(1).max(10_000).default(48),
  }),
);
const db = createDb({ url: config.DATABASE_URL, schema: config.DB_SCHEMA, migrations });
try {
  await db.migrate();
  const result = await seedCatalogue(db.knex, { perCategory: config.SEED_PER_CATEGORY });
  console.log(JSON.stringify({ schema: config.DB_SCHEMA, inserted: result }));
} finally {
  await db.destroy();
}
