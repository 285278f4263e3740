import { z } from 'zod';
import { commonConfigSchema, MIN_SECRET_LENGTH } from '@lantern/shop-common';

export const userConfigSchema = commonConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  /** Signs end-user access tokens; the gateway verifies them with the same secret. */
  JWT_SECRET: z.string().min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`),
  DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'must be a plain lower-case identifier').default('shop_user'),
  REDIS_KEY_PREFIX: z.string().default('shop:user:'),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(3600).default(900),
  REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(90).default(30),
  /** Failed logins per email+IP before a lockout; per email (any IP) the limit is 4× this. */
  LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).default(5),
  LOGIN_LOCKOUT_SECONDS: z.coerce.number().int().min(1).default(900),
  /** Optional first admin, created (or promoted) at start. */
  BOOTSTRAP_ADMIN_EMAIL: z.email().optional(),
  BOOTSTRAP_ADMIN_PASSWORD: z.string().min(12).optional(),
});
export type UserConfig = z.infer<typeof userConfigSchema>;
