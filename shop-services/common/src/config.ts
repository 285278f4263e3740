import type { z } from 'zod';

/** Configuration is invalid; `issues` names each bad key. The message never contains values (they may be secrets). */
export class ConfigError extends Error {
  readonly code = 'config_invalid';
  readonly issues: { key: string; message: string }[];
  constructor(issues: { key: string; message: string }[]) {
    super(`invalid configuration: ${issues.map((i) => `${i.key}: ${i.message}`).join('; ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/**
 * Parses environment variables with a zod object schema (use z.coerce for numbers).
 * Throws ConfigError naming every bad key at once, so a misconfigured deploy fails fast and clearly.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: Record<string, string | undefined> = process.env): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => ({
      key: issue.path.map(String).join('.') || '(root)',
      // zod messages describe the constraint ("Too small: expected string to have >=32 characters"), not the value
      message: issue.message,
    })),
  );
}
