// One alerting rule's state, with Prometheus's state machine (rules/alerting.go AlertingRule.Eval):
// new series start Pending with ActiveAt=ts; Pending fires once ts-ActiveAt >= for; a Pending alert whose
// series disappears is deleted (never sent); a Firing one becomes Inactive with ResolvedAt=ts and is kept
// (and re-sent) for 15 minutes; keep_firing_for keeps it firing from the first missing evaluation
// (KeepFiringSince); too many alerts for `limit` drops them all and errors the rule.
import type { RuleDefinition } from '../config/rule-files.js';
import { fingerprint, type LabelSet } from '../model/labels.js';
import type { QuerySample } from './prometheus-query.js';
import type { SeriesSample } from './remote-write.js';
import type { GoStruct } from './template/go-value.js';
import { type AlertTemplate, alertTemplateData, compileAlertTemplate } from './template/prometheus-funcs.js';

export type AlertState = 'inactive' | 'pending' | 'firing';

/** Prometheus's resolvedRetention: resolved alerts are kept and re-sent this long. */
export const RESOLVED_RETENTION_MS = 15 * 60_000;

export interface RuleAlert {
  labels: LabelSet;
  annotations: LabelSet;
  state: AlertState;
  value: number;
  activeAt: Date;
  firedAt?: Date;
  resolvedAt?: Date;
  lastSentAt?: Date;
  validUntil?: Date;
  keepFiringSince?: Date;
}

export class RuleEvalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuleEvalError';
  }
}

export interface TemplateContext {
  externalLabels: LabelSet;
  externalURL: string;
  /** Called for each template that failed to expand (the rule keeps the "<error expanding template…>" text). */
  onTemplateError?: (rule: string, error: string) => void;
}

const ms = (d: Date | undefined): number => d?.getTime() ?? 0;

export class AlertingRule {
  readonly kind = 'alert' as const;
  /** Active alerts by fingerprint of their labels. */
  active = new Map<string, RuleAlert>();
  /** False until the group restored `for` state; ALERTS series are written only once restored. */
  restored = false;
  health: 'unknown' | 'ok' | 'err' = 'unknown';
  lastError = '';
  lastEvaluation?: Date;
  evaluationTimeMs = 0;
  /** The label and annotation templates, parsed once. */
  private readonly labelTemplates: [string, AlertTemplate][];
  private readonly annotationTemplates: [string, AlertTemplate][];

  constructor(
    readonly def: RuleDefinition,
    private readonly tmpl: TemplateContext,
  ) {
    this.labelTemplates = Object.entries(def.labels).map(([k, v]) => [k, compileAlertTemplate(def.name, v)]);
    this.annotationTemplates = Object.entries(def.annotations).map(([k, v]) => [k, compileAlertTemplate(def.name, v)]);
  }

  get name(): string {
    return this.def.name;
  }

  /** Applies one query result at `ts`; returns the ALERTS / ALERTS_FOR_STATE samples to write. Throws RuleEvalError. */
  eval(result: QuerySample[], ts: Date, limit: number, queryOffsetMs = 0): SeriesSample[] {
    const fresh = new Map<string, RuleAlert>();
    for (const s of result) {
      const { __name__: _drop, ...seriesLabels } = s.labels;
      void _drop;
      const data = alertTemplateData({ labels: s.labels, externalLabels: this.tmpl.externalLabels, externalURL: this.tmpl.externalURL, value: s.value });
      const labels: LabelSet = { ...seriesLabels };
      for (const [k, t] of this.labelTemplates) {
        const x = this.expand(t, data, ts);
        // labels.Builder.Set with an empty value deletes the label
        if (x === '') delete labels[k];
        else labels[k] = x;
      }
      labels.alertname = this.name;
      const annotations: LabelSet = {};
      for (const [k, t] of this.annotationTemplates) annotations[k] = this.expand(t, data, ts);
      const fp = fingerprint(labels);
      if (fresh.has(fp)) throw new RuleEvalError('vector contains metrics with the same labelset after applying alert labels');
      fresh.set(fp, { labels, annotations, activeAt: ts, state: 'pending', value: s.value });
    }

    for (const [fp, a] of fresh) {
      const existing = this.active.get(fp);
      if (existing && existing.state !== 'inactive') {
        existing.value = a.value;
        existing.annotations = a.annotations;
        continue;
      }
      this.active.set(fp, a);
    }

    const out: SeriesSample[] = [];
    const t = ts.getTime();
    let numActivePending = 0;
    for (const [fp, a] of this.active) {
      if (!fresh.has(fp)) {
        let keepFiring = false;
        if (a.state === 'firing' && this.def.keepFiringForMs > 0) {
          a.keepFiringSince ??= ts;
          if (t - ms(a.keepFiringSince) < this.def.keepFiringForMs) keepFiring = true;
        }
        if (a.state === 'pending' || (a.resolvedAt && t - ms(a.resolvedAt) > RESOLVED_RETENTION_MS)) this.active.delete(fp);
        if (a.state !== 'inactive' && !keepFiring) {
          a.state = 'inactive';
          a.resolvedAt = ts;
        }
        if (!keepFiring) continue;
      } else {
        a.keepFiringSince = undefined;
      }
      numActivePending++;
      if (a.state === 'pending' && t - ms(a.activeAt) >= this.def.forMs) {
        a.state = 'firing';
        a.firedAt = ts;
      }
      // after a reload that raised `for`, a firing alert that has not been active long enough is pending again
      if (a.state === 'firing' && t - ms(a.activeAt) < this.def.forMs) {
        a.state = 'pending';
        a.firedAt = undefined;
        a.lastSentAt = undefined;
        a.keepFiringSince = undefined;
      }
      if (this.restored) {
        const sampleTs = t - queryOffsetMs;
        // keys: the alert's fingerprint names both series (their labels are the alert's plus these)
        out.push({ labels: { ...a.labels, __name__: 'ALERTS', alertname: this.name, alertstate: a.state }, key: `ALERTS\xff${fp}\xff${a.state}`, value: 1, timestampMs: sampleTs });
        out.push({ labels: { ...a.labels, __name__: 'ALERTS_FOR_STATE', alertname: this.name }, key: `ALERTS_FOR_STATE\xff${fp}`, value: Math.floor(ms(a.activeAt) / 1000), timestampMs: sampleTs });
      }
    }
    if (limit > 0 && numActivePending > limit) {
      this.active = new Map();
      throw new RuleEvalError(`exceeded limit of ${limit} with ${numActivePending} alerts`);
    }
    return out;
  }

  private expand(t: AlertTemplate, data: GoStruct, ts: Date): string {
    const out = t.expand(data, ts);
    if (out.error) this.tmpl.onTemplateError?.(this.name, out.error);
    return out.result;
  }

  /** Alerts due for sending at `ts` (Alert.needsSending); marks them sent and sets ValidUntil. */
  alertsToSend(ts: Date, resendDelayMs: number, intervalMs: number): RuleAlert[] {
    const out: RuleAlert[] = [];
    const t = ts.getTime();
    for (const a of this.active.values()) {
      if (a.state === 'pending') continue;
      const resolvedSinceSend = ms(a.resolvedAt) > ms(a.lastSentAt);
      if (!resolvedSinceSend && !(ms(a.lastSentAt) + resendDelayMs < t)) continue;
      a.lastSentAt = ts;
      // allow for two evaluation or Alertmanager send failures
      a.validUntil = new Date(t + 4 * Math.max(intervalMs, resendDelayMs));
      out.push({ ...a, labels: { ...a.labels }, annotations: { ...a.annotations } });
    }
    return out;
  }

  /** The rule's state: the "highest" state of its alerts. */
  state(): AlertState {
    let s: AlertState = 'inactive';
    for (const a of this.active.values()) {
      if (a.state === 'firing') return 'firing';
      if (a.state === 'pending') s = 'pending';
    }
    return s;
  }
}
