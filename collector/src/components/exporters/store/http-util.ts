// Response shapes and JSON encoding shared by the APIs and pages.

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** encoding/json's output: <, >, & and U+2028/2029 escaped, so JSON is safe to embed anywhere. */
export function goJson(value: unknown, pretty = false): string {
  return JSON.stringify(value, null, pretty ? '    ' : undefined).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function jsonReply(value: unknown, status = 200, pretty = false): Reply {
  return { status, headers: { 'content-type': 'application/json' }, body: goJson(value, pretty) };
}

/** Go's http.Error: text/plain, nosniff, the body and a newline. */
export function goHttpError(status: number, body: string): Reply {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' }, body: `${body}\n` };
}
