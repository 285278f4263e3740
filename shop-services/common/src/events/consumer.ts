import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka, Consumer, Producer, KafkaMessage, IHeaders, Admin } from 'kafkajs';
import type { z } from 'zod';
import { decodeEnvelope, InvalidEventError, type EventEnvelope } from './envelope.js';
import { errorClassName, eventErrorKind } from './errors.js';
import { consumerLagGauge, fetchDlqDepth, fetchGroupLag, type PartitionLag } from './lag.js';
import { dlqTopic } from './topics.js';
import type { Logger } from '../telemetry.js';

export interface EventMeta {
  topic: string;
  partition: number;
  offset: string;
  headers: IHeaders;
  attempt: number;
}

export type EventHandler = (event: EventEnvelope, meta: EventMeta) => Promise<void>;

/** A handler whose `data` is validated first; invalid data is dead-lettered without retries. */
export function typedHandler<S extends z.ZodType>(schema: S, handle: (event: EventEnvelope<z.output<S>>, meta: EventMeta) => Promise<void>): EventHandler {
  return async (event, meta) => {
    const r = schema.safeParse(event.data);
    if (!r.success) throw new InvalidEventError(`invalid ${event.type} data: ${r.error.issues.map((i) => `data.${i.path.join('.')}: ${i.message}`).join('; ')}`);
    await handle({ ...event, data: r.data }, meta);
  };
}

export interface EventConsumerOptions {
  groupId: string;
  topics: string[];
  /** Handlers by event type. */
  handlers: Record<string, EventHandler>;
  /** Event types nobody here handles: skipped (default; topics carry several types) or dead-lettered. */
  onUnknownType?: 'ignore' | 'dlq';
  /** Handler attempts for retryable errors before dead-lettering (default 3). */
  maxAttempts?: number;
  /** First retry's delay cap (default 100 ms); doubles per retry, full jitter. */
  retryBaseDelayMs?: number;
  /** Ceiling of any retry delay (default 2000 ms). */
  retryMaxDelayMs?: number;
  fromBeginning?: boolean;
  logger?: Logger;
  /** Producer for DLQ writes; one is created (and closed) if not given. */
  dlqProducer?: Producer;
  /**
   * Refresh period of `kafka_consumer_lag{group,topic,partition}` and `kafka_dlq_depth{topic}` (for
   * each topic's `.dlq`), default 15000 ms; false turns the refresh off.
   */
  lagIntervalMs?: number | false;
}

export interface EventConsumer {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Measures the group's lag now (and updates the gauge). Needs a started consumer. */
  refreshLag(): Promise<PartitionLag[]>;
  readonly consumer: Consumer;
}

/** One failed handler attempt, as listed in the `dlq-attempt-history` header. */
export interface AttemptRecord {
  attempt: number;
  at: string;
  error: string;
  errorClass: string;
}

/** DLQ headers written by the consumer; any older `dlq-*` headers of a replayed message are replaced. */
export const DLQ_HEADERS = {
  reason: 'dlq-reason',
  error: 'dlq-error',
  errorClass: 'dlq-error-class',
  attempts: 'dlq-attempts',
  attemptHistory: 'dlq-attempt-history',
  originalTopic: 'dlq-original-topic',
  originalPartition: 'dlq-original-partition',
  originalOffset: 'dlq-original-offset',
  consumerGroup: 'dlq-consumer-group',
  at: 'dlq-at',
  replayedFrom: 'dlq-replayed-from',
} as const;

/** Why a message was dead-lettered (`dlq-reason`). */
export type DlqReason = 'invalid_envelope' | 'invalid_event' | 'unknown_type' | 'non_retryable' | 'handler_failed';

const MAX_ERROR_TEXT = 1000;

function errorText(err: unknown): string {
  return (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, MAX_ERROR_TEXT);
}

function record(attempt: number, err: unknown): AttemptRecord {
  return { attempt, at: new Date().toISOString(), error: errorText(err), errorClass: errorClassName(err) };
}

/** Original headers minus earlier dead-letter bookkeeping (kept: where a replay came from). */
function carriedHeaders(headers: IHeaders | undefined): IHeaders {
  const out: IHeaders = {};
  for (const [k, v] of Object.entries(headers ?? {})) if (!k.startsWith('dlq-') || k === DLQ_HEADERS.replayedFrom) out[k] = v;
  return out;
}

/**
 * Consumes envelopes with eachMessage, so the kafkajs instrumentation's consumer span is the
 * active context for the handler (its DB calls and logs join the producer's trace).
 *
 * Failures by class (see errors.ts): RetryableEventError and unknown errors are retried with
 * exponential backoff and full jitter up to maxAttempts, NonRetryableEventError and poison
 * (InvalidEventError: bad envelope or data) go to `<topic>.dlq` at once. The DLQ message keeps key,
 * value and headers, and adds the reason, the error and its class, and the JSON attempt history.
 * If even the DLQ write fails, eachMessage throws, the offset is not committed and Kafka
 * redelivers: a message is never dropped. Handlers must be idempotent (claimEvent).
 */
export function createEventConsumer(kafka: Kafka, opts: EventConsumerOptions): EventConsumer {
  const consumer = kafka.consumer({ groupId: opts.groupId, allowAutoTopicCreation: false });
  const ownProducer = !opts.dlqProducer;
  const dlq = opts.dlqProducer ?? kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  const maxAttempts = opts.maxAttempts ?? 3;
  const retryBaseDelayMs = opts.retryBaseDelayMs ?? 100;
  const retryMaxDelayMs = opts.retryMaxDelayMs ?? 2_000;
  const log = opts.logger;
  const lagIntervalMs = opts.lagIntervalMs === undefined ? 15_000 : opts.lagIntervalMs;
  const lagGauge = consumerLagGauge();
  let stopping = new AbortController();
  let admin: Admin | undefined;
  let lagTimer: NodeJS.Timeout | undefined;
  const reported = new Set<string>();

  async function deadLetter(topic: string, partition: number, message: KafkaMessage, reason: DlqReason, err: unknown, history: AttemptRecord[]): Promise<void> {
    await dlq.send({
      topic: dlqTopic(topic),
      acks: -1,
      messages: [
        {
          key: message.key,
          value: message.value,
          headers: {
            ...carriedHeaders(message.headers),
            [DLQ_HEADERS.reason]: reason,
            [DLQ_HEADERS.error]: errorText(err),
            [DLQ_HEADERS.errorClass]: errorClassName(err),
            [DLQ_HEADERS.attempts]: String(history.length),
            [DLQ_HEADERS.attemptHistory]: JSON.stringify(history),
            [DLQ_HEADERS.originalTopic]: topic,
            [DLQ_HEADERS.originalPartition]: String(partition),
            [DLQ_HEADERS.originalOffset]: message.offset,
            [DLQ_HEADERS.consumerGroup]: opts.groupId,
            [DLQ_HEADERS.at]: new Date().toISOString(),
          },
        },
      ],
    });
    log?.warn({ topic, partition, offset: message.offset, reason, errorClass: errorClassName(err), attempts: history.length, err: errorText(err) }, 'event dead-lettered');
  }

  let adminConnected = false;
  let refreshing: Promise<PartitionLag[]> | undefined;

  async function measureLag(): Promise<PartitionLag[]> {
    if (!admin) throw new Error('refreshLag: the consumer is not started');
    if (!adminConnected) {
      await admin.connect();
      adminConnected = true;
    }
    const lags = await fetchGroupLag(admin, opts.groupId, opts.topics, opts.fromBeginning ?? false);
    for (const l of lags) {
      const labels = { group: opts.groupId, topic: l.topic, partition: String(l.partition) };
      lagGauge.set(labels, l.lag);
      reported.add(JSON.stringify(labels));
    }
    for (const topic of opts.topics) await fetchDlqDepth(admin, topic).catch(() => undefined); // a topic without DLQ
    return lags;
  }

  /** One measurement at a time: a slow broker must not pile up admin requests. */
  function refreshLag(): Promise<PartitionLag[]> {
    refreshing ??= measureLag().finally(() => (refreshing = undefined));
    return refreshing;
  }

  function startLag(): void {
    if (lagIntervalMs === false) return;
    admin = kafka.admin();
    // connected lazily by the first refresh: the lag gauge must not make start() depend on the admin API
    const tick = () =>
      void refreshLag().catch((err: unknown) => log?.debug({ err: errorText(err), group: opts.groupId }, 'consumer lag refresh failed'));
    lagTimer = setInterval(tick, Math.min(lagIntervalMs, 30_000));
    lagTimer.unref();
    tick();
  }

  async function handle(topic: string, partition: number, message: KafkaMessage, heartbeat: () => Promise<void>): Promise<void> {
    let event: EventEnvelope;
    try {
      event = decodeEnvelope(message.value);
    } catch (err) {
      await deadLetter(topic, partition, message, 'invalid_envelope', err, [record(1, err)]);
      return;
    }
    const handler = opts.handlers[event.type];
    if (!handler) {
      if ((opts.onUnknownType ?? 'ignore') === 'dlq') {
        const err = new InvalidEventError(`no handler for ${event.type}`);
        await deadLetter(topic, partition, message, 'unknown_type', err, [record(1, err)]);
      } else log?.debug({ topic, type: event.type, id: event.id }, 'event type not handled here; skipped');
      return;
    }
    const history: AttemptRecord[] = [];
    const signal = stopping.signal;
    for (let attempt = 1; ; attempt++) {
      try {
        await handler(event, { topic, partition, offset: message.offset, headers: message.headers ?? {}, attempt });
        return;
      } catch (err) {
        history.push(record(attempt, err));
        const kind = eventErrorKind(err);
        if (kind === 'retryable' && attempt < maxAttempts && !signal.aborted) {
          // exponential backoff with full jitter; a stop during the wait leaves the offset uncommitted
          const cap = Math.min(retryMaxDelayMs, retryBaseDelayMs * 2 ** (attempt - 1));
          await sleep(Math.floor(Math.random() * cap), undefined, { signal });
          await heartbeat(); // a long retry must not cost the group membership
          continue;
        }
        // stopping mid-retry: leave the offset uncommitted, the next owner of the partition redelivers
        if (signal.aborted) throw err;
        const reason: DlqReason = kind === 'poison' ? 'invalid_event' : kind === 'non_retryable' ? 'non_retryable' : 'handler_failed';
        log?.error({ topic, type: event.type, id: event.id, attempts: history.length, reason, err: errorText(err) }, 'event handler failed');
        await deadLetter(topic, partition, message, reason, err, history);
        return;
      }
    }
  }

  return {
    consumer,
    refreshLag,
    async start() {
      stopping = new AbortController();
      await dlq.connect();
      await consumer.connect();
      await consumer.subscribe({ topics: opts.topics, fromBeginning: opts.fromBeginning ?? false });
      await consumer.run({
        eachMessage: ({ topic, partition, message, heartbeat }) => handle(topic, partition, message, heartbeat),
      });
      startLag();
    },
    async stop() {
      stopping.abort(new Error('event consumer stopping'));
      if (lagTimer) clearInterval(lagTimer);
      lagTimer = undefined;
      await consumer.disconnect();
      if (ownProducer) await dlq.disconnect();
      await refreshing?.catch(() => undefined);
      if (admin) await admin.disconnect().catch(() => undefined);
      admin = undefined;
      adminConnected = false;
      // a stopped consumer reports nothing rather than a frozen lag
      for (const l of reported) lagGauge.remove(JSON.parse(l) as Record<string, string>);
      reported.clear();
    },
  };
}
