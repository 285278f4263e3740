// One HTTP POST for an integration, with a timeout, classified the way the retry stage needs it:
// 2xx ok, 429/5xx/network retryable, other 4xx permanent. Messages never contain the URL.
import { RetryableNotifyError } from '../../model/notification.js';
import { redactUrl, safeMessage } from './redact.js';

export class PermanentNotifyError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'PermanentNotifyError';
  }
}

export interface PostResult {
  status: number;
  headers: Headers;
  body: string;
}

/** At most this much of a receiver's answer is read and quoted (a hostile receiver may stream forever). */
const MAX_BODY = 64 * 1024;

async function readBounded(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size >= MAX_BODY) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY);
}

export interface PostOptions {
  url: string;
  body: string;
  headers?: Record<string, string>;
  /** Per-request bound, on top of the caller's signal; 0 = only the signal. */
  timeoutMs: number;
  signal: AbortSignal;
  /** Extra secrets to scrub from error messages (tokens). The URL is always scrubbed. */
  secrets?: string[];
  /** Names the integration in messages, e.g. `slack[0]`. */
  what: string;
}

/** POSTs and returns the answer, whatever its status; throws RetryableNotifyError on network errors and timeouts. */
export async function post(opts: PostOptions): Promise<PostResult> {
  const signals = [opts.signal];
  if (opts.timeoutMs > 0) signals.push(AbortSignal.timeout(opts.timeoutMs));
  const where = redactUrl(opts.url);
  try {
    const res = await fetch(opts.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'lantern-alerting/0.1', ...opts.headers },
      body: opts.body,
      signal: AbortSignal.any(signals),
      redirect: 'error',
    });
    return { status: res.status, headers: res.headers, body: await readBounded(res) };
  } catch (err) {
    const why = (err as Error).name === 'TimeoutError' ? `timed out after ${opts.timeoutMs} ms` : safeMessage(err, [opts.url, ...(opts.secrets ?? [])]);
    throw new RetryableNotifyError(`${opts.what}: POST ${where} failed: ${why}`);
  }
}

/** Retry-After in seconds (Slack, RFC 9110) or an HTTP date → ms; undefined when absent or invalid. */
export function retryAfterMs(headers: Headers, now: Date): number | undefined {
  const v = headers.get('retry-after')?.trim();
  if (!v) return undefined;
  if (/^\d{1,7}$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now.getTime());
}

/** Throws for a non-2xx answer: RetryableNotifyError for 429 and 5xx, PermanentNotifyError otherwise. */
export function checkStatus(r: PostResult, opts: { what: string; url: string; secrets?: string[]; now: Date }): void {
  if (r.status >= 200 && r.status < 300) return;
  const text = safeMessage(r.body.slice(0, 500).trim(), [opts.url, ...(opts.secrets ?? [])]);
  const msg = `${opts.what}: ${redactUrl(opts.url)} answered ${r.status}${text ? `: ${text}` : ''}`;
  if (r.status === 429 || r.status >= 500) throw new RetryableNotifyError(msg, retryAfterMs(r.headers, opts.now));
  throw new PermanentNotifyError(msg, r.status);
}
