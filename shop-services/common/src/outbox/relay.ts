import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import type { Kafka, Message, Producer, TopicMessages } from 'kafkajs';
import { context, trace, ROOT_CONTEXT, SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { getOrCreateCounter, getOrCreateGauge } from '@lantern/sdk';
import type { Db } from '../db/db.js';
import type { Logger } from '../telemetry.js';
import { captureTraceHeaders, contextFromHeaders } from '../events/trace-context.js';
import { OUTBOX_TABLE } from './migrations.js';
import { onOutboxCommit } from './wake.js';

export interface OutboxRelayOptions {
  /** The service's database (createDb) or a knex whose search_path is the service's schema. */
  db: Db | Knex;
  /** Instrumented Kafka client (`instrumentKafka(new Kafka(...))`). */
  kafka: Kafka;
  /** Envelope `source` for events enqueued without one: the service name. */
  source: string;
  logger?: Logger;
  /**
   * Poll of the outbox when idle, in ms (default 250): one small `SELECT`. Commits of enqueueEvent
   * in this process wake the relay at once; the poll finds rows written by other processes.
   */
  pollIntervalMs?: number;
  /**
   * After a commit wakes it, the relay waits this long (default 20 ms) so that events committed
   * meanwhile go out in the same Kafka request: the broker's per-request cost dominates at small
   * batches (measured with 4 busy writers: ~420 µs of broker CPU per event without linger, ~180 at 20 ms).
   */
  lingerMs?: number;
  /** Rows sent per Kafka request (default 200). */
  batchSize?: number;
  /** Ceiling of the backoff while Kafka or Postgres fail (default 5000 ms; starts at 100 ms, jittered). */
  maxBackoffMs?: number;
  /** How often the pending-count and oldest-age gauges are refreshed (default 5000 ms). */
  statsIntervalMs?: number;
  /** How often a standby relay (another instance holds the outbox) tries to take over (default 1000 ms). */
  standbyRetryMs?: number;
}

export interface OutboxRelay {
  /** Starts the send loop in the background. Never fails because Kafka is down: rows wait and go out later. */
  start(): Promise<void>;
  /** Stops the loop after the batch in flight (a sleep ends at once), releases the outbox and closes the producer (also after drain() alone). */
  stop(): Promise<void>;
  /**
   * Sends everything pending now, in order, and returns how many rows this relay sent. Throws if
   * Kafka (or Postgres) fails; the unsent rows stay. While another instance holds the outbox it
   * waits (up to 30 s) and returns 0 if it never got it.
   */
  drain(): Promise<number>;
}

interface OutboxRow {
  seq: string;
  event_id: string;
  topic: string;
  key: string;
  type: string;
  payload: string;
  source: string | null;
  headers: Record<string, string>;
}

interface BatchResult {
  sent: number;
  /** The batch was full: more rows may be waiting. */
  more: boolean;
  /** Another relay of this schema holds the outbox (this one is on standby). */
  busy: boolean;
}

/** The relay's own Postgres session (pg.Client as knex hands it out). */
interface PgSession {
  query<R>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
  on(event: 'error', fn: (err: Error) => void): void;
  on(event: 'end', fn: () => void): void;
}

/** pg_try_advisory_lock(class, hashtext(schema)): one sending relay per schema ('LOTX'). */
const LOCK_CLASS = 0x4c4f5458;

function isKnex(db: Db | Knex): db is Knex {
  return typeof db === 'function';
}

function errText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** The relay's own queries and polls are not traced (a root span every 250 ms is noise); its producer spans are. */
function untraced<T>(fn: () => Promise<T>): Promise<T> {
  return context.with(suppressTracing(ROOT_CONTEXT), fn);
}

function relayMetrics() {
  return {
    pending: getOrCreateGauge({ name: 'outbox_pending_events', help: 'Events in the transactional outbox not yet acknowledged by Kafka' }),
    oldestAge: getOrCreateGauge({ name: 'outbox_oldest_pending_age_seconds', help: 'Age of the oldest event waiting in the outbox (0 when empty)' }),
    published: getOrCreateCounter<'topic' | 'outcome'>({
      name: 'outbox_published_total',
      help: 'Outbox events given to Kafka by the relay, by outcome (success = acknowledged by all in-sync replicas)',
      labelNames: ['topic', 'outcome'],
    }),
  };
}

/**
 * Bytes one Kafka request may carry (default 512 KiB): a partition's messages travel as one record
 * batch, and the broker refuses a batch above max.message.bytes (1 MiB by default) every time it is
 * retried, which would hold up the outbox for good.
 */
const MAX_REQUEST_BYTES = 512 * 1024;

/** The longest prefix of rows within MAX_REQUEST_BYTES (always at least one row: enqueueEvent caps a row at 256 KiB). */
function fitBatch(rows: OutboxRow[]): OutboxRow[] {
  let bytes = 0;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as OutboxRow;
    bytes += Buffer.byteLength(row.payload) + Buffer.byteLength(row.key) + Buffer.byteLength(JSON.stringify(row.headers)) + 100;
    if (bytes > MAX_REQUEST_BYTES && i > 0) return rows.slice(0, i);
  }
  return rows;
}

/** The envelope as sent: the stored JSON with `source` spliced in when the row has none. */
function envelopeValue(row: OutboxRow, source: string): string {
  if (row.source !== null) return row.payload;
  return `{"source":${JSON.stringify(source)},${row.payload.slice(1)}`;
}

/**
 * One producer span per message, child of the request that enqueued the event (its stored trace
 * context), injected into the message so the consumer's span is the producer span's child. The
 * SDK's kafkajs instrumentation is suppressed for the batched send (it would parent every message
 * on the relay's own context and overwrite the header), so the whole batch is one Kafka request.
 */
function tracedMessage(row: OutboxRow, source: string, tracer: ReturnType<typeof trace.getTracer>): { message: Message; span: Span } {
  const parent = contextFromHeaders(row.headers);
  const span = tracer.startSpan(
    `send ${row.topic}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'send',
        'messaging.destination.name': row.topic,
        'messaging.kafka.message.key': row.key,
        'messaging.message.id': row.event_id,
        'lantern.outbox.seq': row.seq,
        'lantern.event.type': row.type,
      },
    },
    parent,
  );
  const headers: Record<string, string> = { ...row.headers };
  delete headers.traceparent;
  delete headers.tracestate;
  Object.assign(headers, captureTraceHeaders(trace.setSpan(parent, span)));
  return { message: { key: row.key, value: envelopeValue(row, source), headers }, span };
}

/**
 * The transactional-outbox relay: sends rows of `<schema>.outbox` to Kafka (acks=all, idempotent
 * producer) in `seq` order and deletes them once acknowledged.
 * - One sender per schema: the relay works on its own Postgres session holding a session-level
 *   advisory lock. A second instance of the service stays on standby (tries the lock every
 *   standbyRetryMs) and takes over when the first stops or its session dies. All of the leader's
 *   queries run on the session that holds the lock, so a leader whose session died cannot send.
 * - Ordered per key: each batch is one Kafka request in seq order (same key → same partition, in
 *   order), and a failed batch is resent whole before anything after it.
 * - At least once: rows are deleted after the broker's ack. A crash in between resends the batch;
 *   consumers dedupe by event id (claimEvent).
 * - Kafka down: the batch fails, the rows stay, the relay releases the outbox (a standby that can
 *   reach Kafka may take over), backs off (exponential, capped, jittered) and tries again with a
 *   fresh producer. It takes the outbox only once connected to Kafka. It never throws out of its loop.
 * - Cheap: woken by enqueueEvent's commits in this process (no NOTIFY: it costs Postgres CPU on
 *   every commit, see wake.ts), lingering lingerMs so a burst becomes one request; a batch is two
 *   statements (SELECT, DELETE); when idle, one SELECT every pollIntervalMs.
 */
export function createOutboxRelay(opts: OutboxRelayOptions): OutboxRelay {
  const knex = isKnex(opts.db) ? opts.db : opts.db.knex;
  const batchSize = opts.batchSize ?? 200;
  const pollIntervalMs = opts.pollIntervalMs ?? 250;
  const lingerMs = opts.lingerMs ?? 20;
  const maxBackoffMs = opts.maxBackoffMs ?? 5000;
  const statsIntervalMs = opts.statsIntervalMs ?? 5000;
  const standbyRetryMs = opts.standbyRetryMs ?? 1000;
  const log = opts.logger;
  const metrics = relayMetrics();
  const tracer = trace.getTracer('@lantern/shop-common/outbox');
  const selectSql = `SELECT seq, event_id, topic, key, type, payload, source, headers FROM ${OUTBOX_TABLE} ORDER BY seq LIMIT $1`;
  const deleteSql = `DELETE FROM ${OUTBOX_TABLE} WHERE seq = ANY($1::bigint[])`;

  let schema: string | undefined;
  let producer: Producer | undefined;
  let producerReady: Promise<Producer> | undefined;
  let running = false;
  let loopDone: Promise<void> | undefined;
  let statsTimer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  let stopping = new AbortController();

  // the session that holds (or tries for) the outbox lock; dropped on any error, so the lock goes with it
  let session: PgSession | undefined;
  let leader = false;

  // wake-up plumbing: a commit in this process (wake.ts) ends the current wait; one that arrives while
  // a batch is in flight is remembered so the loop checks again instead of sleeping
  let wakePending = false;
  let wake: (() => void) | undefined;
  const signalWake = () => {
    wakePending = true;
    wake?.();
  };

  // one batch at a time within this process (the lock covers other processes)
  let exclusive: Promise<unknown> = Promise.resolve();
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = exclusive.then(fn, fn);
    exclusive = next.catch(() => undefined);
    return next;
  }

  async function currentSchema(): Promise<string> {
    if (schema) return schema;
    if (!isKnex(opts.db)) return (schema = opts.db.schema);
    const r = (await untraced(() => knex.raw('SELECT current_schema() AS s'))) as { rows: { s: string }[] };
    return (schema = r.rows[0]?.s ?? 'public');
  }

  async function dropSession(): Promise<void> {
    const s = session;
    session = undefined;
    leader = false;
    // closing the session releases the advisory lock with it
    if (s) await knex.client.destroyRawConnection(s).catch(() => undefined);
  }

  /** True when this relay holds the outbox lock (taking it if free). */
  async function takeLead(): Promise<boolean> {
    if (session && leader) return true;
    if (!session) {
      const s = (await knex.client.acquireRawConnection()) as PgSession;
      s.on('error', (err) => {
        if (session !== s) return;
        log?.warn({ err: errText(err) }, 'outbox relay: its Postgres session failed; reconnecting');
        void dropSession();
      });
      s.on('end', () => {
        if (session === s) void dropSession();
      });
      session = s;
    }
    const r = await session.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LOCK_CLASS, await currentSchema()]);
    leader = r.rows[0]?.ok === true;
    if (leader) log?.info({ schema }, 'outbox relay: sending (holds the outbox lock)');
    return leader;
  }

  function getProducer(): Promise<Producer> {
    if (!producerReady) {
      const p = opts.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        // fail a batch within seconds when the broker is away; the relay's own backoff takes over
        retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
      });
      producer = p;
      producerReady = p.connect().then(
        () => p,
        (err: unknown) => {
          producerReady = undefined;
          producer = undefined;
          void p.disconnect().catch(() => undefined);
          throw err;
        },
      );
    }
    return producerReady;
  }

  /** After a failed send the producer may hold a dead connection or a fenced producer id: start over. */
  async function dropProducer(): Promise<void> {
    const p = producer;
    producer = undefined;
    producerReady = undefined;
    if (p) await p.disconnect().catch(() => undefined);
  }

  async function publish(rows: OutboxRow[], source: string): Promise<void> {
    const p = await getProducer();
    const traced = rows.map((row) => tracedMessage(row, source, tracer));
    const byTopic = new Map<string, Message[]>();
    traced.forEach(({ message }, i) => {
      const topic = (rows[i] as OutboxRow).topic;
      const list = byTopic.get(topic);
      if (list) list.push(message);
      else byTopic.set(topic, [message]);
    });
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    try {
      await untraced(() => p.sendBatch({ acks: -1, topicMessages }));
    } catch (err) {
      for (const { span } of traced) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: errText(err) });
        span.end();
      }
      for (const [topic, messages] of byTopic) metrics.published.inc({ topic, outcome: 'error' }, messages.length);
      throw err;
    }
    for (const { span } of traced) span.end();
    for (const [topic, messages] of byTopic) metrics.published.inc({ topic, outcome: 'success' }, messages.length);
  }

  /** One batch: read up to batchSize rows in seq order, send them in one request, delete them. */
  async function batch(): Promise<BatchResult> {
    // connected to Kafka before taking the outbox: a relay that cannot reach the broker must not
    // hold the lock that another instance (which perhaps can) would need
    await getProducer();
    let s: PgSession;
    let rows: OutboxRow[];
    try {
      if (!(await untraced(takeLead))) return { sent: 0, more: false, busy: true };
      s = session as PgSession;
      rows = (await untraced(() => s.query<OutboxRow>(selectSql, [batchSize]))).rows;
    } catch (err) {
      await dropSession();
      throw err;
    }
    if (rows.length === 0) return { sent: 0, more: false, busy: false };
    const fitted = fitBatch(rows);
    const more = rows.length === batchSize || fitted.length < rows.length;
    rows = fitted;
    try {
      await publish(rows, opts.source);
    } catch (err) {
      // give up the outbox while backing off (a standby may reach Kafka), and start over with a new producer
      await Promise.all([dropProducer(), dropSession()]);
      throw err;
    }
    try {
      await untraced(() => s.query(deleteSql, [rows.map((r) => r.seq)]));
    } catch (err) {
      // sent but not deleted: they go again (at least once); a fresh session re-checks the lock first
      await dropSession();
      throw err;
    }
    return { sent: rows.length, more, busy: false };
  }

  async function refreshStats(): Promise<void> {
    try {
      const r = (await untraced(() =>
        knex.raw('SELECT count(*)::int AS n, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS age FROM ??', [OUTBOX_TABLE]),
      )) as { rows: { n: number; age: number }[] };
      metrics.pending.set(r.rows[0]?.n ?? 0);
      metrics.oldestAge.set(r.rows[0]?.age ?? 0);
    } catch (err) {
      log?.debug({ err: errText(err) }, 'outbox stats query failed');
    }
  }

  /**
   * Sleeps up to `ms`; stop() always ends the sleep, a commit wake-up only when `wakeable` (not
   * during a backoff: commits keep coming while Kafka is down). Returns 'wake' when woken by a commit
   * (now or while the last batch ran).
   */
  async function pause(ms: number, wakeable: boolean): Promise<'wake' | 'timeout'> {
    if (wakeable && wakePending) {
      wakePending = false;
      return 'wake';
    }
    const ac = new AbortController();
    if (wakeable) wake = () => ac.abort();
    await sleep(ms, undefined, { signal: AbortSignal.any([ac.signal, stopping.signal]) }).catch(() => undefined);
    wake = undefined;
    if (wakeable && wakePending) {
      wakePending = false;
      return 'wake';
    }
    return 'timeout';
  }

  async function loop(): Promise<void> {
    let failures = 0;
    while (running) {
      let result: BatchResult;
      try {
        result = await serial(batch);
        if (failures > 0) log?.info({ failures }, 'outbox relay recovered');
        failures = 0;
      } catch (err) {
        failures++;
        // jitter in the upper half of an exponential cap: spread out, but never a tight loop
        const cap = Math.min(maxBackoffMs, 100 * 2 ** Math.min(failures - 1, 16));
        const delay = cap / 2 + Math.random() * (cap / 2);
        log?.warn({ err: errText(err), failures, retryInMs: Math.round(delay) }, 'outbox relay: send failed; rows kept, retrying');
        await pause(delay, false);
        continue;
      }
      if (result.more) continue;
      if (result.sent > 0) void refreshStats();
      if (result.busy) {
        await pause(standbyRetryMs, false);
        continue;
      }
      const why = await pause(pollIntervalMs, true);
      // a commit woke us: give its neighbours a moment to commit too, then send them together
      if (why === 'wake' && lingerMs > 0 && running) await sleep(lingerMs);
    }
  }

  return {
    async start() {
      if (running) return;
      running = true;
      stopping = new AbortController();
      await currentSchema();
      unsubscribe = onOutboxCommit(signalWake);
      statsTimer = setInterval(() => void refreshStats(), statsIntervalMs);
      statsTimer.unref();
      void refreshStats();
      loopDone = loop();
    },
    async stop() {
      running = false;
      stopping.abort();
      if (statsTimer) clearInterval(statsTimer);
      unsubscribe?.();
      unsubscribe = undefined;
      await loopDone;
      await exclusive;
      await dropSession();
      await dropProducer();
    },
    async drain() {
      let total = 0;
      const deadline = Date.now() + 30_000;
      for (;;) {
        const r = await serial(batch);
        total += r.sent;
        if (r.busy) {
          if (Date.now() > deadline) return total;
          await sleep(50);
          continue;
        }
        if (!r.more) break;
      }
      void refreshStats();
      return total;
    },
  };
}
