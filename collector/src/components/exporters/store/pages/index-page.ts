// `/`: recent traces and failing traces (any span ERROR), optionally for one service (?service=).
import type { Reply } from '../http-util.js';
import type { StoredTrace, TraceStore } from '../store.js';
import { esc, fmtDuration, fmtTime, page, seg } from './html.js';

const SHOWN = 50;

function rootOf(t: StoredTrace) {
  return t.spans.find((s) => !s.span.parentSpanId) ?? t.spans[0]!;
}

function traceRows(traces: StoredTrace[], linkBase: string): string {
  if (traces.length === 0) return '<p class="muted">None.</p>';
  const rows = traces.map((t) => {
    const root = rootOf(t);
    const errors = t.errorCount ? `<span class="badge">${t.errorCount} error${t.errorCount > 1 ? 's' : ''}</span>` : '';
    return `<tr><td class="mono">${esc(fmtTime(t.startUs))}</td><td><a href="${esc(`${linkBase}/trace/${seg(t.traceId)}`)}">${esc(root.service || '?')}: ${esc(root.span.name)}</a> ${errors}</td><td>${t.spans.length}</td><td>${esc(fmtDuration(t.endUs - t.startUs))}</td><td class="mono">${esc(t.traceId)}</td></tr>`;
  });
  return `<table><thead><tr><th>Start (UTC)</th><th>Root</th><th>Spans</th><th>Duration</th><th>Trace id</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

export function indexPage(store: TraceStore, params: URLSearchParams, linkBase: string): Reply {
  const service = params.get('service') ?? '';
  const services = store.services();
  const all = store.all().filter((t) => service === '' || t.services.has(service));
  const recent = all.slice(0, SHOWN);
  const failing = all.filter((t) => t.errorCount > 0).slice(0, SHOWN);
  const nav = [`<a href="${esc(`${linkBase}/`)}">all</a>`, ...services.map((s) => `<a href="${esc(`${linkBase}/?service=${encodeURIComponent(s)}`)}">${esc(s)}</a>`)].join('');
  const body = `<h1>${service ? `Traces of ${esc(service)}` : 'Traces'}</h1>
<nav>Services: ${nav}</nav>
<p class="muted">${store.size} traces stored, ${store.spans} spans.</p>
<h2>Failing traces</h2>${traceRows(failing, linkBase)}
<h2>Recent traces</h2>${traceRows(recent, linkBase)}`;
  return page(service ? `Traces of ${service}` : 'Traces', body);
}
