import { z } from 'zod';
import { paymentChannelSchema } from '@lantern/shop-common';

/** Largest single payment: 1,000,000.00 in the currency's major unit. */
export const MAX_AMOUNT_CENTS = 100_000_000;

const uuid = z.uuid('must be a UUID');
const userId = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:@-]+$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ : @ -');
const currency = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code like USD');
const amountCents = z.number().int('must be whole cents').positive('must be greater than 0').max(MAX_AMOUNT_CENTS, `must be at most ${MAX_AMOUNT_CENTS}`);
/** Same rule as the gateway's. */
export const idempotencyKeySchema = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -');

export const createPaymentBody = z.strictObject({
  orderId: uuid,
  userId,
  amountCents,
  currency,
  method: paymentChannelSchema.optional(),
});

export const paymentIdParams = z.strictObject({ id: uuid });
export const channelParams = z.strictObject({ channel: paymentChannelSchema });
/** Callbacks: any string here, so an unknown channel is a 404 rather than a validation error. */
export const callbackParams = z.strictObject({ channel: z.string().max(32) });

export const listPaymentsQuery = z.strictObject({
  orderId: uuid.optional(),
  /** Admins only: someone else's payments. */
  userId: userId.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

export const refundBody = z.strictObject({
  amountCents: amountCents.optional(),
  reason: z.string().trim().min(1, 'must not be empty').max(500),
});

export const simulationBody = z
  .strictObject({
    latencyMs: z.number().int().min(0).max(60_000).optional(),
    jitterMs: z.number().int().min(0).max(60_000).optional(),
    failureRate: z.number().min(0).max(1).optional(),
    declineRate: z.number().min(0).max(1).optional(),
    lateAnswerMs: z.number().int().min(0).max(60_000).optional(),
    lookupFailureRate: z.number().min(0).max(1).optional(),
  })
  .refine((b) => (b.failureRate ?? 0) + (b.declineRate ?? 0) <= 1, { message: 'failureRate + declineRate must not exceed 1', path: ['declineRate'] });

export const reconciliationRunBody = z.strictObject({
  /** Compare this far back instead of RECONCILIATION_WINDOW_MS. */
  windowMinutes: z.number().int().min(1).max(7 * 24 * 60).optional(),
});

export const paymentSchema = z.object({
  id: z.string(),
  orderId: z.string(),
  userId: z.string(),
  status: z.enum(['succeeded', 'failed', 'pending']),
  channel: paymentChannelSchema.optional(),
  method: paymentChannelSchema.optional(),
  amountCents: z.number(),
  currency: z.string(),
  refundedCents: z.number(),
  failureReason: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const refundSchema = z.object({
  id: z.string(),
  paymentId: z.string(),
  channel: paymentChannelSchema,
  amountCents: z.number(),
  currency: z.string(),
  reason: z.string(),
  status: z.enum(['processing', 'succeeded', 'failed']),
  failureReason: z.string().optional(),
  createdAt: z.string(),
});

const windowSchema = z.object({
  calls: z.number(),
  successes: z.number(),
  declines: z.number(),
  errors: z.number(),
  availability: z.number(),
  successRate: z.number().nullable(),
  meanLatencyMs: z.number().nullable(),
  p95LatencyMs: z.number().nullable(),
});

export const channelStatusSchema = z.object({
  channel: paymentChannelSchema,
  state: z.enum(['closed', 'half-open', 'open']),
  score: z.number(),
  rank: z.number(),
  window: windowSchema,
  simulation: z.object({
    latencyMs: z.number(),
    jitterMs: z.number(),
    failureRate: z.number(),
    declineRate: z.number(),
    lateAnswerMs: z.number(),
    lookupFailureRate: z.number(),
    async: z.boolean(),
    settleDelayMs: z.number().optional(),
  }),
});
