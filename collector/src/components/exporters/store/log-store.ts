// The bounded log store: a ring of the most recent records, each reduced to what the logs API and the trace page
// show, with a per-trace list so a trace's lines are found without scanning the ring.
import type { Attributes, DecodedLogRecord } from '../../../otlp/types.js';
import { serviceOf, valueAsString } from './values.js';

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type Level = (typeof LEVELS)[number];

export interface StoredLog {
  seq: number;
  /** ns since the epoch (time, else observed time). */
  timeNs: bigint;
  service: string;
  level: Level;
  message: string;
  traceId: string;
  spanId: string;
  attributes: Attributes;
}

export interface LogQuery {
  service?: string;
  /** Minimum level. */
  level?: Level;
  startNs?: bigint;
  endNs?: bigint;
  traceId?: string;
  /** Case-insensitive substring of the message. */
  q?: string;
  limit: number;
}

const TEXT_LEVELS: Record<string, Level> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  information: 'info',
  notice: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  fatal: 'fatal',
  critical: 'fatal',
  crit: 'fatal',
  panic: 'fatal',
  alert: 'fatal',
  emergency: 'fatal',
};

/** OTLP severity number (1–24, four per level) or, when unset, the severity text → level; default info. */
export function levelOf(rec: DecodedLogRecord): Level {
  const n = rec.severityNumber;
  if (Number.isInteger(n) && n >= 1 && n <= 24) return LEVELS[Math.floor((n - 1) / 4)]!;
  return TEXT_LEVELS[(rec.severityText ?? '').trim().toLowerCase()] ?? 'info';
}

export function toStoredLog(rec: DecodedLogRecord, seq: number): StoredLog {
  let timeNs = 0n;
  try {
    timeNs = BigInt(rec.timeUnixNano !== '0' && rec.timeUnixNano ? rec.timeUnixNano : rec.observedTimeUnixNano || '0');
  } catch {
    timeNs = 0n;
  }
  return {
    seq,
    timeNs,
    service: serviceOf(rec.resource),
    level: levelOf(rec),
    message: valueAsString(rec.body),
    traceId: rec.traceId ?? '',
    spanId: rec.spanId ?? '',
    attributes: rec.attributes,
  };
}

export class LogStore {
  private readonly ring: (StoredLog | undefined)[];
  private next = 0;
  private count = 0;
  private seq = 0;
  private readonly byTrace = new Map<string, StoredLog[]>();

  constructor(private readonly capacity: number) {
    this.ring = new Array<StoredLog | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** The oldest record still kept (persistence retires segments whose records are all older). */
  get oldestSeq(): number {
    return this.count === 0 ? this.seq + 1 : this.seq - this.count + 1;
  }

  /** The seq of the newest record (0 before any). */
  get lastSeq(): number {
    return this.seq;
  }

  /** Adds records; returns how many older ones the ring overwrote. */
  add(records: readonly DecodedLogRecord[]): number {
    let evicted = 0;
    for (const rec of records) {
      const log = toStoredLog(rec, ++this.seq);
      const old = this.ring[this.next];
      if (old) {
        this.unlistTrace(old);
        evicted++;
      } else this.count++;
      this.ring[this.next] = log;
      this.next = (this.next + 1) % this.capacity;
      if (log.traceId) {
        const list = this.byTrace.get(log.traceId);
        if (list) list.push(log);
        else this.byTrace.set(log.traceId, [log]);
      }
    }
    return evicted;
  }

  /** Records of one trace, oldest first by time. */
  ofTrace(traceId: string): StoredLog[] {
    return [...(this.byTrace.get(traceId) ?? [])].sort(byTimeAsc);
  }

  /** Matching records newest first (by time), at most `limit`, and how many matched in all. */
  query(q: LogQuery): { data: StoredLog[]; total: number } {
    const source = q.traceId ? (this.byTrace.get(q.traceId) ?? []) : this.inOrder();
    const min = q.level ? LEVELS.indexOf(q.level) : 0;
    const needle = q.q?.toLowerCase();
    const hits = source.filter(
      (l) =>
        (!q.service || l.service === q.service) &&
        LEVELS.indexOf(l.level) >= min &&
        (q.startNs === undefined || l.timeNs >= q.startNs) &&
        (q.endNs === undefined || l.timeNs <= q.endNs) &&
        (!needle || l.message.toLowerCase().includes(needle)),
    );
    hits.sort((a, b) => -byTimeAsc(a, b));
    return { data: hits.slice(0, q.limit), total: hits.length };
  }

  /** Every record, oldest first. */
  inOrder(): StoredLog[] {
    const out: StoredLog[] = [];
    for (let i = 0; i < this.capacity; i++) {
      const l = this.ring[(this.next + i) % this.capacity];
      if (l) out.push(l);
    }
    return out;
  }

  private unlistTrace(old: StoredLog): void {
    if (!old.traceId) return;
    const list = this.byTrace.get(old.traceId);
    if (!list) return;
    // the overwritten record is the oldest overall, so the first of its trace's list
    if (list[0] === old) list.shift();
    else list.splice(list.indexOf(old), 1);
    if (list.length === 0) this.byTrace.delete(old.traceId);
  }
}

const LEVEL_SEVERITY: Record<Level, number> = { trace: 1, debug: 5, info: 9, warn: 13, error: 17, fatal: 21 };

/** A stored line as a log record again (for the persistence snapshot): replaying it yields the same line. */
export function toRecord(l: StoredLog): DecodedLogRecord {
  const t = l.timeNs.toString();
  const rec: DecodedLogRecord = {
    timeUnixNano: t,
    observedTimeUnixNano: t,
    severityNumber: LEVEL_SEVERITY[l.level],
    severityText: l.level.toUpperCase(),
    body: l.message,
    attributes: l.attributes,
    flags: 0,
    resource: { attributes: l.service ? { 'service.name': l.service } : {} },
    scope: { name: '', attributes: {} },
  };
  if (l.traceId) rec.traceId = l.traceId;
  if (l.spanId) rec.spanId = l.spanId;
  return rec;
}

function byTimeAsc(a: StoredLog, b: StoredLog): number {
  return a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : a.seq - b.seq;
}
