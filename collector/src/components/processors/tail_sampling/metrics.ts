// The processor's own metrics, named as contrib's (documentation.md) with Prometheus' _total on counters. Created
// get-or-create through host.telemetry, so a reload's new instance keeps adding to the same series.
import type { SelfTelemetry } from '../../../telemetry/self.js';
import type { DecisionStats } from './decide.js';
import { Decision, DECISION_COUNT } from './policies.js';

const P = 'otelcol_processor_tail_sampling_';
const BASE = ['processor', 'pipeline'];

const DECISION_LABELS: Record<Decision, { sampled: string; decision: string }> = {
  [Decision.NotSampled]: { sampled: 'false', decision: 'not_sampled' },
  [Decision.Sampled]: { sampled: 'true', decision: 'sampled' },
  [Decision.InvertNotSampled]: { sampled: 'false', decision: 'not_sampled' },
  [Decision.InvertSampled]: { sampled: 'true', decision: 'sampled' },
  [Decision.Dropped]: { sampled: 'false', decision: 'dropped' },
};

/** What happened since the last tick, added to the metrics in one go. */
export interface TickCounts {
  sampled: number;
  notSampled: number;
  tooEarly: number;
  droppedSpans: number;
  newTraces: number;
}

export const emptyCounts = (): TickCounts => ({ sampled: 0, notSampled: 0, tooEarly: 0, droppedSpans: 0, newTraces: 0 });

export function tailSamplingMetrics(t: SelfTelemetry, id: string, pipeline: string) {
  const base = { processor: id, pipeline };
  const processor = t.processor(id, pipeline);
  const byPolicy = t.counter(`${P}count_traces_sampled_total`, 'Traces per policy vote', [...BASE, 'policy', 'sampled', 'decision']);
  const global = t.counter(`${P}global_count_traces_sampled_total`, 'Traces decided, by final decision', [...BASE, 'sampled']);
  const tooEarly = t.counter(
    `${P}sampling_trace_dropped_too_early_total`,
    'Traces decided before decision_wait because num_traces or max_spans was reached (decided early, not lost)',
    BASE,
  );
  const late = t.counter(`${P}early_releases_from_cache_decision_total`, 'Late spans that followed their trace\'s cached decision', [...BASE, 'sampled']);
  const newTraces = t.counter(`${P}new_trace_id_received_total`, 'Traces seen for the first time', BASE);
  const evalErrors = t.counter(`${P}sampling_policy_evaluation_error_total`, 'Policy evaluations that threw', BASE);
  const lost = t.counter(`${P}forward_failed_spans_total`, 'Sampled spans the next stage never accepted (given up)', BASE);
  const onMemory = t.gauge(`${P}sampling_traces_on_memory`, 'Traces awaiting a decision', BASE);
  const spansOnMemory = t.gauge(`${P}sampling_spans_on_memory`, 'Spans awaiting a decision', BASE);
  const pendingForward = t.gauge(`${P}pending_forward_spans`, 'Sampled spans not yet accepted by the next stage', BASE);
  const tickLatency = t.histogram(`${P}sampling_decision_timer_latency`, 'Time of one decision tick, in ms', BASE, [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500]);

  return {
    /** Adds a tick's votes and counts, then clears them. */
    record(stats: DecisionStats, counts: TickCounts): void {
      for (let i = 0; i < stats.policyNames.length; i++) {
        for (let d = 0; d < DECISION_COUNT; d++) {
          const n = stats.votes[i * DECISION_COUNT + d]!;
          if (n > 0) byPolicy.inc({ ...base, policy: stats.policyNames[i]!, ...DECISION_LABELS[d as Decision] }, n);
        }
      }
      if (stats.evaluationErrors > 0) evalErrors.inc(base, stats.evaluationErrors);
      stats.reset();
      if (counts.sampled > 0) global.inc({ ...base, sampled: 'true' }, counts.sampled);
      if (counts.notSampled > 0) global.inc({ ...base, sampled: 'false' }, counts.notSampled);
      if (counts.tooEarly > 0) tooEarly.inc(base, counts.tooEarly);
      if (counts.droppedSpans > 0) processor.dropped('traces', counts.droppedSpans);
      if (counts.newTraces > 0) newTraces.inc(base, counts.newTraces);
      Object.assign(counts, emptyCounts());
    },
    late(sampled: boolean, spans: number): void {
      late.inc({ ...base, sampled: String(sampled) }, spans);
      if (!sampled) processor.dropped('traces', spans);
    },
    lost(spans: number): void {
      lost.inc(base, spans);
    },
    memory(traces: number, spans: number, forward: number): void {
      onMemory.set(base, traces);
      spansOnMemory.set(base, spans);
      pendingForward.set(base, forward);
    },
    tickTook(ms: number): void {
      tickLatency.observe(base, ms);
    },
  };
}

export type TailSamplingMetrics = ReturnType<typeof tailSamplingMetrics>;
