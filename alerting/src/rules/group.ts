// A rule group on its interval (rules/group.go): evaluations are slotted at a per-group offset (a hash of
// file and name) so groups do not all query at once; rules that do not read each other's output run side by
// side, the others in order (Prometheus's concurrent rule evaluation, rules/dependencies.ts); the due alerts
// go to the sink after the evaluation; result series (ALERTS, ALERTS_FOR_STATE, recordings) are written
// through remote write with stale markers for series that disappeared, a rule's before any rule reading it runs. On a fresh start the group evaluates twice,
// then restores `for` state from ALERTS_FOR_STATE (RestoreForState: outage tolerance, grace period).
import type { Logger } from 'pino';
import type { RuleGroupDefinition } from '../config/rule-files.js';
import type { PostableAlert } from '../model/alert.js';
import type { Clock } from '../model/clock.js';
import { fingerprint, type LabelSet } from '../model/labels.js';
import type { AlertSink } from '../model/stores.js';
import { AlertingRule, type RuleAlert } from './alerting-rule.js';
import { buildDependencyMap, evaluationBatches } from './dependencies.js';
import type { PrometheusQuerier } from './prometheus-query.js';
import { RecordingRule } from './recording-rule.js';
import { type RemoteWriter, type SeriesSample, staleNaN } from './remote-write.js';
import { graphLinkForExpression } from './template/prometheus-funcs.js';

export interface GroupMetrics {
  evaluation(group: string): void;
  failure(group: string): void;
  lastDuration(group: string, seconds: number): void;
  remoteWriteFailure(): void;
  sendFailure(): void;
}

export interface GroupContext {
  querier: PrometheusQuerier;
  writer: RemoteWriter;
  sink: AlertSink;
  clock: Clock;
  logger: Logger;
  metrics: GroupMetrics;
  externalURL: string;
  externalLabels: LabelSet;
  resendDelayMs: number;
  outageToleranceMs: number;
  forGracePeriodMs: number;
}

export type Rule = AlertingRule | RecordingRule;

interface RuleResult {
  sends: PostableAlert[];
  writes: SeriesSample[];
}

/** The samples of the given rules' results, in rule order. */
const samplesOf = (results: readonly (RuleResult | undefined)[], indexes: number[]): SeriesSample[] =>
  [...indexes].sort((a, b) => a - b).flatMap((i) => results[i]?.writes ?? []);

/** FNV-1a 64 of "file;name", the slot offset (Prometheus hashes the same two labels). */
function groupHash(file: string, name: string): bigint {
  return BigInt('0x' + fingerprint({ file, name }));
}

export class RuleGroup {
  readonly rules: Rule[];
  readonly intervalMs: number;
  lastEvaluation?: Date;
  evaluationTimeMs = 0;
  /** Per rule index: the series written last evaluation, to mark the missing ones stale. */
  private previous = new Map<number, Map<string, LabelSet>>();
  private timer?: { clear(): void };
  private running?: Promise<void>;
  private stopped = true;
  shouldRestore = true;
  /** Evaluation order: batches of rule indexes that may run side by side. */
  private readonly batches: number[][];
  /** Rules whose output a later rule of the group reads: their samples are written before that rule runs. */
  private readonly hasDependents: Set<number>;

  constructor(
    readonly def: RuleGroupDefinition,
    defaultIntervalMs: number,
    private readonly ctx: GroupContext,
  ) {
    this.intervalMs = def.intervalMs ?? defaultIntervalMs;
    this.rules = def.rules.map((r) => {
      const withGroupLabels = { ...r, labels: { ...def.labels, ...r.labels } };
      return r.kind === 'alert'
        ? new AlertingRule(withGroupLabels, {
            externalLabels: ctx.externalLabels,
            externalURL: ctx.externalURL,
            onTemplateError: (rule, error) => ctx.logger.warn({ group: def.name, rule, err: error }, 'expanding alert template failed'),
          })
        : new RecordingRule(withGroupLabels);
    });
    const refs = def.rules.map((r) => ({ kind: r.kind, name: r.name, expr: r.expr }));
    const deps = buildDependencyMap(refs);
    this.batches = evaluationBatches(refs, deps);
    this.hasDependents = new Set(deps ? [...deps].filter(([, d]) => d.length > 0).map(([i]) => i) : this.rules.map((_, i) => i));
  }

  get key(): string {
    return `${this.def.file};${this.def.name}`;
  }

  /** The start of the current slot: now aligned to the interval, shifted by the group's offset. */
  evalTimestamp(nowMs: number): number {
    const iv = BigInt(this.intervalMs);
    const offset = groupHash(this.def.file, this.def.name) % iv;
    const adj = BigInt(nowMs) - offset;
    return Number(adj - (((adj % iv) + iv) % iv) + offset);
  }

  /** Takes over the state of the group this one replaces on reload (Group.CopyState). */
  copyState(old: RuleGroup): void {
    const byKey = new Map<string, Rule[]>();
    for (const r of old.rules) {
      const k = `${r.kind}\0${r.name}\0${JSON.stringify(r.def.labels)}`;
      byKey.set(k, [...(byKey.get(k) ?? []), r]);
    }
    this.rules.forEach((r, i) => {
      const k = `${r.kind}\0${r.name}\0${JSON.stringify(r.def.labels)}`;
      const match = byKey.get(k)?.shift();
      if (!match) return;
      r.health = match.health;
      r.lastError = match.lastError;
      r.lastEvaluation = match.lastEvaluation;
      r.evaluationTimeMs = match.evaluationTimeMs;
      const prevIdx = old.rules.indexOf(match);
      const prev = old.previous.get(prevIdx);
      if (prev) this.previous.set(i, prev);
      if (r instanceof AlertingRule && match instanceof AlertingRule) {
        r.active = match.active;
        r.restored = match.restored;
      }
    });
    this.lastEvaluation = old.lastEvaluation;
    this.evaluationTimeMs = old.evaluationTimeMs;
    this.shouldRestore = false;
  }

  start(): void {
    this.stopped = false;
    const now = this.ctx.clock.now().getTime();
    let evalTs = this.evalTimestamp(now) + this.intervalMs;
    let iteration = 0;
    const schedule = (): void => {
      const delay = Math.max(0, evalTs - this.ctx.clock.now().getTime());
      this.timer = this.ctx.clock.setTimeout(() => {
        if (this.stopped) return;
        const nowMs = this.ctx.clock.now().getTime();
        const missed = Math.floor((nowMs - evalTs) / this.intervalMs);
        if (missed > 0) evalTs += missed * this.intervalMs;
        const ts = new Date(evalTs);
        iteration++;
        this.running = (async () => {
          await this.evaluate(ts);
          // like Group.run: restore after the second evaluation, when recording rules have fresh data
          if (this.shouldRestore && iteration >= 2 && !this.stopped) await this.restoreForState(this.ctx.clock.now());
        })()
          .catch((e: unknown) => this.ctx.logger.error({ group: this.def.name, err: e }, 'rule group evaluation failed'))
          .finally(() => {
            this.running = undefined;
            if (this.stopped) return;
            evalTs += this.intervalMs;
            schedule();
          });
      }, delay);
    };
    schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.clear();
    await this.running;
  }

  /**
   * One evaluation of every rule at `ts` (Group.Eval). Rules run batch by batch (rules/dependencies.ts): the
   * rules of a batch side by side, a rule that reads another rule's output after that rule's samples are
   * written, so it sees this evaluation's values as in Prometheus. Alerts go to the sink in rule order.
   */
  async evaluate(ts: Date): Promise<void> {
    const started = performance.now();
    const offset = this.def.queryOffsetMs ?? 0;
    const results: (RuleResult | undefined)[] = new Array(this.rules.length);
    let unwritten: number[] = [];
    for (const batch of this.batches) {
      await Promise.all(batch.map(async (i) => (results[i] = await this.evaluateRule(i, ts, offset))));
      unwritten.push(...batch);
      if (batch.some((i) => this.hasDependents.has(i))) {
        await this.write(samplesOf(results, unwritten));
        unwritten = [];
      }
    }
    const sends = results.flatMap((r) => r?.sends ?? []);
    await Promise.all([this.send(sends), this.write(samplesOf(results, unwritten))]);
    this.evaluationTimeMs = performance.now() - started;
    this.lastEvaluation = ts;
    this.ctx.metrics.lastDuration(this.key, this.evaluationTimeMs / 1000);
  }

  /** One rule: query, state machine, due alerts and the samples to write (stale markers included). */
  private async evaluateRule(i: number, ts: Date, offset: number): Promise<RuleResult | undefined> {
    const rule = this.rules[i]!;
    const ruleStart = performance.now();
    this.ctx.metrics.evaluation(this.key);
    let vector: SeriesSample[];
    try {
      const result = await this.ctx.querier.instant(rule.def.expr, new Date(ts.getTime() - offset));
      vector = rule.eval(result, ts, this.def.limit, offset);
    } catch (e) {
      // keep the alerts as they were: an outage of the query path must not resolve them
      rule.health = 'err';
      rule.lastError = (e as Error).message;
      this.ctx.metrics.failure(this.key);
      this.ctx.logger.warn({ group: this.def.name, rule: rule.name, err: rule.lastError }, 'evaluating rule failed');
      rule.evaluationTimeMs = performance.now() - ruleStart;
      rule.lastEvaluation = ts;
      return undefined;
    }
    rule.health = 'ok';
    rule.lastError = '';
    const sends: PostableAlert[] = [];
    if (rule instanceof AlertingRule) {
      for (const a of rule.alertsToSend(ts, this.ctx.resendDelayMs, this.intervalMs)) sends.push(this.toPostable(rule, a));
    }
    const writes: SeriesSample[] = [];
    const returned = new Map<string, LabelSet>();
    for (const s of vector) returned.set(s.key ?? fingerprint(s.labels), s.labels);
    for (const [fp, labels] of this.previous.get(i) ?? []) {
      if (!returned.has(fp)) writes.push({ labels, value: staleNaN(), timestampMs: ts.getTime() - offset });
    }
    this.previous.set(i, returned);
    for (const s of vector) writes.push(s);
    rule.evaluationTimeMs = performance.now() - ruleStart;
    rule.lastEvaluation = ts;
    return { sends, writes };
  }

  /** Prometheus's notifier payload: startsAt=FiredAt, endsAt=ResolvedAt or ValidUntil, external labels added. */
  private toPostable(rule: AlertingRule, a: RuleAlert): PostableAlert {
    const labels: LabelSet = { ...a.labels };
    for (const [k, v] of Object.entries(this.ctx.externalLabels)) if (!labels[k]) labels[k] = v;
    return {
      labels,
      annotations: a.annotations,
      startsAt: a.firedAt,
      endsAt: a.resolvedAt ?? a.validUntil,
      generatorURL: this.ctx.externalURL.replace(/\/$/, '') + graphLinkForExpression(rule.def.expr, 1),
    };
  }

  private async send(alerts: PostableAlert[]): Promise<void> {
    if (alerts.length === 0) return;
    try {
      await this.ctx.sink.send(alerts);
    } catch (e) {
      this.ctx.metrics.sendFailure();
      this.ctx.logger.error({ group: this.def.name, alerts: alerts.length, err: (e as Error).message }, 'sending alerts failed');
    }
  }

  private async write(samples: SeriesSample[]): Promise<void> {
    if (samples.length === 0) return;
    try {
      const res = await this.ctx.writer.write(samples);
      if (res.rejected) {
        // out of order / out of bounds: dropped, as Prometheus drops such appends
        this.ctx.logger.debug({ group: this.def.name, samples: samples.length, reason: res.rejected }, 'remote write rejected rule results');
      }
    } catch (e) {
      this.ctx.metrics.remoteWriteFailure();
      this.ctx.logger.warn({ group: this.def.name, samples: samples.length, err: (e as Error).message }, 'writing rule results failed');
    }
  }

  /** Group.RestoreForState, reading ALERTS_FOR_STATE back from Prometheus. */
  async restoreForState(ts: Date): Promise<void> {
    this.shouldRestore = false;
    for (const rule of this.rules) {
      if (!(rule instanceof AlertingRule)) continue;
      try {
        await this.restoreRule(rule, ts);
      } catch (e) {
        this.ctx.logger.error({ group: this.def.name, rule: rule.name, err: (e as Error).message }, "failed to restore 'for' state");
      }
      rule.restored = true;
    }
  }

  private async restoreRule(rule: AlertingRule, ts: Date): Promise<void> {
    const hold = rule.def.forMs;
    // a `for` shorter than the grace period is not restored: it simply waits `for` again
    if (hold < this.ctx.forGracePeriodMs) return;
    const matchers = [`alertname=${JSON.stringify(rule.name)}`];
    for (const [k, v] of Object.entries(rule.def.labels)) if (!v.includes('{{')) matchers.push(`${k}=${JSON.stringify(v)}`);
    const selector = `ALERTS_FOR_STATE{${matchers.join(',')}}`;
    const series = await this.ctx.querier.matrix(`${selector}[${Math.ceil(this.ctx.outageToleranceMs / 1000)}s]`, ts);
    if (series.length === 0) return;
    const byLabels = new Map<string, { t: number; v: number }>();
    for (const s of series) {
      const last = s.values[s.values.length - 1];
      if (!last) continue;
      const { __name__: _n, ...rest } = s.labels;
      void _n;
      byLabels.set(fingerprint(rest), { t: last.timestampMs, v: last.value });
    }
    // The API drops stale markers from range results; a series marked stale after its last sample is gone
    // from an instant query inside the lookback window, so those are not restored (IsStaleNaN in Prometheus).
    const live = new Set<string>();
    const lastTimes = new Set([...byLabels.values()].map((x) => x.t));
    for (const t of lastTimes) {
      const at = new Date(Math.min(ts.getTime(), t + 4 * 60_000));
      for (const s of await this.ctx.querier.instant(selector, at)) {
        const { __name__: _n, ...rest } = s.labels;
        void _n;
        live.add(fingerprint(rest));
      }
    }
    for (const a of rule.active.values()) {
      const fp = fingerprint(a.labels);
      const found = byLabels.get(fp);
      if (!found || !live.has(fp)) continue;
      const downAt = Math.floor(found.t / 1000) * 1000;
      let restoredActiveAt = Math.trunc(found.v) * 1000;
      const remaining = hold - (downAt - restoredActiveAt);
      if (remaining <= 0) {
        // it was firing when we went down; the next evaluation fires it again
      } else if (remaining < this.ctx.forGracePeriodMs) {
        restoredActiveAt = ts.getTime() + this.ctx.forGracePeriodMs - hold;
      } else {
        restoredActiveAt += ts.getTime() - downAt;
      }
      a.activeAt = new Date(restoredActiveAt);
      this.ctx.logger.debug({ rule: rule.name, labels: a.labels, activeAt: a.activeAt }, "'for' state restored");
    }
  }
}
