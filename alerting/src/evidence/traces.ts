// Example traces for an alert: exemplars (with a trace id) of the alert's series, from Prometheus'
// /api/v1/query_exemplars over the alert's active window, newest first.
import type { LabelSet } from '../model/labels.js';
import type { TraceEvidence } from '../model/notification.js';
import { getJson } from './fetch-json.js';

interface ExemplarsAnswer {
  status: string;
  error?: string;
  data?: { seriesLabels: LabelSet; exemplars: { labels: LabelSet; value: string; timestamp: number }[] }[];
}

/** Exemplar label names that carry the trace id (OpenTelemetry's, and the older `traceID` style). */
const TRACE_ID_LABELS = ['trace_id', 'traceID', 'traceId', 'TraceID'];

/** `http://jaeger:16686/trace/{traceId}` fills the placeholder; a bare base URL gets `/trace/<id>` (Jaeger UI and the collector's page). */
export function traceLink(template: string, traceId: string): string {
  if (template.includes('{traceId}')) return template.split('{traceId}').join(encodeURIComponent(traceId));
  return `${template.replace(/\/+$/, '')}/trace/${encodeURIComponent(traceId)}`;
}

export async function exemplarTraces(opts: {
  prometheusUrl: string;
  query: string;
  start: Date;
  end: Date;
  traceUrl: string;
  timeoutMs: number;
  signal?: AbortSignal;
}): Promise<TraceEvidence[]> {
  const url = new URL('/api/v1/query_exemplars', opts.prometheusUrl);
  url.searchParams.set('query', opts.query);
  url.searchParams.set('start', (opts.start.getTime() / 1000).toFixed(3));
  url.searchParams.set('end', (opts.end.getTime() / 1000).toFixed(3));
  const answer = await getJson<ExemplarsAnswer>(url, opts.timeoutMs, opts.signal);
  if (answer.status !== 'success') throw new Error(`Prometheus: ${answer.error ?? 'query failed'}`);
  const out: TraceEvidence[] = [];
  for (const series of answer.data ?? []) {
    for (const e of series.exemplars ?? []) {
      const key = TRACE_ID_LABELS.find((k) => e.labels?.[k]);
      const traceId = key ? e.labels[key]!.toLowerCase() : undefined;
      if (!traceId || !/^[0-9a-f]{1,32}$/.test(traceId)) continue;
      out.push({ traceId, url: traceLink(opts.traceUrl, traceId), series: series.seriesLabels, value: Number(e.value), timestamp: new Date(e.timestamp * 1000) });
    }
  }
  return out.sort((a, b) => b.timestamp.getTime() - a.timestamp.getTime());
}
