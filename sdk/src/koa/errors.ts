import { STATUS_CODES } from 'node:http';
import { inputFault } from './input-faults.js';

/** What a client is told about a failed request: nothing that was not meant for it. */
export interface SafeError {
  status: number;
  code: string;
  message: string;
  /** Headers the error asks for (http-errors' `headers`, e.g. Retry-After, Allow). */
  headers: Record<string, string>;
}

interface HttpErrorLike {
  status?: unknown;
  statusCode?: unknown;
  expose?: unknown;
  message?: unknown;
  code?: unknown;
  headers?: unknown;
}

const SAFE_CODE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** `not_found`, `too_many_requests`...; 500 is `internal_error`. */
export function codeForStatus(status: number): string {
  if (status === 500) return 'internal_error';
  return (STATUS_CODES[status] ?? 'error').toLowerCase().replace(/[^a-z0-9]+/g, '_');
}

function messageForStatus(status: number): string {
  return status === 500 ? 'internal error' : (STATUS_CODES[status] ?? 'error').toLowerCase();
}

/**
 * Maps anything thrown by a handler to a response. Errors carrying an HTTP status (koa's ctx.throw,
 * http-errors, or any error with a numeric `status`/`statusCode` in 400–599) keep their status;
 * their message and string `code` are shown only when `expose` is true (http-errors' default for
 * status < 500; an error without `expose` is treated the same way). URIErrors and stack
 * overflows are 400s (see inputFault). Everything else becomes 500 "internal error": its message
 * may hold SQL, hostnames or user data.
 */
export function toSafeError(err: unknown): SafeError {
  const fault = inputFault(err);
  if (fault !== undefined) return fault;
  const e = (typeof err === 'object' && err !== null ? err : {}) as HttpErrorLike;
  const raw = typeof e.status === 'number' ? e.status : e.statusCode;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 400 || raw > 599) {
    return { status: 500, code: codeForStatus(500), message: messageForStatus(500), headers: {} };
  }
  const status = raw;
  const expose = typeof e.expose === 'boolean' ? e.expose : status < 500;
  const headers = safeHeaders(e.headers);
  if (!expose) return { status, code: codeForStatus(status), message: messageForStatus(status), headers };
  const code = typeof e.code === 'string' && SAFE_CODE.test(e.code) ? e.code : codeForStatus(status);
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : messageForStatus(status);
  return { status, code, message, headers };
}

function safeHeaders(headers: unknown): Record<string, string> {
  if (typeof headers !== 'object' || headers === null) return {};
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    // the body we write decides these
    if (lower === 'content-type' || lower === 'content-length') continue;
    if (typeof value === 'string' || typeof value === 'number') out[name] = String(value);
  }
  return out;
}
