import { randomBytes } from 'node:crypto';

/**
 * A name unique to this test run. Tests share the machine's Postgres, Redis and Kafka with
 * earlier runs, so every schema, topic, consumer group and key prefix gets one of these.
 */
export function uniqueName(prefix: string): string {
  const safe = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return `${safe}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}
