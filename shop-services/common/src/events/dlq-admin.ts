import { randomUUID } from 'node:crypto';
import type { IHeaders, Kafka, KafkaMessage, Message } from 'kafkajs';
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../http/routes.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { decodeEnvelope, eventEnvelopeSchema } from './envelope.js';
import { DLQ_HEADERS } from './consumer.js';
import { DLQ_REPLAY_GROUP, fetchDlqDepth } from './lag.js';
import { dlqTopic } from './topics.js';

export interface DlqAdminOptions {
  kafka: Kafka;
  /** Route prefix inside the service's own path space, e.g. `/orders/admin/dlq`. */
  prefix: string;
  /** The original topics whose `<topic>.dlq` may be inspected and replayed (e.g. ['payments', 'flash-sales']). */
  topics: string[];
  /** Most messages one replay-all call republishes (default 500); call again for the rest. */
  maxReplay?: number;
  /** How long a read of the DLQ may take before it answers with what it has (default 15000 ms). */
  readTimeoutMs?: number;
}

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;
const OFFSET = /^\d{1,19}$/;
const MAX_VALUE_TEXT = 16_384;

const topicParams = z.strictObject({ topic: z.string().regex(TOPIC_NAME, 'must be a Kafka topic name ([A-Za-z0-9._-], 1-249 characters)') });
const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  fromOffset: z.string().regex(OFFSET, 'must be a non-negative integer offset').optional(),
  partition: z.coerce.number().int().min(0).max(100_000).optional(),
});
const replayBody = z.strictObject({
  /** `partition:offset` ids as listed (`id`), or bare offsets when the DLQ topic has one partition. */
  offsets: z
    .array(z.string().regex(/^(\d{1,6}:)?\d{1,19}$/, 'must be "partition:offset" or an offset'))
    .min(1)
    .max(1000)
    .optional(),
});

const attemptSchema = z.object({ attempt: z.number(), at: z.string(), error: z.string(), errorClass: z.string().optional() });
const partitionDepth = z.object({ partition: z.number(), low: z.string(), high: z.string(), replayedUpTo: z.string(), depth: z.number() });
const depthSchema = z.object({
  topic: z.string(),
  dlqTopic: z.string(),
  depth: z.number(),
  total: z.number(),
  partitions: z.array(partitionDepth),
  /** Set when the depth could not be read (e.g. the DLQ topic does not exist yet). */
  error: z.string().optional(),
});
const dlqMessageSchema = z.object({
  id: z.string(),
  partition: z.number(),
  offset: z.string(),
  timestamp: z.string(),
  key: z.string().nullable(),
  replayed: z.boolean(),
  dlq: z.object({
    reason: z.string().nullable(),
    error: z.string().nullable(),
    errorClass: z.string().nullable(),
    attempts: z.number().nullable(),
    attemptHistory: z.array(attemptSchema).nullable(),
    originalTopic: z.string().nullable(),
    originalPartition: z.string().nullable(),
    originalOffset: z.string().nullable(),
    consumerGroup: z.string().nullable(),
    at: z.string().nullable(),
    replayedFrom: z.string().nullable(),
  }),
  headers: z.record(z.string(), z.string()),
  envelope: eventEnvelopeSchema.nullable(),
  decodeError: z.string().optional(),
  value: z.string().optional(),
});
export type DlqMessage = z.infer<typeof dlqMessageSchema>;

interface Located {
  partition: number;
  message: KafkaMessage;
}

function headerText(v: IHeaders[string]): string | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v.map((x) => x.toString()).join(',');
  return v.toString();
}

function parseHistory(raw: string | undefined): z.infer<typeof attemptSchema>[] | null {
  if (!raw) return null;
  try {
    const r = z.array(attemptSchema).safeParse(JSON.parse(raw));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

function describe({ partition, message }: Located, replayedUpTo: bigint): DlqMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(message.headers ?? {})) {
    const text = headerText(v);
    if (text !== undefined) headers[k] = text;
  }
  const h = (k: string) => headers[k] ?? null;
  let envelope: DlqMessage['envelope'] = null;
  let decodeError: string | undefined;
  try {
    envelope = decodeEnvelope(message.value);
  } catch (err) {
    decodeError = err instanceof Error ? err.message : String(err);
  }
  const attempts = Number(h(DLQ_HEADERS.attempts));
  return {
    id: `${partition}:${message.offset}`,
    partition,
    offset: message.offset,
    timestamp: new Date(Number(message.timestamp)).toISOString(),
    key: message.key ? message.key.toString() : null,
    replayed: BigInt(message.offset) < replayedUpTo,
    dlq: {
      reason: h(DLQ_HEADERS.reason),
      error: h(DLQ_HEADERS.error),
      errorClass: h(DLQ_HEADERS.errorClass),
      attempts: Number.isFinite(attempts) && h(DLQ_HEADERS.attempts) !== null ? attempts : null,
      attemptHistory: parseHistory(headers[DLQ_HEADERS.attemptHistory]),
      originalTopic: h(DLQ_HEADERS.originalTopic),
      originalPartition: h(DLQ_HEADERS.originalPartition),
      originalOffset: h(DLQ_HEADERS.originalOffset),
      consumerGroup: h(DLQ_HEADERS.consumerGroup),
      at: h(DLQ_HEADERS.at),
      replayedFrom: h(DLQ_HEADERS.replayedFrom),
    },
    headers,
    envelope,
    ...(decodeError === undefined ? {} : { decodeError, value: message.value ? message.value.toString('utf8').slice(0, MAX_VALUE_TEXT) : '' }),
  };
}

/**
 * Reads the messages with offsets in [from, to) of each listed partition, with a throwaway consumer
 * group (kafkajs has no group-less fetch): subscribe, seek, collect, leave, delete the group.
 */
async function readRanges(kafka: Kafka, topic: string, ranges: Map<number, { from: bigint; to: bigint }>, timeoutMs: number): Promise<Located[]> {
  const open = new Map([...ranges].filter(([, r]) => r.to > r.from));
  if (open.size === 0) return [];
  const groupId = `lantern-dlq-reader-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  const got: Located[] = [];
  const remaining = new Set(open.keys());
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, timeoutMs);
      const finish = (p: number) => {
        remaining.delete(p);
        consumer.pause([{ topic, partitions: [p] }]);
        if (remaining.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      };
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const r = open.get(partition);
            if (!r || !remaining.has(partition)) return;
            const o = BigInt(message.offset);
            if (o >= r.from && o < r.to) got.push({ partition, message });
            if (o >= r.to - 1n) finish(partition);
          },
        })
        .then(() => {
          for (const [partition, r] of open) consumer.seek({ topic, partition, offset: r.from.toString() });
          const others = [...Array(Math.max(...open.keys()) + 1).keys()].filter((p) => !open.has(p));
          if (others.length) consumer.pause([{ topic, partitions: others }]);
        }, reject);
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
    const admin = kafka.admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([groupId]))
      .catch(() => undefined)
      .finally(() => void admin.disconnect().catch(() => undefined));
  }
  return got.sort((a, b) => a.partition - b.partition || (BigInt(a.message.offset) < BigInt(b.message.offset) ? -1 : 1));
}

/** Headers for the republished message: the original ones, no dead-letter bookkeeping, plus where it came from. */
function replayHeaders(headers: IHeaders | undefined, from: string): IHeaders {
  const out: IHeaders = {};
  for (const [k, v] of Object.entries(headers ?? {})) if (!k.startsWith('dlq-') && v !== undefined) out[k] = v;
  out[DLQ_HEADERS.replayedFrom] = from;
  return out;
}

/**
 * Admin-only routes (shop-common defineRoute, auth 'admin') over the dead-letter topics of `topics`:
 * - GET `${prefix}`: per DLQ topic, the depth (messages not yet replayed), total retained, per partition.
 * - GET `${prefix}/:topic?limit=&fromOffset=&partition=`: messages with their dlq headers (attempt
 *   history parsed) and the decoded envelope (or the decode error and raw text).
 * - POST `${prefix}/:topic/replay` `{ offsets?: ["partition:offset", ...] }`: republishes to the
 *   original topic with header `dlq-replayed-from: <dlq>:<partition>:<offset>`. Without offsets it
 *   replays everything after the replay cursor (up to maxReplay) and moves the cursor, so the depth
 *   falls. Consumers' claimEvent makes replaying an already-applied event a no-op.
 * `:topic` is the original topic or its `.dlq` name; anything not configured → 404.
 */
export function dlqAdminRoutes(opts: DlqAdminOptions): AnyRoute[] {
  const { kafka } = opts;
  const prefix = opts.prefix.replace(/\/+$/, '');
  const configured = new Set(opts.topics.map((t) => t.replace(/\.dlq$/, '')));
  const maxReplay = opts.maxReplay ?? 500;
  const readTimeoutMs = opts.readTimeoutMs ?? 15_000;

  function resolveTopic(param: string): { topic: string; dlq: string } {
    const topic = param.replace(/\.dlq$/, '');
    if (!configured.has(topic)) throw new NotFoundError(`no dead-letter topic for "${param}" here; known: ${[...configured].join(', ')}`, 'unknown_dlq_topic');
    return { topic, dlq: dlqTopic(topic) };
  }

  async function withAdmin<T>(fn: (admin: ReturnType<Kafka['admin']>) => Promise<T>): Promise<T> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return await fn(admin);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  const list = defineRoute({
    method: 'GET',
    path: prefix,
    summary: 'Dead-letter topics and their depth (messages not yet replayed)',
    tags: ['dlq'],
    auth: 'admin',
    response: z.object({ topics: z.array(depthSchema) }),
    handler: () =>
      withAdmin(async (admin) => ({
        topics: await Promise.all(
          [...configured].map(async (topic) => {
            try {
              const d = await fetchDlqDepth(admin, topic);
              return { ...d, topic, dlqTopic: d.topic };
            } catch (err) {
              // one missing DLQ topic must not hide the others
              return { topic, dlqTopic: dlqTopic(topic), depth: 0, total: 0, partitions: [], error: err instanceof Error ? err.message : String(err) };
            }
          }),
        ),
      })),
  });

  const messages = defineRoute({
    method: 'GET',
    path: `${prefix}/:topic`,
    summary: 'Messages of a dead-letter topic with their error, attempt history and envelope',
    tags: ['dlq'],
    auth: 'admin',
    params: topicParams,
    query: listQuery,
    response: z.object({ topic: z.string(), dlqTopic: z.string(), messages: z.array(dlqMessageSchema) }),
    handler: async ({ params, query }) => {
      const { topic, dlq } = resolveTopic(params.topic);
      const depth = await withAdmin((admin) => fetchDlqDepth(admin, topic));
      const ranges = new Map<number, { from: bigint; to: bigint }>();
      const cursors = new Map<number, bigint>();
      for (const p of depth.partitions) {
        cursors.set(p.partition, BigInt(p.replayedUpTo));
        if (query.partition !== undefined && p.partition !== query.partition) continue;
        const low = BigInt(p.low);
        const asked = query.fromOffset === undefined ? low : BigInt(query.fromOffset);
        const from = asked > low ? asked : low;
        const high = BigInt(p.high);
        const to = from + BigInt(query.limit) < high ? from + BigInt(query.limit) : high;
        ranges.set(p.partition, { from, to });
      }
      const found = await readRanges(kafka, dlq, ranges, readTimeoutMs);
      return { topic, dlqTopic: dlq, messages: found.slice(0, query.limit).map((m) => describe(m, cursors.get(m.partition) ?? 0n)) };
    },
  });

  const replay = defineRoute({
    method: 'POST',
    path: `${prefix}/:topic/replay`,
    summary: 'Republish dead-lettered messages to their original topic (all not yet replayed, or the listed ids)',
    tags: ['dlq'],
    auth: 'admin',
    params: topicParams,
    body: replayBody,
    response: z.object({
      topic: z.string(),
      dlqTopic: z.string(),
      replayed: z.number(),
      messages: z.array(z.object({ id: z.string(), partition: z.number(), offset: z.string(), eventId: z.string().nullable(), type: z.string().nullable() })),
      notFound: z.array(z.string()),
    }),
    handler: async ({ params, body }) => {
      const { topic, dlq } = resolveTopic(params.topic);
      const depth = await withAdmin((admin) => fetchDlqDepth(admin, topic));
      const byPartition = new Map(depth.partitions.map((p) => [p.partition, p]));
      const ranges = new Map<number, { from: bigint; to: bigint }>();
      let wanted: Set<string> | undefined;
      if (body.offsets) {
        wanted = new Set();
        for (const [i, raw] of body.offsets.entries()) {
          let id = raw;
          if (!raw.includes(':')) {
            if (depth.partitions.length !== 1) {
              throw new ValidationError(`invalid body: body.offsets.${i}: ${dlq} has ${depth.partitions.length} partitions; give "partition:offset"`, [
                { path: `body.offsets.${i}`, message: `${dlq} has ${depth.partitions.length} partitions; give "partition:offset"` },
              ]);
            }
            id = `${depth.partitions[0]?.partition ?? 0}:${raw}`;
          }
          const [ps, os] = id.split(':') as [string, string];
          const partition = Number(ps);
          const offset = BigInt(os);
          wanted.add(`${partition}:${offset}`);
          const p = byPartition.get(partition);
          if (!p || offset < BigInt(p.low) || offset >= BigInt(p.high)) continue;
          const r = ranges.get(partition);
          ranges.set(partition, { from: r && r.from < offset ? r.from : offset, to: r && r.to > offset + 1n ? r.to : offset + 1n });
        }
      } else {
        let budget = BigInt(maxReplay);
        for (const p of depth.partitions) {
          if (budget <= 0n) break;
          const from = BigInt(p.replayedUpTo);
          const high = BigInt(p.high);
          const to = high - from > budget ? from + budget : high;
          if (to > from) ranges.set(p.partition, { from, to });
          budget -= to - from;
        }
      }
      let found = await readRanges(kafka, dlq, ranges, readTimeoutMs);
      if (wanted) {
        const w = wanted;
        found = found.filter((m) => w.has(`${m.partition}:${m.message.offset}`));
      }
      if (found.length > 0) {
        const out: Message[] = found.map(({ partition, message }) => ({
          key: message.key,
          value: message.value,
          headers: replayHeaders(message.headers, `${dlq}:${partition}:${message.offset}`),
        }));
        const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
        await producer.connect();
        try {
          await producer.send({ topic, acks: -1, messages: out });
        } finally {
          await producer.disconnect().catch(() => undefined);
        }
      }
      if (!wanted && found.length > 0) {
        // move the replay cursor past what went out, so the depth falls and the next call continues
        const next = new Map<number, bigint>();
        for (const { partition, message } of found) {
          const o = BigInt(message.offset) + 1n;
          if ((next.get(partition) ?? 0n) < o) next.set(partition, o);
        }
        await withAdmin(async (admin) => {
          await admin.setOffsets({ groupId: DLQ_REPLAY_GROUP, topic: dlq, partitions: [...next].map(([partition, offset]) => ({ partition, offset: offset.toString() })) });
          await fetchDlqDepth(admin, topic);
        });
      }
      const seen = new Set(found.map((m) => `${m.partition}:${m.message.offset}`));
      return {
        topic,
        dlqTopic: dlq,
        replayed: found.length,
        messages: found.map(({ partition, message }) => {
          let eventId: string | null = null;
          let type: string | null = null;
          try {
            const e = decodeEnvelope(message.value);
            eventId = e.id;
            type = e.type;
          } catch {
            // poison: replayed as it was, the consumer will dead-letter it again
          }
          return { id: `${partition}:${message.offset}`, partition, offset: message.offset, eventId, type };
        }),
        notFound: wanted ? [...wanted].filter((id) => !seen.has(id)) : [],
      };
    },
  });

  return [list, messages, replay];
}
