import { TraceFlags, trace, type SpanContext } from '@opentelemetry/api';
import type { Histogram, LabelValues } from 'prom-client';

export interface ExemplarLabels {
  trace_id: string;
  span_id: string;
}

/**
 * Exemplar labels for the active span, or undefined when there is none or it is not sampled: an
 * exemplar pointing at a trace that was never exported would lead on-call to a dead end.
 */
export function activeExemplarLabels(): ExemplarLabels | undefined {
  return exemplarLabelsOf(trace.getActiveSpan()?.spanContext());
}

/** Exemplar labels for a span context already at hand (same rule: sampled spans only). */
export function exemplarLabelsOf(sc: SpanContext | undefined): ExemplarLabels | undefined {
  if (sc === undefined || (sc.traceFlags & TraceFlags.SAMPLED) === 0) return undefined;
  return { trace_id: sc.traceId, span_id: sc.spanId };
}

/**
 * One observation, with the active span as exemplar when sampled. Works whether or not the
 * histogram was created with `enableExemplars` (prom-client changes `observe`'s signature with it).
 */
/** `exemplar`: undefined = the active span's, null = none (the caller captured it earlier and there was none). */
export function observeWithExemplar<L extends string>(
  histogram: Histogram<L>,
  labels: LabelValues<L>,
  value: number,
  exemplar?: ExemplarLabels | null,
): void {
  if ((histogram as unknown as { enableExemplars?: boolean }).enableExemplars !== true) {
    histogram.observe(labels, value);
    return;
  }
  const exemplarLabels = exemplar === undefined ? activeExemplarLabels() : exemplar;
  if (exemplarLabels) histogram.observe({ labels, value, exemplarLabels: exemplarLabels as unknown as LabelValues<L> });
  else histogram.observe({ labels, value });
}
