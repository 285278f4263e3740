import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { CircuitOpenError } from '@lantern/sdk';
import { AppError, ConflictError, NotFoundError, UpstreamError, type Logger } from '@lantern/shop-common';
import type { RefundResult } from '../channels/types.js';
import type { PaymentEventSink } from '../events.js';
import { refundedCentsTotal, refundsTotal } from '../metrics.js';
import type { ChannelRouter } from '../routing/channel-router.js';
import { toPayment, toRefund, type Payment, type PaymentRow, type Refund, type RefundRow } from './types.js';

export interface RefundInput {
  paymentId: string;
  /** Omitted: everything not refunded yet. */
  amountCents?: number;
  reason: string;
  idempotencyKey?: string;
  requestedBy: string;
}

type Outcome = { status: 'succeeded' | 'failed'; channelRef?: string; error?: string };

/**
 * What the channel said about a refund: its answer (from the call, or from its records when the call
 * ended without one), none (the call's error; the channel holds no refund by this reference and never
 * will, or the breaker refused the call), or undecided (no answer and the lookup failed too: nobody
 * knows whether money moved).
 */
type ChannelAnswer = { result: RefundResult } | { none: unknown } | { undecided: string };

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export interface RefundServiceOptions {
  knex: Knex;
  router: ChannelRouter;
  events: PaymentEventSink;
  logger: Logger;
  channelTimeoutMs: number;
}

/**
 * Full and partial refunds through the payment's own channel. The amount is reserved under the
 * payment's row lock before the channel is called (refund_pending_cents), so concurrent refunds can
 * never add up to more than was paid; a check constraint guards the same rule in Postgres. The lock
 * is not held across the call to the channel. A call without an answer may still have refunded, so
 * the channel's records decide (see send()); a refund nobody can decide keeps its reservation.
 */
export class RefundService {
  private readonly knex: Knex;

  constructor(private readonly opts: RefundServiceOptions) {
    this.knex = opts.knex;
  }

  async refund(input: RefundInput): Promise<{ refund: Refund; payment: Payment; replayed: boolean }> {
    const reserved = await this.reserve(input);
    if ('replayed' in reserved) return { ...reserved.replayed, replayed: true };
    const { refund, payment } = reserved;
    const answer = await this.send(refund, payment);
    if ('undecided' in answer) {
      // Nobody knows whether the channel refunded. Left as a crash mid-call leaves it: processing,
      // its amount still reserved (so no other refund can take it meanwhile), settled by recovery from
      // the channel's records once stale. Answered as a refund in progress (what a replay shows too).
      this.opts.logger.warn({ refundId: refund.id, paymentId: refund.payment_id, channel: refund.channel, err: answer.undecided }, 'refund left undecided for recovery: the channel neither answered nor could be asked');
      return { refund: toRefund(refund), payment: toPayment(payment), replayed: false };
    }
    if ('none' in answer) {
      // the channel holds no refund by this reference and has promised never to make one
      await this.finish(refund, { status: 'failed', error: `channel error: ${errorText(answer.none)}`.slice(0, 500) });
      refundsTotal.inc({ channel: refund.channel, outcome: 'failed' });
      throw new UpstreamError(refund.channel, `refund could not be sent to ${refund.channel}; nothing was refunded, try again`, { status: 502, code: 'channel_unavailable', cause: answer.none });
    }
    const { result } = answer;
    if (result.status === 'rejected') {
      await this.finish(refund, { status: 'failed', channelRef: result.channelRef, error: `rejected by ${refund.channel}: ${result.reason}`.slice(0, 500) });
      refundsTotal.inc({ channel: refund.channel, outcome: 'rejected' });
      throw new AppError(422, 'refund_rejected', `${refund.channel} rejected the refund: ${result.reason}`);
    }
    const done = await this.finish(refund, { status: 'succeeded', channelRef: result.channelRef });
    if (!done) throw new ConflictError(`refund ${refund.id} was settled by recovery meanwhile; see GET /payments/${refund.payment_id}/refunds`, 'refund_settled_elsewhere');
    refundsTotal.inc({ channel: refund.channel, outcome: 'succeeded' });
    refundedCentsTotal.inc({ currency: refund.currency.trim() }, refund.amount_cents);
    return { ...done, replayed: false };
  }

  /**
   * Calls the channel; a call that ends without an answer (timeout, error) may still have refunded
   * (providers finish after the client gave up), so the channel is asked for the refund's reference
   * before anything is released. A call the breaker refused never reached the channel: no lookup.
   */
  private async send(refund: RefundRow, payment: PaymentRow): Promise<ChannelAnswer> {
    const { router } = this.opts;
    try {
      const result = await router.call(
        refund.channel,
        'refund',
        this.opts.channelTimeoutMs,
        (signal) => router.adapter(refund.channel).refund({ reference: refund.id, chargeRef: payment.channel_ref!, amountCents: refund.amount_cents, currency: refund.currency.trim(), signal }),
        (r) => (r.status === 'succeeded' ? 'success' : 'declined'),
      );
      return { result };
    } catch (err) {
      if (err instanceof CircuitOpenError) return { none: err };
      const looked = await router.lookupRefund(refund.channel, refund.id);
      if ('failed' in looked) return { undecided: `${errorText(err)}; lookup failed: ${looked.failed}` };
      if (!looked.found) return { none: err };
      this.opts.logger.warn({ refundId: refund.id, channel: refund.channel, status: looked.found.status, err: errorText(err) }, 'refund channel answered after our call gave up: its records decide the refund');
      return { result: looked.found };
    }
  }

  async list(paymentId: string): Promise<Refund[]> {
    return (await this.knex<RefundRow>('refunds').where({ payment_id: paymentId }).orderBy('created_at')).map(toRefund);
  }

  /** Under the payment's row lock: checks what is left to refund and reserves this refund's amount. */
  private async reserve(input: RefundInput): Promise<{ refund: RefundRow; payment: PaymentRow } | { replayed: { refund: Refund; payment: Payment } }> {
    return this.knex.transaction(async (trx) => {
      const payment = await trx<PaymentRow>('payments').where({ id: input.paymentId }).forUpdate().first();
      if (!payment) throw new NotFoundError(`payment ${input.paymentId} not found`, 'payment_not_found');
      if (input.idempotencyKey) {
        const earlier = await trx<RefundRow>('refunds').where({ payment_id: payment.id, idempotency_key: input.idempotencyKey }).first();
        if (earlier) {
          if (input.amountCents !== undefined && input.amountCents !== earlier.amount_cents) {
            throw new ConflictError('Idempotency-Key was already used for a refund of another amount', 'idempotency_conflict');
          }
          return { replayed: { refund: toRefund(earlier), payment: toPayment(payment) } };
        }
      }
      if (payment.status !== 'succeeded' || !payment.channel || !payment.channel_ref) {
        throw new ConflictError(`payment ${payment.id} is ${payment.status === 'processing' ? 'pending' : payment.status}; only a succeeded payment can be refunded`, 'payment_not_refundable');
      }
      const remaining = payment.amount_cents - payment.refunded_cents - payment.refund_pending_cents;
      const amount = input.amountCents ?? remaining;
      if (amount <= 0 || amount > remaining) {
        throw new AppError(409, 'refund_exceeds_paid', `refund of ${amount} exceeds what is left to refund (${remaining} of ${payment.amount_cents} ${payment.currency.trim()}${payment.refund_pending_cents ? `, ${payment.refund_pending_cents} in progress` : ''})`, {
          details: [{ path: 'body.amountCents', message: `at most ${Math.max(0, remaining)} can be refunded`, remainingCents: Math.max(0, remaining) }],
        });
      }
      const [refund] = await trx<RefundRow>('refunds')
        .insert({
          id: randomUUID(),
          payment_id: payment.id,
          idempotency_key: input.idempotencyKey ?? null,
          channel: payment.channel,
          amount_cents: amount,
          currency: payment.currency,
          reason: input.reason,
          requested_by: input.requestedBy,
        })
        .returning('*');
      const [reservedPayment] = await trx<PaymentRow>('payments')
        .where({ id: payment.id })
        .update({ refund_pending_cents: payment.refund_pending_cents + amount, updated_at: trx.fn.now() as unknown as Date })
        .returning('*');
      return { refund: refund!, payment: reservedPayment! };
    });
  }

  /**
   * Settles a refund a crash (or a call and lookup without an answer) left `processing` (see
   * StaleRecovery), as the request would have. False if it is no longer processing.
   */
  async settleInterrupted(refundId: string, outcome: Outcome): Promise<boolean> {
    const refund = await this.knex<RefundRow>('refunds').where({ id: refundId, status: 'processing' }).first();
    if (!refund) return false;
    const done = await this.finish(refund, outcome);
    if (done) {
      refundsTotal.inc({ channel: refund.channel, outcome: outcome.status === 'succeeded' ? 'succeeded' : 'failed' });
      if (outcome.status === 'succeeded') refundedCentsTotal.inc({ currency: refund.currency.trim() }, refund.amount_cents);
    }
    return done !== undefined;
  }

  /** Settles the reservation: moves it to refunded (and publishes payment.refunded) or releases it. Undefined if already settled. */
  private async finish(refund: RefundRow, outcome: Outcome): Promise<{ refund: Refund; payment: Payment } | undefined> {
    return this.knex.transaction(async (trx) => {
      const [updatedRefund] = await trx<RefundRow>('refunds')
        .where({ id: refund.id, status: 'processing' })
        .update({ status: outcome.status, channel_ref: outcome.channelRef ?? null, error: outcome.error ?? null, finished_at: trx.fn.now() as unknown as Date })
        .returning('*');
      // settled meanwhile by the recovery of interrupted refunds: it stands
      if (!updatedRefund) return undefined;
      const succeeded = outcome.status === 'succeeded';
      const [payment] = await trx<PaymentRow>('payments')
        .where({ id: refund.payment_id })
        .update({
          refund_pending_cents: trx.raw('refund_pending_cents - ?', [refund.amount_cents]) as unknown as number,
          ...(succeeded ? { refunded_cents: trx.raw('refunded_cents + ?', [refund.amount_cents]) as unknown as number } : {}),
          updated_at: trx.fn.now() as unknown as Date,
        })
        .returning('*');
      if (succeeded) {
        await this.opts.events.enqueue(trx, 'payment.refunded', payment!.order_id, {
          paymentId: payment!.id,
          refundId: refund.id,
          orderId: payment!.order_id,
          userId: payment!.user_id,
          ...(payment!.email ? { email: payment!.email } : {}),
          amountCents: refund.amount_cents,
          refundedTotalCents: payment!.refunded_cents,
          currency: payment!.currency.trim(),
          at: new Date().toISOString(),
        });
      }
      return { refund: toRefund(updatedRefund), payment: toPayment(payment!) };
    });
  }
}
