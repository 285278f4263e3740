import type { Knex } from 'knex';
import type { z } from 'zod';
import { createEnvelope, type EventEnvelope } from '../events/envelope.js';
import { InvalidEventDataError } from '../events/errors.js';
import { SHOP_EVENTS, type ShopEventType, type ShopEventData } from '../events/shop-events.js';
import { captureTraceHeaders } from '../events/trace-context.js';
import { OUTBOX_TABLE } from './migrations.js';
import { wakeRelays } from './wake.js';


export interface OutboxEvent<T extends ShopEventType | string = ShopEventType | string> {
  topic: string;
  /** A SHOP_EVENTS type (its data is validated) or another type (data stored as given). */
  type: T;
  /** Partition key: the aggregate id (order id, product id, sale id). Events of one key are sent in order. */
  key: string;
  data: T extends ShopEventType ? ShopEventData<T> : unknown;
  /** Envelope version, 1 by default. SHOP_EVENTS schemas are version 1; other versions are not validated. */
  version?: number;
  /** Envelope `source`; by default the relay's `source` (the service name) fills it in when sending. */
  source?: string;
  /** Extra Kafka headers (string values). Trace context, event-type and event-id are added. */
  headers?: Record<string, string>;
}

const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;
const MAX_KEY = 512;
const MAX_HEADER_VALUE = 4096;
/**
 * Largest envelope accepted, in bytes of JSON. Kafka refuses a record batch above max.message.bytes
 * (1 MiB by default) for good, and a row Kafka refuses would hold up the whole outbox: events carry
 * ids and summaries, never documents.
 */
export const MAX_EVENT_BYTES = 256 * 1024;

function validateData(type: string, version: number, data: unknown): unknown {
  if (version !== 1 || !Object.hasOwn(SHOP_EVENTS, type)) return data;
  const schema = SHOP_EVENTS[type as ShopEventType] as z.ZodType;
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  throw new InvalidEventDataError(
    type,
    r.error.issues.map((i) => ({ path: ['data', ...i.path.map(String)].join('.'), message: i.message, code: i.code })),
  );
}

function checkShape(e: OutboxEvent): void {
  const bad = (path: string, message: string) => new InvalidEventDataError(String(e.type), [{ path, message }]);
  if (typeof e.topic !== 'string' || !TOPIC.test(e.topic)) throw bad('topic', 'must be a Kafka topic name ([A-Za-z0-9._-], 1-249 characters)');
  if (typeof e.type !== 'string' || e.type.length < 1 || e.type.length > 200) throw bad('type', 'must be 1-200 characters');
  if (typeof e.key !== 'string' || e.key.length < 1 || e.key.length > MAX_KEY) throw bad('key', `must be 1-${MAX_KEY} characters`);
  if (e.version !== undefined && (!Number.isInteger(e.version) || e.version < 1)) throw bad('version', 'must be a positive integer');
  if (e.source !== undefined && (typeof e.source !== 'string' || e.source.length < 1 || e.source.length > 200)) throw bad('source', 'must be 1-200 characters');
  for (const [k, v] of Object.entries(e.headers ?? {})) {
    if (typeof v !== 'string' || v.length > MAX_HEADER_VALUE) throw bad(`headers.${k}`, `must be a string of at most ${MAX_HEADER_VALUE} characters`);
  }
}

const hooked = new WeakSet<object>();

/** Wakes this process's relays once the transaction commits (once per transaction; never on rollback). */
function afterCommit(trx: Knex.Transaction): void {
  if (hooked.has(trx)) return;
  hooked.add(trx);
  const done = (trx as Partial<Knex.Transaction>).executionPromise;
  if (done) done.then(wakeRelays, () => undefined);
  else wakeRelays();
}

/**
 * Writes an event to the outbox inside the caller's transaction, so it exists if and only if the
 * state change commits. Data of a known SHOP_EVENTS type is validated first (InvalidEventDataError,
 * a 500 naming each bad path like `data.items.0.quantity`). The active W3C trace context is stored
 * with it, so the consumer's span joins the request that caused the event. The relays of this
 * process are woken when the transaction commits (wake.ts); others find the row by polling.
 */
export async function enqueueEvent<T extends ShopEventType | string>(trx: Knex.Transaction, e: OutboxEvent<T>): Promise<EventEnvelope> {
  checkShape(e);
  const version = e.version ?? 1;
  const data = validateData(e.type, version, e.data);
  const envelope = createEnvelope({ type: e.type, source: e.source ?? 'outbox-relay', key: e.key, data, version });
  // stored without source unless the caller set one: the relay fills in its own (string splice, no re-parse)
  const { source: _source, ...withoutSource } = envelope;
  const stored = e.source === undefined ? withoutSource : envelope;
  const payload = JSON.stringify(stored);
  if (Buffer.byteLength(payload) > MAX_EVENT_BYTES) {
    throw new InvalidEventDataError(e.type, [{ path: 'data', message: `the event is ${Buffer.byteLength(payload)} bytes as JSON; at most ${MAX_EVENT_BYTES} are accepted` }]);
  }
  const headers: Record<string, string> = { ...e.headers, ...captureTraceHeaders(), 'event-type': e.type, 'event-id': envelope.id };
  await trx.raw('INSERT INTO ?? (event_id, topic, key, type, payload, source, headers) VALUES (?, ?, ?, ?, ?, ?, ?::jsonb)', [
    OUTBOX_TABLE,
    envelope.id,
    e.topic,
    e.key,
    e.type,
    payload,
    e.source ?? null,
    JSON.stringify(headers),
  ]);
  afterCommit(trx);
  return envelope;
}
