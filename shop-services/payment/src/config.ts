import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { commonConfigSchema, loadConfig, MIN_SECRET_LENGTH, paymentChannelSchema, type PaymentChannel } from '@lantern/shop-common';

const int = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);
const rate = (fallback: number) => z.coerce.number().min(0).max(1).default(fallback);
const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'], { message: 'must be true, false, 1 or 0' })
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');

/** `card,wallet,bank`: the enabled channels; their order breaks ties in routing. */
const channelList = z
  .string()
  .default('card,wallet,bank')
  .transform((s) => s.split(',').map((c) => c.trim()).filter(Boolean))
  .pipe(
    z
      .array(paymentChannelSchema)
      .min(1, 'must name at least one channel')
      .refine((list) => new Set(list).size === list.length, 'must not repeat a channel'),
  );

/** Per-channel simulation keys (CHANNEL_CARD_LATENCY_MS …), with each channel's own defaults. */
function channelKeys(name: 'CARD' | 'WALLET' | 'BANK', latencyMs: number) {
  return {
    [`CHANNEL_${name}_LATENCY_MS`]: int(0, latencyMs),
    [`CHANNEL_${name}_JITTER_MS`]: int(0, Math.round(latencyMs / 4)),
    [`CHANNEL_${name}_FAILURE_RATE`]: rate(0),
    [`CHANNEL_${name}_DECLINE_RATE`]: rate(0),
    [`CHANNEL_${name}_LATE_ANSWER_MS`]: int(0, 0),
    [`CHANNEL_${name}_LOOKUP_FAILURE_RATE`]: rate(0),
  } as Record<`CHANNEL_${typeof name}_${'LATENCY_MS' | 'JITTER_MS' | 'LATE_ANSWER_MS'}`, ReturnType<typeof int>> &
    Record<`CHANNEL_${typeof name}_${'FAILURE_RATE' | 'DECLINE_RATE' | 'LOOKUP_FAILURE_RATE'}`, ReturnType<typeof rate>>;
}

export const paymentConfigSchema = commonConfigSchema
  .extend({
    PORT: z.coerce.number().int().min(0).max(65535).default(8085),
    DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'must match [a-z_][a-z0-9_]*').default('shop_payment'),
    DB_POOL_MAX: int(1, 10),
    PAYMENTS_TOPIC: z.string().min(1).max(200).default('payments'),
    /** Services allowed to create payments (the internal token's issuer). The gateway is never one. */
    PAYMENT_ALLOWED_CALLERS: z
      .string()
      .default('order')
      .transform((s) => s.split(',').map((c) => c.trim()).filter(Boolean)),
    PAYMENT_CHANNELS: channelList,
    /** Whole budget of one charge, failovers included; below the order service's call timeout (5 s). */
    PAYMENT_DEADLINE_MS: int(50, 4_000),
    /** One call to one channel. */
    CHANNEL_TIMEOUT_MS: int(10, 1_500),
    /**
     * One lookup of an unanswered attempt's reference at its channel (before failing over). Not cut
     * by the deadline, since it decides whether money moved: deadline + this stays below the caller's timeout.
     */
    CHANNEL_LOOKUP_TIMEOUT_MS: int(10, 500),
    /** Sliding window of the routing statistics. */
    ROUTING_WINDOW_MS: int(1_000, 60_000),
    /** At most this many recent calls per channel are kept in the window. */
    ROUTING_WINDOW_MAX_CALLS: int(1, 200),
    /** Score = success rate − this × mean latency in seconds. */
    ROUTING_LATENCY_PENALTY_PER_SECOND: z.coerce.number().min(0).max(100).default(0.2),
    BREAKER_FAILURE_THRESHOLD: int(1, 5),
    BREAKER_HALF_OPEN_AFTER_MS: int(10, 10_000),
    ...channelKeys('CARD', 20),
    ...channelKeys('WALLET', 30),
    ...channelKeys('BANK', 40),
    /** The bank answers `pending` and settles later through a signed callback. */
    CHANNEL_BANK_ASYNC: flag(true),
    CHANNEL_BANK_SETTLE_DELAY_MS: int(0, 500),
    /**
     * Where the simulated bank delivers its callbacks. Default: this service on loopback. Point it at
     * the gateway (`http://127.0.0.1:8080/api/payments/callbacks/bank`) to take the public path.
     */
    BANK_CALLBACK_URL: z.url().optional(),
    /** The simulated bank signs an internal token like the gateway would (off when it calls the gateway). */
    BANK_CALLBACK_INTERNAL_TOKEN: flag(true),
    BANK_CALLBACK_MAX_ATTEMPTS: int(1, 5),
    /** HMAC key of provider callbacks; derived from INTERNAL_AUTH_SECRET when unset (the providers are simulated in-process). */
    PAYMENT_CALLBACK_SECRET: z.string().min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`).optional(),
    CALLBACK_TOLERANCE_SECONDS: int(1, 300),
    /** 0 disables the periodic run (the admin endpoint still works). */
    RECONCILIATION_INTERVAL_MS: int(0, 300_000),
    /** How far back each run compares. */
    RECONCILIATION_WINDOW_MS: int(1_000, 900_000),
    /** Records younger than this are left for the next run (calls and callbacks in flight). */
    RECONCILIATION_GRACE_MS: int(0, 30_000),
    /** A charge or refund still in progress this long after its deadline was interrupted: recovered from the channel's records. */
    RECOVERY_MARGIN_MS: int(0, 10_000),
  })
  .transform((c) => ({
    ...c,
    PAYMENT_CALLBACK_SECRET: c.PAYMENT_CALLBACK_SECRET ?? createHmac('sha256', c.INTERNAL_AUTH_SECRET).update('lantern payment callbacks v1').digest('hex'),
  }));

export type PaymentConfig = z.output<typeof paymentConfigSchema>;

export interface ChannelSimulation {
  latencyMs: number;
  jitterMs: number;
  failureRate: number;
  declineRate: number;
  /**
   * "Charges but answers late": 0 = a call our client gives up on is dropped by the provider too
   * (nothing recorded). Above 0, the provider finishes every charge it received whether or not our
   * client still waits (as a real provider's server does), and its answer comes this much later.
   */
  lateAnswerMs: number;
  /** Probability that a lookup of a reference fails (throws), independent of the charge failure rate. */
  lookupFailureRate: number;
}

/** The simulation settings of one channel, from the CHANNEL_<NAME>_* keys. */
export function channelSimulation(config: PaymentConfig, channel: PaymentChannel): ChannelSimulation {
  const key = channel.toUpperCase() as 'CARD' | 'WALLET' | 'BANK';
  return {
    latencyMs: config[`CHANNEL_${key}_LATENCY_MS`],
    jitterMs: config[`CHANNEL_${key}_JITTER_MS`],
    failureRate: config[`CHANNEL_${key}_FAILURE_RATE`],
    declineRate: config[`CHANNEL_${key}_DECLINE_RATE`],
    lateAnswerMs: config[`CHANNEL_${key}_LATE_ANSWER_MS`],
    lookupFailureRate: config[`CHANNEL_${key}_LOOKUP_FAILURE_RATE`],
  };
}

/** Reads and validates the environment; throws ConfigError naming every bad key. */
export function loadPaymentConfig(env: Record<string, string | undefined> = process.env): PaymentConfig {
  return loadConfig(paymentConfigSchema, env);
}
