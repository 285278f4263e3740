// Buffers spans per trace until decision_wait has passed since the trace's first span, then decides the trace once
// and forwards it (sampled) or counts it dropped. Nothing accepted is lost: a full buffer decides its oldest trace
// early, refused sampled spans are retried on the next tick, and shutdown decides and forwards everything pending.
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { RefusedError } from '../../../pipeline/errors.js';
import type { Consumer, Host, Processor } from '../../../pipeline/types.js';
import type { DecodedSpan } from '../../../otlp/types.js';
import type { TailSamplingConfig } from './config.js';
import { DecisionCache } from './decision-cache.js';
import { PolicySet } from './decide.js';
import { Fifo } from './fifo.js';
import { Forwarder } from './forwarder.js';
import { emptyCounts, tailSamplingMetrics, type TailSamplingMetrics } from './metrics.js';

interface PendingTrace {
  readonly traceId: string;
  readonly spans: DecodedSpan[];
  /** performance.now() when its first span arrived. */
  readonly arrivedAt: number;
  decided: boolean;
}

/** Ticks often enough that a decision is late by at most a tenth of decision_wait, and at most a second. */
const tickInterval = (waitMs: number) => Math.min(1000, Math.max(10, waitMs / 10));
/** At shutdown, how long refused sampled spans are retried before they are counted lost. */
const SHUTDOWN_RETRY_MS = 5000;
const SHUTDOWN_RETRY_PAUSE_MS = 50;

type CachedDecision = 'sampled' | 'dropped';

export class TailSamplingProcessor implements Processor<'traces'> {
  /** Pending traces and both decision caches in one table: a span's trace is found with one lookup (decision-cache.ts). */
  private readonly traces = new Map<string, PendingTrace | CachedDecision>();
  private pendingTraces = 0;
  /** Pending traces in arrival order: the head is always the next to decide (by time or early). */
  private readonly order = new Fifo<PendingTrace>();
  private pendingSpans = 0;
  private readonly sampledIds: DecisionCache<CachedDecision> | undefined;
  private readonly droppedIds: DecisionCache<CachedDecision> | undefined;
  private readonly policies: PolicySet;
  private readonly forwarder: Forwarder;
  private readonly metrics: TailSamplingMetrics;
  private readonly counts = emptyCounts();
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly cfg: TailSamplingConfig,
    next: Consumer<'traces'>,
    host: Host,
    id: string,
    pipeline: string,
  ) {
    this.log = host.logger.child({ processor: id, pipeline });
    this.metrics = tailSamplingMetrics(host.telemetry, id, pipeline);
    const { sampled_cache_size: sampledSize, non_sampled_cache_size: droppedSize } = cfg.decision_cache;
    this.sampledIds = sampledSize > 0 ? new DecisionCache<CachedDecision>(sampledSize, this.traces, 'sampled') : undefined;
    this.droppedIds = droppedSize > 0 ? new DecisionCache<CachedDecision>(droppedSize, this.traces, 'dropped') : undefined;
    this.policies = new PolicySet(cfg.policies, cfg.sample_on_first_match, (policy, err) =>
      this.log.warn({ err, policy }, 'tail_sampling policy failed; it abstains for this trace'),
    );
    this.forwarder = new Forwarder(next, (spans, err) => {
      this.metrics.lost(spans);
      this.log.error({ err, spans }, 'tail_sampling: the next stage rejected sampled spans permanently; they are lost');
    });
  }

  async start(): Promise<void> {
    this.timer = setInterval(() => this.tick(), tickInterval(this.cfg.decision_wait));
    // the timer must not keep the process alive: shutdown() flushes what it would have decided
    this.timer.unref();
  }

  async consume(spans: DecodedSpan[]): Promise<void> {
    if (this.closed) throw new RefusedError('tail_sampling processor is shut down');
    // sampled spans the next stage keeps refusing are held here; past max_spans the sender has to wait instead
    if (this.forwarder.spans >= this.cfg.max_spans) {
      throw new RefusedError('tail_sampling: the next stage is refusing and the sampled backlog is full', { resourceExhausted: true });
    }
    const now = performance.now();
    let lateSampled: DecodedSpan[] | undefined;
    let lateDropped = 0;
    let lastId: string | undefined;
    let last: PendingTrace | CachedDecision = 'dropped';
    for (const span of spans) {
      // spans of one trace usually arrive together: one lookup per run of them, again if it was just decided early
      if (span.traceId !== lastId || (typeof last === 'object' && last.decided)) {
        lastId = span.traceId;
        last = this.traces.get(lastId) ?? this.open(lastId, now);
      }
      if (last === 'sampled') (lateSampled ??= []).push(span);
      else if (last === 'dropped') lateDropped++;
      else {
        last.spans.push(span);
        this.pendingSpans++;
        this.enforceLimits();
      }
    }
    if (lateSampled) {
      this.forwarder.push(lateSampled);
      this.metrics.late(true, lateSampled.length);
    }
    if (lateDropped > 0) this.metrics.late(false, lateDropped);
    // late sampled spans go out now, not on the next tick; so do traces decided early above
    if (this.forwarder.spans > 0) void this.forwarder.flush();
  }

  private open(traceId: string, now: number): PendingTrace {
    const t: PendingTrace = { traceId, spans: [], arrivedAt: now, decided: false };
    this.traces.set(traceId, t);
    this.pendingTraces++;
    this.order.push(t);
    this.counts.newTraces++;
    return t;
  }

  /** Over num_traces or max_spans: the oldest traces are decided now, not thrown away. */
  private enforceLimits(): void {
    while (this.pendingTraces > this.cfg.num_traces || this.pendingSpans > this.cfg.max_spans) {
      const oldest = this.nextPending();
      if (!oldest) return;
      this.counts.tooEarly++;
      this.decide(oldest, performance.now());
    }
  }

  private nextPending(): PendingTrace | undefined {
    for (let t = this.order.shift(); t; t = this.order.shift()) if (!t.decided) return t;
    return undefined;
  }

  private decide(t: PendingTrace, now: number): void {
    t.decided = true;
    this.pendingTraces--;
    this.pendingSpans -= t.spans.length;
    const sampled = this.policies.decide(t, now);
    // the cache's entry replaces the pending one; without a cache for this decision the id is forgotten
    const cache = sampled ? this.sampledIds : this.droppedIds;
    if (cache) cache.add(t.traceId);
    else this.traces.delete(t.traceId);
    if (sampled) {
      this.forwarder.push(t.spans);
      this.counts.sampled++;
    } else {
      this.counts.droppedSpans += t.spans.length;
      this.counts.notSampled++;
    }
  }

  /** Decides every trace whose wait is over, records the metrics, and sends (or retries sending) what was sampled. */
  private tick(): void {
    const started = performance.now();
    const due = started - this.cfg.decision_wait;
    for (let t = this.order.peek(); t && (t.decided || t.arrivedAt <= due); t = this.order.peek()) {
      this.order.shift();
      if (!t.decided) this.decide(t, started);
    }
    this.recordMetrics();
    this.metrics.tickTook(performance.now() - started);
    if (this.forwarder.spans > 0) void this.forwarder.flush();
  }

  private recordMetrics(): void {
    this.metrics.record(this.policies.stats, this.counts);
    this.metrics.memory(this.pendingTraces, this.pendingSpans, this.forwarder.spans);
  }

  /** Decides every pending trace now (partial traces, as contrib) and waits until the sampled ones are accepted. */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    const now = performance.now();
    for (let t = this.nextPending(); t; t = this.nextPending()) this.decide(t, now);
    await this.drainForShutdown();
    this.recordMetrics();
  }

  private async drainForShutdown(): Promise<void> {
    const deadline = performance.now() + SHUTDOWN_RETRY_MS;
    for (;;) {
      await this.forwarder.flush();
      if (this.forwarder.spans === 0) return;
      if (performance.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, SHUTDOWN_RETRY_PAUSE_MS));
    }
    const lost = this.forwarder.spans;
    this.metrics.lost(lost);
    this.log.error({ spans: lost }, `tail_sampling: the next stage still refused sampled spans ${SHUTDOWN_RETRY_MS} ms into shutdown; they are lost`);
  }
}
