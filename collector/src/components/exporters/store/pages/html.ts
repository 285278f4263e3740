// HTML building blocks: escaping of every interpolated value and the page frame. Pages carry no script and no
// external asset; the only style is one <style> block allowed by a per-response nonce in the CSP.
import { randomBytes } from 'node:crypto';
import type { Reply } from '../http-util.js';

/** Escapes text for element content and quoted attribute values. */
export function esc(v: unknown): string {
  return String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A path segment of a link (trace ids are hex already; this keeps hostile values inert anyway). */
export const seg = (v: string) => encodeURIComponent(v);

const BASE_CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:8px 16px}header a{color:#fff;text-decoration:none;font-weight:600}
main{padding:12px 16px}h1{font-size:20px;margin:8px 0}h2{font-size:16px;margin:16px 0 6px}
table{border-collapse:collapse;width:100%;background:#fff}td,th{border-bottom:1px solid #e3e6eb;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#eef0f3;font-weight:600}.mono{font-family:ui-monospace,monospace;font-size:12px}
.err{color:#b3261e;font-weight:600}.badge{display:inline-block;border-radius:3px;padding:0 4px;font-size:11px;background:#b3261e;color:#fff}
.muted,.svc{color:#6b7280}nav a{margin-right:8px}
.wf{background:#fff;border:1px solid #e3e6eb}.row{display:flex;border-bottom:1px solid #eef0f3;align-items:center}
.row.error{background:#fdecea}.name{width:38%;padding:3px 6px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;box-sizing:border-box}
.lane{position:relative;width:62%;height:18px}.bar{position:absolute;top:4px;height:10px;background:#3b82f6;border-radius:2px;min-width:2px}
.row.error .bar{background:#b3261e}details{margin:2px 0 8px}summary{cursor:pointer}
.lvl-error,.lvl-fatal{color:#b3261e;font-weight:600}.lvl-warn{color:#a15c00}
`;

export function page(title: string, body: string, extraCss = ''): Reply {
  const nonce = randomBytes(16).toString('base64');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style nonce="${nonce}">${BASE_CSS}${extraCss}</style></head>
<body><header><a href="/">Lantern traces</a></header><main>${body}</main></body></html>`;
  return {
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': `default-src 'none'; style-src 'nonce-${nonce}'; img-src 'none'; script-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    },
    body: html,
  };
}

export function notFoundPage(message: string): Reply {
  const r = page('Not found', `<h1>Not found</h1><p>${esc(message)}</p>`);
  return { ...r, status: 404 };
}

/** µs → "12.3ms" style text. */
export function fmtDuration(us: number): string {
  if (us < 1000) return `${us}µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)}ms`;
  return `${(us / 1_000_000).toFixed(2)}s`;
}

export function fmtTime(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString().replace('T', ' ').replace('Z', '');
}
