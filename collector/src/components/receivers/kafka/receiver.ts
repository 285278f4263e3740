// One kafkajs consumer (one member of `group_id`) reading the topics of every signal the receiver feeds.
// Offsets are resolved by hand: a message's offset is committed only after the pipeline accepted its
// data, so a crash or a rebalance re-delivers (at least once) and never skips. A refusal pauses just
// that partition and re-reads it from the refused message; a message that can never be decoded is
// counted and skipped, because retrying it would block its partition forever.
import type { Consumer as KafkaConsumer, EachBatchPayload, Kafka } from 'kafkajs';
import { kafkaClient } from '../../../kafka/client.js';
import { CollectorError, PermanentError, RefusedError } from '../../../pipeline/errors.js';
import type { Consumer, Host, Receiver, Signal, SignalData } from '../../../pipeline/types.js';
import { topicOf, type KafkaReceiverConfig } from './config.js';
import { decodeMessage, type SkipReason } from './messages.js';

/** Consecutive messages of one signal are handed on together, up to this many items, to spare the pipeline tiny batches. */
const MAX_ITEMS_PER_CONSUME = 8192;
/** Wait before pausing/retrying after an error that is neither a refusal nor permanent (a bug downstream). */
const UNEXPECTED_ERROR_RETRY_SECONDS = 1;
/** Wait between attempts to join the group when the brokers or the topics are not there yet. */
const RECONNECT_MS = 5000;

/** The consumer could not join the group (brokers unreachable, topics missing). Retried in the background. */
export class KafkaConsumerStartError extends CollectorError {
  constructor(message: string, options?: ErrorOptions) {
    super('KAFKA_CONSUMER_START', message, options);
  }
}

interface Pending {
  signal: Signal;
  data: unknown[];
  items: number;
  lastOffset: string;
}

function metrics(host: Host, id: string) {
  const std = host.telemetry.receiver(id, 'kafka');
  const skipped = host.telemetry.counter(
    'otelcol_kafka_receiver_messages_skipped_total',
    'Kafka messages skipped (offset committed past them) because they can never be accepted: undecodable, wrong signal, or rejected permanently',
    ['receiver', 'topic', 'reason'],
  );
  const paused = host.telemetry.counter('otelcol_kafka_receiver_partition_pauses_total', 'Times a partition was paused because the pipeline refused its data', ['receiver', 'topic']);
  const lag = host.telemetry.gauge('otelcol_kafka_receiver_offset_lag', 'Messages behind the partition high watermark, as of the last fetched batch', ['receiver', 'topic', 'partition']);
  return {
    ...std,
    skipped: (topic: string, reason: SkipReason | 'rejected') => skipped.inc({ receiver: id, topic, reason }),
    paused: (topic: string) => paused.inc({ receiver: id, topic }),
    lag: (topic: string, partition: number, n: number) => lag.set({ receiver: id, topic, partition: String(partition) }, n),
  };
}

export class KafkaReceiver implements Receiver {
  /** topic → the signals read from it (several when signals share one topic). */
  private readonly routes = new Map<string, Signal[]>();
  private readonly kafka: Kafka;
  private readonly metrics: ReturnType<typeof metrics>;
  private consumer: KafkaConsumer | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly resumeTimers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly id: string,
    private readonly config: KafkaReceiverConfig,
    private readonly host: Host,
    private readonly consumers: { [S in Signal]?: Consumer<S> },
  ) {
    for (const signal of Object.keys(consumers) as Signal[]) {
      const topic = topicOf(config, signal);
      this.routes.set(topic, [...(this.routes.get(topic) ?? []), signal]);
    }
    this.kafka = kafkaClient(config, host.logger.child({ receiver: id }));
    this.metrics = metrics(host, id);
  }

  /** Joins the group in the background: the collector starts (other pipelines work) while Kafka is unreachable. */
  async start(): Promise<void> {
    this.running = this.joinUntilRunning();
  }

  /** Stops fetching, lets the in-flight consume finish and its offsets be committed, then leaves the group. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const t of this.resumeTimers) clearTimeout(t);
    this.resumeTimers.clear();
    this.wake?.();
    await this.running;
    await this.consumer?.disconnect().catch((err: unknown) => this.host.logger.warn({ err, receiver: this.id }, 'kafka receiver: disconnect failed'));
  }

  private async joinUntilRunning(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.run();
        return;
      } catch (err) {
        const topics = [...this.routes.keys()];
        const error = new KafkaConsumerStartError(`cannot consume topics ${topics.join(', ')} from ${this.config.brokers.join(', ')} (do the topics exist?)`, { cause: err });
        this.host.logger.warn({ err, receiver: this.id, topics }, `${error.message}; retrying in ${RECONNECT_MS / 1000}s`);
        await this.consumer?.disconnect().catch(() => undefined);
        this.consumer = undefined;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, RECONNECT_MS);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    }
  }

  private async run(): Promise<void> {
    const c = this.kafka.consumer({
      groupId: this.config.group_id,
      sessionTimeout: this.config.session_timeout,
      heartbeatInterval: this.config.heartbeat_interval,
      maxBytes: this.config.max_fetch_size,
      maxWaitTimeInMs: this.config.max_fetch_wait,
      allowAutoTopicCreation: false,
    });
    this.consumer = c;
    // kafkajs restarts itself after retriable crashes; after a non-retriable one we rejoin ourselves
    c.on(c.events.CRASH, ({ payload }) => {
      if (payload.restart || this.stopped) return;
      this.host.logger.error({ err: payload.error, receiver: this.id }, 'kafka receiver: consumer crashed; rejoining');
      this.running = (this.running ?? Promise.resolve()).then(async () => {
        await c.disconnect().catch(() => undefined);
        if (this.consumer === c) this.consumer = undefined;
        await this.joinUntilRunning();
      });
    });
    await c.connect();
    await c.subscribe({ topics: [...this.routes.keys()], fromBeginning: this.config.initial_offset === 'earliest' });
    if (this.stopped) return;
    await c.run({
      eachBatchAutoResolve: false,
      autoCommit: true,
      // resolved offsets are committed at the end of every batch and at least this often within a long one
      autoCommitInterval: 1000,
      eachBatch: (p) => this.handleBatch(p),
    });
  }

  private async handleBatch(p: EachBatchPayload): Promise<void> {
    const { topic, partition, messages } = p.batch;
    this.metrics.lag(topic, partition, Number(p.batch.offsetLag()));
    const signals = this.routes.get(topic);
    if (!signals) return; // not ours (a stale subscription): leave it unresolved
    let pending: Pending | undefined;
    for (const m of messages) {
      // shutting down, or the partition was revoked/sought: what is not resolved is re-read later
      if (!p.isRunning() || p.isStale()) return;
      const d = decodeMessage(signals, m);
      if (pending && (!d.ok || d.signal !== pending.signal || pending.items + d.items > MAX_ITEMS_PER_CONSUME)) {
        if (!(await this.deliver(topic, pending, p))) return;
        pending = undefined;
      }
      if (!d.ok) {
        this.host.logger.warn({ receiver: this.id, topic, partition, offset: m.offset, reason: d.reason }, `kafka receiver: skipping a message that can never be accepted: ${d.message}`);
        this.metrics.refused(d.signal, 1);
        this.metrics.skipped(topic, d.reason);
        p.resolveOffset(m.offset);
        continue;
      }
      pending ??= { signal: d.signal, data: [], items: 0, lastOffset: m.offset };
      for (const item of d.data) pending.data.push(item);
      pending.items += d.items;
      pending.lastOffset = m.offset;
    }
    if (pending) await this.deliver(topic, pending, p);
  }

  /** Hands data to the pipeline. false: it was refused and the partition is paused; stop processing this batch. */
  private async deliver(topic: string, pending: Pending, p: EachBatchPayload): Promise<boolean> {
    const consumer = this.consumers[pending.signal] as Consumer<Signal>;
    try {
      await this.whileHeartbeating(p, consumer.consume(pending.data as SignalData[Signal]));
    } catch (err) {
      this.metrics.refused(pending.signal, pending.items);
      if (err instanceof PermanentError) {
        this.host.logger.error({ err, receiver: this.id, topic, offset: pending.lastOffset }, `kafka receiver: the pipeline rejected ${pending.items} items permanently; skipping them`);
        this.metrics.skipped(topic, 'rejected');
        p.resolveOffset(pending.lastOffset);
        return true;
      }
      const seconds = err instanceof RefusedError ? err.retryAfterSeconds : UNEXPECTED_ERROR_RETRY_SECONDS;
      const log = err instanceof RefusedError ? this.host.logger.debug.bind(this.host.logger) : this.host.logger.error.bind(this.host.logger);
      log({ err, receiver: this.id, topic, partition: p.batch.partition }, `kafka receiver: data refused; pausing the partition for ${seconds}s`);
      this.pauseFor(topic, p, seconds);
      return false;
    }
    this.metrics.accepted(pending.signal, pending.items);
    p.resolveOffset(pending.lastOffset);
    // within a long batch, commit at most every autoCommitInterval; the rest is committed when the batch ends
    await p.commitOffsetsIfNecessary();
    await p.heartbeat();
    return true;
  }

  /**
   * Keeps the group membership alive while the pipeline takes its time (a held reload, a blocking
   * queue): kafkajs only heartbeats when asked, and a silent member is evicted after session_timeout.
   */
  private async whileHeartbeating<T>(p: EachBatchPayload, work: Promise<T>): Promise<T> {
    const timer = setInterval(() => {
      p.heartbeat().catch((err: unknown) => this.host.logger.debug({ err, receiver: this.id }, 'kafka receiver: heartbeat during consume failed'));
    }, this.config.heartbeat_interval);
    try {
      return await work;
    } finally {
      clearInterval(timer);
    }
  }

  /** Paused, the partition is not fetched; resumed, it is fetched again from the first unresolved offset. */
  private pauseFor(topic: string, p: EachBatchPayload, seconds: number): void {
    const resume = p.pause();
    this.metrics.paused(topic);
    const t = setTimeout(() => {
      this.resumeTimers.delete(t);
      if (!this.stopped) resume();
    }, seconds * 1000);
    this.resumeTimers.add(t);
  }
}
