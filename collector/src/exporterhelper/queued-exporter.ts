// An Exporter built from a send() function: consumers encode decoded data to OTLP protobuf, queue it
// (in memory, or on disk), and num_consumers workers per signal send it with retries. consume()
// resolves once the request is queued (its file renamed into place, when persistent).
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { RetryOnFailure, SendingQueue } from '../config/values.js';
import { encodeLogs, encodeMetrics, encodeTraces } from '../otlp/encode.js';
import { ConfigError, PermanentError, RefusedError } from '../pipeline/errors.js';
import { itemCount, type Consumer, type Exporter, type Host, type Signal, type SignalData } from '../pipeline/types.js';
import { queueDirName, RequestStore, type StoredRequest } from './persistent-queue.js';
import { BoundedQueue } from './queue.js';
import { sendWithRetry, type SendOutcome } from './retry.js';

/** One queued unit of work: an OTLP protobuf Export{Trace,Logs,Metrics}ServiceRequest, as bytes (so it can be persisted). */
export interface ExportRequest {
  signal: Signal;
  body: Uint8Array;
  items: number;
}

export interface QueuedExporterOptions {
  id: string;
  host: Host;
  signals: readonly Signal[];
  queue: SendingQueue;
  retry: RetryOnFailure;
  /**
   * Sends one request. Throw RetryableExportError for "try later"; anything else is permanent. `signal`
   * aborts when shutdown's drain time is over: pass it to the HTTP client so a hung request ends.
   */
  send(req: ExportRequest, ctx: { signal: AbortSignal }): Promise<void>;
  start?(): Promise<void>;
  shutdown?(): Promise<void>;
  endpoints?(): Record<string, string>;
  /** How long shutdown keeps sending (memory queue: retrying what is queued; persistent: finishing sends in flight). Default 10 s. */
  drainTimeoutMs?: number;
}

export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

/** A queued request: in memory it carries its body; on disk it names its file. */
interface Entry {
  signal: Signal;
  items: number;
  body?: Uint8Array;
  stored?: StoredRequest;
}

const ENCODERS: { [S in Signal]: (data: SignalData[S]) => Uint8Array } = {
  traces: (d) => encodeTraces(d),
  logs: (d) => encodeLogs(d),
  metrics: (d) => encodeMetrics(d),
};

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function createQueuedExporter(opts: QueuedExporterOptions): Exporter {
  return new QueuedExporter(opts);
}

class QueuedExporter implements Exporter {
  private readonly log: Logger;
  private readonly metrics;
  private readonly queues = new Map<Signal, BoundedQueue<Entry>>();
  private readonly store: RequestStore | undefined;
  private readonly workers: Promise<void>[] = [];
  /** consume() calls in progress (encoding, persisting, or sending when there is no queue). */
  private readonly pending = new Set<Promise<unknown>>();
  /** Fires when the drain time is over: cuts retry waits and in-flight sends. */
  private readonly hardStop = new AbortController();
  /** Persistent queues stop retrying at once on shutdown (the files keep the data). */
  private readonly softStop = new AbortController();
  private accepting = true;
  private shutdownDone: Promise<void> | undefined;

  constructor(private readonly opts: QueuedExporterOptions) {
    this.log = opts.host.logger.child({ exporter: opts.id });
    this.metrics = opts.host.telemetry.exporter(opts.id);
    if (opts.queue.enabled) {
      for (const signal of opts.signals) {
        this.queues.set(signal, new BoundedQueue<Entry>(opts.queue.queue_size, (n) => this.metrics.queueSize(signal, n)));
        this.metrics.queueCapacity(signal, opts.queue.queue_size);
        this.metrics.queueSize(signal, 0);
      }
      if (opts.queue.persistent) this.store = new RequestStore(join(opts.host.dataDir, 'queues', queueDirName(opts.id)));
    }
  }

  endpoints(): Record<string, string> {
    return this.opts.endpoints?.() ?? {};
  }

  async start(): Promise<void> {
    await this.opts.start?.();
    if (this.store) {
      const stored = await this.store.open();
      for (const s of stored) {
        const q = this.queues.get(s.signal);
        if (q) q.push({ signal: s.signal, items: s.items, stored: s }, false);
        else this.log.warn({ file: s.file, signal: s.signal }, 'queued request of a signal this exporter does not send: left on disk');
      }
      if (stored.length > 0) this.log.info({ requests: stored.length, dir: this.store.dir }, 'resuming persistent queue');
    }
    for (const q of this.queues.values()) {
      for (let i = 0; i < this.opts.queue.num_consumers; i++) this.workers.push(this.work(q));
    }
  }

  consumer<S extends Signal>(signal: S): Consumer<S> {
    if (!this.opts.signals.includes(signal)) throw new ConfigError(`exporters.${this.opts.id}`, `does not export ${signal}`);
    return { consume: (data) => this.consume(signal, data) };
  }

  private async consume<S extends Signal>(signal: S, data: SignalData[S]): Promise<void> {
    const p = this.accept(signal, data);
    this.pending.add(p);
    try {
      await p;
    } finally {
      this.pending.delete(p);
    }
  }

  private async accept<S extends Signal>(signal: S, data: SignalData[S]): Promise<void> {
    const items = itemCount(signal, data);
    if (data.length === 0) return;
    if (!this.accepting) throw new RefusedError(`exporter ${this.opts.id} is shutting down`);
    let body: Uint8Array;
    try {
      body = ENCODERS[signal](data);
    } catch (err) {
      this.dropped(signal, items, 'could not be encoded', err);
      throw new PermanentError(`exporter ${this.opts.id}: ${signal} could not be encoded: ${message(err)}`, { cause: err });
    }
    const q = this.queues.get(signal);
    if (!q) return this.sendNow({ signal, body, items });
    return this.enqueue(q, { signal, body, items });
  }

  private async enqueue(q: BoundedQueue<Entry>, req: ExportRequest): Promise<void> {
    if (!(await q.reserve(this.opts.queue.block_on_overflow))) {
      this.metrics.enqueueFailed(req.signal, req.items);
      throw new RefusedError(`exporter ${this.opts.id}: sending queue is full (${q.capacity} requests)`, { resourceExhausted: true });
    }
    if (!this.store) {
      q.push({ signal: req.signal, items: req.items, body: req.body });
      return;
    }
    try {
      const stored = await this.store.write(req.signal, req.items, req.body);
      q.push({ signal: req.signal, items: req.items, stored });
    } catch (err) {
      q.unreserve();
      this.metrics.enqueueFailed(req.signal, req.items);
      this.log.error({ signal: req.signal, items: req.items, err: message(err) }, 'could not write to the persistent queue');
      throw new RefusedError(`exporter ${this.opts.id}: could not persist the request: ${message(err)}`);
    }
  }

  /** sending_queue.enabled: false — consume() waits for the send (with retries) and reports its outcome. */
  private async sendNow(req: ExportRequest): Promise<void> {
    const outcome = await sendWithRetry((signal) => this.opts.send(req, { signal }), this.opts.retry, this.hardStop.signal);
    if (outcome.kind === 'sent') {
      this.metrics.sent(req.signal, req.items);
      return;
    }
    this.failed(req, outcome);
    if (outcome.kind === 'failed' && outcome.reason === 'permanent') {
      throw new PermanentError(`exporter ${this.opts.id}: ${message(outcome.error)}`, { cause: outcome.error });
    }
    throw new RefusedError(`exporter ${this.opts.id}: ${message(outcome.error)}`);
  }

  private async work(q: BoundedQueue<Entry>): Promise<void> {
    for (;;) {
      const entry = await q.take();
      if (!entry) return;
      await this.process(entry);
    }
  }

  private async process(entry: Entry): Promise<void> {
    let body = entry.body;
    if (!body && entry.stored) {
      try {
        body = await this.store!.read(entry.stored);
      } catch (err) {
        this.dropped(entry.signal, entry.items, `queued file ${entry.stored.file} could not be read`, err);
        return;
      }
    }
    const req: ExportRequest = { signal: entry.signal, items: entry.items, body: body! };
    // a persistent queue stops retrying at shutdown (its file keeps the data); a memory one keeps trying until the drain time is over
    const stop = this.store ? AbortSignal.any([this.softStop.signal, this.hardStop.signal]) : this.hardStop.signal;
    // the send itself is cut only by the hard stop: a request in flight at shutdown may still finish
    const outcome = await sendWithRetry(() => this.opts.send(req, { signal: this.hardStop.signal }), this.opts.retry, stop);
    if (outcome.kind === 'aborted' && entry.stored) return; // stays on disk, sent after the restart
    if (outcome.kind === 'sent') this.metrics.sent(entry.signal, entry.items);
    else this.failed(req, outcome);
    if (entry.stored) {
      await this.store!.remove(entry.stored).catch((err: unknown) => this.log.error({ file: entry.stored!.file, err: message(err) }, 'could not delete a sent request from the persistent queue (it will be sent again after a restart)'));
    }
  }

  private failed(req: ExportRequest, outcome: Exclude<SendOutcome, { kind: 'sent' }>): void {
    const why =
      outcome.kind === 'aborted'
        ? 'not sent before shutdown'
        : outcome.reason === 'permanent'
          ? 'rejected permanently'
          : this.opts.retry.enabled
            ? `retries exhausted after ${outcome.attempts} attempts`
            : 'failed (retry_on_failure disabled)';
    this.dropped(req.signal, req.items, why, outcome.error);
  }

  /** Every loss is counted (otelcol_exporter_send_failed_*) and logged with its size. */
  private dropped(signal: Signal, items: number, why: string, err: unknown): void {
    this.metrics.failed(signal, items);
    this.log.error({ signal, dropped_items: items, err: message(err) }, `export ${why}: ${items} ${signal} items dropped`);
  }

  shutdown(): Promise<void> {
    this.shutdownDone ??= this.doShutdown();
    return this.shutdownDone;
  }

  private async doShutdown(): Promise<void> {
    this.accepting = false;
    const drainMs = this.opts.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
    const timer = setTimeout(() => this.hardStop.abort(new Error(`shutdown: drain time (${drainMs} ms) is over`)), drainMs);
    timer.unref();
    try {
      // blocked producers are refused; requests being written still land (their callers were not refused)
      for (const q of this.queues.values()) q.close(!this.store);
      await Promise.allSettled([...this.pending]);
      if (this.store) this.softStop.abort(new Error('shutdown'));
      await Promise.all(this.workers);
    } finally {
      clearTimeout(timer);
      this.hardStop.abort(new Error('shutdown'));
    }
    for (const q of this.queues.values()) {
      for (const entry of q.removeAll()) {
        if (entry.stored) continue; // stays on disk
        this.dropped(entry.signal, entry.items, 'still queued at shutdown', new Error('shutdown'));
      }
    }
    await this.opts.shutdown?.();
  }
}
