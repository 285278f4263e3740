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

/**
 * The dispatcher as the event handler sees it. The handler may write its email/SMS rows already
 * claimed (status `sending`, attempt 1, a lease, as claim() would leave them) and hand them over,
 * which saves the claim statement per row; or write them `pending` and wake() the dispatcher.
 */
export interface DeliverySink {
  /** The lease a row written already claimed gets, in ms. */
  readonly leaseMs: number;
  /** Takes `n` send slots for rows about to be written claimed; false (stopped, or at the batch size): write them pending. */
  reserve(n: number): boolean;
  /** After the write of a reserve(n) (also when it failed, with no rows): sends the rows written `sending`, frees the slots. */
  handOver(rows: readonly DeliveryRow[], reserved: number): void;
  /** Pending rows were written: look now instead of at the next poll. */
  wake(): void;
}

const tracer = trace.getTracer('@lantern/shop-notification');
const PENDING_GAUGE_INTERVAL_MS = 5_000;
const RETRY_WAKE_GRID_MS = 250;

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
 * Rows the event handler of this process writes are usually written already claimed and handed over
 * (DeliverySink): the same state, lease and outcome guard, without a claim statement of their own.
 *
 * The one window left: the process dies after the provider accepted the message and before the
 * `sent` update commits. The row stays `sending`; when its lease ends it is sent again (at least
 * once, never lost). The retry carries the same key: the SMS provider deduplicates by it, and the
 * email carries the same Message-ID.
 *
 * Polling is only the fallback: new rows wake the dispatcher, and a retry it schedules wakes it when
 * due. What only a poll finds: rows of another process (a crashed replica's expired leases), and
 * work left after a failed poll or a restart.
 */
export class DeliveryDispatcher implements DeliverySink {
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private lastGaugeAt = 0;
  private readonly random: () => number;
  /**
   * Sends under way (claimed by a poll, or reserved for and handed over by the event handler): at most
   * batchSize together, as one claim alone allowed, since a send queued in the SMTP pool behind too
   * many others could outlive its lease.
   */
  private inFlight = 0;
  /** The loop found no room (handed-over sends filled it): the next send to end wakes it. */
  private waitingForRoom = false;
  private readonly drained: (() => void)[] = [];
  /** Retry wake-ups by due time (a RETRY_WAKE_GRID_MS slot). */
  private readonly retryWakes = new Map<number, NodeJS.Timeout>();

  constructor(private readonly opts: DispatcherOptions) {
    this.random = opts.random ?? Math.random;
  }

  get leaseMs(): number {
    return this.opts.leaseMs;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops polling and waits for the sends in flight (handed-over ones included). */
  async stop(): Promise<void> {
    this.running = false;
    for (const timer of this.retryWakes.values()) clearTimeout(timer);
    this.retryWakes.clear();
    this.wake();
    await this.loop;
    this.loop = undefined;
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
  }

  reserve(n: number): boolean {
    if (!this.running || n <= 0 || this.inFlight + n > this.opts.batchSize) return false;
    this.inFlight += n;
    return true;
  }

  handOver(rows: readonly DeliveryRow[], reserved: number): void {
    const claimed = rows.filter((r): r is SendableRow => r.status === 'sending' && r.channel !== 'in_app');
    this.release(reserved - claimed.length);
    for (const row of claimed) void this.sendAndRelease(row);
  }

  /** New deliveries are due: look now instead of at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  private async sendAndRelease(row: SendableRow): Promise<void> {
    try {
      await this.deliver(row);
    } catch (err) {
      // deliver() records its own failures; this is only a last resort (the lease brings the row back)
      this.opts.logger.warn({ eventId: row.event_id, channel: row.channel, err: errorText(err) }, 'delivery failed outside its bookkeeping');
    } finally {
      this.release(1);
    }
  }

  private release(n: number): void {
    this.inFlight -= n;
    if (n > 0 && this.waitingForRoom) {
      this.waitingForRoom = false;
      this.wake();
    }
    if (this.inFlight === 0) for (const done of this.drained.splice(0)) done();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const room = this.opts.batchSize - this.inFlight;
      let handled = 0;
      try {
        handled = room > 0 ? await this.runOnce(room) : 0;
        await this.updatePendingGauge();
      } catch (err) {
        this.opts.logger.warn({ err: errorText(err) }, 'delivery dispatcher poll failed; retrying at the next poll');
      }
      if (room > 0 && handled >= room) continue; // more may be due: no pause
      this.waitingForRoom = room <= 0; // handed-over sends fill the batch: the first to end wakes us
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
  async runOnce(limit = this.opts.batchSize): Promise<number> {
    const rows = await this.claim(limit);
    this.inFlight += rows.length;
    await Promise.all(rows.map((row) => this.sendAndRelease(row)));
    return rows.length;
  }

  private async claim(limit: number): Promise<SendableRow[]> {
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
      [this.opts.leaseMs, limit],
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
        this.wakeAfter(delay);
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

  /**
   * Wakes the loop when a retry this process scheduled is due, so the poll interval need not be short
   * for retries to be timely. Due times are rounded up to RETRY_WAKE_GRID_MS: a burst of failures
   * (SMTP down) costs one claim per grid slot, not one per row. The timer starts after the row's
   * update, so it never fires before the row is due.
   */
  private wakeAfter(delayMs: number): void {
    if (!this.running) return;
    const at = Math.ceil((Date.now() + delayMs) / RETRY_WAKE_GRID_MS) * RETRY_WAKE_GRID_MS;
    if (this.retryWakes.has(at)) return;
    const timer = setTimeout(() => {
      this.retryWakes.delete(at);
      this.wake();
    }, at - Date.now());
    timer.unref();
    this.retryWakes.set(at, timer);
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
