// The text exposition formats: Prometheus text 0.0.4 and OpenMetrics 1.0 (which alone carries
// exemplars and must end with one `# EOF`). Everything served — derived metrics from the prom-client
// registry and pipeline metrics — goes through this one renderer, so escaping is done in one place.

export type Format = 'text' | 'openmetrics';
export type FamilyType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
export type LabelPairs = readonly (readonly [string, string])[];

export interface ExpoExemplar {
  labels: LabelPairs;
  value: number;
  /** Seconds since the epoch. */
  timestamp?: number | undefined;
}

export interface ExpoSample {
  /** Appended to the family name: `_total` for counters, `_bucket`/`_sum`/`_count`, or ''. */
  suffix: string;
  labels: LabelPairs;
  value: number;
  exemplar?: ExpoExemplar | null | undefined;
}

export interface ExpoFamily {
  /** A counter's name is without `_total`: OpenMetrics names the family so, text 0.0.4 with it. */
  name: string;
  type: FamilyType;
  help: string;
  samples: ExpoSample[];
}

export const CONTENT_TYPE: Record<Format, string> = {
  text: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

/** A label value inside double quotes: backslash, double quote and line feed escaped (both formats). */
export const escapeLabelValue = (v: string) => v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
/** HELP text: text 0.0.4 escapes backslash and line feed; OpenMetrics also the double quote. */
const escapeHelp = (v: string, f: Format) => (f === 'openmetrics' ? escapeLabelValue(v) : v.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\')));

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function formatLabels(labels: LabelPairs): string {
  if (labels.length === 0) return '';
  let s = '{';
  for (let i = 0; i < labels.length; i++) {
    const [k, v] = labels[i]!;
    s += `${i ? ',' : ''}${k}="${escapeLabelValue(v)}"`;
  }
  return `${s}}`;
}

/** One family, every line ending with \n. */
export function renderFamily(f: ExpoFamily, format: Format, out: string[]): void {
  const om = format === 'openmetrics';
  const declared = f.type === 'counter' && !om ? `${f.name}_total` : f.name;
  const type = f.type === 'untyped' && om ? 'unknown' : f.type;
  if (f.help) out.push(`# HELP ${declared} ${escapeHelp(f.help, format)}\n`);
  out.push(`# TYPE ${declared} ${type}\n`);
  for (const s of f.samples) {
    let line = `${f.name}${s.suffix}${formatLabels(s.labels)} ${formatValue(s.value)}`;
    if (om && s.exemplar) {
      line += ` # ${formatLabels(s.exemplar.labels) || '{}'} ${formatValue(s.exemplar.value)}`;
      if (s.exemplar.timestamp !== undefined) line += ` ${s.exemplar.timestamp.toFixed(3)}`;
    }
    out.push(`${line}\n`);
  }
}

export function render(families: Iterable<ExpoFamily>, format: Format): string {
  const out: string[] = [];
  for (const f of families) renderFamily(f, format, out);
  if (format === 'openmetrics') out.push('# EOF\n');
  return out.join('');
}

/**
 * Whether the Accept header prefers OpenMetrics (Prometheus asks for it first with q=1 and for
 * text/plain at q=0.5). Without an Accept header, text.
 */
export function negotiate(accept: string | undefined, openMetricsEnabled: boolean): Format {
  if (!openMetricsEnabled || !accept) return 'text';
  let om = 0;
  let other = 0;
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    if (type === 'application/openmetrics-text') om = Math.max(om, q);
    else other = Math.max(other, q);
  }
  return om > 0 && om >= other ? 'openmetrics' : 'text';
}
