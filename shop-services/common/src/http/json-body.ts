import type Koa from 'koa';
import getRawBody from 'raw-body';
import { AppError, BadRequestError, PayloadTooLargeError } from '../errors.js';
import { findBadValue, jsonNestsDeeperThan } from './hostile-input.js';

declare module 'koa' {
  interface Request {
    /** The parsed JSON body (undefined when the request had none). */
    body?: unknown;
    /** The body as received (UTF-8 text), e.g. to check a signature over it; '' when there was none. */
    rawBody: string;
  }
}

export interface JsonBodyOptions {
  /** Largest body accepted, bytes or '64kb' style; larger gets 413 before it is read. Default '64kb'. */
  limit?: string | number;
  /** Deepest nesting of objects and arrays accepted; deeper gets 400 body_too_deep. Default 64. */
  maxDepth?: number;
}

export const DEFAULT_BODY_LIMIT = '64kb';
export const DEFAULT_MAX_DEPTH = 64;

const WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The upstream error raw-body throws: its `type` says which limit or read failure it was. */
interface RawBodyError extends Error {
  type?: string;
  limit?: number;
}

async function readText(ctx: Koa.Context, limit: string | number): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await getRawBody(ctx.req, { length: ctx.request.length, limit });
  } catch (err) {
    const e = err as RawBodyError;
    if (e.type === 'entity.too.large') throw new PayloadTooLargeError(`request body exceeds the ${e.limit ?? limit} byte limit`);
    throw new BadRequestError(`request body could not be read (${e.type ?? e.message})`, 'bad_body');
  }
  try {
    return utf8.decode(bytes);
  } catch {
    throw new AppError(400, 'invalid_utf8', 'request body is not valid UTF-8', { details: [{ path: 'body', message: 'not valid UTF-8' }] });
  }
}

/** Content type and encoding of a request that has a body: JSON in UTF-8, identity encoded, or 415. */
function checkHeaders(ctx: Koa.Context): void {
  if (!ctx.is('json', '+json')) {
    const got = ctx.get('content-type') || 'none';
    throw new AppError(415, 'unsupported_media_type', `request body must be application/json (Content-Type: ${got.slice(0, 100)})`);
  }
  const charset = ctx.request.charset.toLowerCase();
  if (charset !== '' && charset !== 'utf-8' && charset !== 'utf8') {
    throw new AppError(415, 'unsupported_encoding', `request body must be UTF-8 (charset=${charset.slice(0, 40)})`);
  }
  const encoding = ctx.get('content-encoding').toLowerCase();
  // a compressed body can expand far past the limit it was checked against; no client of the shop compresses
  if (encoding !== '' && encoding !== 'identity') {
    throw new AppError(415, 'unsupported_encoding', `request body must not be compressed (Content-Encoding: ${encoding.slice(0, 40)})`);
  }
}

function parseJson(text: string, maxDepth: number): unknown {
  // before JSON.parse: one pass over the text, and later code (zod, JSON.stringify, loggers) that
  // recurses over the value can never run out of stack
  if (jsonNestsDeeperThan(text, maxDepth)) {
    throw new AppError(400, 'body_too_deep', `request body nests objects and arrays deeper than ${maxDepth} levels`, {
      details: [{ path: 'body', message: `nesting deeper than ${maxDepth} levels`, limit: maxDepth }],
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadRequestError('request body is not valid JSON', 'malformed_json');
  }
  if (value === null || typeof value !== 'object') throw new BadRequestError('request body must be a JSON object or array', 'malformed_json');
  const bad = findBadValue(value, 'body');
  if (bad) throw new AppError(400, bad.code, `invalid body: ${bad.path}: ${bad.reason}`, { details: [{ path: bad.path, message: bad.reason, code: bad.code }] });
  return value;
}

/**
 * Reads a JSON request body into ctx.request.body (and the text into ctx.request.rawBody), refusing
 * what no route should see: over the size limit (413), not JSON or compressed (415), not UTF-8,
 * nested deeper than maxDepth, malformed, or holding NUL / lone surrogates, prototype keys or
 * numbers beyond double range (400, with details[].path naming the value).
 */
export function jsonBody(opts: JsonBodyOptions = {}): Koa.Middleware {
  const limit = opts.limit ?? DEFAULT_BODY_LIMIT;
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  async function withBody(ctx: Koa.Context, next: Koa.Next): Promise<void> {
    checkHeaders(ctx);
    const text = await readText(ctx, limit);
    if (text.trim() !== '') {
      ctx.request.rawBody = text;
      ctx.request.body = parseJson(text, maxDepth);
    }
    return next();
  }
  // not async: GET/HEAD and bodiless writes pass with two property reads and no promise of their own
  return function readJsonBody(ctx, next) {
    ctx.request.rawBody = '';
    if (!WITH_BODY.has(ctx.method) || (!ctx.request.length && ctx.get('transfer-encoding') === '')) return next();
    return withBody(ctx, next);
  };
}
