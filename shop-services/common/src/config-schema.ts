import { z } from 'zod';
import { MIN_SECRET_LENGTH } from './auth/keys.js';

/** Keys every shop service reads; services `.extend()` it with their own. */
export const commonConfigSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/postgres'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((s) => s.split(',').map((b) => b.trim()).filter(Boolean)),
  INTERNAL_AUTH_SECRET: z.string().min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`),
  BODY_LIMIT: z.string().default('64kb'),
});
export type CommonConfig = z.infer<typeof commonConfigSchema>;
