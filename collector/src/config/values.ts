// zod building blocks shared by every component's config schema, so a duration or an address is
// spelled and validated the same way everywhere.
import { z } from 'zod';

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go-style duration ("200ms", "1.5s", "5m", "1h") or a number of milliseconds → milliseconds. */
export const duration = () =>
  z.union([z.number().nonnegative().finite(), z.string()]).transform((v, ctx) => {
    if (typeof v === 'number') return v;
    const m = DURATION.exec(v.trim());
    if (!m) {
      ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration (use e.g. 200ms, 5s, 1m, 1h)` });
      return z.NEVER;
    }
    return Number(m[1]) * UNIT_MS[m[2]!]!;
  });

export interface Endpoint {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
}

/** "host:port" (":port" means all interfaces) → { host, port }. */
export const endpoint = () =>
  z.string().transform((v, ctx): Endpoint => {
    const m = /^(\[[^\]]+\]|[^:]*):(\d{1,5})$/.exec(v.trim());
    const port = m ? Number(m[2]) : NaN;
    if (!m || port > 65535) {
      ctx.addIssue({ code: 'custom', message: `"${v}" is not host:port` });
      return z.NEVER;
    }
    const host = m[1]!.replace(/^\[|\]$/g, '');
    return { host: host === '' ? '0.0.0.0' : host, port };
  });

/** An absolute http(s) URL. */
export const httpUrl = () =>
  z.string().refine((v) => {
    try {
      return ['http:', 'https:'].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, 'must be an http:// or https:// URL');

/** Retry with exponential backoff, as the OpenTelemetry Collector's exporterhelper spells it. */
export const retryOnFailure = () =>
  z
    .strictObject({
      enabled: z.boolean().default(true),
      initial_interval: duration().default(5000),
      max_interval: duration().default(30_000),
      multiplier: z.number().min(1).default(1.5),
      /** Give up on a batch after this long; 0 retries forever. */
      max_elapsed_time: duration().default(300_000),
    })
    .prefault({});

/** The exporter's queue: bounded in memory, optionally on disk so a restart loses nothing. */
export const sendingQueue = () =>
  z
    .strictObject({
      enabled: z.boolean().default(true),
      num_consumers: z.number().int().min(1).max(100).default(4),
      /** In batches (export requests), not items. */
      queue_size: z.number().int().min(1).default(1000),
      /** When full: false refuses new data (the receiver answers 503), true waits for room. */
      block_on_overflow: z.boolean().default(false),
      /** Keep the queue in files under service.data_dir, so a restart or crash loses nothing accepted. */
      persistent: z.boolean().default(false),
    })
    .prefault({});

export type RetryOnFailure = z.output<ReturnType<typeof retryOnFailure>>;
export type SendingQueue = z.output<ReturnType<typeof sendingQueue>>;
