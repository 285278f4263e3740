// The email's HTML and text parts: the same facts and links as the Slack message (content.ts).
import { formatTime, headline, labelText, type MessageContent } from './content.js';

const MAX_LOG_LINE = 500;
const MAX_ALERTS = 50;

export const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** Only http(s) links become anchors: a `javascript:` runbook annotation stays inert text. */
const safeHref = (url: string): string | undefined => (/^https?:\/\//i.test(url) ? escapeHtml(url) : undefined);

const STATUS_COLOR: Record<string, string> = { firing: '#c62828', resolved: '#2e7d32', ack: '#6a1b9a' };

function logLine(l: MessageContent['logs'][number]): string {
  return `${l.time.toISOString()} ${l.service} ${l.level.toUpperCase()} ${l.message.replace(/\s+/g, ' ')}`.slice(0, MAX_LOG_LINE);
}

export function emailHtml(c: MessageContent): string {
  const color = c.acknowledgedBy ? STATUS_COLOR.ack : STATUS_COLOR[c.status];
  const h: string[] = [];
  h.push('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222">');
  h.push(`<h2 style="color:${color};margin:0 0 8px">${escapeHtml(headline(c))}</h2>`);
  if (c.acknowledgedBy) h.push(`<p><strong>Acknowledged by ${escapeHtml(c.acknowledgedBy)}</strong> — repeats and escalation stop until it resolves.</p>`);
  if (c.fields.length) {
    h.push('<table cellpadding="4" style="border-collapse:collapse">');
    for (const f of c.fields) h.push(`<tr><th align="left" style="color:#555">${escapeHtml(f.name)}</th><td>${escapeHtml(f.value)}</td></tr>`);
    h.push('</table>');
  }
  if (c.summary) h.push(`<p><strong>${escapeHtml(c.summary)}</strong></p>`);
  if (c.description) h.push(`<p style="white-space:pre-wrap">${escapeHtml(c.description)}</p>`);
  if (c.alerts.length > 1) {
    h.push('<h3>Alerts</h3><ul>');
    for (const a of c.alerts.slice(0, MAX_ALERTS)) {
      const extra = [a.value, a.summary].filter(Boolean).map((x) => ` — ${escapeHtml(x!)}`).join('');
      h.push(`<li>${a.status === 'firing' ? '🔥' : '✅'} <code>${escapeHtml(labelText(a.distinct) || '(same labels)')}</code>${extra} <span style="color:#777">since ${escapeHtml(formatTime(a.startsAt))}</span></li>`);
    }
    if (c.alerts.length > MAX_ALERTS) h.push(`<li>…and ${c.alerts.length - MAX_ALERTS} more</li>`);
    h.push('</ul>');
  }
  const links = c.buttons.map((b) => ({ b, href: safeHref(b.url) })).filter((x) => x.href);
  if (links.length) {
    h.push('<p>');
    h.push(
      links
        .map(({ b, href }) => `<a href="${href}" style="display:inline-block;padding:6px 10px;margin:2px;border:1px solid #999;border-radius:4px;text-decoration:none">${escapeHtml(b.text)}</a>`)
        .join(' '),
    );
    h.push('</p>');
  }
  if (c.traces.length) {
    h.push('<h3>Example traces</h3><ul>');
    for (const t of c.traces) {
      const href = safeHref(t.url);
      const id = escapeHtml(t.traceId);
      h.push(`<li>${href ? `<a href="${href}">${id}</a>` : id} · ${escapeHtml(String(t.value))} <code>${escapeHtml(labelText(t.series))}</code></li>`);
    }
    h.push('</ul>');
  }
  if (c.logs.length) h.push(`<h3>Recent errors</h3><pre style="background:#f5f5f5;padding:8px;white-space:pre-wrap">${escapeHtml(c.logs.map(logLine).join('\n'))}</pre>`);
  if (c.notes.length) h.push(`<p style="color:#8a6d3b">⚠️ ${escapeHtml(c.notes.join('; '))}</p>`);
  const esc = c.escalationLevel > 0 ? ` · escalation step ${c.escalationLevel}` : '';
  h.push(`<p style="color:#777;font-size:12px">Group key: <code>${escapeHtml(c.groupKey)}</code>${esc}</p>`);
  h.push('</body></html>');
  return h.join('\n');
}

export function emailText(c: MessageContent): string {
  const t: string[] = [headline(c), ''];
  if (c.acknowledgedBy) t.push(`Acknowledged by ${c.acknowledgedBy} — repeats and escalation stop until it resolves.`, '');
  for (const f of c.fields) t.push(`${f.name}: ${f.value}`);
  if (c.fields.length) t.push('');
  if (c.summary) t.push(c.summary);
  if (c.description) t.push(c.description);
  if (c.summary || c.description) t.push('');
  if (c.alerts.length > 1) {
    t.push('Alerts:');
    for (const a of c.alerts.slice(0, MAX_ALERTS)) {
      const extra = [a.value, a.summary].filter(Boolean).map((x) => ` — ${x}`).join('');
      t.push(`  ${a.status === 'firing' ? '[firing]' : '[resolved]'} ${labelText(a.distinct) || '(same labels)'}${extra} since ${formatTime(a.startsAt)}`);
    }
    if (c.alerts.length > MAX_ALERTS) t.push(`  …and ${c.alerts.length - MAX_ALERTS} more`);
    t.push('');
  }
  for (const b of c.buttons) t.push(`${b.text.replace(/^\S+\s/, '')}: ${b.url}`);
  if (c.buttons.length) t.push('');
  if (c.traces.length) {
    t.push('Example traces:');
    for (const tr of c.traces) t.push(`  ${tr.traceId} ${tr.value} ${labelText(tr.series)} ${tr.url}`);
    t.push('');
  }
  if (c.logs.length) {
    t.push('Recent errors:');
    for (const l of c.logs) t.push(`  ${logLine(l)}`);
    t.push('');
  }
  if (c.notes.length) t.push(`Note: ${c.notes.join('; ')}`, '');
  t.push(`Group key: ${c.groupKey}${c.escalationLevel > 0 ? ` · escalation step ${c.escalationLevel}` : ''}`);
  return t.join('\n');
}
