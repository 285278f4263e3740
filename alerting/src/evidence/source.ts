// Evidence for a notification: example traces (exemplars of the alert's series) and the service's recent
// error lines. Everything here is best effort and bounded in time: a failure becomes a note in the
// message ("Prometheus unreachable"), never an exception that would hold up the notification.
import type { Alert } from '../model/alert.js';
import type { Evidence, LogEvidence, TraceEvidence } from '../model/notification.js';
import { exemplarQueryFor } from './exemplar-query.js';
import { fetchErrorLogs, type LogSourceConfig } from './logs.js';
import { exemplarTraces } from './traces.js';

export interface EvidenceLimits {
  /** Example traces per message. */
  traces: number;
  /** Error lines per message. */
  logs: number;
  /** Per HTTP request. */
  timeoutMs: number;
  /** How far before an alert's start to look (exemplars and logs that led to it). */
  lookbackMs: number;
  /** The longest window queried, ending at the alert's end (or now). */
  maxWindowMs: number;
  /** Distinct exemplar queries / services looked up per notification. */
  maxLookups: number;
}

export const DEFAULT_EVIDENCE_LIMITS: EvidenceLimits = { traces: 3, logs: 5, timeoutMs: 3000, lookbackMs: 10 * 60_000, maxWindowMs: 60 * 60_000, maxLookups: 3 };

export interface EvidenceSourceOptions {
  /** Prometheus for exemplars; absent = no traces. */
  prometheusUrl?: string;
  /** `http://127.0.0.1:16686/trace/{traceId}`, or a Jaeger UI / collector base URL. */
  traceUrl?: string;
  logs?: LogSourceConfig;
  limits?: Partial<EvidenceLimits>;
  now?: () => Date;
}

export interface EvidenceSource {
  evidenceFor(alerts: Alert[], signal?: AbortSignal): Promise<Evidence>;
}

/** Service names in label order of preference. */
const SERVICE_LABELS = ['service', 'service_name', 'job'];

export const serviceOf = (a: Pick<Alert, 'labels'>): string | undefined => SERVICE_LABELS.map((k) => a.labels[k]).find((v) => !!v);

function windowOf(alerts: Alert[], now: Date, limits: EvidenceLimits): { start: Date; end: Date } {
  const firstStart = Math.min(...alerts.map((a) => a.startsAt.getTime()));
  const lastEnd = Math.max(...alerts.map((a) => Math.min(a.endsAt.getTime(), now.getTime())));
  const end = Math.max(lastEnd, firstStart);
  const start = Math.max(firstStart - limits.lookbackMs, end - limits.maxWindowMs);
  return { start: new Date(start), end: new Date(end) };
}

const reason = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export function createEvidenceSource(opts: EvidenceSourceOptions): EvidenceSource {
  const limits: EvidenceLimits = { ...DEFAULT_EVIDENCE_LIMITS, ...opts.limits };
  const now = opts.now ?? (() => new Date());

  async function traces(alerts: Alert[], notes: string[], signal?: AbortSignal): Promise<TraceEvidence[]> {
    if (!opts.prometheusUrl || !opts.traceUrl || limits.traces <= 0) return [];
    // one lookup per distinct query: alerts of one group usually share their expression
    const byQuery = new Map<string, { broad?: string; alerts: Alert[] }>();
    for (const a of alerts) {
      const q = exemplarQueryFor(a);
      if (!q) continue;
      const entry = byQuery.get(q.query) ?? { broad: q.broad, alerts: [] };
      entry.alerts.push(a);
      byQuery.set(q.query, entry);
    }
    const lookups = [...byQuery.entries()].slice(0, limits.maxLookups);
    const results = await Promise.all(
      lookups.map(async ([query, { broad, alerts: group }]) => {
        const { start, end } = windowOf(group, now(), limits);
        const base = { prometheusUrl: opts.prometheusUrl!, start, end, traceUrl: opts.traceUrl!, timeoutMs: limits.timeoutMs, signal };
        try {
          const found = await exemplarTraces({ ...base, query });
          // the alert's labels may not all be series labels: fall back to the selector as written
          return found.length || !broad ? found : await exemplarTraces({ ...base, query: broad });
        } catch (err) {
          notes.push(`example traces unavailable (exemplars from Prometheus): ${reason(err)}`);
          return [];
        }
      }),
    );
    const seen = new Set<string>();
    return results
      .flat()
      .sort((a, b) => b.timestamp.getTime() - a.timestamp.getTime())
      .filter((t) => !seen.has(t.traceId) && !!seen.add(t.traceId))
      .slice(0, limits.traces);
  }

  async function logs(alerts: Alert[], notes: string[], signal?: AbortSignal): Promise<LogEvidence[]> {
    if (!opts.logs || limits.logs <= 0) return [];
    const byService = new Map<string, Alert[]>();
    for (const a of alerts) {
      const s = serviceOf(a);
      if (s) byService.set(s, [...(byService.get(s) ?? []), a]);
    }
    const results = await Promise.all(
      [...byService.entries()].slice(0, limits.maxLookups).map(async ([service, group]) => {
        const { start } = windowOf(group, now(), limits);
        try {
          return await fetchErrorLogs(opts.logs!, { service, start, end: now(), limit: limits.logs, timeoutMs: limits.timeoutMs, signal });
        } catch (err) {
          notes.push(`recent error logs of ${service} unavailable (${opts.logs!.kind}): ${reason(err)}`);
          return [];
        }
      }),
    );
    return results
      .flat()
      .sort((a, b) => b.time.getTime() - a.time.getTime())
      .slice(0, limits.logs);
  }

  return {
    async evidenceFor(alerts, signal) {
      const notes: string[] = [];
      if (alerts.length === 0) return { traces: [], logs: [], notes };
      const [t, l] = await Promise.all([traces(alerts, notes, signal), logs(alerts, notes, signal)]);
      return { traces: t, logs: l, notes };
    },
  };
}
