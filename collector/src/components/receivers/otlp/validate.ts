// Item-level checks after decoding. Items that break the OTLP data model (a span without a valid
// trace or span id) are rejected one by one and reported as a partial success; the rest go on.
import type { DecodedLogRecord, DecodedMetric, DecodedSpan } from '../../../otlp/types.js';
import type { Signal, SignalData } from '../../../pipeline/types.js';

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;

export interface Checked<S extends Signal> {
  accepted: SignalData[S];
  /** Items (spans, log records, data points) rejected. */
  rejected: number;
  /** Why, naming the first rejected item; '' when nothing was rejected. */
  message: string;
}

function spanProblem(s: DecodedSpan): string | undefined {
  if (!TRACE_ID.test(s.traceId)) return 'traceId is missing, all zero or not 16 bytes';
  if (!SPAN_ID.test(s.spanId)) return 'spanId is missing, all zero or not 8 bytes';
  if (s.parentSpanId !== undefined && !SPAN_ID.test(s.parentSpanId)) return 'parentSpanId is not 8 bytes';
  return undefined;
}

function logProblem(l: DecodedLogRecord): string | undefined {
  // trace context is optional on a log record, but when present it must be well formed
  if (l.traceId !== undefined && !TRACE_ID.test(l.traceId)) return 'traceId is not 16 bytes';
  if (l.spanId !== undefined && !SPAN_ID.test(l.spanId)) return 'spanId is not 8 bytes';
  return undefined;
}

function metricProblem(m: DecodedMetric): string | undefined {
  if (m.name === '') return 'the metric has no name';
  return undefined;
}

function check<T>(items: T[], problem: (item: T) => string | undefined, label: (item: T, i: number) => string, weight: (item: T) => number, noun: string) {
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
