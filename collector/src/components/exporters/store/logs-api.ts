// GET /api/logs: recent log lines, newest first, filtered by service, minimum level, time, trace id and substring.
// The alert engine reads it for evidence.
import { ParamError } from './go-parse.js';
import { jsonReply, type Reply } from './http-util.js';
import { LEVELS, type Level, type LogQuery, type LogStore, type StoredLog } from './log-store.js';
import { rfc3339Nano } from './values.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;

export function logsError(status: number, message: string): Reply {
  return jsonReply({ data: null, total: 0, error: message }, status);
}

/** RFC3339 (any fraction, Z or offset) or integer ms since the epoch → ns. */
export function parseLogTime(name: string, v: string): bigint {
  if (/^\d{1,16}$/.test(v)) return BigInt(v) * 1_000_000n;
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(v);
  const ms = m ? Date.parse(`${m[1]}${m[3]!.toUpperCase()}`) : Number.NaN;
  if (!m || Number.isNaN(ms)) throw new ParamError(`parameter '${name}' must be RFC3339 or milliseconds since the epoch`);
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

export function parseLogQuery(p: URLSearchParams): LogQuery {
  const q: LogQuery = { limit: DEFAULT_LIMIT };
  const service = p.get('service');
  if (service) q.service = service;
  const level = (p.get('level') ?? '').toLowerCase();
  if (level) {
    const l = level === 'warning' ? 'warn' : level;
    if (!(LEVELS as readonly string[]).includes(l)) throw new ParamError(`parameter 'level' must be one of ${LEVELS.join(', ')}`);
    q.level = l as Level;
  }
  const start = p.get('start');
  if (start) q.startNs = parseLogTime('start', start);
  const end = p.get('end');
  if (end) q.endNs = parseLogTime('end', end);
  if (q.startNs !== undefined && q.endNs !== undefined && q.startNs > q.endNs) throw new ParamError("parameter 'start' must not be after 'end'");
  const traceId = p.get('trace_id');
  if (traceId) {
    if (!/^[0-9a-fA-F]{32}$/.test(traceId)) throw new ParamError("parameter 'trace_id' must be 32 hex characters");
    q.traceId = traceId.toLowerCase();
  }
  const text = p.get('q');
  if (text) q.q = text;
  const limit = p.get('limit');
  if (limit) {
    if (!/^\d{1,6}$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_LIMIT) throw new ParamError(`parameter 'limit' must be an integer from 1 to ${MAX_LIMIT}`);
    q.limit = Number(limit);
  }
  return q;
}

export function logJson(l: StoredLog) {
  return {
    time: rfc3339Nano(l.timeNs),
    service: l.service,
    level: l.level,
    message: l.message,
    trace_id: l.traceId,
    span_id: l.spanId,
    attributes: l.attributes,
  };
}

export function handleLogs(store: LogStore, p: URLSearchParams): Reply {
  let q: LogQuery;
  try {
    q = parseLogQuery(p);
  } catch (err) {
    if (err instanceof ParamError) return logsError(400, err.message);
    throw err;
  }
  const { data, total } = store.query(q);
  return jsonReply({ data: data.map(logJson), total });
}
