// What a notification says, independent of its medium: Slack blocks and the email's HTML and text
// parts are all rendered from this, so every channel carries the same facts and links.
import type { Alert } from '../../model/alert.js';
import type { LabelSet } from '../../model/labels.js';
import type { NotificationContext } from '../../model/notification.js';

export interface LinkButton {
  /** Stable id (Slack action_id). */
  id: 'runbook' | 'dashboard' | 'trace' | 'group' | 'source' | 'silence' | 'ack';
  text: string;
  url: string;
}

export interface AlertLine {
  status: 'firing' | 'resolved';
  /** Labels that tell this alert apart from the group's common labels. */
  distinct: LabelSet;
  value?: string;
  summary?: string;
  startsAt: Date;
}

export interface MessageContent {
  status: 'firing' | 'resolved';
  firing: number;
  resolved: number;
  /** `[FIRING:2]` or `[RESOLVED]`, as Alertmanager's default subject starts. */
  statusTag: string;
  emoji: string;
  alertname: string;
  severity?: string;
  /** Group labels other than alertname, e.g. `service=checkout env=prod`. */
  groupLabelText: string;
  fields: { name: string; value: string }[];
  summary?: string;
  description?: string;
  alerts: AlertLine[];
  buttons: LinkButton[];
  groupKey: string;
  traces: { traceId: string; url: string; value: number; series: LabelSet }[];
  logs: { time: Date; service: string; level: string; message: string }[];
  notes: string[];
  acknowledgedBy?: string;
  escalationLevel: number;
}

const SEVERITY_EMOJI: Record<string, string> = { critical: '🔴', page: '🔴', error: '🟠', warning: '🟡', warn: '🟡', info: '🔵' };

/** Annotation names (in order of preference) that carry the alert's humanized value. */
const VALUE_ANNOTATIONS = ['value', 'humanized_value', 'current_value'];
const FIELD_LABELS = ['service', 'env', 'environment', 'namespace', 'instance'] as const;

export function valueOf(a: { annotations: LabelSet }): string | undefined {
  for (const k of VALUE_ANNOTATIONS) if (a.annotations[k]) return a.annotations[k];
  return undefined;
}

function alertname(ctx: NotificationContext): string {
  return ctx.groupLabels.alertname ?? ctx.commonLabels.alertname ?? ctx.alerts[0]?.labels.alertname ?? 'alert';
}

function distinctLabels(a: Alert, common: LabelSet): LabelSet {
  const out: LabelSet = {};
  for (const [k, v] of Object.entries(a.labels)) if (common[k] !== v) out[k] = v;
  return out;
}

/** A value for a field shared by the group, or the distinct values joined when alerts differ. */
function fieldValue(ctx: NotificationContext, name: string): string | undefined {
  const common = ctx.commonLabels[name];
  if (common) return common;
  const vals = [...new Set(ctx.alerts.map((a) => a.labels[name]).filter((v): v is string => !!v))];
  if (vals.length === 0) return undefined;
  return vals.length <= 3 ? vals.join(', ') : `${vals.slice(0, 3).join(', ')} +${vals.length - 3} more`;
}

export function formatTime(d: Date): string {
  return d.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
}

function buttons(ctx: NotificationContext): LinkButton[] {
  const first = (name: string) => ctx.commonAnnotations[name] ?? ctx.alerts.find((a) => a.annotations[name])?.annotations[name];
  const out: LinkButton[] = [];
  const add = (id: LinkButton['id'], text: string, url: string | undefined) => {
    if (url && /^https?:\/\//i.test(url)) out.push({ id, text, url });
  };
  add('runbook', '📖 Runbook', first('runbook_url'));
  add('dashboard', '📈 Dashboard', first('dashboard_url'));
  add('trace', '🔎 Example trace', ctx.evidence.traces[0]?.url);
  add('group', '🗂 Alert group', ctx.links.group);
  add('source', '📊 Source', ctx.alerts[0]?.generatorURL);
  add('silence', '🔕 Silence', ctx.links.silence);
  if (ctx.status === 'firing' && !ctx.acknowledgedBy) add('ack', '✋ Acknowledge', ctx.links.ack);
  return out;
}

export function buildContent(ctx: NotificationContext, now: Date): MessageContent {
  const firing = ctx.alerts.filter((a) => a.endsAt.getTime() > now.getTime()).length;
  const resolved = ctx.alerts.length - firing;
  const status = ctx.status;
  const severity = fieldValue(ctx, 'severity');
  const name = alertname(ctx);
  const groupLabelText = Object.keys(ctx.groupLabels)
    .filter((k) => k !== 'alertname')
    .sort()
    .map((k) => `${k}=${ctx.groupLabels[k]}`)
    .join(' ');
  const fields: MessageContent['fields'] = [];
  for (const l of FIELD_LABELS) {
    const v = fieldValue(ctx, l);
    if (v) fields.push({ name: l, value: v });
  }
  const values = [...new Set(ctx.alerts.map(valueOf).filter((v): v is string => !!v))];
  if (values.length) fields.push({ name: 'value', value: values.length <= 3 ? values.join(', ') : `${values.slice(0, 3).join(', ')} …` });
  const started = ctx.alerts.reduce<Date | undefined>((m, a) => (!m || a.startsAt < m ? a.startsAt : m), undefined);
  if (started) fields.push({ name: 'started', value: formatTime(started) });
  const first = ctx.alerts[0];
  return {
    status,
    firing,
    resolved,
    statusTag: status === 'firing' ? `[FIRING:${firing}]` : '[RESOLVED]',
    emoji: ctx.acknowledgedBy ? '👀' : status === 'resolved' ? '✅' : (SEVERITY_EMOJI[(severity ?? '').toLowerCase()] ?? '🔥'),
    alertname: name,
    severity,
    groupLabelText,
    fields,
    summary: ctx.commonAnnotations.summary ?? first?.annotations.summary,
    description: ctx.commonAnnotations.description ?? first?.annotations.description,
    alerts: ctx.alerts.map((a) => ({
      status: a.endsAt.getTime() > now.getTime() ? 'firing' : 'resolved',
      distinct: distinctLabels(a, ctx.commonLabels),
      value: valueOf(a),
      summary: ctx.commonAnnotations.summary ? undefined : a.annotations.summary,
      startsAt: a.startsAt,
    })),
    buttons: buttons(ctx),
    groupKey: ctx.groupKey,
    traces: ctx.evidence.traces.map((t) => ({ traceId: t.traceId, url: t.url, value: t.value, series: t.series })),
    logs: ctx.evidence.logs,
    notes: ctx.evidence.notes,
    acknowledgedBy: ctx.acknowledgedBy,
    escalationLevel: ctx.escalationLevel,
  };
}

/** One headline: `🔴 [FIRING:2] HighLatency · critical (service=checkout)`. */
export function headline(c: MessageContent): string {
  const sev = c.severity ? ` · ${c.severity}` : '';
  const grp = c.groupLabelText ? ` (${c.groupLabelText})` : '';
  return `${c.emoji} ${c.statusTag} ${c.alertname}${sev}${grp}`;
}

/** `[FIRING:2] HighLatency (service=checkout env=prod)`: the email subject and Slack's fallback text. */
export function subjectLine(c: MessageContent): string {
  const ack = c.acknowledgedBy ? `[ACK by ${c.acknowledgedBy}] ` : '';
  return `${ack}${c.statusTag} ${c.alertname}${c.groupLabelText ? ` (${c.groupLabelText})` : ''}`;
}

export const labelText = (l: LabelSet): string =>
  Object.keys(l)
    .sort()
    .map((k) => `${k}=${l[k]}`)
    .join(' ');

/** Cuts `s` to at most `max` characters (UTF-16 units), marking the cut. */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  if (max <= 1) return s.slice(0, Math.max(0, max));
  // never split a surrogate pair
  let cut = max - 1;
  const code = s.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut--;
  return `${s.slice(0, cut)}…`;
}
