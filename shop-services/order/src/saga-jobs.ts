import type { Knex } from 'knex';
import type { Logger } from '@lantern/shop-common';
import type { Upstreams } from './clients.js';
import type { OrdersRepo } from './db/orders-repo.js';
import type { SagaStep, SagaSteps } from './db/saga-steps.js';
import { isDefinitiveRefusal } from './errors.js';
import { lateRefundsTotal, sagaStepsTotal } from './metrics.js';
import { JOB, ownerOf, type OrderService } from './order-service.js';
import type { Job, JobResult, Scheduler } from './scheduler.js';

export interface SagaJobDeps {
  knex: Knex;
  service: OrderService;
  repo: OrdersRepo;
  steps: SagaSteps;
  scheduler: Scheduler;
  upstreams: Upstreams;
  logger: Logger;
  sagaStuckAfterMs: number;
}

const TIMEOUT_ACTOR = 'system:payment-timeout';
/** A refund the payment service has not decided yet (its channel did not answer) is asked about again this much later. */
const REFUND_RECHECK_MS = 30_000;
const REDRIVE_ACTOR = 'system:saga-redrive';
/** While a payment call is in flight at timeout, look again this much later (a few times) before expiring. */
const IN_FLIGHT_RECHECK_MS = 5_000;
const IN_FLIGHT_RECHECKS = 6;

/** Registers the saga's job handlers with the durable scheduler. */
export function registerSagaJobs(d: SagaJobDeps): void {
  d.scheduler.register(JOB.paymentTimeout, (job) => expireUnpaid(d, job));
  d.scheduler.register(JOB.redrive, (job) => redrive(d, job));
  d.scheduler.register(JOB.release, (job) => stockCall(d, job, 'release'));
  d.scheduler.register(JOB.confirm, (job) => stockCall(d, job, 'confirm'));
  d.scheduler.register(JOB.refundLate, (job) => refundLatePayment(d, job));
}

const later = (ms: number): { retryAt: Date } => ({ retryAt: new Date(Date.now() + ms) });

/**
 * Payment timeout: a reserved order nobody paid for expires and its stock goes back. If a payment
 * was asked for, the payment service is asked first, so a payment that did go through wins.
 */
async function expireUnpaid(d: SagaJobDeps, job: Job): Promise<JobResult> {
  const order = await d.repo.findById(job.key);
  if (!order || order.status !== 'reserved') return;
  if (order.expiresAt && Date.parse(order.expiresAt) > Date.now()) return { retryAt: new Date(order.expiresAt) };
  const step = await d.steps.get(order.id, 'payment');
  if (step?.status === 'started' && job.attempts <= IN_FLIGHT_RECHECKS) return later(IN_FLIGHT_RECHECK_MS);
  if (step && step.status !== 'failed' && step.status !== 'succeeded') {
    try {
      const payments = await d.upstreams.paymentsOfOrder(order.id, ownerOf(order));
      const succeeded = payments.find((p) => p.status === 'succeeded');
      if (succeeded) {
        await d.service.applyPayment(order.id, { paymentId: succeeded.id, status: 'succeeded' }, TIMEOUT_ACTOR);
        return;
      }
    } catch (err) {
      // the payment service is down: retry a few times, then the timeout wins (a late payment is flagged)
      if (job.attempts <= 3) throw err;
      d.logger.warn({ orderId: order.id, err: (err as Error).message }, 'payment service unreachable at timeout; expiring the order');
    }
  }
  const r = await d.service.move(order.id, 'reserved', 'expired', {
    actor: TIMEOUT_ACTOR,
    reason: 'payment timeout',
    also: async (trx, o) => {
      if (step) await d.steps.set(trx, o.id, 'payment', 'failed', 'payment timeout');
      await d.service.compensateIn(trx, o);
    },
  });
  if (r.outcome === 'moved') await d.service.kick(JOB.release, order.id);
}

/**
 * An order whose saga step got no answer: a crash after the pending row (or inventory never
 * answered) → the order is removed and any reservation released; a payment call without answer →
 * asked again with the same Idempotency-Key until payment answers or the timeout expires the order.
 */
async function redrive(d: SagaJobDeps, job: Job): Promise<JobResult> {
  const order = await d.repo.findById(job.key);
  if (!order) return;
  if (order.status === 'pending') {
    const removed = await d.knex.transaction(async (trx) => {
      if (!(await d.repo.delete(trx, order.id, 'pending'))) return false;
      await d.service.scheduleRelease(trx, order.id, order.userId);
      return true;
    });
    if (removed) {
      d.logger.warn({ orderId: order.id }, 'order left pending (its request never finished); removed and stock released');
      await d.service.kick(JOB.release, order.id);
    }
    return;
  }
  if (order.status !== 'reserved') return;
  const step = await d.steps.get(order.id, 'payment');
  if (!step || (step.status !== 'started' && step.status !== 'unknown')) return;
  const quietFor = Date.now() - step.updated_at.getTime();
  if (step.status === 'started' && quietFor < d.sagaStuckAfterMs) return later(d.sagaStuckAfterMs - quietFor);
  if (!(await d.steps.reclaim(order.id, 'payment', [step.status]))) return later(d.sagaStuckAfterMs);
  const { payment } = await d.service.requestPayment(order, ownerOf(order), REDRIVE_ACTOR);
  if (!payment) {
    const now = await d.steps.get(order.id, 'payment');
    if (now?.status === 'unknown') return later(d.sagaStuckAfterMs); // still no answer: again later
  }
}

/** release_stock / confirm_stock: retried until inventory answers; "nothing to do" answers end them too. */
async function stockCall(d: SagaJobDeps, job: Job, step: Extract<SagaStep, 'release' | 'confirm'>): Promise<JobResult> {
  const userId = typeof job.payload.userId === 'string' ? job.payload.userId : undefined;
  const user = userId ? { id: userId, role: 'customer' as const } : undefined;
  let outcome: 'succeeded' | 'failed' = 'succeeded';
  let detail: string | undefined;
  try {
    if (step === 'release') await d.upstreams.release(job.key, user);
    else await d.upstreams.confirm(job.key, user);
  } catch (err) {
    if (!isDefinitiveRefusal(err)) {
      sagaStepsTotal.inc({ step, outcome: 'unknown' });
      throw err; // no answer: the scheduler retries with backoff
    }
    if (err.status === 404 && step === 'release') {
      detail = 'no reservation to release'; // never reserved (or already gone)
    } else {
      // e.g. confirm after the reservation expired at inventory: retrying cannot help
      outcome = 'failed';
      detail = `${err.code}: ${err.message}`;
      d.logger.error({ orderId: job.key, step, code: err.code }, `inventory refused to ${step} the reservation`);
    }
  }
  sagaStepsTotal.inc({ step, outcome });
  await d.steps.setIfOrderExists(d.knex, job.key, step, outcome, detail).catch(() => undefined);
}

/**
 * refund_late_payment: the whole payment goes back through the payment service (Idempotency-Key per
 * order, so a retry after a lost answer refunds once). No answer → retried with backoff; a refusal
 * (e.g. nothing left to refund) is final: recorded on the refund step, counted, logged for a person.
 */
async function refundLatePayment(d: SagaJobDeps, job: Job): Promise<JobResult> {
  const paymentId = typeof job.payload.paymentId === 'string' ? job.payload.paymentId : undefined;
  const status = typeof job.payload.status === 'string' ? job.payload.status : 'no longer awaiting payment';
  if (!paymentId) {
    d.logger.error({ orderId: job.key }, 'late-payment refund job without a payment id; refund by hand');
    return;
  }
  let refund;
  try {
    refund = await d.upstreams.refundPayment(paymentId, `order ${job.key} was ${status} when its payment succeeded`, `late-payment:${job.key}`);
  } catch (err) {
    if (!isDefinitiveRefusal(err)) throw err;
    return lateRefundFailed(d, job.key, paymentId, `${err.code}: ${err.message}`);
  }
  // the same key answers the same refund: an undecided one is asked about again until it is decided
  if (refund.status === 'processing') return later(REFUND_RECHECK_MS);
  if (refund.status === 'failed') return lateRefundFailed(d, job.key, paymentId, `refund ${refund.id} failed: ${refund.failureReason ?? 'no reason given'}`);
  lateRefundsTotal.inc({ outcome: 'refunded' });
  d.logger.warn({ orderId: job.key, paymentId, refundId: refund.id }, 'late payment refunded');
  await d.steps.setIfOrderExists(d.knex, job.key, 'refund', 'succeeded', `refund ${refund.id} of late payment ${paymentId}`);
}

/** Final: recorded on the refund step, counted (LatePaymentRefundFailed pages) and left to a person. */
async function lateRefundFailed(d: SagaJobDeps, orderId: string, paymentId: string, why: string): Promise<void> {
  lateRefundsTotal.inc({ outcome: 'failed' });
  d.logger.error({ orderId, paymentId, why }, 'a late payment could not be refunded automatically; refund by hand');
  await d.steps.setIfOrderExists(d.knex, orderId, 'refund', 'failed', why);
}
