import type Koa from 'koa';
import { AppError, PayloadTooLargeError, BadRequestError, NotFoundError } from '../errors.js';
import { currentTraceId } from '../trace.js';

/** Errors raised by raw-body / co-body while reading the request carry `type` and `status`. */
interface BodyReadError extends Error {
  type?: string;
  status?: number;
  limit?: number;
}

/** Turns body-parser failures (and input faults: URIError, stack overflow) into typed errors a client can act on. */
export function normaliseBodyError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  // hostile input that got past the guards into code that decodes or recurses: the client's fault
  if (err instanceof URIError) return new BadRequestError('the request has a malformed percent-encoding or escapes bytes that are not UTF-8', 'malformed_uri');
  if (err instanceof RangeError && err.message.includes('call stack')) return new BadRequestError('the request input is nested too deeply to process', 'input_too_deep');
  const e = err as BodyReadError;
  // co-body marks JSON.parse failures with status 400 and the raw body, but no type
  if (err instanceof SyntaxError && e.status === 400) return new BadRequestError('request body is not valid JSON', 'malformed_json');
  switch (e.type) {
    case 'entity.too.large':
      return new PayloadTooLargeError(`request body exceeds the ${e.limit ?? 'configured'} byte limit`);
    case 'entity.parse.failed':
      return new BadRequestError('request body is not valid JSON', 'malformed_json');
    case 'entity.verify.failed':
    case 'request.aborted':
    case 'request.size.invalid':
      return new BadRequestError(`request body could not be read (${e.type})`, 'bad_body');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError(415, 'unsupported_encoding', e.message);
    default:
      return err;
  }
}

/**
 * Renders AppErrors as `{ error: { code, message, details }, trace_id }`. Anything else is an
 * unexpected fault: rethrown so the SDK's middleware logs it and answers a safe 500.
 */
export function errorMiddleware(opts: { notFoundAndMethod?: boolean } = {}): Koa.Middleware {
  const routeErrors = opts.notFoundAndMethod === true;
  return async function appErrors(ctx, next) {
    try {
      await next();
      // (createServiceApp) the router's unmatched 404 and allowedMethods' 405 as typed errors, checked here
      // rather than in a middleware of their own: one async frame less per request
      if (routeErrors && ctx.body == null) {
        if (ctx.status === 405) throw new AppError(405, 'method_not_allowed', `${ctx.method} not allowed on ${ctx.path}; allowed: ${ctx.response.get('allow')}`, { headers: { allow: ctx.response.get('allow') } });
        if (ctx.status === 404) throw new NotFoundError(`no route for ${ctx.method} ${ctx.path}`, 'route_not_found');
      }
    } catch (raw) {
      const err = normaliseBodyError(raw);
      if (!(err instanceof AppError)) throw err;
      ctx.status = err.status;
      for (const [k, v] of Object.entries(err.headers)) ctx.set(k, v);
      const traceId = currentTraceId();
      ctx.body = {
        error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) },
        ...(traceId ? { trace_id: traceId } : {}),
      };
      // 5xx AppErrors (upstream failures) still matter to on-call: let the SDK's access log see them
      if (err.status >= 500) ctx.state.error = err;
    }
  };
}
