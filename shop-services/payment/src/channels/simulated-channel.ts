import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import type { Logger, PaymentChannel } from '@lantern/shop-common';
import type { ChannelSimulation } from '../config.js';
import type { CallbackDelivery } from './callback-delivery.js';
import { ChannelError, type ChannelTransaction, type ChargeRequest, type ChargeResult, type LookupRequest, type PaymentChannelAdapter, type RefundRequest, type RefundResult } from './types.js';

const TABLE = 'sim_provider_transactions';

interface ProviderRow {
  channel: string;
  reference: string;
  provider_ref: string;
  kind: 'charge' | 'refund';
  amount_cents: number;
  currency: string;
  /** `voided`: no charge (or refund); a lookup found none and closed the reference (see lookup()). */
  status: 'succeeded' | 'declined' | 'pending' | 'voided';
  reason: string | null;
  original_ref: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface AsyncSettlement {
  /** How long after the charge the provider settles it and calls back. */
  delayMs: number;
  delivery: CallbackDelivery;
}

export interface SimulatedChannelOptions {
  name: PaymentChannel;
  knex: Knex;
  simulation: ChannelSimulation;
  logger: Logger;
  /** When set, charges answer `pending` and settle later through a signed callback (the bank). */
  async?: AsyncSettlement;
  /** For tests: a deterministic source of [0, 1). */
  random?: () => number;
}

/**
 * A payment provider simulated in-process: configurable latency (± jitter), failure rate (throws, as
 * a timeout or 5xx would) and decline rate. It keeps its own books in `sim_provider_transactions`
 * (the provider's side that reconciliation compares with our ledger), keyed by our reference, so
 * a repeated reference never charges twice. The simulation settings can be changed at runtime.
 */
export class SimulatedChannel implements PaymentChannelAdapter {
  readonly name: PaymentChannel;
  private simulation: ChannelSimulation;
  private readonly knex: Knex;
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly settlements = new Set<Promise<void>>();
  private readonly closing = new AbortController();
  /** Times charge() was called: tests prove a payment reached the channel once. */
  chargeCalls = 0;

  constructor(private readonly opts: SimulatedChannelOptions) {
    this.name = opts.name;
    this.simulation = { ...opts.simulation };
    this.knex = opts.knex;
    this.logger = opts.logger;
    this.random = opts.random ?? Math.random;
  }

  get settings(): Readonly<ChannelSimulation> & { async: boolean; settleDelayMs?: number } {
    return { ...this.simulation, async: this.opts.async !== undefined, ...(this.opts.async ? { settleDelayMs: this.opts.async.delayMs } : {}) };
  }

  /** Changes latency, failure or decline rate from now on (fault injection). */
  configure(patch: Partial<ChannelSimulation>): void {
    this.simulation = { ...this.simulation, ...patch };
  }

  async charge(req: ChargeRequest): Promise<ChargeResult> {
    this.chargeCalls++;
    const { lateAnswerMs } = this.simulation;
    // "charges but answers late": the provider's server carries on when our client hangs up, so our
    // abort reaches neither its latency nor its record (only closing the simulation stops it)
    const provider = lateAnswerMs > 0 ? this.closing.signal : req.signal;
    await this.latency(provider);
    const roll = this.random();
    const { failureRate, declineRate } = this.simulation;
    if (roll < failureRate) throw new ChannelError(this.name, `${this.name} provider unavailable (simulated 503)`);
    provider.throwIfAborted();
    const declined = roll < failureRate + declineRate;
    const status = this.opts.async ? 'pending' : declined ? 'declined' : 'succeeded';
    // a reference seen before returns its first answer (record() keeps the first row)
    const { row, created } = await this.record({ reference: req.reference, kind: 'charge', amountCents: req.amountCents, currency: req.currency, status, reason: declined && !this.opts.async ? 'declined by issuer' : null });
    // a lookup found no charge by this reference before this one got here: never charge it now
    if (row.status === 'voided') throw new ChannelError(this.name, `${this.name}: reference ${req.reference} was closed by a lookup; not charged`);
    if (created && row.status === 'pending' && this.opts.async) this.scheduleSettlement(row, this.opts.async);
    if (lateAnswerMs > 0) await sleep(lateAnswerMs, undefined, { signal: req.signal });
    return resultOf(row);
  }

  /**
   * The charge by `reference` in these books, or undefined after closing the reference.
   *
   * Why closing: a charge may still be on its way to the books when we ask (our client gave up, the
   * provider carries on; see lateAnswerMs), and "no record" must stay true once answered, or a
   * failover could charge twice. Checking our client's abort signal before the charge's insert would
   * not do: the insert is already in flight when the signal fires, and the signal does not exist
   * across processes. So the lookup itself inserts a `voided` row under the same primary key
   * (channel, reference) that keeps a reference from being charged twice, in one statement: Postgres
   * orders the two inserts, and whichever comes second finds the other's row. A lookup that comes
   * first closes the reference (the charge then finds `voided` and records nothing); a charge that
   * comes first is the lookup's answer. Lookups skip the simulated latency (a read of the books);
   * their failures have their own rate, lookupFailureRate.
   */
  async lookup(req: LookupRequest): Promise<ChargeResult | undefined> {
    const row = await this.lookupRow(req, 'charge');
    return row && resultOf(row);
  }

  /**
   * Refunds follow the charge's rules: a reference seen before returns its first answer, late answers
   * (lateAnswerMs) carry on after our client hung up, and a reference a lookupRefund() closed is never
   * refunded (throws, nothing recorded).
   */
  async refund(req: RefundRequest): Promise<RefundResult> {
    const { lateAnswerMs } = this.simulation;
    const provider = lateAnswerMs > 0 ? this.closing.signal : req.signal;
    await this.latency(provider);
    const existing = await this.find(req.reference);
    if (existing) return this.refundAnswer(existing);
    if (this.random() < this.simulation.failureRate) throw new ChannelError(this.name, `${this.name} provider unavailable (simulated 503)`);
    provider.throwIfAborted();
    // the provider's own rule: never refund more than it captured for that charge
    const charge = await this.knex<ProviderRow>(TABLE).where({ channel: this.name, provider_ref: req.chargeRef, kind: 'charge' }).first();
    const refunded = await this.knex(TABLE).where({ channel: this.name, kind: 'refund', original_ref: req.chargeRef, status: 'succeeded' }).sum<{ sum: string | null }[]>('amount_cents as sum');
    const already = Number(refunded[0]?.sum ?? 0);
    const reason = !charge || charge.status !== 'succeeded' ? 'no settled charge to refund' : already + req.amountCents > charge.amount_cents ? 'refund exceeds the captured amount' : null;
    const { row } = await this.record({ reference: req.reference, kind: 'refund', amountCents: req.amountCents, currency: req.currency, status: reason ? 'declined' : 'succeeded', reason, originalRef: req.chargeRef });
    const answer = this.refundAnswer(row);
    if (lateAnswerMs > 0) await sleep(lateAnswerMs, undefined, { signal: req.signal });
    return answer;
  }

  /** The refund by `reference` in these books, or undefined after closing the reference (as lookup()). */
  async lookupRefund(req: LookupRequest): Promise<RefundResult | undefined> {
    const row = await this.lookupRow(req, 'refund');
    return row && this.refundAnswer(row);
  }

  async listTransactions(since: Date): Promise<ChannelTransaction[]> {
    // a voided reference is a promise not to charge it, not a transaction
    const rows = (await this.knex<ProviderRow>(TABLE).where({ channel: this.name }).andWhere('created_at', '>=', since).andWhereNot({ status: 'voided' }).orderBy('created_at')) as (ProviderRow & { status: ChannelTransaction['status'] })[];
    return rows.map((r) => ({
      reference: r.reference,
      channelRef: r.provider_ref,
      kind: r.kind,
      amountCents: r.amount_cents,
      currency: r.currency.trim(),
      status: r.status,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }));
  }

  /** Waits for settlements in flight (tests), then stops. */
  async close(): Promise<void> {
    this.closing.abort();
    await Promise.allSettled([...this.settlements]);
  }

  /** Resolves when every pending settlement has been settled and called back (tests). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.settlements]);
  }

  private async latency(signal: AbortSignal): Promise<void> {
    const { latencyMs, jitterMs } = this.simulation;
    const ms = Math.max(0, latencyMs + (jitterMs > 0 ? (this.random() * 2 - 1) * jitterMs : 0));
    if (ms > 0) await sleep(ms, undefined, { signal });
    signal.throwIfAborted();
  }

  private async find(reference: string): Promise<ProviderRow | undefined> {
    return this.knex<ProviderRow>(TABLE).where({ channel: this.name, reference }).first();
  }

  /** lookup() and lookupRefund(): the row by `reference`, or undefined once closed (voided). */
  private async lookupRow(req: LookupRequest, kind: ProviderRow['kind']): Promise<ProviderRow | undefined> {
    if (this.simulation.lookupFailureRate > 0 && this.random() < this.simulation.lookupFailureRate) throw new ChannelError(this.name, `${this.name} lookup unavailable (simulated 503)`);
    req.signal.throwIfAborted();
    const row = await this.closeOrFind(req.reference, kind);
    return row.status === 'voided' ? undefined : row;
  }

  /** A refund's answer from its row; a reference a lookup closed was never refunded (throws). */
  private refundAnswer(row: ProviderRow): RefundResult {
    if (row.status === 'voided') throw new ChannelError(this.name, `${this.name}: reference ${row.reference} was closed by a lookup; not refunded`);
    if (row.status === 'succeeded') return { status: 'succeeded', channelRef: row.provider_ref };
    return { status: 'rejected', channelRef: row.provider_ref, reason: row.reason ?? 'rejected' };
  }

  /**
   * One statement: a `voided` row for the reference unless it has a row, then that row. The SELECT
   * sees the statement's snapshot, so a charge committed by another connection while the INSERT
   * waited on it is not in it (no row comes back): read again then.
   */
  private async closeOrFind(reference: string, kind: ProviderRow['kind']): Promise<ProviderRow> {
    const { rows } = (await this.knex.raw(
      `WITH closed AS (
         INSERT INTO ?? (channel, reference, provider_ref, kind, amount_cents, currency, status, reason)
         VALUES (?, ?, ?, ?, 0, 'XXX', 'voided', ?)
         ON CONFLICT (channel, reference) DO NOTHING RETURNING *
       )
       SELECT * FROM closed UNION ALL SELECT * FROM ?? WHERE channel = ? AND reference = ?`,
      [TABLE, this.name, reference, `${this.name}_void_${randomUUID().replaceAll('-', '')}`, kind, `looked up without a ${kind}; closed to later ${kind}s`, TABLE, this.name, reference],
    )) as { rows: ProviderRow[] };
    return rows[0] ?? (await this.find(reference))!;
  }

  private async record(r: { reference: string; kind: 'charge' | 'refund'; amountCents: number; currency: string; status: ProviderRow['status']; reason: string | null; originalRef?: string }): Promise<{ row: ProviderRow; created: boolean }> {
    const [inserted] = await this.knex<ProviderRow>(TABLE)
      .insert({
        channel: this.name,
        reference: r.reference,
        provider_ref: `${this.name}_${randomUUID().replaceAll('-', '')}`,
        kind: r.kind,
        amount_cents: r.amountCents,
        currency: r.currency,
        status: r.status,
        reason: r.reason,
        original_ref: r.originalRef ?? null,
      })
      .onConflict(['channel', 'reference'])
      .ignore()
      .returning('*');
    if (inserted) return { row: inserted, created: true };
    // a concurrent call with the same reference got there first: its record is the answer
    return { row: (await this.find(r.reference))!, created: false };
  }

  private scheduleSettlement(row: ProviderRow, async: AsyncSettlement): void {
    const settle = async (): Promise<void> => {
      try {
        await sleep(async.delayMs, undefined, { signal: this.closing.signal });
      } catch {
        return; // closing: the charge stays pending, as a provider outage would leave it
      }
      const declined = this.random() < this.simulation.declineRate;
      const status = declined ? 'declined' : 'succeeded';
      const reason = declined ? 'declined by bank' : null;
      const [updated] = await this.knex<ProviderRow>(TABLE)
        .where({ channel: this.name, reference: row.reference, status: 'pending' })
        .update({ status, reason, updated_at: this.knex.fn.now() })
        .returning('*');
      if (!updated) return;
      await async.delivery.deliver(this.name, {
        eventId: `evt_${randomUUID().replaceAll('-', '')}`,
        type: declined ? 'charge.declined' : 'charge.succeeded',
        reference: updated.reference,
        providerRef: updated.provider_ref,
        amountCents: updated.amount_cents,
        currency: updated.currency.trim(),
        ...(reason ? { reason } : {}),
        occurredAt: new Date().toISOString(),
      });
    };
    const p = settle()
      .catch((err: unknown) => this.logger.warn({ channel: this.name, err: (err as Error).message }, 'simulated settlement failed'))
      .finally(() => this.settlements.delete(p));
    this.settlements.add(p);
  }
}

function resultOf(row: ProviderRow): ChargeResult {
  if (row.status === 'declined') return { status: 'declined', channelRef: row.provider_ref, reason: row.reason ?? 'declined' };
  if (row.status === 'voided') throw new Error(`reference ${row.reference} was voided: it has no charge result`);
  return { status: row.status, channelRef: row.provider_ref };
}
