import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Knex } from 'knex';
import { observeWithExemplar, retry } from '@lantern/sdk';
import type { Logger } from '@lantern/shop-common';
import { PermanentDeliveryError, type Channel, type EmailMessage, type SendResult, type SmsMessage } from './channels/types.js';
import { deliveriesPending, deliveryLatencySeconds, notificationsSentTotal, sendDurationSeconds } from './metrics.js';
import { maskRecipient, type DeliveryRow } from './store.js';

export interface DispatcherOptions {
  knex: Knex;
  channels: { email?: Channel<EmailMessage>; sms?: Channel<SmsMessage> };
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  pollMs: number;
  batchSize: number;
  leaseMs: number;
  logger: Logger;
  /** For tests: the jitter dice. */
  random?: () => number;
}

type SendableRow = DeliveryRow & { channel: 'email' | 'sms' };

const tracer = trace.getTracer('@lantern/shop-notification');
const PENDING_GAUGE_INTERVAL_MS = 5_000;

/**
 * Backoff before retry `n` (1 = first retry): exponential, capped, "equal jitter" (half fixed, half
 * random), so an SMTP server that said "try later" is not asked again at once, and retries spread out.
 */
export function retryDelayMs(n: number, base: number, max: number, random: () => number = Math.random): number {
  const cap = Math.min(max, base * 2 ** Math.max(0, n - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

function errorText(err: unknown): string {
  return (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 1000);
}

/**
 * Sends the email and SMS deliveries queued by the event handler, from the `deliveries` table.
 *
 * A row is claimed by one committed UPDATE (status `sending`, attempts + 1, a lease in
 * next_attempt_at; FOR UPDATE SKIP LOCKED so replicas share the work) before anything is sent, and
 * its outcome is written right after the provider answers, guarded by (status, attempts) so a sender
 * whose lease was taken over cannot overwrite the new owner's result. A transient failure goes back
 * to `pending` with backoff; a permanent one or the last attempt ends `failed`.
 *
 * The one window left: the process dies after the provider accepted the message and before the
 * `sent` update commits. The row stays `sending`; when its lease ends it is sent again (at least
 * once, never lost). The retry carries the same key: the SMS provider deduplicates by it, and the
 * email carries the same Message-ID.
 */
export class DeliveryDispatcher {
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private lastGaugeAt = 0;
  private readonly random: () => number;

  constructor(private readonly opts: DispatcherOptions) {
    this.random = opts.random ?? Math.random;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops polling and waits for the sends in flight. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    this.loop = undefined;
  }

  /** New deliveries are due: look now instead of at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let handled = 0;
      try {
        handled = await this.runOnce();
        await this.updatePendingGauge();
      } catch (err) {
        this.opts.logger.warn({ err: errorText(err) }, 'delivery dispatcher poll failed; retrying at the next poll');
      }
      if (handled >= this.opts.batchSize) continue; // more may be due: no pause
      await this.pause();
    }
  }

  private async pause(): Promise<void> {
    if (this.woken || !this.running) {
      this.woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.opts.pollMs);
      this.wakeUp = done;
    });
    this.woken = false;
  }

  /** Claims the due deliveries (pending and due, or sending with an expired lease) and sends them. Returns how many. */
  async runOnce(): Promise<number> {
    const rows = await this.claim();
    await Promise.all(rows.map((row) => this.deliver(row)));
    return rows.length;
  }

  private async claim(): Promise<SendableRow[]> {
    const { rows } = (await this.opts.knex.raw(
      `UPDATE deliveries d
          SET status = 'sending', attempts = d.attempts + 1, updated_at = now(),
              next_attempt_at = now() + (? * interval '1 millisecond')
         FROM (SELECT event_id, channel FROM deliveries
                WHERE status IN ('pending', 'sending') AND next_attempt_at <= now()
                ORDER BY next_attempt_at
                LIMIT ? FOR UPDATE SKIP LOCKED) due
        WHERE d.event_id = due.event_id AND d.channel = due.channel
    RETURNING d.*`,
      [this.opts.leaseMs, this.opts.batchSize],
    )) as { rows: SendableRow[] };
    return rows;
  }

  private async deliver(row: SendableRow): Promise<void> {
    const parent = propagation.extract(context.active(), row.trace_context ?? {});
    await tracer.startActiveSpan(
      `notification.send ${row.channel}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { 'notification.channel': row.channel, 'notification.event_type': row.event_type, 'notification.event_id': row.event_id, 'notification.attempt': row.attempts },
      },
      parent,
      async (span) => {
        try {
          await this.deliverInSpan(row);
        } catch (err) {
          // only the bookkeeping can end up here (DB down): the lease brings the row back later
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: errorText(err) });
          this.opts.logger.error({ eventId: row.event_id, channel: row.channel, err: errorText(err) }, 'delivery bookkeeping failed; the row is retried when its lease ends');
        } finally {
          span.end();
        }
      },
    );
  }

  private async deliverInSpan(row: SendableRow): Promise<void> {
    const { logger, maxAttempts } = this.opts;
    const log = { eventId: row.event_id, channel: row.channel, type: row.event_type, attempt: row.attempts, to: maskRecipient(row.recipient) };
    if (row.attempts > maxAttempts) {
      // the last attempt's sender vanished mid-send: whether it went out is unknown; do not loop forever
      await this.finish(row, { status: 'failed', reason: 'outcome_unknown', last_error: 'the sender of the last attempt stopped before recording its outcome' });
      notificationsSentTotal.inc({ channel: row.channel, outcome: 'failed' });
      logger.warn(log, 'delivery given up: last attempt never reported back');
      return;
    }
    const channel = this.opts.channels[row.channel] as Channel<unknown> | undefined;
    if (!channel) {
      await this.finish(row, { status: 'failed', reason: `${row.channel}_not_configured`, last_error: `no ${row.channel} channel is configured in this process` });
      notificationsSentTotal.inc({ channel: row.channel, outcome: 'failed' });
      logger.warn(log, 'delivery failed: channel not configured');
      return;
    }

    const started = performance.now();
    let result: SendResult;
    try {
      result = await channel.send(row.message, `${row.event_id}.${row.channel}`);
    } catch (err) {
      const permanent = err instanceof PermanentDeliveryError;
      const exhausted = row.attempts >= maxAttempts;
      const outcome = permanent || exhausted ? 'failed' : 'retry';
      observeWithExemplar(sendDurationSeconds, { channel: row.channel, outcome }, (performance.now() - started) / 1000);
      notificationsSentTotal.inc({ channel: row.channel, outcome });
      trace.getActiveSpan()?.setStatus({ code: SpanStatusCode.ERROR, message: errorText(err) });
      if (outcome === 'retry') {
        const delay = retryDelayMs(row.attempts, this.opts.retryBaseMs, this.opts.retryMaxMs, this.random);
        await this.finish(row, { status: 'pending', last_error: errorText(err), next_attempt_at: this.opts.knex.raw("now() + (? * interval '1 millisecond')", [delay]) });
        logger.warn({ ...log, err: errorText(err), retryInMs: delay }, 'delivery failed transiently; will retry');
      } else {
        await this.finish(row, { status: 'failed', reason: permanent ? `${row.channel}_rejected` : 'retries_exhausted', last_error: errorText(err) });
        logger.error({ ...log, err: errorText(err) }, permanent ? 'delivery rejected permanently' : 'delivery failed: attempts exhausted');
      }
      return;
    }
    observeWithExemplar(sendDurationSeconds, { channel: row.channel, outcome: 'sent' }, (performance.now() - started) / 1000);
    // The provider has the message: record it. Retried briefly, since failing here is what would cause a resend.
    await retry(() => this.finish(row, { status: 'sent', reason: null, provider_message_id: result.providerMessageId ?? null, sent_at: this.opts.knex.fn.now() }), {
      name: 'notification-record-sent',
      maxAttempts: 5,
      baseDelayMs: 100,
      maxDelayMs: 1_000,
      isRetryable: () => true,
    });
    notificationsSentTotal.inc({ channel: row.channel, outcome: 'sent' });
    observeWithExemplar(deliveryLatencySeconds, { channel: row.channel }, Math.max(0, (Date.now() - row.event_at.getTime()) / 1000));
    logger.info(log, 'notification delivered');
  }

  /** Writes the attempt's outcome if the row is still ours (same attempt, still sending). */
  private async finish(row: SendableRow, fields: Record<string, unknown>): Promise<void> {
    const updated = await this.opts.knex('deliveries')
      .where({ event_id: row.event_id, channel: row.channel, status: 'sending', attempts: row.attempts })
      .update({ ...fields, updated_at: this.opts.knex.fn.now() });
    if (updated === 0) this.opts.logger.warn({ eventId: row.event_id, channel: row.channel, attempt: row.attempts }, 'delivery lease was taken over; outcome not recorded by this sender');
  }

  private async updatePendingGauge(): Promise<void> {
    if (Date.now() - this.lastGaugeAt < PENDING_GAUGE_INTERVAL_MS) return;
    this.lastGaugeAt = Date.now();
    const rows = (await this.opts.knex('deliveries').whereIn('status', ['pending', 'sending']).groupBy('channel').select('channel').count({ n: '*' })) as { channel: string; n: string }[];
    for (const channel of ['email', 'sms']) deliveriesPending.set({ channel }, Number(rows.find((r) => r.channel === channel)?.n ?? 0));
  }
}
