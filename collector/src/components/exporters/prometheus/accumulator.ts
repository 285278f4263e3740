// The latest state of every series that reached the exporter through a metrics pipeline, as the
// contrib exporter's accumulator keeps it: cumulative points replace the value (older points are
// ignored), delta points are added up, and a series not updated for metric_expiration disappears.
import type { Attributes, DecodedMetric, Exemplar, HistogramPoint, NumberPoint, ResourceInfo, Scope, SummaryPoint } from '../../../otlp/types.js';
import type { ExpoExemplar, ExpoFamily, ExpoSample, LabelPairs } from './exposition.js';
import { familyName, labelName } from './naming.js';
import type { PrometheusConfig } from './config.js';

type Kind = 'counter' | 'gauge' | 'histogram' | 'summary';

interface SeriesBase {
  labels: LabelPairs;
  /** Date.now() of the last point. */
  updatedAt: number;
  /** The point's own timestamp (ns, decimal), to ignore out-of-order cumulative points. */
  timeNs: string;
}
interface NumberSeries extends SeriesBase {
  value: number;
  exemplar?: ExpoExemplar | undefined;
}
interface HistogramSeries extends SeriesBase {
  bounds: number[];
  /** Non-cumulative, bounds.length + 1 long. */
  counts: number[];
  sum: number;
  count: number;
  exemplars: (ExpoExemplar | undefined)[];
}
interface SummarySeries extends SeriesBase {
  quantiles: { quantile: number; value: number }[];
  sum: number;
  count: number;
}

type Family =
  | { kind: 'counter' | 'gauge'; help: string; series: Map<string, NumberSeries> }
  | { kind: 'histogram'; help: string; series: Map<string, HistogramSeries> }
  | { kind: 'summary'; help: string; series: Map<string, SummarySeries> };

/** Why points were not taken (each counted in the exporter's self metrics). */
export type DropReason = 'unsupported_type' | 'type_conflict' | 'invalid_name' | 'invalid_point';

const NO_RECORDED_VALUE = 1;
const SEP = '\u0000';

export class Accumulator {
  private readonly families = new Map<string, Family>();

  constructor(
    private readonly config: PrometheusConfig,
    private readonly onDrop: (reason: DropReason, points: number) => void,
  ) {}

  /** Takes a batch of metrics; returns how many data points were taken. */
  add(metrics: readonly DecodedMetric[], now = Date.now()): number {
    let taken = 0;
    for (const m of metrics) taken += this.addMetric(m, now);
    return taken;
  }

  /** Drops series not updated within metric_expiration. */
  expire(now = Date.now()): void {
    const cutoff = now - this.config.metric_expiration;
    for (const [name, f] of this.families) {
      for (const [k, s] of f.series) if (s.updatedAt < cutoff) f.series.delete(k);
      if (f.series.size === 0) this.families.delete(name);
    }
  }

  /** Every family, ready to render (call expire() first). */
  *snapshot(): Iterable<ExpoFamily> {
    for (const [name, f] of this.families) yield toExpo(name, f);
  }

  private addMetric(m: DecodedMetric, now: number): number {
    const kind = kindOf(m);
    if (kind === undefined) {
      if (m.dataPoints.length > 0) this.onDrop('unsupported_type', m.dataPoints.length);
      return 0;
    }
    const name = familyName({ name: m.name, unit: m.unit, kind }, this.config.namespace, this.config.add_metric_suffixes);
    if (name === '') {
      this.onDrop('invalid_name', m.dataPoints.length);
      return 0;
    }
    const family = this.familyFor(name, kind, m.description ?? '');
    if (!family) {
      this.onDrop('type_conflict', m.dataPoints.length);
      return 0;
    }
    const base = this.resourceLabels(m.resource, m.scope);
    let taken = 0;
    for (const p of m.dataPoints) {
      if ((p.flags & NO_RECORDED_VALUE) !== 0) continue;
      const labels = mergeLabels(base, p.attributes, kind, this.config.const_labels);
      const key = labels.map(([k, v]) => k + SEP + v).join(SEP);
      const ok =
        family.kind === 'histogram'
          ? addHistogram(family.series, key, labels, p as HistogramPoint, isDelta(m), now)
          : family.kind === 'summary'
            ? addSummary(family.series, key, labels, p as SummaryPoint, now)
            : addNumber(family.series, key, labels, p as NumberPoint, isDelta(m), now);
      if (ok) taken++;
      else this.onDrop('invalid_point', 1);
    }
    return taken;
  }

  private familyFor(name: string, kind: Kind, help: string): Family | undefined {
    const f = this.families.get(name);
    if (f) return f.kind === kind ? f : undefined;
    const created: Family = kind === 'histogram' ? { kind, help, series: new Map() } : kind === 'summary' ? { kind, help, series: new Map() } : { kind, help, series: new Map() };
    this.families.set(name, created);
    return created;
  }

  /** job and instance (from service.namespace/name and service.instance.id), scope name/version, and with conversion every resource attribute. */
  private resourceLabels(resource: ResourceInfo, scope: Scope): Map<string, string> {
    const out = new Map<string, string>();
    const r = resource.attributes;
    if (this.config.resource_to_telemetry_conversion.enabled) addAttributes(out, r);
    const service = str(r['service.name']);
    const ns = str(r['service.namespace']);
    if (service) out.set('job', ns ? `${ns}/${service}` : service);
    const instance = str(r['service.instance.id']);
    if (instance) out.set('instance', instance);
    if (scope.name) out.set('otel_scope_name', scope.name);
    if (scope.version) out.set('otel_scope_version', scope.version);
    return out;
  }
}

function kindOf(m: DecodedMetric): Kind | undefined {
  switch (m.type) {
    case 'gauge':
      return 'gauge';
    case 'sum':
      return m.isMonotonic ? 'counter' : 'gauge';
    case 'histogram':
      return 'histogram';
    case 'summary':
      return 'summary';
    default:
      // exponential histograms need native histograms (protobuf scrapes); empty metrics carry nothing
      return undefined;
  }
}

const isDelta = (m: DecodedMetric) => 'temporality' in m && m.temporality === 'delta';

const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');

function attrValue(v: Attributes[string]): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Attributes as labels; keys that sanitize to the same name are joined with `;` in key order, as the translator does. */
function addAttributes(out: Map<string, string>, attrs: Attributes): void {
  const byLabel = new Map<string, [string, string][]>();
  for (const [k, v] of Object.entries(attrs)) {
    const name = labelName(k);
    const value = attrValue(v);
    if (name === '' || value === '') continue;
    const list = byLabel.get(name) ?? [];
    list.push([k, value]);
    byLabel.set(name, list);
  }
  for (const [name, list] of byLabel) {
    list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    out.set(name, list.map(([, v]) => v).join(';'));
  }
}

/** The series' labels, sorted: point attributes, then resource-derived ones, then const_labels; `le`/`quantile` attributes are renamed so they cannot clash with the bucket labels. */
function mergeLabels(base: Map<string, string>, attrs: Attributes, kind: Kind, constLabels: Record<string, string>): LabelPairs {
  const out = new Map<string, string>();
  addAttributes(out, attrs);
  for (const [k, v] of base) out.set(k, v);
  for (const [k, v] of Object.entries(constLabels)) out.set(k, v);
  const reserved = kind === 'histogram' ? 'le' : kind === 'summary' ? 'quantile' : undefined;
  if (reserved && out.has(reserved)) {
    out.set(`exported_${reserved}`, out.get(reserved)!);
    out.delete(reserved);
  }
  return [...out].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** a < b for decimal nanosecond strings without leading zeros. */
const olderThan = (a: string, b: string) => a.length < b.length || (a.length === b.length && a < b);

function exemplarOf(e: Exemplar): ExpoExemplar | undefined {
  if (!e.traceId) return undefined;
  const labels: [string, string][] = [['trace_id', e.traceId]];
  if (e.spanId) labels.push(['span_id', e.spanId]);
  const ms = e.timeUnixNano.length > 6 ? Number(e.timeUnixNano.slice(0, -6)) : 0;
  return { labels, value: e.value, timestamp: ms > 0 ? ms / 1000 : undefined };
}

const lastExemplar = (list: Exemplar[]) => {
  for (let i = list.length - 1; i >= 0; i--) {
    const e = exemplarOf(list[i]!);
    if (e) return e;
  }
  return undefined;
};

function addNumber(series: Map<string, NumberSeries>, key: string, labels: LabelPairs, p: NumberPoint, delta: boolean, now: number): boolean {
  if (typeof p.value !== 'number') return false;
  const s = series.get(key);
  const exemplar = lastExemplar(p.exemplars);
  if (s && delta) {
    s.value += p.value;
  } else if (s) {
    if (olderThan(p.timeUnixNano, s.timeNs)) return true; // an older point than we have: keep ours
    s.value = p.value;
  } else {
    series.set(key, { labels, updatedAt: now, timeNs: p.timeUnixNano, value: p.value, exemplar });
    return true;
  }
  s.timeNs = p.timeUnixNano;
  s.updatedAt = now;
  if (exemplar) s.exemplar = exemplar;
  return true;
}

function addHistogram(series: Map<string, HistogramSeries>, key: string, labels: LabelPairs, p: HistogramPoint, delta: boolean, now: number): boolean {
  const bounds = p.explicitBounds;
  // no buckets at all is a valid histogram (only count and sum); otherwise one count per bound plus +Inf
  const counts = p.bucketCounts.length === 0 ? new Array<number>(bounds.length + 1).fill(0) : [...p.bucketCounts];
  if (counts.length !== bounds.length + 1 || bounds.some((b, i) => i > 0 && b <= bounds[i - 1]!)) return false;
  if (p.bucketCounts.length === 0) counts[bounds.length] = p.count;
  const s = series.get(key);
  const sameShape = s !== undefined && s.bounds.length === bounds.length && s.bounds.every((b, i) => b === bounds[i]);
  if (s && delta && sameShape) {
    for (let i = 0; i < counts.length; i++) s.counts[i]! += counts[i]!;
    s.sum += p.sum ?? 0;
    s.count += p.count;
  } else {
    if (s && !delta && olderThan(p.timeUnixNano, s.timeNs)) return true;
    const fresh: HistogramSeries = { labels, updatedAt: now, timeNs: p.timeUnixNano, bounds: [...bounds], counts, sum: p.sum ?? 0, count: p.count, exemplars: sameShape ? s.exemplars : [] };
    series.set(key, fresh);
  }
  const target = series.get(key)!;
  target.updatedAt = now;
  target.timeNs = p.timeUnixNano;
  for (const e of p.exemplars) {
    const ex = exemplarOf(e);
    if (!ex) continue;
    let i = target.bounds.findIndex((b) => e.value <= b);
    if (i < 0) i = target.bounds.length;
    target.exemplars[i] = ex;
  }
  return true;
}

function addSummary(series: Map<string, SummarySeries>, key: string, labels: LabelPairs, p: SummaryPoint, now: number): boolean {
  const s = series.get(key);
  if (s && olderThan(p.timeUnixNano, s.timeNs)) return true;
  series.set(key, { labels, updatedAt: now, timeNs: p.timeUnixNano, quantiles: [...p.quantileValues].sort((a, b) => a.quantile - b.quantile), sum: p.sum, count: p.count });
  return true;
}

function toExpo(name: string, f: Family): ExpoFamily {
  const samples: ExpoSample[] = [];
  if (f.kind === 'counter' || f.kind === 'gauge') {
    for (const s of f.series.values()) samples.push({ suffix: f.kind === 'counter' ? '_total' : '', labels: s.labels, value: s.value, exemplar: s.exemplar });
  } else if (f.kind === 'histogram') {
    for (const s of f.series.values()) {
      let acc = 0;
      for (let i = 0; i < s.counts.length; i++) {
        acc += s.counts[i]!;
        const le = i < s.bounds.length ? String(s.bounds[i]) : '+Inf';
        samples.push({ suffix: '_bucket', labels: [...s.labels, ['le', le]], value: acc, exemplar: s.exemplars[i] });
      }
      samples.push({ suffix: '_sum', labels: s.labels, value: s.sum }, { suffix: '_count', labels: s.labels, value: s.count });
    }
  } else if (f.kind === 'summary') {
    for (const s of f.series.values()) {
      for (const q of s.quantiles) samples.push({ suffix: '', labels: [...s.labels, ['quantile', String(q.quantile)]], value: q.value });
      samples.push({ suffix: '_sum', labels: s.labels, value: s.sum }, { suffix: '_count', labels: s.labels, value: s.count });
    }
  }
  return { name, type: f.kind, help: f.help, samples };
}
