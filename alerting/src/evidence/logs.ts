// Recent error lines of the alerting service: from the collector's store (GET /api/logs, level error and
// above) or from Loki (query_range with a line filter).
import type { LogEvidence } from '../model/notification.js';
import { getJson } from './fetch-json.js';

export type LogSourceConfig =
  | { kind: 'collector'; url: string }
  /** `serviceLabel`: the stream label naming the service (the collector's loki exporter writes service_name). */
  | { kind: 'loki'; url: string; serviceLabel?: string };

export interface LogFetch {
  service: string;
  start: Date;
  end: Date;
  limit: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

interface CollectorAnswer {
  data: { time: string; service: string; level: string; message: string; trace_id?: string }[] | null;
  error?: string;
}

async function collectorLogs(url: string, f: LogFetch): Promise<LogEvidence[]> {
  const u = new URL('/api/logs', url);
  u.searchParams.set('service', f.service);
  u.searchParams.set('level', 'error');
  u.searchParams.set('start', String(f.start.getTime()));
  u.searchParams.set('end', String(f.end.getTime()));
  u.searchParams.set('limit', String(f.limit));
  const answer = await getJson<CollectorAnswer>(u, f.timeoutMs, f.signal);
  return (answer.data ?? []).map((l) => ({
    time: new Date(l.time),
    service: l.service,
    level: l.level,
    message: l.message,
    ...(l.trace_id ? { traceId: l.trace_id } : {}),
  }));
}

interface LokiAnswer {
  status: string;
  data?: { resultType: string; result: { stream: Record<string, string>; values: [string, string][] }[] };
}

/** Case-insensitive error-ish words; `level=error` in logfmt and `"level":"error"` in JSON lines match too. */
export const LOKI_ERROR_FILTER = '(?i)(error|fatal|panic|exception)';

export function lokiQuery(serviceLabel: string, service: string): string {
  return `{${serviceLabel}=${JSON.stringify(service)}} |~ ${JSON.stringify(LOKI_ERROR_FILTER)}`;
}

async function lokiLogs(url: string, serviceLabel: string, f: LogFetch): Promise<LogEvidence[]> {
  const u = new URL('/loki/api/v1/query_range', url);
  u.searchParams.set('query', lokiQuery(serviceLabel, f.service));
  u.searchParams.set('start', `${f.start.getTime()}000000`);
  u.searchParams.set('end', `${f.end.getTime()}000000`);
  u.searchParams.set('limit', String(f.limit));
  u.searchParams.set('direction', 'backward');
  const answer = await getJson<LokiAnswer>(u, f.timeoutMs, f.signal);
  const out: LogEvidence[] = [];
  for (const s of answer.data?.result ?? []) {
    for (const [ns, line] of s.values) {
      out.push({
        time: new Date(Number(BigInt(ns) / 1_000_000n)),
        service: s.stream[serviceLabel] ?? f.service,
        level: s.stream.level ?? s.stream.detected_level ?? 'error',
        message: line,
        ...(s.stream.trace_id ? { traceId: s.stream.trace_id } : {}),
      });
    }
  }
  return out;
}

export function fetchErrorLogs(source: LogSourceConfig, f: LogFetch): Promise<LogEvidence[]> {
  return source.kind === 'collector' ? collectorLogs(source.url, f) : lokiLogs(source.url, source.serviceLabel ?? 'service_name', f);
}
