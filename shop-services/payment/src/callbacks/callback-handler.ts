import type { Knex } from 'knex';
import { z } from 'zod';
import type { Logger, PaymentChannel } from '@lantern/shop-common';
import type { PaymentEventSink } from '../events.js';
import { callbacksTotal, paymentsTotal } from '../metrics.js';
import { publishResult } from '../payments/payment-service.js';
import type { AttemptRow, PaymentRow } from '../payments/types.js';

/** The body of a provider callback (see ProviderEvent, which the simulated providers send). */
export const providerEventSchema = z.strictObject({
  eventId: z.string().min(1).max(200).regex(/^[A-Za-z0-9_.:-]+$/, 'must be 1-200 characters of A-Z a-z 0-9 _ . : -'),
  type: z.enum(['charge.succeeded', 'charge.declined']),
  reference: z.uuid(),
  providerRef: z.string().min(1).max(200),
  amountCents: z.number().int().min(0).max(2_000_000_000),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code like USD'),
  reason: z.string().max(500).optional(),
  occurredAt: z.iso.datetime({ offset: true }),
});
export type ProviderEventBody = z.infer<typeof providerEventSchema>;

export type CallbackOutcome = 'applied' | 'replayed' | 'ignored';

/**
 * Applies a verified provider event to the ledger, once: the (channel, event id) row in
 * processed_callbacks is inserted in the same transaction as the payment's change and its event, so a
 * replay (or a redelivery after a lost answer) finds it and changes nothing.
 */
export class CallbackHandler {
  constructor(private readonly opts: { knex: Knex; events: PaymentEventSink; logger: Logger }) {}

  async apply(channel: PaymentChannel, event: ProviderEventBody): Promise<{ outcome: CallbackOutcome; detail?: string }> {
    const result = await this.opts.knex.transaction(async (trx) => {
      const [claimed] = await trx('processed_callbacks')
        .insert({ channel, event_id: event.eventId, reference: event.reference, outcome: 'applied' })
        .onConflict(['channel', 'event_id'])
        .ignore()
        .returning('event_id');
      if (!claimed) return { outcome: 'replayed' as const };
      const ignore = async (detail: string) => {
        await trx('processed_callbacks').where({ channel, event_id: event.eventId }).update({ outcome: `ignored: ${detail}`.slice(0, 200) });
        return { outcome: 'ignored' as const, detail };
      };
      const attempt = await trx<AttemptRow>('payment_attempts').where({ id: event.reference, channel }).first();
      if (!attempt) return ignore('unknown reference');
      if (attempt.amount_cents !== event.amountCents || attempt.currency.trim() !== event.currency) return ignore('amount or currency differs from the charge');
      const payment = await trx<PaymentRow>('payments').where({ id: attempt.payment_id }).forUpdate().first();
      if (!payment) return ignore('unknown payment');
      const succeeded = event.type === 'charge.succeeded';
      await trx<AttemptRow>('payment_attempts')
        .where({ id: attempt.id })
        .whereIn('outcome', ['in_flight', 'pending'])
        .update({ outcome: succeeded ? 'success' : 'declined', channel_ref: event.providerRef, finished_at: trx.fn.now() as unknown as Date });
      if (payment.status !== 'processing' && payment.status !== 'pending') return ignore(`payment already ${payment.status}`);
      const [updated] = await trx<PaymentRow>('payments')
        .where({ id: payment.id })
        .update({
          status: succeeded ? 'succeeded' : 'failed',
          channel,
          channel_ref: event.providerRef,
          failure_reason: succeeded ? null : `${channel}: ${event.reason ?? 'declined'}`.slice(0, 500),
          updated_at: trx.fn.now() as unknown as Date,
        })
        .returning('*');
      await publishResult(this.opts.events, trx, updated!);
      return { outcome: 'applied' as const, status: updated!.status };
    });
    callbacksTotal.inc({ channel, outcome: result.outcome });
    if ('status' in result) paymentsTotal.inc({ channel, status: result.status });
    if (result.outcome === 'ignored') this.opts.logger.warn({ channel, eventId: event.eventId, reference: event.reference, detail: result.detail }, 'provider callback ignored');
    return 'detail' in result ? { outcome: result.outcome, detail: result.detail } : { outcome: result.outcome };
  }
}
