import type { Admin, Producer } from 'kafkajs';
import { DependencyDownError } from './readiness.js';
import type { ReadinessCheck } from './readiness.js';

/** A knex instance (has `raw`) or a pg Pool/Client (has `query`). */
export type SqlClient = { raw(sql: string): unknown } | { query(sql: string): Promise<unknown> };

/** Runs `select 1`. The per-check timeout bounds a hung pool. */
export function pgCheck(db: SqlClient): ReadinessCheck {
  return async () => {
    if ('raw' in db) await db.raw('select 1');
    else await db.query('select 1');
  };
}

/** What redisCheck needs of an ioredis client (Redis or Cluster). */
export interface RedisLike {
  status: string;
  ping(): Promise<unknown>;
}

/**
 * Fails at once while ioredis is not connected (it would otherwise queue the PING until the
 * timeout), otherwise PINGs. A lazyConnect client that has not connected yet ("wait") is pinged,
 * which connects it.
 */
export function redisCheck(redis: RedisLike): ReadinessCheck {
  return async () => {
    if (redis.status !== 'ready' && redis.status !== 'wait') throw new DependencyDownError(`redis connection is ${redis.status}`);
    await redis.ping();
  };
}

/**
 * Kafka readiness. With an admin client: `describeCluster()` (a metadata round trip to a broker).
 * With a producer: kafkajs has no liveness call, so the check follows the producer's connect and
 * disconnect events; create the check before calling `producer.connect()`.
 */
export function kafkaCheck(client: Admin | Producer): ReadinessCheck {
  if ('describeCluster' in client) {
    return async () => {
      const cluster = await client.describeCluster();
      if (cluster.brokers.length === 0) throw new DependencyDownError('kafka cluster has no brokers');
    };
  }
  let connected = false;
  client.on(client.events.CONNECT, () => {
    connected = true;
  });
  client.on(client.events.DISCONNECT, () => {
    connected = false;
  });
  return async () => {
    if (!connected) throw new DependencyDownError('kafka producer is not connected');
  };
}
