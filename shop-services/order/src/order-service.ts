import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import { ConflictError, ForbiddenError, type AuthUser, type Logger, type PaymentChannel } from '@lantern/shop-common';
import type { Payment, Upstreams } from './clients.js';
import type { NewOrder, OrderPatch, OrderRecord, OrdersRepo } from './db/orders-repo.js';
import type { SagaSteps, StepStatus } from './db/saga-steps.js';
import {
  PaymentFailedError,
  idempotencyInProgress,
  idempotencyKeyReused,
  inventoryUnavailable,
  isDefinitiveRefusal,
  orderNotFound,
  reservationRefused,
} from './errors.js';
import { enqueueOrderEvent, type OrderTopics } from './events.js';
import { idempotencyTotal, latePaymentsTotal, ordersTotal, revenueCentsTotal, sagaStepsTotal } from './metrics.js';
import { mergeLines, priceLines, requestHash, usableEmail, type PricedOrder } from './pricing.js';
import type { Scheduler } from './scheduler.js';
import type { CreateOrderInput, HistoryEntry, ListOrdersQuery } from './schemas.js';
import { IllegalTransitionError, canTransition, type OrderStatus } from './state-machine.js';

/** Kinds of durable jobs in `scheduled_jobs`. */
export const JOB = {
  /** Expire a reserved order nobody paid for. */
  paymentTimeout: 'payment_timeout',
  /** Compensation: give the order's stock back to inventory. Retried until it succeeds. */
  release: 'release_stock',
  /** Last saga step after payment: the reserved stock leaves inventory. Retried until it succeeds. */
  confirm: 'confirm_stock',
  /** Looks at an order whose saga step got no answer (crash, timeout) and finishes or undoes it. */
  redrive: 'saga_redrive',
  /** Gives back a payment that succeeded after its order stopped waiting for it. Retried until payment answers. */
  refundLate: 'refund_late_payment',
} as const;

/**
 * Jobs this process runs itself right after their commit (kick) are due this much later, so the
 * scheduler's poll does not race the kick for them (the kick would then wait for the poll's run, and
 * the work would land in the job's trace instead of the request's). If the process dies before the
 * kick, the poll runs them once this has passed.
 */
const KICK_GRACE_MS = 5_000;
const kickedJobDue = (): Date => new Date(Date.now() + KICK_GRACE_MS);

/** Statuses in which an order will never be paid: money that arrives anyway goes back. */
const GAVE_UP_ON_PAYMENT: ReadonlySet<OrderStatus> = new Set(['cancelled', 'payment_failed', 'expired']);

/** Statuses whose move away from them is announced with a reason (kept in status_reason). */
const REASONED: ReadonlySet<OrderStatus> = new Set(['cancelled', 'payment_failed', 'expired']);
/** A payment step in one of these has been asked for and not answered yet. */
const PAYMENT_OPEN: ReadonlySet<StepStatus> = new Set(['started', 'unknown', 'pending']);

export interface OrderServiceDeps {
  knex: Knex;
  repo: OrdersRepo;
  steps: SagaSteps;
  scheduler: Scheduler;
  upstreams: Upstreams;
  logger: Logger;
  topics: OrderTopics;
  paymentTimeoutMs: number;
  reservationGraceSeconds: number;
  sagaStuckAfterMs: number;
  idempotentWaitMs: number;
  /** How long kick() waits for a job another worker is running (about one upstream call). */
  kickWaitMs: number;
}

export interface PlacedOrder {
  order: OrderRecord;
  /** True when an earlier request with the same Idempotency-Key created it. */
  replayed: boolean;
}

/** What a transition should do besides the status change, inside its transaction. */
interface MoveOptions {
  actor: string;
  reason?: string;
  patch?: OrderPatch;
  /** Runs first; false means "already done" (an event redelivered): nothing is written. */
  claim?: (trx: Knex.Transaction) => Promise<boolean>;
  also?: (trx: Knex.Transaction, order: OrderRecord) => Promise<void>;
  /** Runs in the same transaction when the order was no longer in `from` (after the claim, so a redelivery skips it). */
  onStale?: (trx: Knex.Transaction) => Promise<void>;
}

type MoveResult = { outcome: 'moved'; order: OrderRecord } | { outcome: 'stale' | 'duplicate' };

export const actorOf = (user: AuthUser): string => `${user.role === 'admin' ? 'admin' : 'user'}:${user.id}`;

/** The order's owner as an end user, for calls the saga makes on their behalf from jobs and consumers. */
export const ownerOf = (order: OrderRecord): AuthUser => ({ id: order.userId, role: 'customer', ...(order.email ? { email: order.email } : {}) });

/**
 * Orders and their saga: reserve stock → request payment → confirm stock, with compensation
 * (release) on failure, cancellation or timeout. Every status change is a conditional UPDATE with
 * its history row, its outbox event and the jobs it needs, all in one transaction; every remote
 * effect that must happen afterwards is a durable job, so a crash delays it but never loses it.
 */
export class OrderService {
  constructor(private readonly d: OrderServiceDeps) {}

  // ---------------------------------------------------------------- reads

  /** The order if the user may see it (owner or admin); anyone else gets the same 404 as for a missing order. */
  async get(user: AuthUser, id: string): Promise<OrderRecord> {
    const order = await this.d.repo.findById(id);
    if (!order || (user.role !== 'admin' && order.userId !== user.id)) throw orderNotFound(id);
    return order;
  }

  async list(user: AuthUser, q: ListOrdersQuery): Promise<{ items: OrderRecord[]; total: number }> {
    if (user.role !== 'admin' && q.userId !== undefined && q.userId !== user.id) throw new ForbiddenError("only admins may list other users' orders");
    const userId = user.role === 'admin' ? q.userId : user.id;
    return this.d.repo.list({ ...(userId !== undefined ? { userId } : {}), ...(q.status ? { status: q.status } : {}), limit: q.limit, offset: q.offset });
  }

  async history(user: AuthUser, id: string): Promise<HistoryEntry[]> {
    await this.get(user, id);
    return this.d.repo.history(id);
  }

  // ---------------------------------------------------------------- place

  /**
   * Creates an order: prices from the product service, then a `pending` row (the idempotency claim),
   * then the reservation at inventory, then `reserved` + `order.placed`. Out of stock, or no answer
   * from inventory: the order is deleted (nothing kept) and any reservation released.
   */
  async place(user: AuthUser, input: CreateOrderInput, idempotencyKey?: string): Promise<PlacedOrder> {
    const lines = mergeLines(input.items);
    const hash = requestHash(lines);
    let priced: PricedOrder | undefined;
    // A claim lost to a concurrent twin is replayed on the next round; a twin that failed and was
    // rolled back frees the key, and this request then claims it itself.
    for (let round = 0; round < 3; round++) {
      if (idempotencyKey) {
        const existing = await this.d.repo.findByIdempotencyKey(user.id, idempotencyKey);
        if (existing) {
          const settled = await this.replay(existing, hash);
          if (settled) return { order: settled, replayed: true };
          continue;
        }
      }
      priced ??= await priceLines(this.d.upstreams, lines, user);
      const email = usableEmail(user.email);
      const order: NewOrder = {
        id: randomUUID(),
        userId: user.id,
        ...(email ? { email } : {}),
        status: 'pending',
        items: priced.lines,
        totalCents: priced.totalCents,
        currency: priced.currency,
        ...(idempotencyKey ? { idempotencyKey, requestHash: hash } : {}),
      };
      const claimed = await this.d.knex.transaction(async (trx) => {
        if (!(await this.d.repo.insert(trx, order, { actor: actorOf(user), reason: 'order placed' }))) return false;
        await this.d.steps.claim(trx, order.id, 'reserve');
        await this.d.scheduler.schedule(trx, { kind: JOB.redrive, key: order.id, runAt: this.after(this.d.sagaStuckAfterMs) });
        return true;
      });
      if (!claimed) continue;
      ordersTotal.inc({ status: 'pending' });
      if (idempotencyKey) idempotencyTotal.inc({ outcome: 'created' });
      return { order: await this.reserve(order, lines, user), replayed: false };
    }
    throw idempotencyInProgress();
  }

  /** Same key: same body → the first request's order once it has settled; other body → 409. */
  private async replay(existing: OrderRecord, hash: string): Promise<OrderRecord | undefined> {
    if (existing.requestHash !== hash) {
      idempotencyTotal.inc({ outcome: 'conflict' });
      throw idempotencyKeyReused();
    }
    const deadline = Date.now() + this.d.idempotentWaitMs;
    let order: OrderRecord | undefined = existing;
    while (order.status === 'pending') {
      if (Date.now() > deadline) throw idempotencyInProgress();
      await sleep(25);
      order = await this.d.repo.findById(existing.id);
      if (!order) return undefined; // the first request failed and left nothing: claim the key ourselves
    }
    idempotencyTotal.inc({ outcome: 'replayed' });
    return order;
  }

  private async reserve(order: NewOrder, lines: ReturnType<typeof mergeLines>, user: AuthUser): Promise<OrderRecord> {
    const ttlSeconds = Math.ceil(this.d.paymentTimeoutMs / 1000) + this.d.reservationGraceSeconds;
    try {
      await this.d.upstreams.reserve(order.id, order.items.map((l) => ({ productId: l.productId, quantity: l.quantity })), ttlSeconds, user);
    } catch (err) {
      const definitive = isDefinitiveRefusal(err);
      sagaStepsTotal.inc({ step: 'reserve', outcome: definitive ? 'failed' : 'unknown' });
      // Nothing is kept. Without an answer the reservation may exist: release it (durably).
      await this.d.knex.transaction(async (trx) => {
        await this.d.repo.delete(trx, order.id, 'pending');
        await this.d.scheduler.cancel(trx, JOB.redrive, order.id);
        if (!definitive) await this.d.scheduler.schedule(trx, { kind: JOB.release, key: order.id, runAt: kickedJobDue(), payload: { userId: order.userId } });
      });
      if (!definitive) {
        await this.kick(JOB.release, order.id);
        throw inventoryUnavailable(err);
      }
      throw reservationRefused(err, lines);
    }
    sagaStepsTotal.inc({ step: 'reserve', outcome: 'succeeded' });
    const expiresAt = this.after(this.d.paymentTimeoutMs);
    const r = await this.move(order.id, 'pending', 'reserved', {
      actor: actorOf(user),
      reason: 'stock reserved',
      patch: { expiresAt },
      also: async (trx) => {
        await this.d.steps.set(trx, order.id, 'reserve', 'succeeded');
        await this.d.scheduler.reschedule(trx, { kind: JOB.paymentTimeout, key: order.id, runAt: expiresAt }, [JOB.redrive]);
      },
    });
    if (r.outcome === 'moved') return r.order;
    // cancelled (or undone by the re-drive job) while inventory answered: the stock goes back
    await this.scheduleRelease(this.d.knex, order.id, order.userId);
    await this.kick(JOB.release, order.id);
    throw new ConflictError(`order ${order.id} was cancelled while its stock was being reserved`, 'order_cancelled');
  }

  // ---------------------------------------------------------------- pay

  /**
   * Requests the payment (Idempotency-Key = order id, so a retry never charges twice) and applies the
   * answer: succeeded → paid (stock confirmed), failed → payment_failed (stock released, 402),
   * pending or no answer → the order stays reserved until a payment event or the timeout decides.
   */
  async pay(user: AuthUser, id: string, method?: PaymentChannel): Promise<OrderRecord> {
    const order = await this.get(user, id);
    if (order.userId !== user.id) throw new ForbiddenError('only the customer who placed the order can pay for it');
    const settled = this.paymentOutcome(order);
    if (settled) return settled;
    // One payment request per order at a time: concurrent pays wait for the first one's answer.
    const claimed = (await this.d.steps.claim(this.d.knex, id, 'payment')) || (await this.d.steps.reclaim(id, 'payment', ['unknown']));
    if (!claimed) return this.awaitPayment(id);
    const current = await this.d.repo.findById(id);
    if (!current || current.status !== 'reserved') {
      await this.d.steps.set(this.d.knex, id, 'payment', 'failed', `order was ${current?.status ?? 'deleted'} before payment`);
      return this.paymentOutcome(current ?? order) ?? order;
    }
    await this.d.scheduler.schedule(this.d.knex, { kind: JOB.redrive, key: id, runAt: this.after(this.d.sagaStuckAfterMs) }, 'replace');
    const { moved } = await this.requestPayment(current, user, actorOf(user), method);
    // the transition's own result when this call moved the order; otherwise read what happened
    const after = moved ?? (await this.d.repo.findById(id)) ?? current;
    return this.paymentOutcome(after) ?? after;
  }

  /** undefined while the order awaits payment; the order once paid; throws for a failed or unpayable order. */
  private paymentOutcome(order: OrderRecord): OrderRecord | undefined {
    switch (order.status) {
      case 'reserved':
        return undefined;
      case 'paid':
      case 'shipped':
      case 'completed':
        return order;
      case 'payment_failed':
        throw new PaymentFailedError(order);
      default:
        throw new IllegalTransitionError(order.id, order.status, 'paid');
    }
  }

  private async awaitPayment(id: string): Promise<OrderRecord> {
    const deadline = Date.now() + this.d.idempotentWaitMs;
    for (;;) {
      // step first: an answered step is committed with the order's new status, so the order read after it agrees
      const step = await this.d.steps.get(id, 'payment');
      const order = await this.d.repo.findById(id);
      if (!order) throw orderNotFound(id);
      const done = this.paymentOutcome(order);
      if (done) return done;
      if (step?.status !== 'started' || Date.now() > deadline) return order;
      await sleep(50);
    }
  }

  /**
   * One payment request and the handling of its answer (also used by the re-drive job): the payment
   * if one came back, and the order if this call moved it (paid or payment_failed).
   */
  async requestPayment(order: OrderRecord, user: AuthUser, actor: string, method?: PaymentChannel): Promise<{ payment?: Payment; moved?: OrderRecord }> {
    let payment: Payment;
    try {
      payment = await this.d.upstreams.requestPayment({ orderId: order.id, userId: order.userId, amountCents: order.totalCents, currency: order.currency, ...(method ? { method } : {}) }, user);
    } catch (err) {
      // 409 from payment (e.g. the same key still being processed) is not a verdict on the payment
      if (isDefinitiveRefusal(err) && err.status !== 409) {
        sagaStepsTotal.inc({ step: 'payment', outcome: 'failed' });
        return this.movedBy(await this.paymentFailed(order.id, undefined, `payment refused (${err.code})`, actor));
      }
      sagaStepsTotal.inc({ step: 'payment', outcome: 'unknown' });
      this.d.logger.warn({ orderId: order.id, err: (err as Error).message }, 'payment outcome unknown; waiting for a payment event or the timeout');
      await this.d.steps.setIf(this.d.knex, order.id, 'payment', ['started'], 'unknown', (err as Error).message);
      return {};
    }
    sagaStepsTotal.inc({ step: 'payment', outcome: payment.status });
    const moved = await this.applyPayment(order.id, { paymentId: payment.id, status: payment.status, ...(payment.failureReason ? { reason: payment.failureReason } : {}) }, actor);
    return { payment, ...this.movedBy(moved) };
  }

  private movedBy(order: OrderRecord | undefined): { moved?: OrderRecord } {
    return order ? { moved: order } : {};
  }

  /** A payment's verdict, from the payment call, a `payment.*` event or the re-drive job; the order if it moved. */
  async applyPayment(
    orderId: string,
    p: { paymentId: string; status: 'succeeded' | 'failed' | 'pending'; reason?: string },
    actor: string,
    claim?: (trx: Knex.Transaction) => Promise<boolean>,
  ): Promise<OrderRecord | undefined> {
    if (p.status === 'succeeded') return this.paid(orderId, p.paymentId, actor, claim);
    if (p.status === 'failed') return this.paymentFailed(orderId, p.paymentId, p.reason ?? 'payment declined', actor, claim);
    await this.d.knex.transaction(async (trx) => {
      if (claim && !(await claim(trx))) return;
      if (!(await this.d.repo.statusOf(orderId, trx))) return;
      await this.d.steps.set(trx, orderId, 'payment', 'pending', p.paymentId);
      await this.d.repo.patch(orderId, { paymentId: p.paymentId }, trx);
    });
    return undefined;
  }

  private async paid(orderId: string, paymentId: string, actor: string, claim?: (trx: Knex.Transaction) => Promise<boolean>): Promise<OrderRecord | undefined> {
    let late: OrderStatus | undefined;
    const r = await this.move(orderId, 'reserved', 'paid', {
      actor,
      reason: 'payment succeeded',
      patch: { paymentId },
      ...(claim ? { claim } : {}),
      also: async (trx, order) => {
        await this.d.steps.set(trx, orderId, 'payment', 'succeeded', paymentId);
        await this.d.scheduler.reschedule(trx, { kind: JOB.confirm, key: orderId, runAt: kickedJobDue(), payload: { userId: order.userId } }, [JOB.paymentTimeout, JOB.redrive]);
      },
      onStale: async (trx) => {
        late = await this.scheduleLateRefund(trx, orderId, paymentId);
      },
    });
    if (r.outcome === 'moved') {
      await this.kick(JOB.confirm, orderId);
      return r.order;
    }
    if (late) {
      latePaymentsTotal.inc();
      this.d.logger.error({ orderId, paymentId, status: late }, 'payment succeeded for an order no longer awaiting payment; refunding it');
      await this.kick(JOB.refundLate, orderId);
    }
    return undefined;
  }

  /**
   * Money taken for an order that already gave up on it (expired, cancelled, failed): recorded on the
   * payment step and refunded by a durable job, both in the transaction that found the order stale,
   * so neither a crash nor a redelivered event can lose or repeat the refund. Answers the order's
   * status when a refund was scheduled; undefined when the order is paid already (a duplicate
   * answer) or gone.
   */
  private async scheduleLateRefund(trx: Knex.Transaction, orderId: string, paymentId: string): Promise<OrderStatus | undefined> {
    const status = await this.d.repo.statusOf(orderId, trx);
    if (!status || !GAVE_UP_ON_PAYMENT.has(status)) return undefined;
    await this.d.steps.set(trx, orderId, 'payment', 'succeeded', `late payment ${paymentId}: order was ${status}`);
    await this.d.scheduler.schedule(trx, { kind: JOB.refundLate, key: orderId, runAt: kickedJobDue(), payload: { paymentId, status } });
    return status;
  }

  private async paymentFailed(orderId: string, paymentId: string | undefined, reason: string, actor: string, claim?: (trx: Knex.Transaction) => Promise<boolean>): Promise<OrderRecord | undefined> {
    const r = await this.move(orderId, 'reserved', 'payment_failed', {
      actor,
      reason,
      ...(paymentId ? { patch: { paymentId } } : {}),
      ...(claim ? { claim } : {}),
      also: async (trx, order) => {
        await this.d.steps.set(trx, orderId, 'payment', 'failed', reason);
        await this.compensateIn(trx, order);
      },
    });
    if (r.outcome !== 'moved') return undefined;
    await this.kick(JOB.release, orderId);
    return r.order;
  }

  // ---------------------------------------------------------------- cancel, ship, complete

  /** Owner or admin, before payment: the stock goes back. Refused while a payment is being decided. */
  async cancel(user: AuthUser, id: string, reason?: string): Promise<OrderRecord> {
    const order = await this.get(user, id);
    if (!canTransition(order.status, 'cancelled')) throw new IllegalTransitionError(id, order.status, 'cancelled');
    const why = reason ?? `cancelled by ${user.role === 'admin' && order.userId !== user.id ? 'an admin' : 'the customer'}`;
    let paymentOpen: StepStatus | undefined;
    const r = await this.move(id, order.status, 'cancelled', {
      actor: actorOf(user),
      reason: why,
      claim: async (trx) => {
        // Taking the payment step closes the door on a pay racing with this cancel.
        if (await this.d.steps.claim(trx, id, 'payment')) {
          await this.d.steps.set(trx, id, 'payment', 'failed', 'order cancelled before payment');
          return true;
        }
        const step = await this.d.steps.get(id, 'payment', trx);
        if (step && PAYMENT_OPEN.has(step.status)) {
          paymentOpen = step.status;
          return false;
        }
        return true;
      },
      also: (trx, o) => this.compensateIn(trx, o),
    });
    if (paymentOpen) throw new ConflictError(`a payment for order ${id} is in progress (${paymentOpen}); it cannot be cancelled now`, 'payment_in_progress');
    if (r.outcome !== 'moved') throw new IllegalTransitionError(id, (await this.d.repo.statusOf(id)) ?? order.status, 'cancelled');
    await this.kick(JOB.release, id);
    return r.order;
  }

  async ship(admin: AuthUser, id: string): Promise<OrderRecord> {
    return this.adminMove(admin, id, 'shipped', 'shipped');
  }

  async complete(admin: AuthUser, id: string): Promise<OrderRecord> {
    return this.adminMove(admin, id, 'completed', 'delivered');
  }

  private async adminMove(admin: AuthUser, id: string, to: OrderStatus, reason: string): Promise<OrderRecord> {
    const order = await this.get(admin, id);
    if (!canTransition(order.status, to)) throw new IllegalTransitionError(id, order.status, to);
    const r = await this.move(id, order.status, to, { actor: actorOf(admin), reason });
    if (r.outcome !== 'moved') throw new IllegalTransitionError(id, (await this.d.repo.statusOf(id)) ?? order.status, to);
    return r.order;
  }

  // ---------------------------------------------------------------- transitions

  /**
   * The one way a status changes: conditional UPDATE (from → to), history row, outbox event and the
   * caller's extra writes, in one transaction. 'stale' = the order was no longer in `from`.
   */
  async move(orderId: string, from: OrderStatus, to: OrderStatus, opts: MoveOptions): Promise<MoveResult> {
    if (!canTransition(from, to)) throw new IllegalTransitionError(orderId, from, to);
    const r = await this.d.knex.transaction(async (trx): Promise<MoveResult> => {
      if (opts.claim && !(await opts.claim(trx))) return { outcome: 'duplicate' };
      const order = await this.transitionIn(trx, orderId, from, to, opts);
      if (!order) {
        await opts.onStale?.(trx);
        return { outcome: 'stale' };
      }
      await opts.also?.(trx, order);
      return { outcome: 'moved', order };
    });
    if (r.outcome === 'moved') this.counted(r.order);
    return r;
  }

  /** Transition + history + event inside an open transaction (no metrics: count after commit). */
  async transitionIn(trx: Knex.Transaction, orderId: string, from: OrderStatus, to: OrderStatus, opts: Pick<MoveOptions, 'actor' | 'reason' | 'patch'>): Promise<OrderRecord | undefined> {
    const patch: OrderPatch = { statusReason: REASONED.has(to) ? (opts.reason ?? null) : null, ...opts.patch };
    const order = await this.d.repo.transition(trx, { orderId, from, to, reason: opts.reason, actor: opts.actor, patch });
    if (order) await enqueueOrderEvent(trx, this.d.topics, order, from, opts.reason);
    return order;
  }

  /** Metrics of a committed transition. */
  counted(order: OrderRecord): void {
    ordersTotal.inc({ status: order.status });
    if (order.status === 'paid') revenueCentsTotal.inc({ currency: order.currency }, order.totalCents);
  }

  /** In a transition's transaction: the stock goes back (durable job) and the order's pending jobs end. */
  async compensateIn(trx: Knex.Transaction, order: OrderRecord): Promise<void> {
    await this.d.scheduler.reschedule(trx, { kind: JOB.release, key: order.id, runAt: kickedJobDue(), payload: { userId: order.userId } }, [JOB.paymentTimeout, JOB.redrive]);
  }

  async scheduleRelease(db: Knex | Knex.Transaction, orderId: string, userId: string): Promise<void> {
    await this.d.scheduler.schedule(db, { kind: JOB.release, key: orderId, runAt: kickedJobDue(), payload: { userId } });
  }

  /**
   * Runs a just-scheduled job now, so the answer reflects it (if the scheduler's poll took it first,
   * waits a little for that run). If it fails, the scheduler retries it with backoff.
   */
  async kick(kind: string, key: string): Promise<void> {
    try {
      await this.d.scheduler.runNow(kind, key, this.d.kickWaitMs);
    } catch (err) {
      this.d.logger.warn({ kind, key, err: (err as Error).message }, 'could not run job now; the scheduler will');
    }
  }

  private after(ms: number): Date {
    return new Date(Date.now() + ms);
  }
}
