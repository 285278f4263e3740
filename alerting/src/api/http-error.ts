// Errors the HTTP layer turns into answers. Alertmanager's v2 API answers 4xx/5xx with a JSON *string* body
// (openapi.yaml responses BadRequest/InternalServerError: `type: string`); every route here does the same.
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { NotFoundError, ValidationError } from '../model/errors.js';

/** An answer with a status and a message that names what was wrong (the field, the parameter). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (field: string, message: string) => new HttpError(400, `${field}: ${message}`);

/** Maps thrown errors to JSON-string answers; anything unexpected is logged and answered 500 without details. */
export function jsonErrors(logger: Logger) {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
    } catch (err) {
      const { status, message } = describe(err);
      if (status >= 500) logger.error({ err, path: ctx.path, method: ctx.method }, 'request failed');
      ctx.status = status;
      ctx.type = 'application/json';
      ctx.body = JSON.stringify(message);
    }
  };
}

export function describe(err: unknown): { status: number; message: string } {
  if (err instanceof HttpError) return { status: err.status, message: err.message };
  if (err instanceof ValidationError) return { status: 400, message: err.message };
  if (err instanceof NotFoundError) return { status: 404, message: err.message };
  return { status: 500, message: 'internal error (see the engine log)' };
}
