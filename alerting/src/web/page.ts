// The page at `/`: what is firing (by group, with labels, annotations, evidence and acknowledgement), the
// silences (list, create, expire), rule health and recent notifications. Server-rendered; every value escaped.
import type { Alert, AlertStatus } from '../model/alert.js';
import type { Acknowledgement } from '../model/stores.js';
import type { Evidence } from '../model/notification.js';
import type { LabelSet } from '../model/labels.js';
import type { GettableSilence } from '../api/v2/shapes.js';
import type { PromRuleGroupView, SinkMessage } from '../api/deps.js';
import { esc, fmtAge, fmtTime, page, safeUrl, type HtmlReply } from './html.js';

export interface PageGroup {
  groupKey: string;
  /** Fragment id the notification's group link points at (`#/groups/<base64url key>`). */
  anchor: string;
  labels: LabelSet;
  receiver: string;
  alerts: { alert: Alert; status: AlertStatus }[];
  ack?: Acknowledgement;
  evidence?: Evidence;
}

export interface SilenceForm {
  matchers: string;
  duration: string;
  createdBy: string;
  comment: string;
}

export interface PageData {
  now: Date;
  groups: PageGroup[];
  silences: GettableSilence[];
  rules?: PromRuleGroupView[];
  rulesError?: string;
  messages?: SinkMessage[];
  csrf: string;
  form: SilenceForm;
  /** A problem with the last form submission (names the field). */
  problem?: string;
  /** The outcome of the last form submission. */
  notice?: string;
}

const labelChips = (ls: LabelSet) =>
  Object.keys(ls)
    .sort()
    .map((k) => `<span class="lbl">${esc(k)}="${esc(ls[k])}"</span>`)
    .join(' ');

function link(href: string | undefined, text: string): string {
  const u = safeUrl(href);
  return u ? `<a href="${esc(u)}" rel="noopener noreferrer">${esc(text)}</a>` : '';
}

function alertBlock({ alert, status }: PageGroup['alerts'][number], now: Date): string {
  const a = alert.annotations;
  const links = [link(a.runbook_url, 'runbook'), link(a.dashboard_url ?? a.dashboard, 'dashboard'), link(alert.generatorURL, 'source')].filter(Boolean).join(' · ');
  const suppressed =
    status.state === 'suppressed'
      ? ` <span class="warn">suppressed${status.silencedBy.length ? ` by silence ${status.silencedBy.map(esc).join(', ')}` : ''}${status.inhibitedBy.length ? ' (inhibited)' : ''}</span>`
      : '';
  return `<div class="alert" data-fingerprint="${esc(alert.fingerprint)}">
<div><strong>${esc(a.summary ?? alert.labels.alertname ?? alert.fingerprint)}</strong>${suppressed} <span class="muted">firing for ${esc(fmtAge(alert.startsAt, now))} (since ${esc(fmtTime(alert.startsAt))})</span></div>
${a.description ? `<div>${esc(a.description)}</div>` : ''}
<div>${labelChips(alert.labels)}</div>
${links ? `<div>${links}</div>` : ''}
</div>`;
}

function evidenceBlock(e: Evidence | undefined): string {
  if (!e || (e.traces.length === 0 && e.logs.length === 0 && e.notes.length === 0)) return '';
  const traces = e.traces
    .map((t) => `<li class="evidence-trace">${link(t.url, `trace ${t.traceId}`)} <span class="muted">${esc(t.value)} at ${esc(fmtTime(t.timestamp))}</span> ${labelChips(t.series)}</li>`)
    .join('');
  const logs = e.logs.map((l) => `<li class="mono">${esc(fmtTime(l.time))} ${esc(l.service)} ${esc(l.level)} ${esc(l.message)}</li>`).join('');
  const notes = e.notes.map((n) => `<li class="muted">${esc(n)}</li>`).join('');
  return `<details open><summary>Evidence</summary><ul>${traces}${logs}${notes}</ul></details>`;
}

function groupBlock(g: PageGroup, now: Date): string {
  const ack = g.ack
    ? `<span class="warn ack">acknowledged by ${esc(g.ack.by)} at ${esc(fmtTime(g.ack.at))}</span>`
    : '<span class="err ack">not acknowledged</span>';
  return `<section class="group${g.ack ? ' acked' : ''}" id="${esc(g.anchor)}">
<div><strong>${g.alerts.length} firing</strong> → ${esc(g.receiver)} · ${ack}</div>
<div class="muted">group ${labelChips(g.labels) || esc(g.groupKey)}</div>
${g.alerts.map((a) => alertBlock(a, now)).join('\n')}
${evidenceBlock(g.evidence)}
</section>`;
}

function silencesBlock(d: PageData): string {
  const rows = d.silences
    .map((s) => {
      const matchers = s.matchers.map((m) => `${m.name}${m.isEqual ? '' : '!'}${m.isRegex ? '=~' : '='}"${m.value}"`).join(', ');
      const expire =
        s.status.state === 'expired'
          ? ''
          : `<form class="inline" method="post" action="/ui/silences/${esc(encodeURIComponent(s.id))}/expire"><input type="hidden" name="_csrf" value="${esc(d.csrf)}"><button type="submit">Expire</button></form>`;
      return `<tr data-silence-id="${esc(s.id)}"><td>${esc(s.status.state)}</td><td class="mono">${esc(matchers)}</td><td>${esc(fmtTime(new Date(s.startsAt)))} → ${esc(fmtTime(new Date(s.endsAt)))}</td><td>${esc(s.createdBy)}</td><td>${esc(s.comment)}</td><td>${expire}</td></tr>`;
    })
    .join('');
  const f = d.form;
  return `<h2 id="silences">Silences</h2>
${d.silences.length ? `<table><tr><th>State</th><th>Matchers</th><th>Time</th><th>Created by</th><th>Comment</th><th></th></tr>${rows}</table>` : '<p class="muted">No silences.</p>'}
<h2 id="new-silence">New silence</h2>
<form method="post" action="/ui/silences">
<input type="hidden" name="_csrf" value="${esc(d.csrf)}">
<label>Matchers <input type="text" name="matchers" value="${esc(f.matchers)}" placeholder='alertname="HighLatency", service="checkout"' required></label>
<label>Duration <input type="text" name="duration" value="${esc(f.duration)}" placeholder="2h" required></label>
<label>Created by <input type="text" name="createdBy" value="${esc(f.createdBy)}" required></label>
<label>Comment <input type="text" name="comment" value="${esc(f.comment)}" required></label>
<button type="submit">Create silence</button>
</form>`;
}

function rulesBlock(d: PageData): string {
  if (d.rulesError) return `<h2 id="rules">Rule health</h2><p class="problem">${esc(d.rulesError)}</p>`;
  if (!d.rules) return '';
  const rows = d.rules
    .flatMap((g) =>
      g.rules.map((r) => {
        const health = r.health === 'ok' ? '<span class="ok">ok</span>' : r.health === 'err' ? '<span class="err">error</span>' : '<span class="muted">unknown</span>';
        const last = r.lastEvaluation && !r.lastEvaluation.startsWith('0001-') ? fmtTime(new Date(r.lastEvaluation)) : 'never';
        return `<tr data-rule="${esc(r.name)}"><td>${esc(g.name)}</td><td>${esc(r.name)}</td><td>${esc(r.state ?? r.type)}</td><td>${health}</td><td class="mono">${esc(r.lastError ?? '')}</td><td>${esc(last)}</td></tr>`;
      }),
    )
    .join('');
  return `<h2 id="rules">Rule health</h2>${rows ? `<table><tr><th>Group</th><th>Rule</th><th>State</th><th>Health</th><th>Last error</th><th>Last evaluation</th></tr>${rows}</table>` : '<p class="muted">No rules loaded.</p>'}`;
}

function messagesBlock(d: PageData): string {
  if (!d.messages) return '';
  const items = d.messages
    .slice(-20)
    .reverse()
    .map((m) => `<li><span class="muted">${esc(fmtTime(m.at))}${m.channel ? ` ${esc(m.channel)}` : ''}</span><pre>${esc(m.text)}</pre></li>`)
    .join('');
  return `<h2 id="notifications">Recent notifications</h2>${items ? `<ul>${items}</ul>` : '<p class="muted">None yet.</p>'}`;
}

// Notification links use Alertmanager-UI style fragments (#/silences/new?filter=...); fragments never reach
// the server, so this turns one into the query the server pre-fills the form from.
const HASH_SCRIPT = `(function(){function go(){var h=location.hash;var p='#/silences/new?';if(h.indexOf(p)===0){location.replace('/?'+h.slice(p.length)+'#new-silence');}}go();window.addEventListener('hashchange',go);})();`;

export function renderPage(d: PageData, status = 200): HtmlReply {
  const firing = d.groups.reduce((n, g) => n + g.alerts.length, 0);
  const body = `<h1>${firing ? `${firing} alert${firing === 1 ? '' : 's'} firing` : 'Nothing firing'}</h1>
${d.problem ? `<p class="problem" role="alert">${esc(d.problem)}</p>` : ''}
${d.notice ? `<p class="notice" role="status">${esc(d.notice)}</p>` : ''}
<h2 id="firing">Firing</h2>
${d.groups.length ? d.groups.map((g) => groupBlock(g, d.now)).join('\n') : '<p class="muted">No firing alerts.</p>'}
${silencesBlock(d)}
${rulesBlock(d)}
${messagesBlock(d)}`;
  return page({ title: firing ? `(${firing}) Lantern alerts` : 'Lantern alerts', body, script: HASH_SCRIPT }, status);
}
