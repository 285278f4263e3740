import type { z } from 'zod';
import { ValidationError, type ErrorDetail } from './errors.js';

export type InputLocation = 'body' | 'query' | 'params' | 'headers' | 'response';

/** `body.email: Invalid email address` style details, one per zod issue. */
export function issuesToDetails(issues: readonly z.core.$ZodIssue[], location: InputLocation): ErrorDetail[] {
  return issues.map((issue) => ({
    path: [location, ...issue.path.map(String)].join('.'),
    message: issue.message,
    code: issue.code,
  }));
}

/**
 * Validates `value` against `schema`, returning the typed output or throwing a 400 ValidationError
 * whose message and details name each bad field with its location.
 */
export function parse<S extends z.ZodType>(schema: S, value: unknown, location: InputLocation): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details = issuesToDetails(result.error.issues, location);
  const summary = details.map((d) => `${d.path}: ${d.message}`).join('; ');
  throw new ValidationError(`invalid ${location}: ${summary}`, details);
}
