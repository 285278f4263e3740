import { randomUUID } from 'node:crypto';
import type { Attributes, Span } from '@opentelemetry/api';
import type { Knex } from 'knex';
import type { Logger, PaymentChannel, PaymentMismatch } from '@lantern/shop-common';
import type { ChannelTransaction } from '../channels/types.js';
import type { PaymentEventSink } from '../events.js';
import { reconciliationMismatchesTotal, reconciliationRunsTotal } from '../metrics.js';
import type { ChannelRouter } from '../routing/channel-router.js';
import { inJobSpan, recordFailure } from '../tracing.js';
import { compareChannel, type LedgerAttempt, type LedgerRefund, type Mismatch } from './compare.js';

export interface ChannelReport {
  channel: PaymentChannel;
  ledgerRecords: number;
  channelRecords: number;
  mismatches: number;
  newMismatches: number;
  /** Set when the channel's records could not be read; the channel is compared next run. */
  error?: string;
}

export interface ReconciliationReport {
  id: string;
  startedAt: string;
  finishedAt: string;
  window: { from: string; to: string };
  channels: ChannelReport[];
  totals: { ledgerRecords: number; channelRecords: number; mismatches: number; newMismatches: number };
  mismatches: (Mismatch & { new: boolean })[];
}

export interface ReconcilerOptions {
  knex: Knex;
  schema: string;
  router: ChannelRouter;
  events: PaymentEventSink;
  logger: Logger;
  windowMs: number;
  graceMs: number;
}

/** Another instance is reconciling right now. */
export class ReconciliationBusyError extends Error {
  readonly code = 'reconciliation_running';
  constructor() {
    super('a reconciliation run is already in progress');
  }
}

/**
 * Compares the ledger (payment attempts and refunds) with each channel's own records over a window
 * that ends `graceMs` ago (calls and callbacks in flight are left for the next run). Each distinct
 * disagreement is stored once and announced once (metric + payment.reconciliation_mismatch event, in
 * the same transaction); later runs still report it. One instance runs at a time (advisory lock).
 */
export class Reconciler {
  constructor(private readonly opts: ReconcilerOptions) {}

  async run(overrides: { windowMs?: number } = {}): Promise<ReconciliationReport> {
    const started = new Date();
    const to = new Date(started.getTime() - this.opts.graceMs);
    const from = new Date(to.getTime() - (overrides.windowMs ?? this.opts.windowMs));
    try {
      const report = await this.locked({ 'payment.reconcile.window_ms': to.getTime() - from.getTime() }, async (trx, span) => {
        const result = await this.compareAll(trx, started, from, to);
        span.setAttributes({
          'payment.reconcile.run_id': result.id,
          'payment.reconcile.ledger_records': result.totals.ledgerRecords,
          'payment.reconcile.channel_records': result.totals.channelRecords,
          'payment.reconcile.mismatches': result.totals.mismatches,
          'payment.reconcile.new_mismatches': result.totals.newMismatches,
        });
        // a channel that could not be read is compared next run; the run still failed at it
        for (const c of result.channels) if (c.error) recordFailure(span, c.error);
        return result;
      });
      reconciliationRunsTotal.inc({ outcome: 'completed' });
      this.opts.logger.info({ runId: report.id, totals: report.totals }, 'reconciliation run completed');
      return report;
    } catch (err) {
      reconciliationRunsTotal.inc({ outcome: err instanceof ReconciliationBusyError ? 'skipped' : 'failed' });
      throw err;
    }
  }

  /**
   * Runs `work` in one transaction holding the reconciliation lock (busy: ReconciliationBusyError).
   * BEGIN and the lock are the check: they run before the `payment.reconcile` span opens, untraced,
   * so a run that finds another instance on it leaves no trace. Every run that gets the lock does real
   * work (reads the ledger and every channel's records, stores its report), so it always has its span,
   * which covers the work and the COMMIT (hence a transaction driven by hand, not by a callback).
   */
  private async locked<T>(attributes: Attributes, work: (trx: Knex.Transaction, span: Span) => Promise<T>): Promise<T> {
    const trx = await this.opts.knex.transaction();
    try {
      const { rows } = await trx.raw<{ rows: { locked: boolean }[] }>('select pg_try_advisory_xact_lock(hashtext(?)) as locked', [`${this.opts.schema}:reconciliation`]);
      if (!rows[0]?.locked) throw new ReconciliationBusyError();
      return await inJobSpan('payment.reconcile', attributes, async (span) => {
        const result = await work(trx, span);
        await trx.commit();
        // a failed COMMIT rejects the transaction's promise, not commit()'s
        await trx.executionPromise;
        return result;
      });
    } finally {
      if (!trx.isCompleted()) await trx.rollback();
    }
  }

  /** Every channel compared over [from, to); the run's report stored. */
  private async compareAll(trx: Knex.Transaction, started: Date, from: Date, to: Date): Promise<ReconciliationReport> {
    const id = randomUUID();
    const channels: ChannelReport[] = [];
    const all: (Mismatch & { new: boolean })[] = [];
    for (const channel of this.opts.router.order) {
      const { report, mismatches } = await this.reconcileChannel(trx, id, channel, from, to);
      channels.push(report);
      all.push(...mismatches);
    }
    const sum = (k: 'ledgerRecords' | 'channelRecords' | 'mismatches' | 'newMismatches') => channels.reduce((n, c) => n + c[k], 0);
    const result: ReconciliationReport = {
      id,
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      window: { from: from.toISOString(), to: to.toISOString() },
      channels,
      totals: { ledgerRecords: sum('ledgerRecords'), channelRecords: sum('channelRecords'), mismatches: sum('mismatches'), newMismatches: sum('newMismatches') },
      mismatches: all,
    };
    await trx('reconciliation_runs').insert({ id, started_at: started, finished_at: new Date(), window_from: from, window_to: to, report: JSON.stringify(result) });
    return result;
  }

  private async reconcileChannel(trx: Knex.Transaction, runId: string, channel: PaymentChannel, from: Date, to: Date): Promise<{ report: ChannelReport; mismatches: (Mismatch & { new: boolean })[] }> {
    const attempts = await trx('payment_attempts as a')
      .join('payments as p', 'p.id', 'a.payment_id')
      .where('a.channel', channel)
      .andWhere('a.created_at', '>=', from)
      .andWhere('a.created_at', '<', to)
      .select<LedgerAttempt[]>('a.id', 'a.payment_id as paymentId', 'p.order_id as orderId', 'a.amount_cents as amountCents', 'a.currency', 'a.outcome', 'p.status as paymentStatus');
    const refunds = await trx('refunds as r')
      .join('payments as p', 'p.id', 'r.payment_id')
      .where('r.channel', channel)
      .andWhere('r.created_at', '>=', from)
      .andWhere('r.created_at', '<', to)
      .select<LedgerRefund[]>('r.id', 'r.payment_id as paymentId', 'p.order_id as orderId', 'r.amount_cents as amountCents', 'r.currency', 'r.status');
    const ledgerRecords = attempts.length + refunds.length;
    let transactions: ChannelTransaction[];
    try {
      // no upper bound: a call made just before `to` may be recorded by the channel just after it
      transactions = await this.opts.router.adapter(channel).listTransactions(from);
    } catch (err) {
      const error = `could not read ${channel}'s records: ${(err as Error).message}`;
      this.opts.logger.warn({ channel, err: (err as Error).message }, 'reconciliation could not read a channel');
      return { report: { channel, ledgerRecords, channelRecords: 0, mismatches: 0, newMismatches: 0, error }, mismatches: [] };
    }
    // channel records the window's ledger rows do not explain: are they in the ledger at all (older rows)?
    const known = new Set([...attempts.map((a) => a.id), ...refunds.map((r) => r.id)]);
    const strangers = transactions.filter((t) => t.createdAt < to && !known.has(t.reference)).map((t) => t.reference);
    const elsewhere = await this.knownReferences(trx, strangers);
    const mismatches = compareChannel({ channel, attempts, refunds, transactions, to, knownElsewhere: elsewhere });
    const stored = await this.store(trx, runId, mismatches);
    return {
      report: { channel, ledgerRecords, channelRecords: transactions.filter((t) => t.createdAt < to).length, mismatches: mismatches.length, newMismatches: stored.filter((m) => m.new).length },
      mismatches: stored,
    };
  }

  /** Which of these references are attempts or refunds of ours (created outside the window). */
  private async knownReferences(trx: Knex.Transaction, references: string[]): Promise<Set<string>> {
    const uuids = references.filter((r) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(r));
    if (uuids.length === 0) return new Set();
    const rows = await trx.select('id').from('payment_attempts').whereIn('id', uuids).union((q) => q.select('id').from('refunds').whereIn('id', uuids));
    return new Set(rows.map((r: { id: string }) => r.id));
  }

  /** Stores each mismatch once; new ones are counted and announced in this transaction. */
  private async store(trx: Knex.Transaction, runId: string, mismatches: Mismatch[]): Promise<(Mismatch & { new: boolean })[]> {
    const out: (Mismatch & { new: boolean })[] = [];
    for (const m of mismatches) {
      const [inserted] = await trx('reconciliation_mismatches')
        .insert({ id: randomUUID(), channel: m.channel, kind: m.kind, reference: m.reference, payment_id: m.paymentId ?? null, detail: m.detail, run_id: runId })
        .onConflict(['channel', 'kind', 'reference'])
        .ignore()
        .returning('id');
      const isNew = inserted !== undefined;
      if (isNew) {
        reconciliationMismatchesTotal.inc({ channel: m.channel, kind: m.kind });
        const data: PaymentMismatch = {
          channel: m.channel,
          kind: m.kind,
          ...(m.paymentId ? { paymentId: m.paymentId } : {}),
          ...(m.channelRef ? { channelRef: m.channelRef.slice(0, 200) } : {}),
          detail: m.detail.slice(0, 1000),
          at: new Date().toISOString(),
        };
        await this.opts.events.enqueue(trx, 'payment.reconciliation_mismatch', m.orderId ?? m.reference, data);
        this.opts.logger.warn({ channel: m.channel, kind: m.kind, reference: m.reference, paymentId: m.paymentId }, 'reconciliation mismatch');
      }
      out.push({ ...m, new: isNew });
    }
    return out;
  }
}
