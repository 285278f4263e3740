// The `store` exporter (traces, logs): keeps a bounded set of traces and recent log lines — optionally on disk so a
// restart keeps them — and serves them through Jaeger's query API, a logs API and a small trace UI.
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { DecodedLogRecord, DecodedSpan } from '../../../otlp/types.js';
import { plainSpan } from '../../../otlp/wire-span.js';
import { RefusedError } from '../../../pipeline/errors.js';
import type { Consumer, Exporter, ExporterFactory, Host, Signal, SignalData } from '../../../pipeline/types.js';
import { closeServer, listen, serverUrl } from '../../../util/server.js';
import { storeConfigSchema, type StoreConfig } from './config.js';
import { LogStore, toRecord } from './log-store.js';
import { SegmentFiles, type Entry } from './persistence.js';
import { createQueryServer } from './server.js';
import { TraceStore } from './store.js';

function storeMetrics(host: Host, id: string) {
  const t = host.telemetry;
  const l = { exporter: id };
  const exporter = t.exporter(id);
  const evictedTraces = t.counter('otelcol_exporter_store_evicted_traces_total', 'Traces evicted from the store to stay within max_traces', ['exporter']);
  const droppedSpans = t.counter('otelcol_exporter_store_dropped_spans_total', 'Spans not stored because their trace already had max_spans_per_trace spans', ['exporter']);
  const duplicateSpans = t.counter('otelcol_exporter_store_duplicate_spans_total', 'Spans received again (same trace and span id) and stored once', ['exporter']);
  const evictedLogs = t.counter('otelcol_exporter_store_evicted_log_records_total', 'Log records overwritten in the store ring (max_log_records)', ['exporter']);
  const skippedLines = t.counter('otelcol_exporter_store_replay_skipped_lines_total', 'Unreadable segment lines skipped on replay (a write cut short by a crash)', ['exporter']);
  const traces = t.gauge('otelcol_exporter_store_traces', 'Traces held by the store', ['exporter']);
  const spans = t.gauge('otelcol_exporter_store_spans', 'Spans held by the store', ['exporter']);
  const logs = t.gauge('otelcol_exporter_store_log_records', 'Log records held by the store', ['exporter']);
  const segments = t.gauge('otelcol_exporter_store_segments', 'Segment files of the persistent store', ['exporter']);
  return {
    sent: (s: Signal, n: number) => n && exporter.sent(s, n),
    evictedTraces: (n: number) => n && evictedTraces.inc(l, n),
    droppedSpans: (n: number) => n && droppedSpans.inc(l, n),
    duplicateSpans: (n: number) => n && duplicateSpans.inc(l, n),
    evictedLogs: (n: number) => n && evictedLogs.inc(l, n),
    skippedLines: (n: number) => n && skippedLines.inc(l, n),
    sizes: (tr: TraceStore, lg: LogStore, files: SegmentFiles | undefined) => {
      traces.set(l, tr.size);
      spans.set(l, tr.spans);
      logs.set(l, lg.size);
      if (files) segments.set(l, files.segmentCount);
    },
  };
}

export class StoreExporter implements Exporter {
  readonly traces: TraceStore;
  readonly logs: LogStore;
  private readonly files: SegmentFiles | undefined;
  private readonly server: Server;
  private readonly metrics: ReturnType<typeof storeMetrics>;
  private readonly logger: Logger;
  /** Writes and store updates run one at a time, so the files replay in the order the store saw. */
  private queue: Promise<unknown> = Promise.resolve();
  private url = '';
  private closed = false;

  constructor(
    private readonly id: string,
    private readonly config: StoreConfig,
    host: Host,
  ) {
    this.logger = host.logger.child({ exporter: id });
    this.metrics = storeMetrics(host, id);
    const dir = config.persistence.directory;
    this.files = dir
      ? new SegmentFiles({ directory: dir, fsync: config.persistence.fsync, segmentMaxBytes: config.persistence.segment_max_bytes }, this.logger)
      : undefined;
    this.traces = new TraceStore(config.max_traces, config.max_spans_per_trace, (t) => this.files?.traceEvicted(t.traceId));
    this.logs = new LogStore(config.max_log_records);
    this.server = createQueryServer({
      traces: this.traces,
      logs: this.logs,
      maxTraces: config.max_traces,
      auth: config.query.auth,
      linkBase: () => (config.query.base_url ? new URL(config.query.base_url).pathname.replace(/\/+$/, '') : ''),
      logger: this.logger,
    });
  }

  async start(): Promise<void> {
    if (this.files) {
      const { entries, skipped } = await this.files.open((e, seg) => this.apply(e, seg));
      this.metrics.skippedLines(skipped);
      this.logger.info({ entries, traces: this.traces.size, logs: this.logs.size }, 'store: replayed persisted data');
    }
    const { host, port } = this.config.query.endpoint;
    await listen(this.server, host, port);
    this.url = serverUrl(this.server);
    this.metrics.sizes(this.traces, this.logs, this.files);
  }

  endpoints(): Record<string, string> {
    return this.url ? { query: this.url } : {};
  }

  /** The public URL of a trace page (query.base_url, else the listening address). */
  traceUrl(traceId: string): string {
    return `${(this.config.query.base_url ?? this.url).replace(/\/+$/, '')}/trace/${traceId}`;
  }

  consumer<S extends Signal>(signal: S): Consumer<S> {
    return {
      consume: (data: SignalData[S]) => {
        // plain copies: a span still tied to its request's bytes (WireSpan) would keep the whole request alive as long as the store keeps the trace
        if (signal === 'traces') return this.consume({ kind: 'traces', items: (data as DecodedSpan[]).map(plainSpan) });
        if (signal === 'logs') return this.consume({ kind: 'logs', items: data as DecodedLogRecord[] });
        return Promise.reject(new RefusedError(`exporter ${this.id} does not take ${signal}`));
      },
    };
  }

  private consume(e: Entry): Promise<void> {
    if (e.items.length === 0) return Promise.resolve();
    const run = this.queue.then(async () => {
      if (this.closed) throw new RefusedError(`exporter ${this.id} is shut down`);
      let seg = 0;
      if (this.files) {
        try {
          seg = await this.files.append(e);
        } catch (err) {
          this.logger.error({ err }, 'store: cannot persist a batch; refusing it');
          throw new RefusedError(`exporter ${this.id} cannot persist: ${(err as Error).message}`);
        }
      }
      this.apply(e, seg);
      await this.maintain();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Puts one batch into memory (on consume and on replay), noting which segment holds it. */
  private apply(e: Entry, seg: number): void {
    if (e.kind === 'traces') {
      const r = this.traces.add(e.items);
      this.metrics.sent('traces', r.accepted);
      this.metrics.evictedTraces(r.evictedTraces);
      this.metrics.duplicateSpans(r.duplicateSpans);
      if (r.droppedSpans) {
        this.metrics.droppedSpans(r.droppedSpans);
        this.logger.warn({ dropped: r.droppedSpans, max_spans_per_trace: this.config.max_spans_per_trace }, 'store: dropped spans of traces that reached max_spans_per_trace');
      }
      if (this.files) for (const s of e.items) if (this.traces.get(s.traceId)) this.files.noteTrace(s.traceId, seg);
    } else {
      this.metrics.evictedLogs(this.logs.add(e.items));
      this.metrics.sent('logs', e.items.length);
      this.files?.noteLogs(seg, this.logs.lastSeq);
    }
  }

  private async maintain(): Promise<void> {
    if (this.files && (await this.files.maintain(this.logs.oldestSeq))) {
      const traces = this.traces.inOrder().map((t) => ({ traceId: t.traceId, spans: t.spans.map((s) => s.span) }));
      await this.files.compact(traces, this.logs.inOrder().map(toRecord), this.logs.lastSeq);
      this.logger.info({ traces: traces.length, logs: this.logs.size }, 'store: compacted segments into a snapshot');
    }
    this.metrics.sizes(this.traces, this.logs, this.files);
  }

  async shutdown(): Promise<void> {
    await this.queue;
    this.closed = true;
    await closeServer(this.server);
    await this.files?.close();
  }
}

export const factory: ExporterFactory<StoreConfig> = {
  kind: 'exporter',
  type: 'store',
  signals: ['traces', 'logs'],
  configSchema: storeConfigSchema,
  create({ id, config, host }) {
    return new StoreExporter(id, config, host);
  },
};
