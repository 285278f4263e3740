// Item-level checks after decoding. Items that break the OTLP data model (a span without a valid
// trace or span id) are rejected one by one and reported as a partial success; the rest go on.
import type { DecodedLogRecord, DecodedMetric, DecodedSpan } from '../../../otlp/types.js';
import type { Signal, SignalData } from '../../../pipeline/types.js';
import { WireSpan } from '../../../otlp/wire-span.js';

/** `s` is `length` lower-case hex digits (a loop: cheaper than a regexp for every span of every request). */
function isHexId(s: string, length: number): boolean {
  if (s.length !== length) return false;
  for (let i = 0; i < length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

export interface Checked<S extends Signal> {
  accepted: SignalData[S];
  /** Items (spans, log records, data points) rejected. */
  rejected: number;
  /** Why, naming the first rejected item; '' when nothing was rejected. */
  message: string;
}

function spanProblem(s: DecodedSpan): string | undefined {
  // the wire reader writes every id it reads as lower-case hex: only the length is left to check
  if (s instanceof WireSpan && s.traceId.length === 32 && s.spanId.length === 16 && (s.parentSpanId === undefined || s.parentSpanId.length === 16)) return undefined;
  if (!isHexId(s.traceId, 32)) return 'traceId is missing, all zero or not 16 bytes';
  if (!isHexId(s.spanId, 16)) return 'spanId is missing, all zero or not 8 bytes';
  if (s.parentSpanId !== undefined && !isHexId(s.parentSpanId, 16)) return 'parentSpanId is not 8 bytes';
  return undefined;
}

function logProblem(l: DecodedLogRecord): string | undefined {
  // trace context is optional on a log record, but when present it must be well formed
  if (l.traceId !== undefined && !isHexId(l.traceId, 32)) return 'traceId is not 16 bytes';
  if (l.spanId !== undefined && !isHexId(l.spanId, 16)) return 'spanId is not 8 bytes';
  return undefined;
}

function metricProblem(m: DecodedMetric): string | undefined {
  if (m.name === '') return 'the metric has no name';
  return undefined;
}

function check<T>(items: T[], problem: (item: T) => string | undefined, label: (item: T, i: number) => string, weight: (item: T) => number, noun: string) {
  // the usual case: every item is fine, and the decoded array goes on as it is (it is this request's own)
  let ok = 0;
  while (ok < items.length && problem(items[ok]!) === undefined) ok++;
  if (ok === items.length) return { accepted: items, rejected: 0, message: '' };
  const accepted: T[] = [];
  let rejected = 0;
  let first = '';
  items.forEach((item, i) => {
    const p = problem(item);
    if (p === undefined) return void accepted.push(item);
    rejected += weight(item);
    if (!first) first = `${label(item, i)}: ${p}`;
  });
  const message = rejected === 0 ? '' : `${rejected} ${noun} rejected; the first: ${first}`;
  return { accepted, rejected, message };
}

const quote = (s: string) => JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);

export function checkItems<S extends Signal>(signal: S, items: SignalData[S]): Checked<S> {
  switch (signal) {
    case 'traces':
      return check(items as DecodedSpan[], spanProblem, (s, i) => `span #${i} ${quote(s.name)}`, () => 1, 'spans') as Checked<S>;
    case 'logs':
      return check(items as DecodedLogRecord[], logProblem, (_l, i) => `log record #${i}`, () => 1, 'log records') as Checked<S>;
    default:
      return check(items as DecodedMetric[], metricProblem, (_m, i) => `metric #${i}`, (m) => m.dataPoints.length, 'data points') as Checked<S>;
  }
}
