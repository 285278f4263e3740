// Webhook URLs carry their credential in the path (Slack's /services/T../B../secret) or query, and SMTP
// passwords are secrets: neither may reach a log line or an error message.

/** `https://hooks.slack.com/services/T0/B0/xyz` → `https://hooks.slack.com/<redacted>`; unparsable → `<redacted url>`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const path = u.pathname === '/' && !u.search ? '' : '/<redacted>';
    return `${u.protocol}//${u.host}${path}`;
  } catch {
    return '<redacted url>';
  }
}

/** Replaces every occurrence of each secret (and of its URL-encoded form) in `text`. */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) {
    if (!s || s.length < 4) continue; // a tiny "secret" would mangle ordinary words
    for (const form of new Set([s, encodeURIComponent(s)])) out = out.split(form).join('<redacted>');
    try {
      // the URL's parts too: a path or a query string may be quoted on its own
      const u = new URL(s);
      for (const part of [u.pathname + u.search, u.search.slice(1), u.password]) {
        if (part && part.length >= 4 && part !== '/') out = out.split(part).join('<redacted>');
      }
    } catch {
      // not a URL
    }
  }
  return out;
}

/** The message of an unknown thrown value, redacted; the original error is not kept (its fields may hold the URL). */
export function safeMessage(err: unknown, secrets: readonly (string | undefined)[]): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e && depth < 3; depth++) {
    if (e instanceof Error) {
      const code = (e as { code?: unknown }).code;
      parts.push(typeof code === 'string' && !e.message.includes(code) ? `${e.message} (${code})` : e.message);
      e = e.cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  return redactSecrets(parts.join(': '), secrets);
}
