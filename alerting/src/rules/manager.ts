// The rule manager: loads rule files, runs each group on its interval against Prometheus, sends alerts to
// an AlertSink, writes ALERTS/ALERTS_FOR_STATE and recording results through remote write, and answers
// Prometheus's /api/v1/rules shape. load() is also the reload: a bad file throws ConfigError and the rules
// already running stay; groups that survive a reload keep their alerts (Group.CopyState).
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { loadRuleFiles } from '../config/rule-files.js';
import { type Clock, systemClock } from '../model/clock.js';
import type { LabelSet } from '../model/labels.js';
import type { AlertSink } from '../model/stores.js';
import { AlertingRule } from './alerting-rule.js';
import { type GroupContext, type GroupMetrics, RuleGroup } from './group.js';
import { PrometheusQuerier } from './prometheus-query.js';
import { RemoteWriter } from './remote-write.js';
import { formatFloat } from './template/go-format.js';

export interface RuleManagerOptions {
  /** Rule files; a `*` in the file name is a glob, as in Prometheus's rule_files. */
  files: string[];
  /** Prometheus to query (GET /api/v1/query). */
  prometheusUrl: string;
  /** Where ALERTS, ALERTS_FOR_STATE and recording results are written. Default `<prometheusUrl>/api/v1/write`. */
  remoteWriteUrl?: string;
  /** $externalURL in templates and the base of generatorURL (Prometheus's --web.external-url). Default prometheusUrl. */
  externalUrl?: string;
  /** $externalLabels in templates; added to sent alerts that lack them. */
  externalLabels?: LabelSet;
  sink: AlertSink;
  clock?: Clock;
  logger: Logger;
  registry: Registry;
  /** Interval of groups without their own (Prometheus's global evaluation_interval). Default 1m. */
  evaluationIntervalMs?: number;
  /** --rules.alert.resend-delay. Default 1m. */
  resendDelayMs?: number;
  /** --rules.alert.for-outage-tolerance. Default 1h. */
  outageToleranceMs?: number;
  /** --rules.alert.for-grace-period. Default 10m. */
  forGracePeriodMs?: number;
  /** Per query. Default 30s. */
  queryTimeoutMs?: number;
  /**
   * Queries in flight at most, across all groups (the connections to Prometheus). Rules of a group that do
   * not read each other's output are evaluated side by side up to this bound. Default 16; 1 evaluates every
   * rule one after another.
   */
  queryConcurrency?: number;
}

/** One rule in Prometheus's /api/v1/rules shape. */
export interface ApiRule {
  type: 'alerting' | 'recording';
  name: string;
  query: string;
  duration?: number;
  keepFiringFor?: number;
  labels: LabelSet;
  annotations?: LabelSet;
  alerts?: ApiAlert[];
  state?: 'inactive' | 'pending' | 'firing';
  health: 'unknown' | 'ok' | 'err';
  lastError?: string;
  evaluationTime: number;
  lastEvaluation: string;
}
export interface ApiAlert {
  labels: LabelSet;
  annotations: LabelSet;
  state: 'pending' | 'firing';
  activeAt: string;
  keepFiringSince?: string;
  value: string;
}
export interface ApiGroup {
  name: string;
  file: string;
  rules: ApiRule[];
  interval: number;
  limit: number;
  evaluationTime: number;
  lastEvaluation: string;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

function metric<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

function buildMetrics(registry: Registry): GroupMetrics & { rules: Gauge } {
  const evals = metric(registry, 'lantern_rule_evaluations_total', () => new Counter({ name: 'lantern_rule_evaluations_total', help: 'Rule evaluations.', labelNames: ['rule_group'], registers: [registry] }));
  const failures = metric(registry, 'lantern_rule_evaluation_failures_total', () => new Counter({ name: 'lantern_rule_evaluation_failures_total', help: 'Rule evaluations that failed (query error, limit, duplicate labels).', labelNames: ['rule_group'], registers: [registry] }));
  const duration = metric(registry, 'lantern_rule_group_last_duration_seconds', () => new Gauge({ name: 'lantern_rule_group_last_duration_seconds', help: 'Duration of the last evaluation of the group.', labelNames: ['rule_group'], registers: [registry] }));
  const rules = metric(registry, 'lantern_rule_group_rules', () => new Gauge({ name: 'lantern_rule_group_rules', help: 'Rules in the group.', labelNames: ['rule_group'], registers: [registry] }));
  const rw = metric(registry, 'lantern_rule_remote_write_failures_total', () => new Counter({ name: 'lantern_rule_remote_write_failures_total', help: 'Remote writes of rule results that failed after retries.', registers: [registry] }));
  const send = metric(registry, 'lantern_rule_alert_send_failures_total', () => new Counter({ name: 'lantern_rule_alert_send_failures_total', help: 'Batches of alerts the sink refused.', registers: [registry] }));
  return {
    rules,
    evaluation: (g) => evals.inc({ rule_group: g }),
    failure: (g) => failures.inc({ rule_group: g }),
    lastDuration: (g, s) => duration.set({ rule_group: g }, s),
    remoteWriteFailure: () => rw.inc(),
    sendFailure: () => send.inc(),
  };
}

const iso = (d: Date | undefined): string => (d ? d.toISOString() : ZERO_TIME);

export class RuleManager {
  private groups: RuleGroup[] = [];
  private running = false;
  private loaded = false;
  private readonly ctx: GroupContext;
  private readonly metrics: ReturnType<typeof buildMetrics>;
  private readonly intervalMs: number;

  constructor(private readonly opts: RuleManagerOptions) {
    this.metrics = buildMetrics(opts.registry);
    this.intervalMs = opts.evaluationIntervalMs ?? 60_000;
    const base = opts.prometheusUrl.replace(/\/$/, '');
    this.ctx = {
      querier: new PrometheusQuerier(base, opts.queryTimeoutMs ?? 30_000, opts.queryConcurrency ?? 16),
      writer: new RemoteWriter({ url: opts.remoteWriteUrl ?? `${base}/api/v1/write` }),
      sink: opts.sink,
      clock: opts.clock ?? systemClock,
      logger: opts.logger,
      metrics: this.metrics,
      externalURL: opts.externalUrl ?? base,
      externalLabels: opts.externalLabels ?? {},
      resendDelayMs: opts.resendDelayMs ?? 60_000,
      outageToleranceMs: opts.outageToleranceMs ?? 3_600_000,
      forGracePeriodMs: opts.forGracePeriodMs ?? 600_000,
    };
  }

  /** Loads (or reloads) the rule files. Throws ConfigError and keeps the current rules when a file is bad. */
  async load(): Promise<void> {
    const defs = await loadRuleFiles(this.opts.files);
    const next = defs.map((d) => new RuleGroup(d, this.intervalMs, this.ctx));
    const old = new Map(this.groups.map((g) => [g.key, g]));
    for (const g of next) {
      const prev = old.get(g.key);
      if (prev) {
        await prev.stop();
        g.copyState(prev);
        old.delete(g.key);
      } else if (this.loaded) {
        // like Prometheus's manager: only the first load restores `for` state; groups added by a reload start fresh
        g.shouldRestore = false;
        for (const r of g.rules) if (r instanceof AlertingRule) r.restored = true;
      }
    }
    for (const g of old.values()) {
      await g.stop();
      this.metrics.rules.remove({ rule_group: g.key });
    }
    this.groups = next;
    this.loaded = true;
    for (const g of next) this.metrics.rules.set({ rule_group: g.key }, g.rules.length);
    if (this.running) for (const g of next) g.start();
    this.opts.logger.info({ groups: next.length, rules: next.reduce((n, g) => n + g.rules.length, 0) }, 'rules loaded');
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const g of this.groups) g.start();
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.groups.map((g) => g.stop()));
    await this.ctx.querier.close();
  }

  /** The groups in Prometheus's GET /api/v1/rules `data.groups` shape. */
  listGroups(): ApiGroup[] {
    return this.groups.map((g) => ({
      name: g.def.name,
      file: g.def.file,
      interval: g.intervalMs / 1000,
      limit: g.def.limit,
      evaluationTime: g.evaluationTimeMs / 1000,
      lastEvaluation: iso(g.lastEvaluation),
      rules: g.rules.map((r): ApiRule => {
        const common = {
          name: r.name,
          query: r.def.expr,
          labels: r.def.labels,
          health: r.health,
          lastError: r.lastError || undefined,
          evaluationTime: r.evaluationTimeMs / 1000,
          lastEvaluation: iso(r.lastEvaluation),
        };
        if (!(r instanceof AlertingRule)) return { type: 'recording', ...common };
        return {
          type: 'alerting',
          state: r.state(),
          duration: r.def.forMs / 1000,
          keepFiringFor: r.def.keepFiringForMs / 1000,
          annotations: r.def.annotations,
          alerts: [...r.active.values()]
            .filter((a) => a.state !== 'inactive')
            .map((a) => ({
              labels: a.labels,
              annotations: a.annotations,
              state: a.state as 'pending' | 'firing',
              activeAt: a.activeAt.toISOString(),
              ...(a.keepFiringSince ? { keepFiringSince: a.keepFiringSince.toISOString() } : {}),
              value: formatFloat(a.value, 'e', -1),
            })),
          ...common,
        };
      }),
    }));
  }
}
