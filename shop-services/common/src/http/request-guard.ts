import type Koa from 'koa';
import { AppError } from '../errors.js';
import { FORBIDDEN_KEYS, badText, decodeComponent } from './hostile-input.js';

export interface RequestGuardOptions {
  /** Longest raw query string accepted (characters); longer gets 414. Default 4096. */
  maxQueryLength?: number;
  /** Most query parameters accepted; more gets 400. Default 64. */
  maxQueryParams?: number;
}

export const DEFAULT_MAX_QUERY_LENGTH = 4096;
export const DEFAULT_MAX_QUERY_PARAMS = 64;

function refuse(status: number, code: string, where: string, message: string): AppError {
  return new AppError(status, code, `${where}: ${message}`, { details: [{ path: where, message, code }] });
}

function checkPath(path: string): void {
  const decoded = decodeComponent(path);
  if (decoded === undefined) throw refuse(400, 'malformed_path', 'path', 'has a malformed percent-escape or escapes bytes that are not UTF-8');
  const why = badText(decoded);
  if (why) throw refuse(400, 'invalid_text', 'path', why);
}

/** `+` is a space in query strings (as querystring.parse and URLSearchParams read them). */
const formDecode = (raw: string) => decodeComponent(raw.includes('+') ? raw.replaceAll('+', ' ') : raw);

function checkQuery(qs: string, maxLength: number, maxParams: number): void {
  if (qs.length > maxLength) throw refuse(414, 'query_too_long', 'query', `is ${qs.length} characters long; at most ${maxLength} are accepted`);
  const pairs = qs.split('&');
  if (pairs.length > maxParams) throw refuse(400, 'too_many_query_params', 'query', `has ${pairs.length} parameters; at most ${maxParams} are accepted`);
  const seen = new Set<string>();
  for (const pair of pairs) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = eq === -1 ? pair : pair.slice(0, eq);
    const key = formDecode(rawKey);
    if (key === undefined) throw refuse(400, 'malformed_query', `query.${rawKey.slice(0, 64)}`, 'the name has a malformed percent-escape or escapes bytes that are not UTF-8');
    const where = `query.${JSON.stringify(key).slice(1, -1).slice(0, 64)}`;
    const keyWhy = badText(key);
    if (keyWhy) throw refuse(400, 'invalid_text', where, `the name ${keyWhy}`);
    if (FORBIDDEN_KEYS.has(key)) throw refuse(400, 'forbidden_key', where, `the parameter name "${key}" is not allowed`);
    // the shop's APIs take one value per parameter (lists are comma-separated): a repeat would reach
    // handlers as an array where a string is expected
    if (seen.has(key)) throw refuse(400, 'repeated_query_param', where, 'is given more than once; give it once (lists are comma-separated)');
    seen.add(key);
    if (eq === -1) continue;
    const value = formDecode(pair.slice(eq + 1));
    if (value === undefined) throw refuse(400, 'malformed_query', where, 'has a malformed percent-escape or escapes bytes that are not UTF-8');
    const why = badText(value);
    if (why) throw refuse(400, 'invalid_text', where, why);
  }
}

/**
 * Refuses paths and query strings no route should see, before routing: malformed percent-encoding
 * or escaped bytes that are not UTF-8, NUL characters, an over-long query or too many parameters,
 * repeated parameters and prototype keys (`__proto__`, `constructor`). 4xx with details[].path
 * naming `path` or `query.<name>`. A request with neither `%` in its path nor a query costs two reads.
 */
export function requestGuard(opts: RequestGuardOptions = {}): Koa.Middleware {
  const maxLength = opts.maxQueryLength ?? DEFAULT_MAX_QUERY_LENGTH;
  const maxParams = opts.maxQueryParams ?? DEFAULT_MAX_QUERY_PARAMS;
  return function guardRequest(ctx, next) {
    const path = ctx.path;
    if (path.includes('%')) checkPath(path);
    const qs = ctx.querystring;
    if (qs !== '') checkQuery(qs, maxLength, maxParams);
    return next();
  };
}
