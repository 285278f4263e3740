// Splits a batch into chunks of at most `max` items. Items are spans, log records or metric data
// points; a metric with more points than fit is split into copies carrying a slice of its points
// (the original is shared with other pipelines and is never modified).
import type { DecodedMetric } from '../../../otlp/types.js';
import { itemCount, type Signal, type SignalData } from '../../../pipeline/types.js';

/** A chunk and the item range [start, end) of the batch it carries. */
export interface Chunk<S extends Signal> {
  data: SignalData[S];
  start: number;
  end: number;
}

export function split<S extends Signal>(signal: S, data: SignalData[S], max: number): Chunk<S>[] {
  if (max <= 0) return [{ data, start: 0, end: itemCount(signal, data) }];
  if (signal === 'metrics') return splitMetrics(data as DecodedMetric[], max) as Chunk<S>[];
  const chunks: Chunk<S>[] = [];
  for (let start = 0; start < data.length; start += max) {
    const end = Math.min(start + max, data.length);
    chunks.push({ data: data.slice(start, end) as SignalData[S], start, end });
  }
  return chunks;
}

function splitMetrics(metrics: DecodedMetric[], max: number): Chunk<'metrics'>[] {
  const chunks: Chunk<'metrics'>[] = [];
  let current: Chunk<'metrics'> = { data: [], start: 0, end: 0 };
  const close = () => {
    chunks.push(current);
    current = { data: [], start: current.end, end: current.end };
  };
  for (const m of metrics) {
    const points = m.dataPoints.length;
    if (current.end - current.start + points <= max) {
      current.data.push(m);
      current.end += points;
      if (current.end - current.start === max) close();
      continue;
    }
    for (let from = 0; from < points; ) {
      const room = max - (current.end - current.start);
      const to = Math.min(points, from + room);
      current.data.push(withPoints(m, from, to));
      current.end += to - from;
      from = to;
      if (current.end - current.start === max) close();
    }
  }
  if (current.data.length > 0) chunks.push(current);
  return chunks;
}

/** A copy of `m` carrying points [from, to); the whole metric when that is all of them. */
function withPoints(m: DecodedMetric, from: number, to: number): DecodedMetric {
  if (from === 0 && to === m.dataPoints.length) return m;
  return { ...m, dataPoints: m.dataPoints.slice(from, to) } as DecodedMetric;
}
