// Alertmanager's generic webhook: the version "4" JSON body (docs/configuration.md#webhook_config), so
// receivers written for Alertmanager keep working. max_alerts cuts the list and says how many were cut.
import type { Alert } from '../../model/alert.js';
import { type Clock, systemClock } from '../../model/clock.js';
import type { LabelSet } from '../../model/labels.js';
import type { Integration, NotificationContext } from '../../model/notification.js';
import { checkStatus, post } from './http.js';

export interface WebhookOptions {
  /** Secret (it often carries a token). */
  url: string;
  /** Alertmanager's default for webhooks is true. */
  sendResolved: boolean;
  /** 0 = all alerts. */
  maxAlerts: number;
  /** 0 = no per-request bound beyond the pipeline's. */
  timeoutMs: number;
  /** Extra request headers, e.g. Authorization from http_config. Secret values. */
  headers?: Record<string, string>;
}

export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: LabelSet;
  annotations: LabelSet;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export interface WebhookMessage {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: LabelSet;
  commonLabels: LabelSet;
  commonAnnotations: LabelSet;
  externalURL: string;
  alerts: WebhookAlert[];
}

/** Go's zero time, which Alertmanager sends as the endsAt of a firing alert (types.Alerts hides a future end). */
const ZERO_TIME = '0001-01-01T00:00:00Z';

function webhookAlert(a: Alert, now: Date): WebhookAlert {
  const resolved = a.endsAt.getTime() <= now.getTime();
  return {
    status: resolved ? 'resolved' : 'firing',
    labels: a.labels,
    annotations: a.annotations,
    startsAt: a.startsAt.toISOString(),
    endsAt: resolved ? a.endsAt.toISOString() : ZERO_TIME,
    generatorURL: a.generatorURL,
    fingerprint: a.fingerprint,
  };
}

export function webhookMessage(ctx: NotificationContext, maxAlerts: number, now: Date): WebhookMessage {
  const kept = maxAlerts > 0 ? ctx.alerts.slice(0, maxAlerts) : ctx.alerts;
  return {
    version: '4',
    groupKey: ctx.groupKey,
    truncatedAlerts: ctx.alerts.length - kept.length,
    status: ctx.status,
    receiver: ctx.receiver,
    groupLabels: ctx.groupLabels,
    commonLabels: ctx.commonLabels,
    commonAnnotations: ctx.commonAnnotations,
    externalURL: ctx.externalURL,
    alerts: kept.map((a) => webhookAlert(a, now)),
  };
}

export class WebhookIntegration implements Integration {
  readonly type = 'webhook' as const;
  readonly sendResolved: boolean;
  private readonly clock: Clock;

  constructor(
    readonly name: string,
    private readonly opts: WebhookOptions,
    deps: { clock?: Clock } = {},
  ) {
    this.sendResolved = opts.sendResolved;
    this.clock = deps.clock ?? systemClock;
  }

  async notify(ctx: NotificationContext, signal: AbortSignal): Promise<void> {
    const now = this.clock.now();
    const body = JSON.stringify(webhookMessage(ctx, this.opts.maxAlerts, now));
    const secrets = Object.values(this.opts.headers ?? {});
    const r = await post({ url: this.opts.url, body, headers: this.opts.headers, timeoutMs: this.opts.timeoutMs, signal, secrets, what: this.name });
    checkStatus(r, { what: this.name, url: this.opts.url, secrets, now });
  }
}
