// Opens stores on a fresh schema (one per test file, or per test where state must not be shared).
import { freshSchema, infra, type FreshSchema } from '@lantern/testkit';
import { pino } from 'pino';
import { openStores, type PgStores } from '../../src/store/open.js';

export const quietLogger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

export async function storesOn(schema: string, opts: { resolveTimeoutMs?: number } = {}): Promise<PgStores> {
  return openStores({ databaseUrl: infra.databaseUrl, schema, logger: quietLogger, ...opts });
}

export async function freshStores(prefix: string, opts: { resolveTimeoutMs?: number } = {}): Promise<{ stores: PgStores; schema: FreshSchema }> {
  const schema = await freshSchema(prefix);
  return { stores: await storesOn(schema.name, opts), schema };
}
