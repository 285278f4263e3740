// HTML building blocks: every interpolated value goes through esc() (or safeUrl() for links), and the page
// frame sets a strict CSP: no external assets, one nonce'd <style>, one nonce'd <script> of our own.
import { randomBytes } from 'node:crypto';

/** Escapes text for element content and quoted attribute values. */
export function esc(v: unknown): string {
  return String(v).replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** An http(s) URL safe for href, or undefined (javascript:, data: and relative junk are refused). */
export function safeUrl(v: string | undefined): string | undefined {
  if (!v) return undefined;
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : undefined;
  } catch {
    return undefined;
  }
}

export const fmtTime = (d: Date): string => d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');

/** "3h 4m" style age. */
export function fmtAge(from: Date, now: Date): string {
  let s = Math.max(0, Math.round((now.getTime() - from.getTime()) / 1000));
  const parts: string[] = [];
  for (const [unit, n] of [['d', 86400], ['h', 3600], ['m', 60]] as const) {
    if (s >= n) {
      parts.push(`${Math.floor(s / n)}${unit}`);
      s %= n;
    }
  }
  if (parts.length === 0) parts.push(`${s}s`);
  return parts.slice(0, 2).join(' ');
}

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:8px 16px;font-weight:600}header a{color:#fff;text-decoration:none}
main{padding:12px 16px;max-width:1200px}h1{font-size:20px;margin:8px 0}h2{font-size:17px;margin:22px 0 8px}
section.group{background:#fff;border:1px solid #e3e6eb;border-left:4px solid #b3261e;margin:8px 0;padding:8px 12px}
section.group.acked{border-left-color:#a15c00}.alert{border-top:1px solid #eef0f3;padding:6px 0}
.lbl{display:inline-block;background:#eef0f3;border-radius:3px;padding:0 5px;margin:1px 2px;font:12px ui-monospace,monospace}
table{border-collapse:collapse;width:100%;background:#fff}td,th{border-bottom:1px solid #e3e6eb;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#eef0f3}.mono{font-family:ui-monospace,monospace;font-size:12px}.muted{color:#6b7280}
.err{color:#b3261e;font-weight:600}.ok{color:#1e7b34;font-weight:600}.warn{color:#a15c00;font-weight:600}
.notice{background:#e8f4ea;border:1px solid #1e7b34;padding:6px 10px}.problem{background:#fdecea;border:1px solid #b3261e;padding:6px 10px}
form.inline{display:inline}label{display:block;margin:4px 0}input[type=text]{width:28em;max-width:100%}
button{cursor:pointer}pre{white-space:pre-wrap;margin:0}
`;

export interface PageParts {
  title: string;
  body: string;
  /** A small script of our own (run under the page's nonce), or none. */
  script?: string;
}

export interface HtmlReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function page(parts: PageParts, status = 200): HtmlReply {
  const nonce = randomBytes(16).toString('base64');
  const script = parts.script ? `<script nonce="${nonce}">${parts.script}</script>` : '';
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(parts.title)}</title><style nonce="${nonce}">${CSS}</style></head>
<body><header><a href="/">Lantern alerts</a></header><main>${parts.body}</main>${script}</body></html>`;
  return {
    status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; img-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'same-origin',
      'cache-control': 'no-store',
    },
    body: html,
  };
}

export function messagePage(title: string, message: string, status: number): HtmlReply {
  const cls = status >= 400 ? 'problem' : 'notice';
  return page({ title, body: `<h1>${esc(title)}</h1><p class="${cls}">${esc(message)}</p><p><a href="/">Back to the alerts page</a></p>` }, status);
}
