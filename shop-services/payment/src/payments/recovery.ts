import type { Knex } from 'knex';
import { withTimeout } from '@lantern/sdk';
import type { Logger } from '@lantern/shop-common';
import type { RefundResult } from '../channels/types.js';
import type { PaymentEventSink } from '../events.js';
import { paymentsTotal } from '../metrics.js';
import type { ChannelRouter } from '../routing/channel-router.js';
import { publishResult } from './payment-service.js';
import type { RefundService } from './refund-service.js';
import { inJobSpan } from '../tracing.js';
import type { AttemptRow, PaymentRow, RefundRow } from './types.js';

export interface RecoveryOptions {
  knex: Knex;
  router: ChannelRouter;
  events: PaymentEventSink;
  refunds: RefundService;
  logger: Logger;
  /** A charge still `processing` this long after it began was interrupted (its process died). */
  paymentStaleMs: number;
  /** Same for a refund. */
  refundStaleMs: number;
  /** One lookup of a charge's or refund's reference at its channel. */
  lookupTimeoutMs: number;
}

type Settlement = Pick<PaymentRow, 'status'> & Partial<Pick<PaymentRow, 'channel' | 'channel_ref' | 'failure_reason'>>;

/**
 * Finishes what a crash interrupted, from the channels' own records: a payment left `processing`
 * (the process died between calling a channel and recording its answer) and a refund left
 * `processing` (its amount still reserved), or either left undecided because neither the call nor
 * the lookup answered. A payment is decided under its row lock (SKIP LOCKED, so instances never work
 * on the same one), a refund by a conditional update (still processing), each with its event.
 */
export class StaleRecovery {
  constructor(private readonly opts: RecoveryOptions) {}

  /**
   * One recovery run. The two look-ups are the check and run untraced: a run that finds nothing
   * stale, nearly every run, makes no trace; one that finds some opens `payment.recover` around
   * deciding them (their SQL and channel reads inside it).
   */
  async run(): Promise<{ payments: number; refunds: number }> {
    const { knex } = this.opts;
    const stalePayments = await knex<PaymentRow>('payments')
      .where({ status: 'processing' })
      .andWhere('created_at', '<', knex.raw(`now() - make_interval(secs => ?)`, [this.opts.paymentStaleMs / 1000]))
      .limit(100)
      .pluck('id');
    const staleRefunds = await knex<RefundRow>('refunds')
      .where({ status: 'processing' })
      .andWhere('created_at', '<', knex.raw(`now() - make_interval(secs => ?)`, [this.opts.refundStaleMs / 1000]))
      .limit(100);
    if (stalePayments.length === 0 && staleRefunds.length === 0) return { payments: 0, refunds: 0 };
    const found = { 'payment.recover.stale_payments': stalePayments.length, 'payment.recover.stale_refunds': staleRefunds.length };
    return inJobSpan('payment.recover', found, async (span) => {
      let payments = 0;
      for (const id of stalePayments) if (await this.recoverPayment(id)) payments++;
      let refunds = 0;
      for (const refund of staleRefunds) if (await this.recoverRefund(refund)) refunds++;
      span.setAttributes({ 'payment.recover.payments': payments, 'payment.recover.refunds': refunds });
      if (payments || refunds) this.opts.logger.warn({ payments, refunds }, 'recovered interrupted payments and refunds');
      return { payments, refunds };
    });
  }

  /** Decides one interrupted payment; false if it was not (or no longer) stale and processing. */
  async recoverPayment(id: string): Promise<boolean> {
    const settled = await this.opts.knex.transaction(async (trx) => {
      const payment = await trx<PaymentRow>('payments').where({ id, status: 'processing' }).forUpdate().skipLocked().first();
      if (!payment) return undefined;
      const attempts = await trx<AttemptRow>('payment_attempts').where({ payment_id: id }).orderBy('seq');
      let settlement: Settlement = { status: 'failed', failure_reason: 'interrupted before a payment channel answered' };
      for (const attempt of attempts) {
        const outcome = attempt.outcome === 'in_flight' ? await this.channelOutcome(attempt) : { outcome: attempt.outcome, channelRef: attempt.channel_ref };
        if (attempt.outcome === 'in_flight') {
          await trx<AttemptRow>('payment_attempts')
            .where({ id: attempt.id, outcome: 'in_flight' })
            .update({ outcome: outcome.outcome, channel_ref: outcome.channelRef, error: outcome.outcome === 'error' ? 'interrupted; the channel has no record of it' : null, finished_at: trx.fn.now() as unknown as Date });
        }
        if (outcome.outcome === 'success') settlement = { status: 'succeeded', channel: attempt.channel, channel_ref: outcome.channelRef };
        else if (outcome.outcome === 'pending') settlement = { status: 'pending', channel: attempt.channel, channel_ref: outcome.channelRef };
        else if (outcome.outcome === 'declined') settlement = { status: 'failed', channel: attempt.channel, channel_ref: outcome.channelRef, failure_reason: `${attempt.channel}: declined` };
        if (outcome.outcome !== 'error') break;
      }
      const [updated] = await trx<PaymentRow>('payments')
        .where({ id })
        .update({ ...settlement, updated_at: trx.fn.now() as unknown as Date })
        .returning('*');
      if (updated!.status === 'succeeded' || updated!.status === 'failed') await publishResult(this.opts.events, trx, updated!);
      return updated;
    });
    if (!settled) return false;
    paymentsTotal.inc({ channel: settled.channel ?? 'none', status: settled.status === 'processing' ? 'pending' : settled.status });
    this.opts.logger.warn({ paymentId: id, status: settled.status, channel: settled.channel }, 'interrupted payment recovered from the channel records');
    return true;
  }

  /**
   * Decides one interrupted refund by the channel's lookupRefund (throws if the channel cannot tell:
   * it stays reserved for the next run). Its "no refund" also closes the reference at the channel, so
   * a refund still on its way cannot land after the reservation is released.
   */
  private async recoverRefund(refund: RefundRow): Promise<boolean> {
    const found = await this.refundOutcome(refund);
    const done = await this.opts.refunds.settleInterrupted(
      refund.id,
      found?.status === 'succeeded'
        ? { status: 'succeeded', channelRef: found.channelRef }
        : { status: 'failed', ...(found ? { channelRef: found.channelRef } : {}), error: found ? `rejected by ${refund.channel}: ${found.reason}`.slice(0, 500) : 'interrupted; the channel has no record of it' },
    );
    if (done) this.opts.logger.warn({ refundId: refund.id, status: found?.status ?? 'none' }, 'interrupted refund recovered from the channel records');
    return done;
  }

  private async refundOutcome(refund: RefundRow): Promise<RefundResult | undefined> {
    if (!this.opts.router.has(refund.channel)) return undefined;
    const adapter = this.opts.router.adapter(refund.channel);
    return withTimeout((signal) => adapter.lookupRefund({ reference: refund.id, signal }), this.opts.lookupTimeoutMs, `payment-channel-lookup:${refund.channel}`);
  }

  /**
   * The channel's answer to an attempt left in flight, by the adapter's lookup (throws if the channel
   * cannot tell: try again later). Its "no charge" also closes the reference at the channel, so a
   * charge still on its way cannot land after this payment is failed.
   */
  private async channelOutcome(attempt: AttemptRow): Promise<{ outcome: AttemptRow['outcome']; channelRef: string | null }> {
    if (!this.opts.router.has(attempt.channel)) return { outcome: 'error', channelRef: null };
    const adapter = this.opts.router.adapter(attempt.channel);
    const found = await withTimeout((signal) => adapter.lookup({ reference: attempt.id, signal }), this.opts.lookupTimeoutMs, `payment-channel-lookup:${attempt.channel}`);
    if (!found) return { outcome: 'error', channelRef: null };
    return { outcome: found.status === 'succeeded' ? 'success' : found.status, channelRef: found.channelRef };
  }
}
