// `/trace/{id}`: a waterfall of the trace's spans (indented by parent, bars placed by start and duration, errors
// marked), each span's attributes, events and resource, and the trace's log lines below.
import type { Attributes } from '../../../../otlp/types.js';
import type { Reply } from '../http-util.js';
import type { StoredLog } from '../log-store.js';
import type { StoredSpan, StoredTrace } from '../store.js';
import { rfc3339Nano, valueAsString } from '../values.js';
import { esc, fmtDuration, fmtTime, page } from './html.js';

/** Spans in tree order (children by start time) with their depth; orphans start their own subtree. */
export function treeOrder(spans: StoredSpan[]): { s: StoredSpan; depth: number }[] {
  const ids = new Set(spans.map((s) => s.span.spanId));
  const children = new Map<string, StoredSpan[]>();
  const roots: StoredSpan[] = [];
  for (const s of spans) {
    const p = s.span.parentSpanId;
    if (p && ids.has(p) && p !== s.span.spanId) {
      const list = children.get(p) ?? [];
      list.push(s);
      children.set(p, list);
    } else roots.push(s);
  }
  const byStart = (a: StoredSpan, b: StoredSpan) => a.startUs - b.startUs;
  const out: { s: StoredSpan; depth: number }[] = [];
  const seen = new Set<string>();
  const stack = roots.sort(byStart).reverse().map((s) => ({ s, depth: 0 }));
  while (stack.length) {
    const e = stack.pop()!;
    if (seen.has(e.s.span.spanId)) continue;
    seen.add(e.s.span.spanId);
    out.push(e);
    const kids = (children.get(e.s.span.spanId) ?? []).sort(byStart);
    for (let i = kids.length - 1; i >= 0; i--) stack.push({ s: kids[i]!, depth: e.depth + 1 });
  }
  // spans caught in a parent cycle are not reachable from a root: list them flat
  for (const s of spans) if (!seen.has(s.span.spanId)) out.push({ s, depth: 0 });
  return out;
}

function attrTable(attrs: Attributes): string {
  const entries = Object.entries(attrs);
  if (entries.length === 0) return '<p class="muted">none</p>';
  return `<table>${entries.map(([k, v]) => `<tr><td class="mono">${esc(k)}</td><td class="mono">${esc(valueAsString(v))}</td></tr>`).join('')}</table>`;
}

function spanDetails(s: StoredSpan, i: number): string {
  const sp = s.span;
  const status = sp.status.code === 'error' ? `<span class="badge">ERROR</span> ${esc(sp.status.message ?? '')}` : esc(sp.status.code);
  const events = sp.events.length
    ? sp.events.map((e) => `<div><span class="mono">${esc(rfc3339Nano(e.timeUnixNano))}</span> <b>${esc(e.name)}</b>${attrTable(e.attributes)}</div>`).join('')
    : '<p class="muted">none</p>';
  return `<details id="span-${i}"><summary><span class="mono">${esc(sp.spanId)}</span> ${esc(s.service)}: ${esc(sp.name)}</summary>
<p>kind ${esc(sp.kind)} · status ${status} · start ${esc(rfc3339Nano(sp.startTimeUnixNano))} · ${esc(fmtDuration(s.durationUs))}${sp.parentSpanId ? ` · parent <span class="mono">${esc(sp.parentSpanId)}</span>` : ''}</p>
<h3>Attributes</h3>${attrTable(sp.attributes)}<h3>Events</h3>${events}<h3>Resource</h3>${attrTable(sp.resource.attributes)}
<p class="muted">scope ${esc(sp.scope.name)} ${esc(sp.scope.version ?? '')}</p></details>`;
}

function logsSection(logs: StoredLog[]): string {
  if (logs.length === 0) return '<p class="muted">No log lines for this trace.</p>';
  const rows = logs.map(
    (l) =>
      `<tr class="log"><td class="mono">${esc(rfc3339Nano(l.timeNs))}</td><td class="lvl-${esc(l.level)}">${esc(l.level)}</td><td>${esc(l.service)}</td><td class="mono">${esc(l.spanId)}</td><td>${esc(l.message)}</td></tr>`,
  );
  return `<table><thead><tr><th>Time</th><th>Level</th><th>Service</th><th>Span</th><th>Message</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

export function tracePage(t: StoredTrace, logs: StoredLog[]): Reply {
  const ordered = treeOrder(t.spans);
  const total = Math.max(t.endUs - t.startUs, 1);
  const css: string[] = [];
  const rows = ordered.map(({ s, depth }, i) => {
    const left = (((s.startUs - t.startUs) / total) * 100).toFixed(3);
    const width = Math.max((s.durationUs / total) * 100, 0.2).toFixed(3);
    css.push(`.r${i} .bar{left:${left}%;width:${width}%}.r${i} .name{padding-left:${6 + Math.min(depth, 40) * 14}px}`);
    const isErr = s.span.status.code === 'error';
    return `<div class="row r${i}${isErr ? ' error' : ''}" data-span-id="${esc(s.span.spanId)}"><div class="name" title="${esc(s.span.name)}">${isErr ? '<span class="badge">ERROR</span> ' : ''}<span class="svc">${esc(s.service)}</span> <span class="op">${esc(s.span.name)}</span> <span class="muted">${esc(fmtDuration(s.durationUs))}</span></div><div class="lane"><div class="bar"></div></div></div>`;
  });
  const root = ordered[0]!.s;
  const services = [...t.services.keys()].map(esc).join(', ');
  const body = `<h1>${esc(root.service)}: ${esc(root.span.name)}</h1>
<p>Trace <span class="mono">${esc(t.traceId)}</span> · started ${esc(fmtTime(t.startUs))} UTC · ${esc(fmtDuration(t.endUs - t.startUs))} · ${t.spans.length} spans · services ${services}${t.errorCount ? ` · <span class="err">${t.errorCount} failing span${t.errorCount > 1 ? 's' : ''}</span>` : ''}</p>
<h2>Waterfall</h2><div class="wf">${rows.join('')}</div>
<h2>Spans</h2>${ordered.map(({ s }, i) => spanDetails(s, i)).join('')}
<h2>Logs</h2>${logsSection(logs)}`;
  return page(`Trace ${t.traceId}`, body, css.join(''));
}
