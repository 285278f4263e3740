import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError, type AuthUser, type Logger, type PaymentChannel } from '@lantern/shop-common';
import type { PaymentEventSink } from '../events.js';
import { paymentsTotal } from '../metrics.js';
import { chargeLedger, type AttemptFinish, type PaymentSettlement } from '../db/charge-ledger.js';
import type { ChannelRouter, RoutedCharge } from '../routing/channel-router.js';
import { AttemptLog } from './attempt-log.js';
import { toPayment, type Payment, type PaymentRow } from './types.js';

export interface CreatePaymentInput {
  orderId: string;
  userId: string;
  amountCents: number;
  currency: string;
  method?: PaymentChannel;
  idempotencyKey?: string;
  /** The customer's address from the forwarded user, carried into events for notifications. */
  email?: string;
}

export interface PaymentServiceOptions {
  knex: Knex;
  router: ChannelRouter;
  events: PaymentEventSink;
  logger: Logger;
  /** Budget of one charge, failovers included. */
  deadlineMs: number;
  /** A charge `processing` for longer than this was interrupted by a crash. */
  staleMs: number;
  /** Decides an interrupted charge from the channels' records (StaleRecovery.recoverPayment). */
  recover(paymentId: string): Promise<unknown>;
}

/** How long a duplicate request waits for the first one's charge before answering `pending`. */
const WAIT_MARGIN_MS = 2_000;
const POLL_MS = 25;

/**
 * Payment intents: one per order, charged once. The first request inserts the intent (the unique
 * order id and Idempotency-Key decide who is first, in Postgres, across instances), then charges
 * through the router; every other request with the same order or key gets that same payment.
 */
export class PaymentService {
  private readonly knex: Knex;
  /** Charges in flight in this process, so duplicates here wait on the promise instead of polling. */
  private readonly inflight = new Map<string, Promise<PaymentRow>>();

  constructor(private readonly opts: PaymentServiceOptions) {
    this.knex = opts.knex;
  }

  async create(input: CreatePaymentInput): Promise<{ payment: Payment; replayed: boolean }> {
    if (input.method && !this.opts.router.has(input.method)) {
      const message = `channel ${input.method} is not enabled; enabled: ${this.opts.router.order.join(', ')}`;
      throw new ValidationError(`invalid body: body.method: ${message}`, [{ path: 'body.method', message }]);
    }
    // the first attempt goes in with the claim, for the channel the router will call first
    const plan = this.opts.router.plan(input.method ? [input.method] : undefined);
    const first = plan.first ? { id: randomUUID(), channel: plan.first } : undefined;
    // any unique constraint (order id or key): someone else owns this payment, and nothing is written
    const claimed = await chargeLedger.claim(
      this.knex,
      {
        id: randomUUID(),
        orderId: input.orderId,
        idempotencyKey: input.idempotencyKey ?? null,
        userId: input.userId,
        email: input.email ?? null,
        amountCents: input.amountCents,
        currency: input.currency,
        method: input.method ?? null,
      },
      first,
    );
    if (claimed) {
      const row = await this.charge(claimed, new AttemptLog(this.knex, claimed, first), plan.order);
      return { payment: toPayment(row), replayed: false };
    }
    const existing = await this.findExisting(input);
    const row = existing.status === 'processing' ? await this.awaitCharge(existing) : existing;
    return { payment: toPayment(row), replayed: true };
  }

  async get(id: string, user: AuthUser): Promise<Payment> {
    const row = await this.knex<PaymentRow>('payments').where({ id }).first();
    // another customer's payment does not exist for this one
    if (!row || (user.role !== 'admin' && row.user_id !== user.id)) throw new NotFoundError(`payment ${id} not found`, 'payment_not_found');
    return toPayment(row);
  }

  async list(filter: { orderId?: string; userId?: string; limit: number }, user: AuthUser): Promise<Payment[]> {
    const q = this.knex<PaymentRow>('payments').orderBy('created_at', 'desc').limit(filter.limit);
    if (filter.orderId) q.where({ order_id: filter.orderId });
    if (user.role !== 'admin') q.where({ user_id: user.id });
    else if (filter.userId) q.where({ user_id: filter.userId });
    return (await q).map(toPayment);
  }

  /** The payment an earlier request created; 409 if this request is not the same one. */
  private async findExisting(input: CreatePaymentInput): Promise<PaymentRow> {
    const rows: PaymentRow[] = await this.knex<PaymentRow>('payments')
      .where({ order_id: input.orderId })
      .modify((q) => {
        if (input.idempotencyKey) q.orWhere({ idempotency_key: input.idempotencyKey });
      });
    const row = rows.find((r) => r.order_id === input.orderId) ?? rows[0];
    if (!row) throw new Error(`payment insert conflicted but no payment for order ${input.orderId} was found`);
    if (row.order_id !== input.orderId) throw new ConflictError('Idempotency-Key was already used for another payment', 'idempotency_key_reused');
    const differs: string[] = [];
    if (row.user_id !== input.userId) differs.push('userId');
    if (row.amount_cents !== input.amountCents) differs.push('amountCents');
    if (row.currency.trim() !== input.currency) differs.push('currency');
    if ((row.method ?? undefined) !== input.method) differs.push('method');
    if (differs.length) throw new ConflictError(`a payment for order ${input.orderId} already exists with another ${differs.join(', ')}`, 'idempotency_conflict');
    return row;
  }

  /** Waits for the request that owns the charge (here or on another instance) to finish. */
  private async awaitCharge(row: PaymentRow): Promise<PaymentRow> {
    const local = this.inflight.get(row.id);
    if (local) return local.catch(() => this.reload(row.id));
    // nobody is charging it any more (the process that was died): settle it from the channel's records
    if (Date.now() - row.created_at.getTime() > this.opts.staleMs) {
      await this.opts.recover(row.id);
      return this.reload(row.id);
    }
    const deadline = Date.now() + this.opts.deadlineMs + WAIT_MARGIN_MS;
    let current = row;
    while (current.status === 'processing' && Date.now() < deadline) {
      await sleep(POLL_MS);
      current = await this.reload(row.id);
    }
    return current;
  }

  private async reload(id: string): Promise<PaymentRow> {
    return (await this.knex<PaymentRow>('payments').where({ id }).first())!;
  }

  private charge(row: PaymentRow, attempts: AttemptLog, order: readonly PaymentChannel[]): Promise<PaymentRow> {
    const p = this.runCharge(row, attempts, order).finally(() => this.inflight.delete(row.id));
    this.inflight.set(row.id, p);
    return p;
  }

  private async runCharge(row: PaymentRow, attempts: AttemptLog, order: readonly PaymentChannel[]): Promise<PaymentRow> {
    const routed = await this.opts.router.charge(
      { paymentId: row.id, amountCents: row.amount_cents, currency: row.currency, ...(row.method ? { allowed: [row.method] } : {}), order, deadlineAt: Date.now() + this.opts.deadlineMs },
      attempts,
    );
    await attempts.dropUnused();
    const settled = await this.settle(row, routed, attempts.takeLast());
    paymentsTotal.inc({ channel: settled.channel ?? 'none', status: settled.status === 'processing' ? 'pending' : settled.status });
    return settled;
  }

  /**
   * Records the router's answer (the last attempt's outcome with the payment's state, one statement)
   * and, for a final answer, its event in the same transaction. `pending` has no event: no transaction.
   */
  private async settle(row: PaymentRow, routed: RoutedCharge, last: AttemptFinish | undefined): Promise<PaymentRow> {
    if (routed.status === 'unknown') {
      // Nobody knows whether the channel charged. Left as a crash mid-charge leaves it (processing,
      // attempt in flight), which recovery settles from the channel's records once the payment is
      // stale; until then the API shows it as pending, as any charge not decided yet.
      const undecided = await chargeLedger.leaveUndecided(this.knex, row.id, { id: routed.reference, error: routed.error, latencyMs: routed.latencyMs }, last);
      this.opts.logger.warn({ paymentId: row.id, channel: routed.channel, reference: routed.reference }, 'payment left undecided for recovery: the channel neither answered nor could be asked');
      return undecided;
    }
    const update = paymentUpdate(routed);
    if (update.status === 'pending') {
      // a provider callback settled it first (async channels): its state stands
      return (await chargeLedger.settle(this.knex, row.id, update, last)) ?? this.reload(row.id);
    }
    return this.knex.transaction(async (trx) => {
      const updated = await chargeLedger.settle(trx, row.id, update, last);
      if (!updated) return (await trx<PaymentRow>('payments').where({ id: row.id }).first())!;
      await publishResult(this.opts.events, trx, updated);
      return updated;
    });
  }
}

/** The payment's new state for the router's answer. */
function paymentUpdate(routed: Exclude<RoutedCharge, { status: 'unknown' }>): PaymentSettlement {
  switch (routed.status) {
    case 'succeeded':
    case 'pending':
      return { status: routed.status, channel: routed.channel, channelRef: routed.channelRef, failureReason: null };
    case 'declined':
      return { status: 'failed', channel: routed.channel, channelRef: routed.channelRef, failureReason: `${routed.channel}: ${routed.reason}`.slice(0, 500) };
    case 'unavailable':
      return { status: 'failed', channel: null, channelRef: null, failureReason: `no payment channel answered (${routed.reason})`.slice(0, 500) };
  }
}

/** `payment.succeeded` / `payment.failed` for a payment that just reached a final state. */
export async function publishResult(events: PaymentEventSink, trx: Knex.Transaction, row: PaymentRow): Promise<void> {
  const data = {
    paymentId: row.id,
    orderId: row.order_id,
    userId: row.user_id,
    ...(row.email ? { email: row.email } : {}),
    amountCents: row.amount_cents,
    currency: row.currency.trim(),
    ...(row.channel ? { channel: row.channel } : {}),
    ...(row.failure_reason ? { reason: row.failure_reason.slice(0, 500) } : {}),
    at: new Date().toISOString(),
  };
  await events.enqueue(trx, row.status === 'succeeded' ? 'payment.succeeded' : 'payment.failed', row.order_id, data);
}

/** A customer may only pay for themself; services acting for no user (or an admin) may name anyone. */
export function assertPayer(user: AuthUser | undefined, userId: string): void {
  if (user && user.role !== 'admin' && user.id !== userId) throw new ForbiddenError('body.userId must be the user the request acts for', 'user_mismatch');
}
