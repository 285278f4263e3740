// Metrics of a prom-client Registry (host.derivedMetrics: spanmetrics, servicegraph) as families for
// our renderer: prom-client's own Registry renders one format per registry, and we answer both.
import type { Registry } from 'prom-client';
import type { ExpoExemplar, ExpoFamily, ExpoSample, FamilyType, LabelPairs } from './exposition.js';

/** What prom-client's metric.get() returns at runtime (its typings omit metricName and exemplar). */
interface PromValue {
  labels: Record<string, string | number | undefined>;
  value: number;
  metricName?: string;
  exemplar?: { labelSet: Record<string, string | number>; value: number; timestamp?: number } | null;
}
interface PromSnapshot {
  name: string;
  help: string;
  type: unknown;
  values: PromValue[];
}

const TYPES = new Set<FamilyType>(['counter', 'gauge', 'histogram', 'summary']);

function pairs(labels: PromValue['labels'], extra: LabelPairs): LabelPairs {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(labels)) if (v !== undefined) out.push([k, String(v)]);
  for (const [k, v] of extra) if (!(k in labels)) out.push([k, v]);
  return out;
}

function exemplarOf(e: PromValue['exemplar']): ExpoExemplar | undefined {
  if (!e || typeof e.value !== 'number') return undefined;
  return { labels: pairs(e.labelSet, []), value: e.value, timestamp: e.timestamp };
}

/** Every metric of `registry`; `constLabels` are added to each sample that does not have the label. */
export async function registryFamilies(registry: Registry, constLabels: LabelPairs): Promise<ExpoFamily[]> {
  const out: ExpoFamily[] = [];
  // typed as MetricObject[], but the entries are the registered metric instances
  for (const metric of registry.getMetricsAsArray() as unknown as { get(): Promise<unknown> }[]) {
    const snap = (await metric.get()) as PromSnapshot;
    const type: FamilyType = TYPES.has(snap.type as FamilyType) ? (snap.type as FamilyType) : 'untyped';
    const counter = type === 'counter';
    const name = counter ? snap.name.replace(/_total$/, '') : snap.name;
    const samples: ExpoSample[] = [];
    for (const v of snap.values) {
      const sampleName = v.metricName ?? snap.name;
      if (!counter && !sampleName.startsWith(name)) continue;
      samples.push({ suffix: counter ? '_total' : sampleName.slice(name.length), labels: pairs(v.labels, constLabels), value: v.value, exemplar: exemplarOf(v.exemplar) });
    }
    out.push({ name, type, help: snap.help, samples });
  }
  return out;
}
