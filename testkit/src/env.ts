import { homedir } from 'node:os';
import { join } from 'node:path';

/** Addresses of the local infrastructure started by `npm run infra -- up`. */
export const infra = {
  databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  kafkaBrokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  prometheusUrl: process.env.PROMETHEUS_URL ?? 'http://127.0.0.1:9090',
  lanternHome: process.env.LANTERN_HOME ?? join(homedir(), '.lantern'),
};
