// Counters and histograms for metrics derived from spans (spanmetrics, servicegraph), kept in the
// process-wide host.derivedMetrics registry so they survive reloads. They are registered in a
// prom-client Registry (so registry.metrics()/getMetricsAsJSON() and the prometheus exporter see
// them) but store their series themselves: prom-client hashes a labels object on every observation,
// which costs more than the rest of a span's metrics; here a caller keeps the series it resolved from
// a cheap key string and updates plain numbers.
import type { Metric, Registry } from 'prom-client';
import type { Attributes, DecodedSpan, OtlpValue } from '../../otlp/types.js';
import { durationNs } from '../../otlp/duration.js';
import { WireSpan } from '../../otlp/wire-span.js';

export { durationNs } from '../../otlp/duration.js';
import { CollectorError } from '../../pipeline/errors.js';

export type Labels = Record<string, string>;

/** An exemplar as prom-client's Registry renders it (OpenMetrics only). */
export interface ExemplarValue {
  labelSet: Labels;
  value: number;
  /** Seconds since the epoch. */
  timestamp: number;
}

/** One sample in prom-client's `get()` shape, with the optional fields its Registry reads. */
export interface SampleValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
  exemplar?: ExemplarValue | null;
}

export interface MetricSnapshot {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: SampleValue[];
  aggregator: 'sum';
}

/** A derived metric already registered under this name has another kind or shape. */
export class DerivedMetricConflictError extends CollectorError {
  constructor(name: string, why: string) {
    super('COLLECTOR_DERIVED_METRIC_CONFLICT', `derived metric ${name}: ${why}`);
  }
}

/** The most recent traced observation of a series (or of one bucket). */
class ExemplarSlot {
  traceId = '';
  spanId = '';
  value = 0;
  timestamp = 0;

  set(traceId: string, spanId: string, value: number, nowSec: number): void {
    this.traceId = traceId;
    this.spanId = spanId;
    this.value = value;
    this.timestamp = nowSec;
  }

  snapshot(): ExemplarValue | null {
    return this.traceId ? { labelSet: { trace_id: this.traceId, span_id: this.spanId }, value: this.value, timestamp: this.timestamp } : null;
  }
}

abstract class SeriesBase {
  /** Date.now() of the last update; series older than the metric's expiration are removed. */
  updatedAt = Date.now();
  /** Set once the metric no longer holds this series (expired or reset): a caller's cached reference is stale. */
  removed = false;
  constructor(readonly labels: Labels) {}
}

export class CounterSeries extends SeriesBase {
  value = 0;
  private exemplar: ExemplarSlot | undefined;

  add(n: number, now: number): void {
    this.value += n;
    this.updatedAt = now;
  }

  /** Adds `n` and makes (traceId, spanId) the series' exemplar. */
  addTraced(n: number, now: number, traceId: string, spanId: string): void {
    this.value += n;
    this.updatedAt = now;
    (this.exemplar ??= new ExemplarSlot()).set(traceId, spanId, n, now / 1000);
  }

  exemplarSnapshot(): ExemplarValue | null {
    return this.exemplar?.snapshot() ?? null;
  }
}

export class HistogramSeries extends SeriesBase {
  /** Non-cumulative counts per bucket; the last one is (last bound, +Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  private exemplars: ExemplarSlot[] | undefined;

  constructor(
    labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    super(labels);
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number, now: number): number {
    const i = bucketIndex(this.bounds, v);
    this.counts[i]!++;
    this.sum += v;
    this.count++;
    this.updatedAt = now;
    return i;
  }

  /** Observes `v` and makes (traceId, spanId) the exemplar of the bucket it falls in. */
  observeTraced(v: number, now: number, traceId: string, spanId: string): void {
    const i = this.observe(v, now);
    const slots = (this.exemplars ??= Array.from({ length: this.counts.length }, () => new ExemplarSlot()));
    slots[i]!.set(traceId, spanId, v, now / 1000);
  }

  exemplarSnapshot(i: number): ExemplarValue | null {
    return this.exemplars?.[i]?.snapshot() ?? null;
  }
}

/** Index of the first bucket whose upper bound is ≥ v (Prometheus `le` semantics). */
export function bucketIndex(bounds: readonly number[], v: number): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (v <= bounds[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

abstract class DerivedMetric<S extends SeriesBase> {
  readonly aggregator = 'sum' as const;
  /** Series not updated for this long are removed at the next read; 0 keeps them forever. */
  expirationMs = 0;
  protected readonly series = new Map<string, S>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  get size(): number {
    return this.series.size;
  }

  /** The series for `key`, if it exists. */
  find(key: string): S | undefined {
    return this.series.get(key);
  }

  /** Creates the series for `key` (replacing any). */
  insert(key: string, labels: Labels): S {
    const s = this.create(labels);
    const old = this.series.get(key);
    if (old) old.removed = true;
    this.series.set(key, s);
    return s;
  }

  /** The series for `key`, created with `labels` on first use. */
  seriesFor(key: string, labels: Labels): S {
    return this.series.get(key) ?? this.insert(key, labels);
  }

  has(key: string): boolean {
    return this.series.has(key);
  }

  /** prom-client's Registry calls this (resetMetrics). */
  reset(): void {
    for (const s of this.series.values()) s.removed = true;
    this.series.clear();
  }

  protected live(): S[] {
    if (this.expirationMs > 0) {
      const cutoff = Date.now() - this.expirationMs;
      for (const [k, s] of this.series) {
        if (s.updatedAt >= cutoff) continue;
        s.removed = true;
        this.series.delete(k);
      }
    }
    return [...this.series.values()];
  }

  protected abstract create(labels: Labels): S;
  abstract get(): Promise<MetricSnapshot>;
}

export class DerivedCounter extends DerivedMetric<CounterSeries> {
  readonly type = 'counter' as const;

  protected create(labels: Labels): CounterSeries {
    return new CounterSeries(labels);
  }

  async get(): Promise<MetricSnapshot> {
    const values = this.live().map((s): SampleValue => ({ labels: s.labels, value: s.value, exemplar: s.exemplarSnapshot() }));
    return { name: this.name, help: this.help, type: 'counter', values, aggregator: 'sum' };
  }
}

export class DerivedHistogram extends DerivedMetric<HistogramSeries> {
  readonly type = 'histogram' as const;

  constructor(
    name: string,
    help: string,
    readonly bounds: readonly number[],
  ) {
    super(name, help);
  }

  protected create(labels: Labels): HistogramSeries {
    return new HistogramSeries(labels, this.bounds);
  }

  async get(): Promise<MetricSnapshot> {
    const values: SampleValue[] = [];
    for (const s of this.live()) {
      let acc = 0;
      for (let i = 0; i < s.counts.length; i++) {
        acc += s.counts[i]!;
        const le = i < this.bounds.length ? this.bounds[i]! : '+Inf';
        values.push({ labels: { ...s.labels, le }, value: acc, metricName: `${this.name}_bucket`, exemplar: s.exemplarSnapshot(i) });
      }
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }
}

// prom-client types its Registry against its own classes; these have the same runtime surface
// the Registry uses (name, type, get, reset), so they are registered through this one cast.
const asMetric = (m: DerivedMetric<SeriesBase>) => m as unknown as Metric;
const existing = (registry: Registry, name: string): unknown => registry.getSingleMetric(name);

/** The counter `name` in `registry`, created on first use (metrics survive processor re-creation on reload). */
export function derivedCounter(registry: Registry, name: string, help: string): DerivedCounter {
  const m = existing(registry, name);
  if (m instanceof DerivedCounter) return m;
  if (m !== undefined) throw new DerivedMetricConflictError(name, 'already registered as another kind of metric');
  const c = new DerivedCounter(name, help);
  registry.registerMetric(asMetric(c));
  return c;
}

/**
 * The histogram `name` in `registry`, created on first use. When the configured bounds changed
 * (a reload), it is replaced: its counts cannot be re-bucketed, and Prometheus treats the
 * restart from zero as a counter reset.
 */
export function derivedHistogram(registry: Registry, name: string, help: string, bounds: readonly number[]): DerivedHistogram {
  const m = existing(registry, name);
  if (m instanceof DerivedHistogram && sameBounds(m.bounds, bounds)) return m;
  if (m !== undefined && !(m instanceof DerivedHistogram)) throw new DerivedMetricConflictError(name, 'already registered as another kind of metric');
  if (m !== undefined) registry.removeSingleMetric(name);
  const h = new DerivedHistogram(name, help, [...bounds]);
  registry.registerMetric(asMetric(h));
  return h;
}

const sameBounds = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** Prometheus label/metric name characters: anything else (dots, dashes, …) becomes `_`. */
export function sanitizeName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

/** A span's end − start in nanoseconds (0 when negative): a WireSpan computes it from its bytes, without the time strings. */
export function spanDurationNs(span: DecodedSpan): number {
  return span instanceof WireSpan ? span.durationNs() : durationNs(span.startTimeUnixNano, span.endTimeUnixNano);
}

/** An attribute as a label value: strings as they are, other scalars printed, lists and maps as JSON. */
export function attributeString(attrs: Attributes, name: string): string | undefined {
  const v: OtlpValue | undefined = attrs[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
