import { z } from 'zod';
import { ResilienceConfigError } from './errors.js';

/**
 * Validates a tool's options at construction time, so a bad config fails on startup with the key
 * named, not at 3 a.m. on the first failing call.
 */
export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, tool: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const key = issue && issue.path.length > 0 ? issue.path.join('.') : '(options)';
  const name = typeof input === 'object' && input !== null && typeof (input as { name?: unknown }).name === 'string'
    ? (input as { name: string }).name
    : tool;
  throw new ResilienceConfigError(name, key, issue?.message ?? 'invalid');
}

/** Metric label value naming the tool instance: short, bounded, set by code (never by user input). */
export const toolName = z.string().min(1).max(100);
export const positiveInt = z.number().int().positive();
export const positiveNumber = z.number().positive().finite();
export const predicate = z.custom<(err: unknown) => boolean>((v) => typeof v === 'function', 'expected a function');
export const abortSignal = z.custom<AbortSignal>((v) => v instanceof AbortSignal, 'expected an AbortSignal');
