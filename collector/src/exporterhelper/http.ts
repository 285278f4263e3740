// The HTTP half shared by the exporters that POST to a backend (otlphttp, loki): one keep-alive undici
// Agent per exporter, a per-request timeout, and the status → retry classification the OTLP spec and
// Loki agree on (429/502/503/504 and network errors: later; any other failure: never).
import { promisify } from 'node:util';
import { constants, gzip } from 'node:zlib';
import { Agent, request } from 'undici';
import { PermanentError } from '../pipeline/errors.js';
import { RetryableExportError } from './errors.js';

const gzipAsync = promisify(gzip);

/** Fastest gzip level: the exporter compresses every request, and CPU is the collector's budget. */
export const compress = (body: Uint8Array): Promise<Buffer> => gzipAsync(body, { level: constants.Z_BEST_SPEED });

export function keepAliveAgent(connections: number): Agent {
  return new Agent({ connections, keepAliveTimeout: 30_000, pipelining: 1 });
}

export interface HttpPost {
  agent: Agent;
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
  timeoutMs: number;
  /** Aborts the request (exporter shutdown). */
  signal: AbortSignal;
  /** How the backend is named in errors, e.g. "OTLP endpoint" or "Loki". */
  what: string;
  /** Which failure statuses mean "later" (default: 429, 502, 503, 504, as the OTLP spec says). */
  retryable?: (status: number) => boolean;
}

export interface HttpResponse {
  status: number;
  contentType: string;
  body: Buffer;
}

/** Bytes of a failure response kept for the error message. */
const MAX_ERROR_BODY = 1024;

/**
 * POSTs and returns a 2xx response; throws RetryableExportError for 429/502/503/504 and network errors
 * (with Retry-After), PermanentError for every other status. Header values never appear in errors.
 */
export async function post(p: HttpPost): Promise<HttpResponse> {
  const timeout = AbortSignal.timeout(p.timeoutMs);
  let res;
  try {
    res = await request(p.url, { dispatcher: p.agent, method: 'POST', headers: p.headers, body: p.body, signal: AbortSignal.any([p.signal, timeout]) });
  } catch (err) {
    if (p.signal.aborted) throw err;
    const why = timeout.aborted ? `no response within ${p.timeoutMs} ms` : errorText(err);
    throw new RetryableExportError(`${p.what} ${safeUrl(p.url)} unreachable: ${why}`, { cause: err });
  }
  let body: Buffer;
  try {
    body = Buffer.from(await res.body.arrayBuffer());
  } catch (err) {
    if (p.signal.aborted) throw err;
    throw new RetryableExportError(`${p.what} ${safeUrl(p.url)}: response interrupted: ${errorText(err)}`, { cause: err });
  }
  const contentType = String(res.headers['content-type'] ?? '');
  if (res.statusCode >= 200 && res.statusCode < 300) return { status: res.statusCode, contentType, body };
  const detail = `${p.what} ${safeUrl(p.url)} answered ${res.statusCode}${describeBody(body, contentType)}`;
  if ((p.retryable ?? otlpRetryable)(res.statusCode)) {
    const retryAfterMs = parseRetryAfter(header(res.headers['retry-after']));
    throw new RetryableExportError(detail, retryAfterMs === undefined ? {} : { retryAfterMs });
  }
  throw new PermanentError(detail);
}

const RETRYABLE = new Set([429, 502, 503, 504]);
export const otlpRetryable = (status: number) => RETRYABLE.has(status);

const header = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** Retry-After: delay-seconds or an HTTP-date → ms from now (undefined when absent or unreadable). */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** A printable piece of the response (text or JSON only), so the log says what the backend objected to. */
function describeBody(body: Buffer, contentType: string): string {
  if (body.length === 0 || !/^(text\/|application\/json)/i.test(contentType)) return '';
  const text = body.subarray(0, MAX_ERROR_BODY).toString('utf8').replace(/\s+/g, ' ').trim();
  return text ? `: ${text}${body.length > MAX_ERROR_BODY ? '…' : ''}` : '';
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code ?? (err.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? `${err.message} (${code})` : err.message;
}

/** The URL without user:password, for messages. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}
