// A recording rule (rules/recording.go): each output sample is renamed to `record`, the rule's labels are
// applied (an empty value removes the label), and the result is written back through remote write.
import type { RuleDefinition } from '../config/rule-files.js';
import { fingerprint, type LabelSet } from '../model/labels.js';
import type { QuerySample } from './prometheus-query.js';
import type { SeriesSample } from './remote-write.js';
import { RuleEvalError } from './alerting-rule.js';

export class RecordingRule {
  readonly kind = 'record' as const;
  health: 'unknown' | 'ok' | 'err' = 'unknown';
  lastError = '';
  lastEvaluation?: Date;
  evaluationTimeMs = 0;

  constructor(readonly def: RuleDefinition) {}

  get name(): string {
    return this.def.name;
  }

  eval(result: QuerySample[], ts: Date, limit: number, queryOffsetMs = 0): SeriesSample[] {
    const out: SeriesSample[] = [];
    const seen = new Set<string>();
    for (const s of result) {
      const labels: LabelSet = { ...s.labels, __name__: this.name };
      for (const [k, v] of Object.entries(this.def.labels)) {
        if (v === '') delete labels[k];
        else labels[k] = v;
      }
      const fp = fingerprint(labels);
      if (seen.has(fp)) throw new RuleEvalError('vector contains metrics with the same labelset after applying rule labels');
      seen.add(fp);
      out.push({ labels, key: fp, value: s.value, timestampMs: ts.getTime() - queryOffsetMs });
    }
    if (limit > 0 && out.length > limit) throw new RuleEvalError(`exceeded limit of ${limit} with ${out.length} series`);
    return out;
  }
}
