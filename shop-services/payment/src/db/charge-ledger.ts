import type { Knex } from 'knex';
import type { PaymentChannel } from '@lantern/shop-common';
import type { AttemptRow, PaymentRow } from '../payments/types.js';

/** The pool or an open transaction. */
type Runner = Knex | Knex.Transaction;

export interface NewPayment {
  id: string;
  orderId: string;
  idempotencyKey: string | null;
  userId: string;
  email: string | null;
  amountCents: number;
  currency: string;
  method: PaymentChannel | null;
}

/** A payment attempt to write before its channel is called: its id is the reference the channel records. */
export interface NewAttempt {
  id: string;
  channel: PaymentChannel;
}

/** A channel's answer to one attempt, as the ledger records it. */
export interface AttemptFinish {
  id: string;
  outcome: Exclude<AttemptRow['outcome'], 'in_flight'>;
  channelRef: string | null;
  error: string | null;
  latencyMs: number;
}

/** The payment's columns a settlement writes (processing rows have them all null, see settle()). */
export interface PaymentSettlement {
  status: 'succeeded' | 'pending' | 'failed';
  channel: PaymentChannel | null;
  channelRef: string | null;
  failureReason: string | null;
}

// Only an attempt still in flight: a provider callback may already have settled it.
const FINISH_ATTEMPT = `UPDATE payment_attempts SET outcome = ?, channel_ref = ?, error = ?, latency_ms = ?, finished_at = now()
  WHERE id = ? AND outcome = 'in_flight'`;

function finishBindings(f: AttemptFinish | undefined): Knex.Value[] {
  return f ? [f.outcome, f.channelRef, f.error, f.latencyMs, f.id] : [null, null, null, null, null];
}

/**
 * Every SQL statement of one charge, each one round trip: the claim with the first attempt, each
 * further attempt with the previous one's answer, and the settlement with the last answer.
 * Values always go in as bindings.
 */
export const chargeLedger = {
  /**
   * Inserts the intent (`processing`) unless a payment with this order id or Idempotency-Key exists:
   * the unique indexes decide who is first, in Postgres, across instances. The winner's first
   * attempt (when a channel is ready) goes in with it; a loser inserts neither and gets undefined.
   */
  async claim(db: Runner, p: NewPayment, first: NewAttempt | undefined): Promise<PaymentRow | undefined> {
    const { rows } = (await db.raw(
      `WITH p AS (
         INSERT INTO payments (id, order_id, idempotency_key, user_id, email, amount_cents, currency, method, status)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'processing')
         ON CONFLICT DO NOTHING RETURNING *
       ), a AS (
         INSERT INTO payment_attempts (id, payment_id, seq, channel, amount_cents, currency)
         SELECT f.id, p.id, 1, f.channel, p.amount_cents, p.currency
           FROM p, (VALUES (?::uuid, ?::text)) AS f(id, channel)
          WHERE f.channel IS NOT NULL
       )
       SELECT * FROM p`,
      [p.id, p.orderId, p.idempotencyKey, p.userId, p.email, p.amountCents, p.currency, p.method, first?.id ?? null, first?.channel ?? null],
    )) as { rows: PaymentRow[] };
    return rows[0];
  },

  /** Writes an attempt before its channel is called, with the previous attempt's answer if there is one. */
  async startAttempt(db: Runner, payment: PaymentRow, seq: number, attempt: NewAttempt, previous: AttemptFinish | undefined): Promise<void> {
    const insert = `INSERT INTO payment_attempts (id, payment_id, seq, channel, amount_cents, currency) VALUES (?, ?, ?, ?, ?, ?)`;
    const values = [attempt.id, payment.id, seq, attempt.channel, payment.amount_cents, payment.currency];
    if (!previous) {
      await db.raw(insert, values);
      return;
    }
    await db.raw(`WITH f AS (${FINISH_ATTEMPT}) ${insert}`, [...finishBindings(previous), ...values]);
  },

  /**
   * The first attempt was written with the claim for the channel ranked first then; the router chose
   * another (that one's breaker opened meanwhile). The channel has not been called yet, so the row
   * is still a clean record of "about to call": it only changes channel.
   */
  async redirectAttempt(db: Runner, attempt: NewAttempt): Promise<void> {
    await db.raw(`UPDATE payment_attempts SET channel = ? WHERE id = ? AND outcome = 'in_flight'`, [attempt.channel, attempt.id]);
  },

  /** Removes a first attempt written with the claim that no channel was called for (all were open or out of time). */
  async dropUnusedAttempt(db: Runner, attemptId: string): Promise<void> {
    await db.raw(`DELETE FROM payment_attempts WHERE id = ? AND outcome = 'in_flight'`, [attemptId]);
  },

  /**
   * The router could not learn whether the channel charged (its call and its lookup both failed): the
   * payment stays `processing` and the attempt `in_flight`, the state recovery settles from the
   * channel's records; only the attempt's error and latency are noted, for whoever looks meanwhile
   * (recovery overwrites them). Writes a pending earlier answer too and reads the payment back, one statement.
   */
  async leaveUndecided(db: Runner, paymentId: string, attempt: { id: string; error: string; latencyMs: number }, last: AttemptFinish | undefined): Promise<PaymentRow> {
    const { rows } = (await db.raw(
      `WITH f AS (${FINISH_ATTEMPT}), a AS (
         UPDATE payment_attempts SET error = ?, latency_ms = ? WHERE id = ? AND outcome = 'in_flight'
       )
       SELECT * FROM payments WHERE id = ?`,
      [...finishBindings(last), attempt.error, attempt.latencyMs, attempt.id, paymentId],
    )) as { rows: PaymentRow[] };
    return rows[0]!;
  },

  /**
   * Records the router's answer: the last attempt's outcome and the payment's new state, in one
   * statement. Only a payment still `processing` moves (a provider callback may have settled it
   * first: its state stands, and undefined comes back). The four columns are null while processing,
   * so writing all of them equals writing only those the answer sets.
   */
  async settle(db: Runner, paymentId: string, s: PaymentSettlement, last: AttemptFinish | undefined): Promise<PaymentRow | undefined> {
    const { rows } = (await db.raw(
      `WITH f AS (${FINISH_ATTEMPT}), p AS (
         UPDATE payments SET status = ?, channel = ?, channel_ref = ?, failure_reason = ?, updated_at = now()
          WHERE id = ? AND status = 'processing' RETURNING *
       )
       SELECT * FROM p`,
      [...finishBindings(last), s.status, s.channel, s.channelRef, s.failureReason, paymentId],
    )) as { rows: PaymentRow[] };
    return rows[0];
  },
};
