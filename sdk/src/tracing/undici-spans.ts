import diagnosticsChannel from 'node:diagnostics_channel';
import { context, propagation, SpanKind, SpanStatusCode, trace, type Span, type TextMapSetter } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
} from '@opentelemetry/semantic-conventions';

/** Instrumentation scope of the client spans made here. */
export const UNDICI_TRACING_SCOPE = '@lantern/sdk/undici';

/** The parts of an undici Request this reads (undici and Node's bundled fetch publish the same shape). */
interface UndiciRequest {
  origin?: string | URL;
  path?: string;
  method?: string;
  addHeader?(name: string, value: string): unknown;
  headers?: unknown;
}

const SPAN = Symbol('lantern.undici.span');
type Traced = UndiciRequest & { [SPAN]?: Span };

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

const headerSetter: TextMapSetter<UndiciRequest> = {
  set(request, key, value) {
    if (typeof request.addHeader === 'function') request.addHeader(key, value);
    else if (Array.isArray(request.headers)) request.headers.push(key, value);
    else if (typeof request.headers === 'string') request.headers += `${key}: ${value}\r\n`;
  },
};

/** host and port of an origin like `http://127.0.0.1:8082`, without a URL parse. */
function hostPort(origin: string): [string, number | undefined] {
  const start = origin.indexOf('//') + 2;
  const rest = origin.slice(start);
  const bracket = rest.startsWith('[') ? rest.indexOf(']') : -1;
  const colon = rest.indexOf(':', bracket === -1 ? 0 : bracket);
  if (colon === -1) return [rest.replace(/\/$/, ''), origin.startsWith('https:') ? 443 : 80];
  return [rest.slice(0, colon), Number.parseInt(rest.slice(colon + 1), 10)];
}

const SUBSCRIBED = Symbol.for('lantern.sdk.undiciSpans');

/**
 * CLIENT spans for every request made with undici or fetch, from undici's diagnostics channels: the
 * span is started when the request is created (in the caller's context, so it is the caller's
 * child), `traceparent` is added to the request, and the span ends when the response is complete
 * or the request fails. Replaces @opentelemetry/instrumentation-undici, which per request parses
 * the URL, builds a map of all headers and makes three attribute passes: the same semantic
 * conventions here (http.request.method, url.full, server.address, server.port,
 * http.response.status_code, error.type; 4xx and 5xx answers are errors, as for any client span)
 * for a fraction of the work. Idempotent, process-wide.
 */
export function enableUndiciSpans(): void {
  const g = globalThis as unknown as Record<symbol, boolean | undefined>;
  if (g[SUBSCRIBED]) return;
  g[SUBSCRIBED] = true;
  const tracer = trace.getTracer(UNDICI_TRACING_SCOPE);

  diagnosticsChannel.subscribe('undici:request:create', (msg) => {
    const request = (msg as { request: Traced }).request;
    const raw = request.method ?? 'GET';
    if (raw === 'CONNECT') return;
    const method = KNOWN_METHODS.has(raw) ? raw : '_OTHER';
    const active = context.active();
    const span = tracer.startSpan(method === '_OTHER' ? 'HTTP' : method, { kind: SpanKind.CLIENT }, active);
    if (span.isRecording()) {
      const origin = typeof request.origin === 'string' ? request.origin : (request.origin?.origin ?? '');
      const [host, port] = hostPort(origin);
      span.setAttribute(ATTR_HTTP_REQUEST_METHOD, method);
      span.setAttribute(ATTR_URL_FULL, `${origin}${request.path ?? ''}`);
      span.setAttribute(ATTR_SERVER_ADDRESS, host);
      if (port !== undefined && !Number.isNaN(port)) span.setAttribute(ATTR_SERVER_PORT, port);
    }
    propagation.inject(trace.setSpan(active, span), request, headerSetter);
    request[SPAN] = span;
  });

  diagnosticsChannel.subscribe('undici:request:headers', (msg) => {
    const { request, response } = msg as { request: Traced; response: { statusCode: number } };
    const span = request[SPAN];
    if (span === undefined || !span.isRecording()) return;
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.statusCode);
    if (response.statusCode >= 400) {
      span.setAttribute(ATTR_ERROR_TYPE, String(response.statusCode));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
  });

  diagnosticsChannel.subscribe('undici:request:trailers', (msg) => {
    const request = (msg as { request: Traced }).request;
    const span = request[SPAN];
    if (span === undefined) return;
    request[SPAN] = undefined;
    span.end();
  });

  diagnosticsChannel.subscribe('undici:request:error', (msg) => {
    const { request, error } = msg as { request: Traced; error: unknown };
    const span = request[SPAN];
    if (span === undefined) return;
    request[SPAN] = undefined;
    if (span.isRecording()) {
      const err = error instanceof Error ? error : new Error(String(error));
      span.recordException(err);
      span.setAttribute(ATTR_ERROR_TYPE, err.name);
      span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
    }
    span.end();
  });
}
