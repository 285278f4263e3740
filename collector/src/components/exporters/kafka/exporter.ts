// The kafka exporter: a queued exporter (exporterhelper: queue, retries, persistence) whose send()
// produces the request's messages with acks from every in-sync replica and an idempotent producer, so
// a retried send does not write the same batch twice within a producer session.
import { CompressionTypes, Partitioners, type Kafka, type Producer } from 'kafkajs';
import { createQueuedExporter, RetryableExportError, type ExportRequest } from '../../../exporterhelper/index.js';
import { CONTENT_TYPE_HEADER, kafkaClient, OTLP_PROTO_CONTENT_TYPE, SIGNAL_HEADER } from '../../../kafka/client.js';
import { CollectorError } from '../../../pipeline/errors.js';
import type { Exporter, Host, Signal } from '../../../pipeline/types.js';
import { topicOf, type KafkaExporterConfig } from './config.js';
import { BUILDERS } from './messages.js';

/** The broker rejected the messages for good (too large, invalid, not authorized): not retried. */
export class KafkaProduceRejectedError extends CollectorError {
  constructor(message: string, options?: ErrorOptions) {
    super('KAFKA_PRODUCE_REJECTED', message, options);
  }
}

/** kafkajs marks each broker error code retriable or not; connection errors and timeouts are all retriable. */
function classify(err: unknown, topic: string): Error {
  const e = err as { name?: string; retriable?: boolean; message?: string };
  const text = `producing to topic ${topic} failed: ${e.message ?? String(err)}`;
  if (e.name === 'KafkaJSProtocolError' && e.retriable === false) return new KafkaProduceRejectedError(text, { cause: err });
  const hint = /topic or partition/i.test(e.message ?? '') ? ' (does the topic exist? auto creation is off)' : '';
  return new RetryableExportError(text + hint, { cause: err });
}

function metrics(host: Host, id: string) {
  const tooLarge = host.telemetry.counter(
    'otelcol_kafka_exporter_items_too_large_total',
    'Items dropped because alone they encode larger than producer.max_message_bytes',
    ['exporter', 'signal'],
  );
  const messages = host.telemetry.counter('otelcol_kafka_exporter_messages_sent_total', 'Kafka messages produced', ['exporter', 'topic']);
  return {
    tooLarge: (signal: Signal, n: number) => tooLarge.inc({ exporter: id, signal }, n),
    messages: (topic: string, n: number) => messages.inc({ exporter: id, topic }, n),
  };
}

class KafkaSender {
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private connecting: Promise<void> | undefined;
  private readonly checked = new Set<string>();
  private readonly metrics: ReturnType<typeof metrics>;

  constructor(
    private readonly id: string,
    private readonly config: KafkaExporterConfig,
    private readonly host: Host,
  ) {
    this.kafka = kafkaClient(config, host.logger.child({ exporter: id }), { requestTimeoutMs: config.timeout });
    this.producer = this.kafka.producer({
      // murmur2 of the key, as the Java client: a trace id maps to the same partition as from any Java producer
      // (the contrib exporter's default, sarama's FNV-1a, maps differently: do not mix both on one topic)
      createPartitioner: Partitioners.DefaultPartitioner,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // a few quick retries inside kafkajs (leader moves); the exporterhelper's backoff does the long waits
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 2000 },
    });
    this.metrics = metrics(host, id);
  }

  async send(req: ExportRequest): Promise<void> {
    const topic = topicOf(this.config, req.signal);
    const byTraceId = req.signal === 'traces' ? this.config.partition_traces_by_id : req.signal === 'logs' && this.config.partition_logs_by_trace_id;
    const built = BUILDERS[req.signal](req.body, { byTraceId, maxBytes: this.config.producer.max_message_bytes });
    if (built.tooLarge > 0) {
      this.metrics.tooLarge(req.signal, built.tooLarge);
      this.host.logger.error({ exporter: this.id, topic, items: built.tooLarge, maxBytes: this.config.producer.max_message_bytes }, 'kafka exporter: dropping items that alone exceed producer.max_message_bytes');
    }
    if (built.messages.length === 0) return;
    const headers = { [CONTENT_TYPE_HEADER]: OTLP_PROTO_CONTENT_TYPE, [SIGNAL_HEADER]: req.signal };
    try {
      await this.connect();
      await this.producer.send({
        topic,
        acks: -1,
        timeout: this.config.timeout,
        compression: this.config.producer.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
        messages: built.messages.map((m) => ({ key: m.key, value: m.value, headers })),
      });
    } catch (err) {
      throw classify(err, topic);
    }
    this.metrics.messages(topic, built.messages.length);
  }

  /** Connects once; a failed connect is retried by the next send. */
  private connect(): Promise<void> {
    this.connecting ??= this.producer.connect().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  /** Auto creation is off on our brokers: say clearly, once per topic, when a signal's topic is missing. */
  checkTopic(signal: Signal): void {
    const topic = topicOf(this.config, signal);
    if (this.checked.has(topic)) return;
    this.checked.add(topic);
    void this.topicExists(topic).then(
      (exists) => {
        if (!exists) this.host.logger.warn({ exporter: this.id, topic, signal }, `kafka exporter: topic "${topic}" does not exist; ${signal} sends will be retried until it is created`);
      },
      (err: unknown) => this.host.logger.warn({ err, exporter: this.id, topic }, `kafka exporter: cannot check topic "${topic}" (brokers unreachable?); sends will be retried`),
    );
  }

  private async topicExists(topic: string): Promise<boolean> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      return (await admin.listTopics()).includes(topic);
    } finally {
      await admin.disconnect();
    }
  }

  async shutdown(): Promise<void> {
    await this.producer.disconnect();
  }
}

export function createKafkaExporter(id: string, config: KafkaExporterConfig, host: Host): Exporter {
  const sender = new KafkaSender(id, config, host);
  const queued = createQueuedExporter({
    id,
    host,
    signals: ['traces', 'logs', 'metrics'],
    queue: config.sending_queue,
    retry: config.retry_on_failure,
    send: (req) => sender.send(req),
    shutdown: () => sender.shutdown(),
  });
  return {
    start: () => queued.start?.() ?? Promise.resolve(),
    shutdown: () => queued.shutdown(),
    // the pipelines ask for the consumers of the signals they use: those are the topics worth checking
    consumer(signal) {
      sender.checkTopic(signal);
      return queued.consumer(signal);
    },
  };
}
