// One HTTP POST for an integration, with a timeout, classified the way the retry stage needs it:
// 2xx ok, 429/5xx/network retryable, other 4xx permanent. Messages never contain the URL.
import { Agent, type Dispatcher } from 'undici';
import { AbortLink } from '../../model/abort.js';
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
  headers: { get(name: string): string | null };
  body: string;
}

/** At most this much of a receiver's answer is read and quoted (a hostile receiver may stream forever). */
const MAX_BODY = 64 * 1024;

/**
 * One pool of keep-alive connections per receiving origin for every integration: after a burst, thousands
 * of notifications to one webhook reuse a bounded set of connections (the rest wait their turn in the pool)
 * instead of opening one each.
 */
const agent = new Agent({ connections: 32 });

interface Target {
  origin: string;
  path: string;
  /** Basic credentials written in the URL (user:password@host), sent as Go's HTTP client sends them. */
  authorization?: string;
}

/** Origin and path of each receiver URL, parsed once (an integration posts to the same URL every time). */
const targets = new Map<string, Target>();

function target(url: string): Target {
  let t = targets.get(url);
  if (!t) {
    const u = new URL(url);
    t = { origin: u.origin, path: u.pathname + u.search };
    if (u.username || u.password) t.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
    if (targets.size >= 1000) targets.clear(); // URLs come from the config: a bound for reload churn only
    targets.set(url, t);
  }
  return t;
}

const decode = (chunks: Buffer[]): string => (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8').slice(0, MAX_BODY);

function readBounded(body: Dispatcher.ResponseData['body']): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= MAX_BODY) {
        body.destroy();
        resolve(decode(chunks));
      }
    });
    body.on('end', () => resolve(decode(chunks)));
    body.on('error', reject);
  });
}

const hasAuthorization = (headers: Record<string, string> | undefined): boolean => !!headers && Object.keys(headers).some((k) => k.toLowerCase() === 'authorization');

/** The answer's headers, looked up as fetch's Headers would (undici gives lower-case names). */
function headerGetter(headers: Record<string, string | string[] | undefined>): PostResult['headers'] {
  return {
    get(name) {
      const v = headers[name.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
    },
  };
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

/**
 * POSTs and returns the answer, whatever its status (redirects are not followed: a 3xx is an answer);
 * throws RetryableNotifyError on network errors and timeouts.
 */
export async function post(opts: PostOptions): Promise<PostResult> {
  // With a timeout: one controller for the caller's signal and the timer (cheaper than AbortSignal.any +
  // AbortSignal.timeout per request). Without one (a webhook's default), the caller's signal as it is.
  const abort = opts.timeoutMs > 0 ? new AbortController() : undefined;
  let timedOut = false;
  const timer = abort ? setTimeout(() => ((timedOut = true), abort.abort()), opts.timeoutMs) : undefined;
  const link = abort ? new AbortLink(abort, opts.signal) : undefined;
  try {
    const { origin, path, authorization } = target(opts.url);
    const res = await agent.request({
      origin,
      path,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'lantern-alerting/0.1', ...(authorization && !hasAuthorization(opts.headers) ? { authorization } : {}), ...opts.headers },
      body: opts.body,
      signal: abort ? abort.signal : opts.signal,
    });
    return { status: res.statusCode, headers: headerGetter(res.headers), body: await readBounded(res.body) };
  } catch (err) {
    const why = timedOut ? `timed out after ${opts.timeoutMs} ms` : safeMessage(err, [opts.url, ...(opts.secrets ?? [])]);
    throw new RetryableNotifyError(`${opts.what}: POST ${redactUrl(opts.url)} failed: ${why}`);
  } finally {
    clearTimeout(timer);
    link?.unlink();
  }
}

/** Retry-After in seconds (Slack, RFC 9110) or an HTTP date → ms; undefined when absent or invalid. */
export function retryAfterMs(headers: PostResult['headers'], now: Date): number | undefined {
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
