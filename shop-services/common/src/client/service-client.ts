import diagnosticsChannel from 'node:diagnostics_channel';
import { Agent, errors as undiciErrors } from 'undici';
import { context, propagation } from '@opentelemetry/api';
import type { z } from 'zod';
import { AppError, UpstreamError, type ErrorDetail } from '../errors.js';
import type { AuthUser } from '../auth/types.js';
import type { InternalTokenSigner } from '../auth/internal-token.js';
import { sendRequest, type RawResponse } from './dispatch.js';
import { retry, recordTimeout, createCircuitBreaker, TimeoutError, CircuitOpenError, type CircuitBreaker } from './resilience.js';

export type ClientMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
const IDEMPOTENT = new Set<ClientMethod>(['GET', 'HEAD', 'PUT', 'DELETE']);
/** Upstream answers worth another try: the upstream (or a proxy in front of it) is briefly unable. */
const RETRYABLE_STATUS = new Set([502, 503, 504]);

export interface ServiceClientOptions {
  /** Target service name: the token audience and the label in errors, logs and breaker metrics. */
  name: string;
  baseUrl: string;
  /** Signs the internal token (iss = this service). */
  signer: InternalTokenSigner;
  /** Per attempt. */
  timeoutMs?: number;
  /** Extra attempts for idempotent calls (GET/HEAD/PUT/DELETE, or any call with an idempotency key). */
  retries?: number;
  retryBaseDelayMs?: number;
  breaker?: { failureThreshold: number; halfOpenAfterMs: number } | false;
  /** Keep-alive pool size per upstream origin. */
  connections?: number;
}

export interface RequestOptions<S extends z.ZodType | undefined = undefined> {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /**
   * JSON text sent as is instead of `body` (a proxy passing on what it received and validated): the
   * bytes a signature was computed over stay intact, and nothing is re-encoded.
   */
  rawJson?: string;
  /** The end user the call acts for; carried in the internal token. */
  user?: AuthUser;
  headers?: Record<string, string>;
  /** Makes a POST/PATCH retryable; sent as Idempotency-Key. */
  idempotencyKey?: string;
  /** Validates the 2xx body; a mismatch is an UpstreamError (502). */
  schema?: S;
  timeoutMs?: number;
}

export interface ServiceResponse<T> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

type Body<S> = S extends z.ZodType ? z.output<S> : unknown;

/** An upstream answer passed on untouched (see ServiceClient.forward): its bytes, undefined when it sent none. */
export type ForwardedResponse = ServiceResponse<Buffer | undefined>;

export interface ServiceClient {
  readonly name: string;
  request<S extends z.ZodType | undefined = undefined>(method: ClientMethod, path: string, opts?: RequestOptions<S>): Promise<ServiceResponse<Body<S>>>;
  get<S extends z.ZodType | undefined = undefined>(path: string, opts?: RequestOptions<S>): Promise<Body<S>>;
  post<S extends z.ZodType | undefined = undefined>(path: string, body: unknown, opts?: RequestOptions<S>): Promise<Body<S>>;
  put<S extends z.ZodType | undefined = undefined>(path: string, body: unknown, opts?: RequestOptions<S>): Promise<Body<S>>;
  patch<S extends z.ZodType | undefined = undefined>(path: string, body: unknown, opts?: RequestOptions<S>): Promise<Body<S>>;
  delete<S extends z.ZodType | undefined = undefined>(path: string, opts?: RequestOptions<S>): Promise<Body<S>>;
  /**
   * For proxies: the upstream's 2xx-4xx answer as bytes, not parsed, so a gateway passes on exactly
   * what the service said (its error body, its content type) without decoding and re-encoding JSON
   * on every request. 5xx, timeouts, refused connections and an open breaker still throw
   * UpstreamError, and a refused service token is still a 502, as with request().
   */
  forward(method: ClientMethod, path: string, opts?: Omit<RequestOptions, 'schema'>): Promise<ForwardedResponse>;
  readonly breakerState: 'closed' | 'open' | 'half-open' | 'disabled';
  close(): Promise<void>;
}

/** A 5xx (or unreadable) answer, thrown inside the breaker so it counts as a failure. */
class UpstreamStatusError extends Error {
  constructor(readonly status: number, readonly upstreamBody: unknown) {
    super(`upstream answered ${status}`);
  }
}


/**
 * The OTel undici instrumentation subscribes to this channel and injects the client span's
 * context itself; injecting too would send two traceparent headers, which Node joins with ", "
 * and the server then cannot parse. So inject only when nothing instruments undici.
 */
const undiciCreateChannel = diagnosticsChannel.channel('undici:request:create');

function traceHeaders(): Record<string, string> {
  const carrier: Record<string, string> = {};
  if (!undiciCreateChannel.hasSubscribers) propagation.inject(context.active(), carrier);
  return carrier;
}

function parseBody(text: string, contentType: unknown): unknown {
  if (!text) return undefined;
  if (String(contentType ?? '').includes('json')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function readBody(res: RawResponse): unknown {
  return parseBody(res.body.toString('utf8'), res.headers['content-type']);
}

function readBytes(res: RawResponse): Buffer | undefined {
  return res.body.length === 0 ? undefined : res.body;
}

function upstreamError(body: unknown): { code?: string; message?: string; details?: ErrorDetail[] } {
  if (body && typeof body === 'object' && 'error' in body) {
    const e = (body as { error: unknown }).error;
    if (e && typeof e === 'object') {
      const { code, message, details } = e as Record<string, unknown>;
      return {
        ...(typeof code === 'string' ? { code } : {}),
        ...(typeof message === 'string' ? { message } : {}),
        ...(Array.isArray(details) ? { details: details as ErrorDetail[] } : {}),
      };
    }
  }
  return {};
}

function isTransient(err: unknown): boolean {
  if (err instanceof UpstreamStatusError) return RETRYABLE_STATUS.has(err.status);
  if (err instanceof TimeoutError) return true;
  if (err instanceof CircuitOpenError) return false;
  if (err instanceof undiciErrors.UndiciError) return true; // socket reset, connect timeout, …
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN'].includes(code);
}

/**
 * HTTP client for calling another shop service: keep-alive pool, per-attempt timeout, retries for
 * idempotent calls only, one circuit breaker per upstream, trace propagation, internal token, and
 * typed errors: upstream 4xx pass through as AppError (same status/code/message), 5xx, timeouts,
 * refused connections and an open breaker become UpstreamError (502/503/504).
 */
export function createServiceClient(opts: ServiceClientOptions): ServiceClient {
  const name = opts.name;
  const base = new URL(opts.baseUrl);
  const agent = new Agent({ connections: opts.connections ?? 32, keepAliveTimeout: 4_000 });
  const breaker: CircuitBreaker | undefined =
    opts.breaker === false
      ? undefined
      : createCircuitBreaker({
          name: `http:${name}`,
          failureThreshold: opts.breaker?.failureThreshold ?? 5,
          halfOpenAfterMs: opts.breaker?.halfOpenAfterMs ?? 10_000,
          // only 5xx, timeouts and connection failures are thrown inside the breaker; 4xx are values
          isFailure: () => true,
        });

  // built once: every call of this client shares them
  const timeoutName = `http:${name}`;
  const retryBase = { name: `http:${name}`, baseDelayMs: opts.retryBaseDelayMs ?? 50, maxDelayMs: 1_000, isRetryable: isTransient };
  const retryIdempotent = { ...retryBase, maxAttempts: 1 + (opts.retries ?? 2) };
  const retryOnce = { ...retryBase, maxAttempts: 1 };

  async function attempt<B>(method: ClientMethod, url: URL, ro: RequestOptions<z.ZodType | undefined>, read: (res: RawResponse) => B): Promise<ServiceResponse<B>> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...ro.headers,
      ...traceHeaders(),
      authorization: `Bearer ${await opts.signer.sign(name, ro.user)}`,
    };
    if (ro.idempotencyKey) headers['idempotency-key'] = ro.idempotencyKey;
    let payload: string | undefined;
    if (ro.rawJson !== undefined) payload = ro.rawJson;
    else if (ro.body !== undefined) payload = JSON.stringify(ro.body);
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const timeoutMs = ro.timeoutMs ?? opts.timeoutMs ?? 2_000;
    // the deadline is enforced by aborting the dispatch itself (no AbortController per call), and
    // counted and recorded as the SDK's withTimeout does
    const run = async () => {
      const res = await sendRequest(agent, url, {
        method,
        headers,
        ...(payload !== undefined ? { body: payload } : {}),
        timeoutMs,
        onTimeout: () => recordTimeout(timeoutName, timeoutMs),
      });
      // a 5xx body is read as JSON whatever the caller wants: it explains the failure in logs
      if (res.statusCode >= 500) throw new UpstreamStatusError(res.statusCode, readBody(res));
      return { status: res.statusCode, headers: res.headers, body: read(res) };
    };
    // 4xx come back as values, so a client's bad input never trips the breaker
    return breaker ? breaker.execute(run) : run();
  }

  /** Every attempt (retries, breaker, timeout) of one call; failures become UpstreamError. */
  async function call<B>(method: ClientMethod, path: string, ro: RequestOptions<z.ZodType | undefined>, read: (res: RawResponse) => B): Promise<{ url: URL; res: ServiceResponse<B> }> {
    const url = new URL(path.replace(/^\/*/, ''), base.href.endsWith('/') ? base : `${base.href}/`);
    for (const [k, v] of Object.entries(ro.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const retryable = IDEMPOTENT.has(method) || Boolean(ro.idempotencyKey);
    try {
      const res = await retry(() => attempt(method, url, ro, read), retryable ? retryIdempotent : retryOnce);
      return { url, res };
    } catch (err) {
      throw toUpstreamError(name, method, url, err);
    }
  }

  /** Our own service token refused: a deployment fault, not the end user's. */
  function refusedCredentials(status: number, e: { code?: string }): UpstreamError | undefined {
    if (status !== 401 || !e.code?.startsWith('service_token')) return undefined;
    return new UpstreamError(name, `${name} refused this service's credentials (${e.code})`, { status: 502, code: 'upstream_auth_failed' });
  }

  async function request<S extends z.ZodType | undefined = undefined>(method: ClientMethod, path: string, ro: RequestOptions<S> = {}): Promise<ServiceResponse<Body<S>>> {
    const { url, res } = await call(method, path, ro, readBody);
    if (res.status >= 400) {
      const e = upstreamError(res.body);
      throw refusedCredentials(res.status, e) ?? new AppError(res.status, e.code ?? 'upstream_rejected', e.message ?? `${name} answered ${res.status}`, e.details ? { details: e.details } : {});
    }
    let body = res.body as Body<S>;
    if (ro.schema) {
      const parsed = ro.schema.safeParse(res.body);
      if (!parsed.success) throw new UpstreamError(name, `${name} ${method} ${url.pathname}: unexpected response shape`, { code: 'upstream_bad_response' });
      body = parsed.data as Body<S>;
    }
    return { status: res.status, headers: res.headers, body };
  }

  async function forward(method: ClientMethod, path: string, ro: Omit<RequestOptions, 'schema'> = {}): Promise<ForwardedResponse> {
    const { res } = await call(method, path, ro, readBytes);
    if (res.status === 401) {
      const refused = refusedCredentials(401, upstreamError(parseBody(res.body?.toString('utf8') ?? '', res.headers['content-type'])));
      if (refused) throw refused;
    }
    return res;
  }

  return {
    name,
    request,
    forward,
    get: async (path, ro) => (await request('GET', path, ro)).body,
    post: async (path, body, ro) => (await request('POST', path, { ...ro, body })).body,
    put: async (path, body, ro) => (await request('PUT', path, { ...ro, body })).body,
    patch: async (path, body, ro) => (await request('PATCH', path, { ...ro, body })).body,
    delete: async (path, ro) => (await request('DELETE', path, ro)).body,
    get breakerState() {
      return breaker ? breaker.state : 'disabled';
    },
    close: () => agent.close(),
  };
}

function toUpstreamError(name: string, method: string, url: URL, err: unknown): UpstreamError {
  const where = `${name} ${method} ${url.pathname}`;
  if (err instanceof CircuitOpenError) return new UpstreamError(name, `${name} unavailable (circuit open)`, { status: 503, code: 'upstream_unavailable', cause: err });
  if (err instanceof TimeoutError) return new UpstreamError(name, `${where} timed out`, { status: 504, code: 'upstream_timeout', cause: err });
  if (err instanceof UpstreamStatusError) {
    const e = upstreamError(err.upstreamBody);
    return new UpstreamError(name, `${where} failed with ${err.status}${e.code ? ` (${e.code})` : ''}`, { status: err.status === 503 ? 503 : 502, code: 'upstream_error', cause: err });
  }
  return new UpstreamError(name, `${where} unreachable: ${(err as Error)?.message ?? String(err)}`, { status: 502, code: 'upstream_unreachable', cause: err });
}
