import pg from 'pg';
import { infra } from './env.js';
import { uniqueName } from './names.js';

export interface FreshSchema {
  name: string;
  drop(): Promise<void>;
}

/** Creates a run-unique Postgres schema; drop() removes it with everything in it. */
export async function freshSchema(prefix: string): Promise<FreshSchema> {
  const name = uniqueName(prefix);
  const client = new pg.Client({ connectionString: infra.databaseUrl });
  await client.connect();
  try {
    // identifiers cannot be bound parameters; uniqueName only yields [a-z0-9_]
    await client.query(`CREATE SCHEMA "${name}"`);
  } finally {
    await client.end();
  }
  return {
    name,
    async drop() {
      const c = new pg.Client({ connectionString: infra.databaseUrl });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}
